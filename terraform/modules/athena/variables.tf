variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "workgroup_name" {
  description = "Name of the workgroup: athena.workgroup of conf/orchestration.yaml, where the DAG's check runs."
  type        = string
}

variable "output_location" {
  description = "s3:// location of query results, enforced for every query: athena.output_location of conf/orchestration.yaml."
  type        = string

  validation {
    condition     = can(regex("^s3://[^/]+/.*/$", var.output_location))
    error_message = "output_location must be an s3:// URI of a folder (ending in /)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts query results (SSE_KMS)."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Queries scanning more bytes than this are cancelled (cost guard)."
  type        = number
  default     = 10737418240
}

variable "named_queries" {
  description = "Saved queries: name -> { database, sql, description }, from sql/athena/queries/*.sql."
  type = map(object({
    database    = string
    sql         = string
    description = string
  }))
  default = {}
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

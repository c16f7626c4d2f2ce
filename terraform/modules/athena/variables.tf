variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev. Also the workgroup's name."
  type        = string
}

variable "results_bucket_name" {
  description = "Bucket for query results."
  type        = string
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

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "bucket_names" {
  description = "Bucket name per purpose, e.g. raw, bronze, silver, gold, artifacts, athena_results; `logs` is required and receives every other bucket's access logs."
  type        = map(string)

  validation {
    condition     = contains(keys(var.bucket_names), "logs")
    error_message = "bucket_names must include a logs bucket, the target of the access logs."
  }
}

variable "force_destroy" {
  description = "Allow Terraform to delete non-empty buckets (only for throwaway environments)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed."
  type        = number
  default     = 30
}

variable "raw_transition_days" {
  description = "Days after which raw-zone files move to STANDARD_IA (bronze has ingested them by then)."
  type        = number
  default     = 30
}

variable "log_expiration_days" {
  description = "Days after which access logs and EMR logs in the logs bucket are deleted."
  type        = number
  default     = 365
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 30
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after destroy."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

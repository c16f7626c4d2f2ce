variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "pii_salt_secret_name" {
  description = "Name of the Secrets Manager secret holding the PII hashing salt (conf/env/aws.yaml pii_salt.secret_id)."
  type        = string
}

variable "pii_salt_version" {
  description = "Bump to generate and store a new salt. Changing the salt changes every PII hash in silver."
  type        = number
  default     = 1
}

variable "dms_source" {
  description = "The replication user DMS connects as: database host and port, and the user name."
  type = object({
    host     = string
    port     = number
    username = string
  })
}

variable "dms_password_version" {
  description = "Bump to generate a new password for the replication user (the seeding Lambda applies it)."
  type        = number
  default     = 1
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secrets."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

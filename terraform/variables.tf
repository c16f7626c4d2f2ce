variable "environment" {
  description = "Environment name (dev, prod)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name: <project>-<environment>, e.g. lakehouse-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,24}$", var.name_prefix))
    error_message = "name_prefix must be 3-25 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region (null: the region in conf/env/aws.yaml)."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "force_destroy_buckets" {
  description = "Allow destroying non-empty buckets (dev only)."
  type        = bool
  default     = false
}

variable "rds_instance_class" {
  description = "Instance class of the source database."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_multi_az" {
  description = "Standby of the source database in a second zone."
  type        = bool
  default     = true
}

variable "rds_deletion_protection" {
  description = "Deletion protection of the source database (true in prod)."
  type        = bool
  default     = true
}

variable "dms_instance_class" {
  description = "DMS replication instance class."
  type        = string
  default     = "dms.t3.medium"
}

variable "dms_multi_az" {
  description = "DMS replication instance in two zones."
  type        = bool
  default     = true
}

variable "create_dms_service_roles" {
  description = "Create the account-wide dms-vpc-role and dms-cloudwatch-logs-role (false when another stack in the account owns them)."
  type        = bool
  default     = true
}

variable "lambda_zip_path" {
  description = "Seeding Lambda package built by `make lambda-zip` (null: dist/lambda_seed.zip in the repository)."
  type        = string
  default     = null
}

variable "lambda_tls_ca_bundle" {
  description = "CA bundle the seeding Lambda verifies the RDS server's certificate with (DB_TLS_CA): a path inside the package, where `make lambda-zip RDS_CA_BUNDLE=FILE` puts it, or \"\" for TLS without certificate checks."
  type        = string
  default     = "rds-ca-bundle.pem"
}

variable "emr_tls_certificate_key" {
  description = "Key in the artifacts bucket of the zip of PEM files for EMR in-transit encryption (see README.md)."
  type        = string
  default     = "emr/tls/certificates.zip"
}

variable "mwaa_environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query scan limit of the Athena workgroup, in bytes."
  type        = number
  default     = 10737418240
}

variable "grant_silver_tables" {
  description = "Grant analysts the non-PII silver columns (turn on once the crawlers have created the silver tables)."
  type        = bool
  default     = false
}

variable "alarm_email" {
  description = "E-mail address for alarms (set TF_VAR_alarm_email in CI; null for none)."
  type        = string
  default     = null
}

variable "cdc_latency_threshold_seconds" {
  description = "DMS CDC latency alarm threshold in seconds."
  type        = number
  default     = 900
}

variable "tags" {
  description = "Extra tags on every resource (merged into the provider's default_tags)."
  type        = map(string)
  default     = {}
}

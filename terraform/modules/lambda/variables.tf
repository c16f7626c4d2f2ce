variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "function_name" {
  description = "Name of the function: seed.function_name of conf/orchestration.yaml, which the DAG invokes."
  type        = string
}

variable "zip_path" {
  description = "Path of the deployment package built by `make lambda-zip` (dist/lambda_seed.zip)."
  type        = string
}

variable "tls_ca_bundle" {
  description = "DB_TLS_CA: the CA bundle that verifies the RDS server's certificate, a path inside the package (rds-ca-bundle.pem from `make lambda-zip RDS_CA_BUNDLE=FILE`); \"\" for TLS without certificate checks."
  type        = string
  default     = "rds-ca-bundle.pem"
}

variable "handler" {
  description = "Handler of the seeding Lambda inside the zip."
  type        = string
  default     = "lambda_seed.handler.handler"
}

variable "runtime" {
  description = "Lambda Python runtime."
  type        = string
  default     = "python3.12"
}

variable "timeout_seconds" {
  description = "Timeout of one invocation (a scale-factor load runs for minutes)."
  type        = number
  default     = 900
}

variable "memory_mb" {
  description = "Memory of the function."
  type        = number
  default     = 1024
}

variable "subnet_ids" {
  description = "Private subnets the function runs in."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the function (MySQL to RDS, HTTPS to the endpoints)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for environment variables, the log group and the dead-letter queue."
  type        = string
}

variable "database" {
  description = "Connection of the source database: secret with the credentials, host, port and name."
  type = object({
    secret_arn = string
    host       = string
    port       = number
    name       = string
  })
}

variable "dms_secret_arn" {
  description = "Secret of the DMS replication user, which the seeding Lambda creates in MySQL (DMS_SECRET_ID)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zone_suffixes" {
  description = "Zones of the private subnets, as letters after the region name (pinned, so the subnet set never changes by itself). MWAA and RDS need two."
  type        = list(string)
  default     = ["a", "b"]

  validation {
    condition     = length(var.availability_zone_suffixes) >= 2
    error_message = "availability_zone_suffixes must name at least two zones: RDS subnet groups and MWAA need two."
  }
}

variable "interface_endpoint_services" {
  description = "AWS services reached through interface VPC endpoints (the subnets have no internet route)."
  type        = list(string)
  default = [
    "airflow.api", "airflow.env", "airflow.ops", "athena", "dms", "ecr.api", "ecr.dkr",
    "elasticmapreduce", "glue", "kms", "lambda", "logs", "monitoring", "secretsmanager", "sqs", "sts",
  ]
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the VPC flow-log log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow-log log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

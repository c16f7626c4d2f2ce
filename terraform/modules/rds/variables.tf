variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (two availability zones at least)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the instance (MySQL from the Lambda and DMS only)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the managed master-password secret."
  type        = string
}

variable "database_name" {
  description = "Name of the source database (conf/tables.yaml source.database)."
  type        = string
}

variable "master_username" {
  description = "Master user name. The password is generated and kept in Secrets Manager by RDS."
  type        = string
  default     = "lakehouse_admin"
}

variable "instance_class" {
  description = "Instance class. Performance Insights needs db.t3.medium or larger."
  type        = string
  default     = "db.t4g.medium"
}

variable "engine_version" {
  description = "MySQL engine version (major.minor; minor upgrades apply automatically)."
  type        = string
  default     = "8.0"
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Upper limit of storage autoscaling in GiB."
  type        = number
  default     = 100
}

variable "backup_retention_days" {
  description = "Days of automated backups; DMS CDC needs binary logs, which need backups (> 0)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days > 0
    error_message = "backup_retention_days must be > 0: DMS change data capture reads the binary log, which RDS only keeps with backups on."
  }
}

variable "multi_az" {
  description = "Run a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (true in prod)."
  type        = bool
  default     = true
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds (0 turns it off)."
  type        = number
  default     = 60
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alarm topic."
  type        = string
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (null for none). The recipient confirms the subscription."
  type        = string
  default     = null
}

variable "dms" {
  description = "The DMS task to watch: replication instance id, task id and ARN, and its task log group."
  type = object({
    replication_instance_id = string
    replication_task_id     = string
    replication_task_arn    = string
    task_log_group_name     = string
  })
}

variable "cdc_latency_threshold_seconds" {
  description = "Alarm when CDCLatencySource or CDCLatencyTarget stays above this many seconds."
  type        = number
  default     = 900
}

variable "mwaa_scheduler_log_group_name" {
  description = "Scheduler log group of the MWAA environment, where failed DAG runs are logged."
  type        = string
}

variable "lambda_function_name" {
  description = "The seeding Lambda, alarmed on errors."
  type        = string
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

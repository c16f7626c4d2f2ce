variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "replication_task_id" {
  description = "Identifier of the replication task: dms.replication_task_id of conf/orchestration.yaml, which the DAG looks up."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the replication subnet group."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the replication instance."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for the replication instance storage, endpoints, S3 objects and task logs."
  type        = string
}

variable "create_service_roles" {
  description = "Create the account-wide dms-vpc-role and dms-cloudwatch-logs-role (false when they already exist in the account)."
  type        = bool
  default     = true
}

variable "replication_instance_class" {
  description = "Replication instance class."
  type        = string
  default     = "dms.t3.medium"
}

variable "replication_instance_storage" {
  description = "Replication instance storage in GiB."
  type        = number
  default     = 50
}

variable "engine_version" {
  description = "DMS engine version (null for the default)."
  type        = string
  default     = null
}

variable "multi_az" {
  description = "Run the replication instance in two availability zones."
  type        = bool
  default     = true
}

variable "source_secret_arn" {
  description = "Secret with the replication user's username, password, host and port (DMS secret format)."
  type        = string
}

variable "target_bucket_name" {
  description = "Raw-zone bucket DMS writes to."
  type        = string
}

variable "target_bucket_arn" {
  description = "ARN of the raw-zone bucket."
  type        = string
}

variable "bucket_folder" {
  description = "Folder under the bucket that DMS writes into (raw contract bucket_folder; empty for none)."
  type        = string
  default     = ""
}

# The raw-zone contract's s3_settings (conf/raw_contract.yaml), keys named exactly as the
# aws_dms_s3_endpoint arguments. Every key the contract sets is passed through unchanged.
variable "s3_settings" {
  description = "DMS S3 target settings from conf/raw_contract.yaml s3_settings (snake_case S3Settings)."
  type = object({
    data_format                                 = string
    parquet_version                             = optional(string)
    include_op_for_full_load                    = optional(bool)
    timestamp_column_name                       = optional(string)
    cdc_inserts_only                            = optional(bool)
    cdc_inserts_and_updates                     = optional(bool)
    parquet_timestamp_in_millisecond            = optional(bool)
    date_partition_enabled                      = optional(bool)
    date_partition_sequence                     = optional(string)
    date_partition_delimiter                    = optional(string)
    date_partition_timezone                     = optional(string)
    preserve_transactions                       = optional(bool)
    cdc_path                                    = optional(string)
    cdc_max_batch_interval                      = optional(number)
    cdc_min_file_size                           = optional(number)
    max_file_size                               = optional(number)
    compression_type                            = optional(string)
    encoding_type                               = optional(string)
    row_group_length                            = optional(number)
    data_page_size                              = optional(number)
    dict_page_size_limit                        = optional(number)
    enable_statistics                           = optional(bool)
    add_column_name                             = optional(bool)
    use_task_start_time_for_full_load_timestamp = optional(bool)
  })
}

variable "table_mappings" {
  description = "Table-mapping JSON of the replication task (built from conf/tables.yaml at the root)."
  type        = string
}

variable "start_replication_task" {
  description = "Start the task on creation. The MWAA DAG makes sure it runs, so the default is false."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the DMS task log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev. Also the environment's name."
  type        = string
}

variable "airflow_version" {
  description = "Airflow version of the environment (MWAA's newest: 3.3.1)."
  type        = string
  default     = "3.3.1"
}

variable "environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"
}

variable "max_workers" {
  description = "Upper limit of Celery workers."
  type        = number
  default     = 2
}

variable "source_bucket_arn" {
  description = "ARN of the artifacts bucket holding the DAGs and requirements."
  type        = string
}

variable "source_bucket_name" {
  description = "Name of the artifacts bucket."
  type        = string
}

variable "dag_s3_path" {
  description = "Folder of the DAGs in the artifacts bucket (the deploy workflow syncs dags/ there)."
  type        = string
  default     = "mwaa/dags"
}

variable "requirements_file" {
  description = "Local path of the DAGs' requirements.txt, uploaded by Terraform (null when there is none)."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the requirements object in the artifacts bucket."
  type        = string
}

variable "subnet_ids" {
  description = "Two private subnets in different availability zones."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the environment."
  type        = list(string)
}

variable "log_level" {
  description = "Level of the CloudWatch logs of every Airflow component."
  type        = string
  default     = "INFO"
}

variable "orchestration" {
  description = "What the DAG drives, to scope the execution role: the seeding Lambda, the DMS task, EMR roles, crawlers, Athena and the buckets it reads."
  type = object({
    lambda_function_arn       = string
    dms_replication_task_arn  = string
    pass_role_arns            = list(string)
    crawler_names             = list(string)
    athena_workgroup_name     = string
    glue_database_names       = list(string)
    read_bucket_arns          = list(string)
    athena_results_bucket_arn = string
    kms_key_arn               = string
  })
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

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
  description = "What the DAG drives, to scope the execution role: the seeding Lambda, the DMS task, the EMR roles and cluster tags, the layer crawlers, Athena, the raw zone, the watermark, the alerts topic and (compute emr_serverless) the EMR Serverless application."
  type = object({
    lambda_function_arn      = string
    dms_replication_task_arn = string
    emr_role_arns            = list(string)
    emr_cluster_tags         = map(string)
    crawler_names            = list(string)
    athena_workgroup_name    = string
    glue_database_names      = list(string)
    read_bucket_arns         = list(string)
    athena_results = object({
      bucket_arn = string
      prefix     = string
    })
    raw_bucket_arn       = string
    watermark_bucket_arn = string
    watermark_object_arn = string
    alerts_topic_arn     = string
    emr_serverless = optional(object({
      application_arn    = string
      execution_role_arn = string
    }))
    kms_key_arn = string
  })

  validation {
    condition     = length(var.orchestration.emr_cluster_tags) > 0
    error_message = "emr_cluster_tags must hold at least one tag: the execution role only drives clusters that carry them."
  }
}

variable "variables_prefix" {
  description = "Secrets Manager name prefix of the Airflow Variables (the secrets backend's variables_prefix)."
  type        = string
}

variable "airflow_variables" {
  description = "The DAG's deployment values (deployment_values of conf/orchestration.yaml) as Airflow Variables: NAME -> value. Names, ids and ARNs only, never credentials."
  type        = map(string)
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "database_names" {
  description = "Glue database per layer (bronze, silver, gold)."
  type        = map(string)
}

variable "location_arns" {
  description = "Bucket ARN per layer to register with Lake Formation (bronze, silver, gold)."
  type        = map(string)
}

variable "silver_pii_columns" {
  description = "Silver table -> its PII columns (conf/tables.yaml `pii`); analysts get every other column."
  type        = map(list(string))
}

variable "grant_silver_tables" {
  description = "Grant analysts the non-PII columns of the silver tables. Column grants need the tables, which the crawlers create: turn on after the first pipeline run."
  type        = bool
  default     = false
}

variable "writer_role_arns" {
  description = "Roles that create and update tables in every layer, by a static name (e.g. crawler, emr)."
  type        = map(string)
}

variable "gold_reader_role_arns" {
  description = "Roles that only read gold, by a static name (e.g. mwaa for the DAG's Athena check)."
  type        = map(string)
  default     = {}
}

variable "analyst_trusted_principal_arns" {
  description = "Principals allowed to assume the analyst role (empty: any principal of this account that IAM allows)."
  type        = list(string)
  default     = []
}

variable "athena_workgroup_arn" {
  description = "Athena workgroup the analysts query through."
  type        = string
}

variable "athena_results_bucket_arn" {
  description = "Bucket of the workgroup's query results."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the query results."
  type        = string
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

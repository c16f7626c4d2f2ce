output "bucket_prefix" {
  description = "Value of LAKEHOUSE_BUCKET_PREFIX for conf/env/aws.yaml (<name_prefix>-<account id>)."
  value       = local.bucket_prefix
}

output "bucket_names" {
  description = "Bucket name per purpose."
  value       = module.storage.bucket_names
}

output "artifacts_bucket" {
  description = "Bucket the deploy workflow uploads releases and DAGs to."
  value       = module.storage.bucket_names["artifacts"]
}

output "dms_table_mappings" {
  description = "Table mappings of the DMS task, generated from conf/tables.yaml."
  value       = jsondecode(local.dms_table_mappings)
}

# The DAG reads its deployment values as Airflow Variables, which Terraform stores in Secrets
# Manager (module mwaa). This record of them and of the names Terraform gave the resources is
# published as mwaa/dags/deployment.json for people and tools; the DAG does not read it.
output "orchestration" {
  description = "The DAG's Airflow Variables, where they are stored, and the resource names it uses (all from conf/orchestration.yaml)."
  value = {
    region                     = local.region
    airflow_variables          = local.airflow_variables
    airflow_variables_prefix   = local.airflow_variables_prefix
    variable_secrets           = module.mwaa.variable_secret_names
    lambda_function_name       = module.lambda.function_name
    dms_replication_task_id    = module.dms.replication_task_id
    emr_service_role           = module.emr.service_role_name
    emr_instance_profile       = module.emr.instance_profile_name
    emr_security_configuration = module.emr.security_configuration_name
    emr_log_uri                = local.dag_names.emr_log_uri
    glue_databases             = module.glue.database_names
    crawler_names              = module.glue.crawler_names
    athena_workgroup           = module.athena.workgroup_name
    athena_output_location     = local.dag_names.athena_output_location
    artifacts_location         = local.dag_names.artifacts_location
    watermark_uri              = local.dag_names.watermark_uri
    mwaa_environment           = module.mwaa.environment_name
    dag_s3_uri                 = module.mwaa.dag_s3_uri
    pii_salt_secret_id         = module.secrets.pii_salt_secret_name
  }
}

output "airflow_variables_prefix" {
  description = "Secrets Manager prefix of the DAG's Airflow Variables; the deploy step sets LAKEHOUSE_ARTIFACTS_VERSION there."
  value       = local.airflow_variables_prefix
}

output "analyst_role_arn" {
  description = "Role for analysts: gold, and silver without PII columns."
  value       = module.lakeformation.analyst_role_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.topic_arn
}

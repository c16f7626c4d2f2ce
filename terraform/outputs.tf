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

# Everything the DAG needs at run time, published next to the DAGs by the deploy workflow
# (mwaa/dags/deployment.json), so the DAG makes no AWS lookups at import.
output "orchestration" {
  description = "Runtime names and identifiers for the MWAA DAG."
  value = {
    region                      = local.region
    name_prefix                 = var.name_prefix
    bucket_prefix               = local.bucket_prefix
    artifacts_bucket            = module.storage.bucket_names["artifacts"]
    logs_uri                    = "s3://${module.storage.bucket_names["logs"]}/emr/"
    lambda_function_name        = module.lambda.function_name
    dms_replication_task_arn    = module.dms.replication_task_arn
    emr_service_role            = module.emr.service_role_name
    emr_instance_profile        = module.emr.instance_profile_name
    emr_security_configuration  = module.emr.security_configuration_name
    emr_subnet_id               = module.network.private_subnet_ids[0]
    emr_managed_security_groups = { for k in ["emr_primary", "emr_core", "emr_service"] : k => module.network.security_group_ids[k] }
    emr_cluster_tags            = { Project = local.project_tag, "for-use-with-amazon-emr-managed-policies" = "true" }
    glue_databases              = module.glue.database_names
    crawler_names               = module.glue.crawler_names
    athena_workgroup            = module.athena.workgroup_name
    mwaa_environment            = module.mwaa.environment_name
    dag_s3_uri                  = module.mwaa.dag_s3_uri
    pii_salt_secret_id          = module.secrets.pii_salt_secret_name
  }
}

output "analyst_role_arn" {
  description = "Role for analysts: gold, and silver without PII columns."
  value       = module.lakeformation.analyst_role_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.topic_arn
}

# The lakehouse on AWS: DMS -> S3 raw -> EMR (bronze/silver/gold Delta) -> Glue -> Athena,
# orchestrated by MWAA. Names follow "<name_prefix>-<thing>" (README.md, "Naming").

data "aws_caller_identity" "current" {}

locals {
  region      = coalesce(var.region, local.aws_env.region)
  project_tag = "lakehouse"
  # Globally unique bucket names: <name_prefix>-<account id>-<purpose>. conf/env/aws.yaml
  # names the layer buckets with ${LAKEHOUSE_BUCKET_PREFIX}, which is this value.
  bucket_prefix = "${var.name_prefix}-${data.aws_caller_identity.current.account_id}"
  lambda_zip    = coalesce(var.lambda_zip_path, "${local.repo_root}/dist/lambda_seed.zip")

  # The DAG's deployment values (conf/orchestration.yaml, deployment_values), stored as its
  # Airflow Variables. tests/terraform/test_dag_alignment.py checks these are all it needs.
  airflow_variables = merge(local.name_values, {
    LAKEHOUSE_EMR_SUBNET_ID            = module.network.private_subnet_ids[0]
    LAKEHOUSE_EMR_PRIMARY_SG_ID        = module.network.security_group_ids["emr_primary"]
    LAKEHOUSE_EMR_CORE_SG_ID           = module.network.security_group_ids["emr_core"]
    LAKEHOUSE_EMR_SERVICE_ACCESS_SG_ID = module.network.security_group_ids["emr_service"]
    LAKEHOUSE_ALERTS_TOPIC_ARN         = module.monitoring.topic_arn
  }, local.serverless_variables)
  serverless = local.o.compute == "emr_serverless"
  serverless_variables = local.serverless ? tomap({
    LAKEHOUSE_EMR_SERVERLESS_APPLICATION_ID = module.emr.serverless_application_id
    LAKEHOUSE_EMR_SERVERLESS_ROLE_ARN       = module.emr.serverless_role_arn
  }) : tomap({})
  airflow_variables_prefix = "${var.name_prefix}/airflow/variables"
  # The crawlers the DAG starts: those of glue.crawl_layers.
  dag_crawler_names = sort([for name, c in local.crawlers : name if contains(local.dag_names.crawl_layers, c.layer)])
}

module "storage" {
  source = "./modules/storage"

  name_prefix   = var.name_prefix
  bucket_names  = local.bucket_names
  force_destroy = var.force_destroy_buckets
}

module "network" {
  source = "./modules/network"

  name_prefix = var.name_prefix
  cidr_block  = var.vpc_cidr
  kms_key_arn = module.storage.kms_key_arn
}

module "secrets" {
  source = "./modules/secrets"

  name_prefix          = var.name_prefix
  pii_salt_secret_name = local.pii_salt_secret_name
  kms_key_arn          = module.storage.kms_key_arn
  dms_source = {
    host     = module.rds.address
    port     = module.rds.port
    username = "dms_replication"
  }
}

module "rds" {
  source = "./modules/rds"

  name_prefix         = var.name_prefix
  subnet_ids          = module.network.private_subnet_ids
  security_group_ids  = [module.network.security_group_ids["rds"]]
  kms_key_arn         = module.storage.kms_key_arn
  database_name       = local.source_database
  instance_class      = var.rds_instance_class
  multi_az            = var.rds_multi_az
  deletion_protection = var.rds_deletion_protection
}

module "dms" {
  source = "./modules/dms"

  name_prefix                = var.name_prefix
  subnet_ids                 = module.network.private_subnet_ids
  security_group_ids         = [module.network.security_group_ids["dms"]]
  kms_key_arn                = module.storage.kms_key_arn
  replication_task_id        = local.dag_names.dms_replication_task_id
  create_service_roles       = var.create_dms_service_roles
  replication_instance_class = var.dms_instance_class
  multi_az                   = var.dms_multi_az
  source_secret_arn          = module.secrets.dms_source_secret_arn
  target_bucket_name         = module.storage.bucket_names["raw"]
  target_bucket_arn          = module.storage.bucket_arns["raw"]
  bucket_folder              = local.dms_bucket_folder
  s3_settings                = local.dms_s3_settings
  table_mappings             = local.dms_table_mappings
}

module "lambda" {
  source = "./modules/lambda"

  name_prefix        = var.name_prefix
  function_name      = local.dag_names.seed_function_name
  zip_path           = local.lambda_zip
  tls_ca_bundle      = var.lambda_tls_ca_bundle
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.security_group_ids["lambda"]]
  kms_key_arn        = module.storage.kms_key_arn
  dms_secret_arn     = module.secrets.dms_source_secret_arn
  database = {
    secret_arn = module.rds.master_user_secret_arn
    host       = module.rds.address
    port       = module.rds.port
    name       = module.rds.database_name
  }
}

module "glue" {
  source = "./modules/glue"

  name_prefix      = var.name_prefix
  databases        = local.glue_databases
  crawlers         = local.crawlers
  read_bucket_arns = [for l in ["bronze", "silver", "gold"] : module.storage.bucket_arns[l]]
  kms_key_arn      = module.storage.kms_key_arn
}

module "emr" {
  source = "./modules/emr"

  name_prefix = var.name_prefix
  names = {
    service_role           = local.dag_names.emr_service_role
    instance_profile       = local.dag_names.emr_instance_profile
    security_configuration = local.dag_names.emr_security_configuration
    log_prefix             = local.dag_locations.emr_log_uri.key
  }
  serverless = local.serverless ? {
    release_label = local.o.emr.release_label
    log_prefix    = local.dag_locations.emr_serverless_log_uri.key
  } : null
  kms_key_arn            = module.storage.kms_key_arn
  read_bucket_arns       = [module.storage.bucket_arns["raw"]]
  write_bucket_arns      = [for l in ["bronze", "silver", "gold"] : module.storage.bucket_arns[l]]
  artifacts_bucket_arn   = module.storage.bucket_arns["artifacts"]
  logs_bucket_arn        = module.storage.bucket_arns["logs"]
  glue_database_names    = values(module.glue.database_names)
  secret_arns            = [module.secrets.pii_salt_secret_arn]
  tls_certificate_s3_uri = "s3://${module.storage.bucket_names["artifacts"]}/${var.emr_tls_certificate_key}"
}

module "athena" {
  source = "./modules/athena"

  name_prefix                    = var.name_prefix
  workgroup_name                 = local.dag_names.athena_workgroup
  output_location                = local.dag_names.athena_output_location
  kms_key_arn                    = module.storage.kms_key_arn
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff
  named_queries                  = local.athena_named_queries
}

module "mwaa" {
  source = "./modules/mwaa"

  name_prefix        = var.name_prefix
  environment_class  = var.mwaa_environment_class
  source_bucket_arn  = module.storage.bucket_arns["artifacts"]
  source_bucket_name = module.storage.bucket_names["artifacts"]
  requirements_file  = local.dag_requirements_file
  kms_key_arn        = module.storage.kms_key_arn
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.security_group_ids["mwaa"]]
  variables_prefix   = local.airflow_variables_prefix
  airflow_variables  = local.airflow_variables
  orchestration = {
    lambda_function_arn      = module.lambda.function_arn
    dms_replication_task_arn = module.dms.replication_task_arn
    emr_role_arns            = [module.emr.service_role_arn, module.emr.instance_role_arn]
    emr_cluster_tags         = local.dag_names.emr_cluster_tags
    crawler_names            = local.dag_crawler_names
    athena_workgroup_name    = module.athena.workgroup_name
    glue_database_names      = values(module.glue.database_names)
    read_bucket_arns         = [module.storage.bucket_arns["gold"]]
    athena_results = {
      bucket_arn = module.storage.bucket_arns[local.dag_bucket_purpose[local.dag_locations.athena_output_location.bucket]]
      prefix     = local.dag_locations.athena_output_location.key
    }
    raw_bucket_arn       = module.storage.bucket_arns["raw"]
    watermark_bucket_arn = module.storage.bucket_arns[local.dag_bucket_purpose[local.dag_locations.watermark_uri.bucket]]
    watermark_object_arn = "${module.storage.bucket_arns[local.dag_bucket_purpose[local.dag_locations.watermark_uri.bucket]]}/${local.dag_locations.watermark_uri.key}"
    alerts_topic_arn     = module.monitoring.topic_arn
    emr_serverless = local.serverless ? {
      application_arn    = module.emr.serverless_application_arn
      execution_role_arn = module.emr.serverless_role_arn
    } : null
    kms_key_arn = module.storage.kms_key_arn
  }
}

# The DAG starts the crawler of every layer in glue.crawl_layers; gold has one only once
# conf/gold.yaml names models.
check "dag_crawlers_exist" {
  assert {
    condition     = length(local.dag_crawler_names) == length(local.dag_names.crawl_layers)
    error_message = "conf/orchestration.yaml glue.crawl_layers ${jsonencode(local.dag_names.crawl_layers)}: only ${jsonencode(local.dag_crawler_names)} exist (no gold crawler until conf/gold.yaml has models); the DAG's crawl tasks would fail."
  }
}

# The gold crawler catalogues the run log and the quarantine from the ops zone
# (local.ops_catalogued): the crawler reads, and Lake Formation registers, the gold bucket only.
check "run_log_in_gold_bucket" {
  assert {
    condition     = startswith(local.layer_uris.ops, "s3://${local.bucket_names.gold}/")
    error_message = "conf/env/aws.yaml layers.ops (${local.layer_uris.ops}) must be a folder of the gold bucket s3://${local.bucket_names.gold}: the gold crawler catalogues the run log and the quarantine there."
  }
}

module "lakeformation" {
  source = "./modules/lakeformation"

  name_prefix    = var.name_prefix
  database_names = module.glue.database_names
  location_arns  = { for l in ["bronze", "silver", "gold"] : l => module.storage.bucket_arns[l] }
  writer_role_arns = {
    crawler = module.glue.crawler_role_arn
    emr     = module.emr.instance_role_arn
  }
  gold_reader_role_arns     = { mwaa = module.mwaa.execution_role_arn }
  silver_pii_columns        = local.silver_pii_columns
  grant_silver_tables       = var.grant_silver_tables
  athena_workgroup_arn      = module.athena.workgroup_arn
  athena_results_bucket_arn = module.storage.bucket_arns["athena_results"]
  kms_key_arn               = module.storage.kms_key_arn
}

module "monitoring" {
  source = "./modules/monitoring"

  name_prefix = var.name_prefix
  kms_key_arn = module.storage.kms_key_arn
  alarm_email = var.alarm_email
  dms = {
    replication_instance_id = module.dms.replication_instance_id
    replication_task_id     = module.dms.replication_task_id
    replication_task_arn    = module.dms.replication_task_arn
    task_log_group_name     = module.dms.task_log_group_name
  }
  cdc_latency_threshold_seconds = var.cdc_latency_threshold_seconds
  mwaa_scheduler_log_group_name = module.mwaa.scheduler_log_group_name
  lambda_function_name          = module.lambda.function_name
}

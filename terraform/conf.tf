# Everything Terraform knows about tables and the raw zone comes from conf/, the single source
# the Spark jobs, the replicator and the DAG read too. No table list is typed in HCL.
#
# This file holds only pure expressions (no resources, no data sources), so the tests evaluate
# it with Terraform itself, without a provider: tests/terraform/test_tf_conf_eval.py.

locals {
  repo_root = "${path.root}/.."
  conf_dir  = "${local.repo_root}/conf"

  registry     = yamldecode(file("${local.conf_dir}/tables.yaml"))
  raw_contract = yamldecode(file("${local.conf_dir}/raw_contract.yaml"))
  aws_env      = yamldecode(file("${local.conf_dir}/env/aws.yaml"))
  # The MWAA DAG's resource names; Terraform gives the resources exactly these names.
  orchestration = yamldecode(file("${local.conf_dir}/orchestration.yaml"))
  # Gold models (conf/gold.yaml, top-level `models:` keyed by model name); none until it exists.
  gold_conf_file        = "${local.conf_dir}/gold.yaml"
  gold_model_names_read = fileexists(local.gold_conf_file) ? keys(yamldecode(file(local.gold_conf_file)).models) : []

  source_database  = local.registry.source.database
  tables           = local.registry.tables
  table_names      = sort(keys(local.tables))
  gold_model_names = sort(local.gold_model_names_read)

  # --- Where each layer lives: conf/env/aws.yaml, with the deployment's bucket prefix --------
  layer_uris = {
    for layer, uri in local.aws_env.layers :
    layer => trimsuffix(replace(uri, "$${LAKEHOUSE_BUCKET_PREFIX}", local.bucket_prefix), "/")
  }
  lake_buckets = {
    for layer in ["raw", "bronze", "silver", "gold"] :
    layer => regex("^s3://([a-z0-9][a-z0-9.-]+[a-z0-9])$", local.layer_uris[layer])[0]
  }
  bucket_names = merge(local.lake_buckets, {
    artifacts      = "${local.bucket_prefix}-artifacts"
    logs           = "${local.bucket_prefix}-logs"
    athena_results = "${local.bucket_prefix}-athena-results"
  })

  # --- DMS: the raw-zone contract and one mapping per registered table -----------------------
  dms_s3_settings   = local.raw_contract.s3_settings
  dms_bucket_folder = local.raw_contract.bucket_folder
  # AWS documents $AR_H_CHANGE_SEQ as string(50) in its add-column examples (35 digits used).
  change_seq_dms_length = 50
  dms_selection_rules = [
    for i, t in local.table_names : {
      "rule-type"      = "selection"
      "rule-id"        = tostring(i + 1)
      "rule-name"      = "include-${t}"
      "object-locator" = { "schema-name" = local.source_database, "table-name" = t }
      "rule-action"    = "include"
      "filters"        = []
    }
  ]
  dms_change_seq_rules = [
    for i, t in local.table_names : {
      "rule-type"      = "transformation"
      "rule-id"        = tostring(length(local.table_names) + i + 1)
      "rule-name"      = "add-${local.raw_contract.change_seq_column}-${t}"
      "rule-target"    = "column"
      "object-locator" = { "schema-name" = local.source_database, "table-name" = t }
      "rule-action"    = "add-column"
      "value"          = local.raw_contract.change_seq_column
      "expression"     = local.raw_contract.change_seq_expression
      "data-type"      = { "type" = "string", "length" = local.change_seq_dms_length }
    }
  ]
  dms_table_mappings = jsonencode({ rules = concat(local.dms_selection_rules, local.dms_change_seq_rules) })

  # --- Names shared with the DAG: conf/orchestration.yaml ------------------------------------
  # Terraform's own value of each ${NAME} (deployment value) that appears in a resource name.
  # The other deployment values (subnet, topic ARN) are attributes of created resources: main.tf
  # publishes them as the DAG's Airflow Variables (local.airflow_variables).
  name_values = {
    LAKEHOUSE_NAME_PREFIX          = var.name_prefix
    LAKEHOUSE_BUCKET_PREFIX        = local.bucket_prefix
    LAKEHOUSE_GLUE_DATABASE_PREFIX = replace(var.name_prefix, "-", "_")
  }
  o = local.orchestration
  dag_names = {
    seed_function_name         = templatestring(local.o.seed.function_name, local.name_values)
    dms_replication_task_id    = templatestring(local.o.dms.replication_task_id, local.name_values)
    emr_service_role           = templatestring(local.o.emr.service_role, local.name_values)
    emr_instance_profile       = templatestring(local.o.emr.job_flow_role, local.name_values)
    emr_security_configuration = templatestring(local.o.emr.security_configuration, local.name_values)
    emr_log_uri                = templatestring(local.o.emr.log_uri, local.name_values)
    emr_cluster_tags           = local.o.emr.tags
    emr_serverless_log_uri     = templatestring(local.o.emr_serverless.log_uri, local.name_values)
    athena_workgroup           = templatestring(local.o.athena.workgroup, local.name_values)
    athena_output_location     = templatestring(local.o.athena.output_location, local.name_values)
    artifacts_location         = templatestring(local.o.artifacts.location, local.name_values)
    watermark_uri              = "${local.layer_uris.ops}/${local.o.new_data.watermark_object}"
    crawl_layers               = local.o.glue.crawl_layers
    compute                    = local.o.compute
  }
  # s3://bucket/key/ -> { bucket, key }: the locations the IAM policies scope to.
  dag_locations = {
    for k in ["emr_log_uri", "emr_serverless_log_uri", "athena_output_location", "artifacts_location", "watermark_uri"] :
    k => {
      bucket = regex("^s3://([^/]+)/?(.*)$", local.dag_names[k])[0]
      key    = regex("^s3://([^/]+)/?(.*)$", local.dag_names[k])[1]
    }
  }

  # Bucket name -> its purpose in bucket_names: every location the DAG uses must be one of ours.
  dag_bucket_purpose = { for purpose, name in local.bucket_names : name => purpose }

  # Deployment values the DAG renders with this compute (the EMR Serverless ones only for it).
  required_deployment_values = sort([
    for k in keys(local.o.deployment_values) : k
    if local.o.compute == "emr_serverless" || !startswith(k, "LAKEHOUSE_EMR_SERVERLESS_")
  ])

  # --- Glue: one database per layer, one native Delta crawler per layer -----------------------
  glue_databases = {
    for layer, name in local.o.glue.databases : layer => {
      name     = templatestring(name, local.name_values)
      location = "${local.layer_uris[layer]}/"
    }
  }
  # The tables of each layer: bronze and silver hold every registered table, gold the models.
  layer_tables = {
    bronze = local.table_names
    silver = local.table_names
    gold   = local.gold_model_names
  }
  # The run log (spark_jobs/run_log.py) and the quarantine (bronze's whole files, silver's rows,
  # personal data hashed, and the rows released from it once their parent landed), catalogued by the gold crawler beside the models so that operators query
  # them in Athena like any gold table. conf/env/aws.yaml keeps the ops zone in the gold bucket,
  # which the crawler reads and Lake Formation registers (check in main.tf).
  ops_catalogued = ["pipeline_runs", "quarantine_files", "quarantine_rows", "quarantine_released"]
  # A crawler needs at least one target: no gold crawler until conf/gold.yaml has models.
  crawlers = {
    for layer, tables in local.layer_tables :
    replace(templatestring(local.o.glue.crawler_name, local.name_values), "{layer}", layer) => {
      layer = layer
      paths = concat(
        [for t in tables : "${local.layer_uris[layer]}/${t}/"],
        layer == "gold" ? [for t in local.ops_catalogued : "${local.layer_uris.ops}/${t}/"] : [],
      )
    } if length(tables) > 0
  }

  # --- Lake Formation: silver columns analysts never see --------------------------------------
  silver_pii_columns = { for t in local.table_names : t => try(local.tables[t].pii, []) }

  # --- Athena: saved queries from the repository's SQL files ---------------------------------
  athena_query_dir = "${local.repo_root}/sql/athena/queries"
  athena_named_queries = {
    for f in fileset(local.athena_query_dir, "*.sql") : trimsuffix(f, ".sql") => {
      database    = local.glue_databases.gold.name
      sql         = file("${local.athena_query_dir}/${f}")
      description = "sql/athena/queries/${f}"
    }
  }

  # --- MWAA: the DAGs' requirements, uploaded by Terraform when the file exists --------------
  dag_requirements_file = fileexists("${local.repo_root}/dags/requirements.txt") ? "${local.repo_root}/dags/requirements.txt" : null

  pii_salt_secret_name = local.aws_env.pii_salt.secret_id
}

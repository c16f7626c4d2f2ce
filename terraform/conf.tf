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
  # Gold models (conf/gold.yaml, top-level `models:` keyed by model name); none until it exists.
  gold_conf_file = "${local.conf_dir}/gold.yaml"
  gold_models    = fileexists(local.gold_conf_file) ? yamldecode(file(local.gold_conf_file)).models : {}

  source_database  = local.registry.source.database
  tables           = local.registry.tables
  table_names      = sort(keys(local.tables))
  gold_model_names = sort(keys(local.gold_models))

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

  # --- Glue: one database per layer, one native Delta crawler per table ----------------------
  glue_databases = {
    for layer in ["bronze", "silver", "gold"] : layer => {
      name     = "${replace(var.name_prefix, "-", "_")}_${layer}"
      location = "${local.layer_uris[layer]}/"
    }
  }
  crawlers = merge(
    {
      for pair in setproduct(["bronze", "silver"], local.table_names) :
      "${var.name_prefix}-${pair[0]}-${pair[1]}" => { layer = pair[0], path = "${local.layer_uris[pair[0]]}/${pair[1]}/" }
    },
    {
      for m in local.gold_model_names :
      "${var.name_prefix}-gold-${m}" => { layer = "gold", path = "${local.layer_uris.gold}/${m}/" }
    },
  )

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

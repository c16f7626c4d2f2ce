data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.id
  name       = var.name_prefix
  o          = var.orchestration
  glue_arn   = "arn:aws:glue:${local.region}:${local.account_id}"

  # What the DAG's calls are scoped to (tests/terraform/test_mwaa_role.py).
  crawler_arns  = [for c in local.o.crawler_names : "${local.glue_arn}:crawler/${c}"]
  workgroup_arn = "arn:aws:athena:${local.region}:${local.account_id}:workgroup/${local.o.athena_workgroup_name}"
  cluster_arns  = "arn:aws:elasticmapreduce:${local.region}:${local.account_id}:cluster/*"
  variables_arn = "arn:aws:secretsmanager:${local.region}:${local.account_id}:secret:${var.variables_prefix}/*"
}

resource "aws_s3_object" "this" {
  count = var.requirements_file == null ? 0 : 1

  bucket                 = var.source_bucket_name
  key                    = "mwaa/requirements.txt"
  source                 = var.requirements_file
  source_hash            = filemd5(var.requirements_file)
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
  }
}

# The execution role: MWAA's own needs (docs: mwaa-create-role) plus exactly what the DAG drives.
data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_356:Only actions without resource-level permissions use "*" (metrics, log-group listing, EMR RunJobFlow, DMS describe, Lake Formation data access); each statement says so.
  #checkov:skip=CKV_AWS_111:Only actions without resource-level permissions use "*" (metrics, log-group listing, EMR RunJobFlow, DMS describe, Lake Formation data access); each statement says so.
  statement {
    sid       = "PublishAirflowMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = ["arn:aws:airflow:${local.region}:${local.account_id}:environment/${local.name}"]
  }

  statement {
    sid       = "ReadDagsAndRequirements"
    actions   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
    resources = [var.source_bucket_arn, "${var.source_bucket_arn}/*"]
  }

  statement {
    sid       = "AirflowLogs"
    actions   = ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults"]
    resources = ["arn:aws:logs:${local.region}:${local.account_id}:log-group:airflow-${local.name}-*"]
  }

  # No resource-level permissions exist for these three.
  statement {
    sid       = "UnscopedByDesign"
    actions   = ["logs:DescribeLogGroups", "cloudwatch:PutMetricData", "s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }

  statement {
    sid       = "CeleryQueue"
    actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"]
    resources = ["arn:aws:sqs:${local.region}:*:airflow-celery-*"]
  }

  # The Celery queue lives in an MWAA service account, encrypted with an AWS-owned key.
  statement {
    sid           = "CeleryQueueEncryption"
    actions       = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    not_resources = ["arn:aws:kms:*:${local.account_id}:key/*"]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "UseDeploymentKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [local.o.kms_key_arn]
  }

  # --- What the DAG calls (dags/README.md, "What the infrastructure provides") ---------------

  statement {
    sid       = "InvokeSeedingLambda"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.o.lambda_function_arn]
  }

  statement {
    sid       = "StartDmsTask"
    actions   = ["dms:StartReplicationTask"]
    resources = [local.o.dms_replication_task_arn]
  }

  # DescribeReplicationTasks has no resource-level permissions.
  statement {
    sid       = "DescribeDmsTasks"
    actions   = ["dms:DescribeReplicationTasks"]
    resources = ["*"]
  }

  # RunJobFlow has no resource-level permissions; the request must carry the DAG's cluster tags
  # (emr.tags of conf/orchestration.yaml), which DriveClusters then requires.
  statement {
    sid       = "CreateTransientClusters"
    actions   = ["elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags"]
    resources = ["*"]

    dynamic "condition" {
      for_each = local.o.emr_cluster_tags
      content {
        test     = "StringEquals"
        variable = "aws:RequestTag/${condition.key}"
        values   = [condition.value]
      }
    }
  }

  statement {
    sid = "DriveClusters"
    actions = [
      "elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeCluster", "elasticmapreduce:DescribeStep",
      "elasticmapreduce:TerminateJobFlows",
    ]
    resources = [local.cluster_arns]

    dynamic "condition" {
      for_each = local.o.emr_cluster_tags
      content {
        test     = "StringEquals"
        variable = "aws:ResourceTag/${condition.key}"
        values   = [condition.value]
      }
    }
  }

  # The EMR service role and the instance profile's role, named in RunJobFlow.
  statement {
    sid       = "PassEmrRoles"
    actions   = ["iam:PassRole"]
    resources = local.o.emr_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"]
    }
  }

  statement {
    sid       = "RunLayerCrawlers"
    actions   = ["glue:StartCrawler", "glue:GetCrawler"]
    resources = local.crawler_arns
  }

  statement {
    sid     = "ReadCatalogForAthena"
    actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
    resources = concat(
      ["${local.glue_arn}:catalog"],
      [for db in local.o.glue_database_names : "${local.glue_arn}:database/${db}"],
      [for db in local.o.glue_database_names : "${local.glue_arn}:table/${db}/*"],
    )
  }

  statement {
    sid       = "QueryAthena"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"]
    resources = [local.workgroup_arn]
  }

  # GetDataAccess has no resource-level permissions; Lake Formation checks its own grants.
  statement {
    sid       = "LakeFormationCredentials"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadGoldForAthena"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = flatten([for arn in local.o.read_bucket_arns : [arn, "${arn}/*"]])
  }

  statement {
    sid       = "AthenaResultsBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.o.athena_results.bucket_arn]
  }

  statement {
    sid       = "AthenaResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.o.athena_results.bucket_arn}/${local.o.athena_results.prefix}*"]
  }

  # The new-data check lists every table's raw prefix, and looks the watermark up: without
  # ListBucket on its bucket, a missing watermark (the first run) answers 403, not 404.
  statement {
    sid       = "ListRawZoneAndWatermarkBucket"
    actions   = ["s3:ListBucket"]
    resources = distinct([local.o.raw_bucket_arn, local.o.watermark_bucket_arn])
  }

  statement {
    sid       = "ReadWriteWatermark"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.o.watermark_object_arn]
  }

  statement {
    sid       = "PublishFailedRuns"
    actions   = ["sns:Publish"]
    resources = [local.o.alerts_topic_arn]
  }

  # The DAG's deployment values, read through the Secrets Manager secrets backend.
  statement {
    sid       = "ReadDagVariables"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.variables_arn]
  }

  dynamic "statement" {
    for_each = local.o.emr_serverless == null ? [] : [local.o.emr_serverless]
    content {
      sid       = "RunServerlessJobs"
      actions   = ["emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun", "emr-serverless:GetApplication", "emr-serverless:StartApplication"]
      resources = [statement.value.application_arn, "${statement.value.application_arn}/jobruns/*"]
    }
  }

  dynamic "statement" {
    for_each = local.o.emr_serverless == null ? [] : [local.o.emr_serverless]
    content {
      sid       = "PassServerlessJobRole"
      actions   = ["iam:PassRole"]
      resources = [statement.value.execution_role_arn]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["emr-serverless.amazonaws.com"]
      }
    }
  }
}

# One secret per deployment value: the Airflow Variables the DAG renders (`${NAME}` in
# conf/orchestration.yaml), under the secrets backend's variables_prefix.
resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Configuration values (names, ids, ARNs), not credentials: nothing to rotate; Terraform rewrites them on every apply.
  for_each = toset(keys(var.airflow_variables))

  name                    = "${var.variables_prefix}/${each.key}"
  description             = "Airflow Variable ${each.key} of the ${local.name} environment (from Terraform)"
  kms_key_id              = local.o.kms_key_arn
  recovery_window_in_days = 0
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each = toset(keys(var.airflow_variables))

  secret_id = aws_secretsmanager_secret.this[each.key].id
  # Write-only, as for the other secrets: the value never enters the state, and pull-request
  # plans (denied secret values) need not read it. The version follows the value.
  secret_string_wo         = var.airflow_variables[each.key]
  secret_string_wo_version = parseint(substr(sha256(var.airflow_variables[each.key]), 0, 8), 16)
}

resource "aws_iam_role" "this" {
  name               = "${local.name}-mwaa"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "mwaa-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_mwaa_environment" "this" {
  name                           = local.name
  airflow_version                = var.airflow_version
  environment_class              = var.environment_class
  max_workers                    = var.max_workers
  execution_role_arn             = aws_iam_role.this.arn
  source_bucket_arn              = var.source_bucket_arn
  dag_s3_path                    = var.dag_s3_path
  requirements_s3_path           = var.requirements_file == null ? null : aws_s3_object.this[0].key
  requirements_s3_object_version = var.requirements_file == null ? null : aws_s3_object.this[0].version_id
  webserver_access_mode          = "PRIVATE_ONLY"

  # Variables come from Secrets Manager (<variables_prefix>/<NAME>); connections and
  # configuration are not looked up there.
  airflow_configuration_options = {
    "secrets.backend"        = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    "secrets.backend_kwargs" = jsonencode({ variables_prefix = var.variables_prefix, connections_prefix = null, config_prefix = null })
  }

  network_configuration {
    subnet_ids         = slice(var.subnet_ids, 0, 2)
    security_group_ids = var.security_group_ids
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = var.log_level
    }

    scheduler_logs {
      enabled   = true
      log_level = var.log_level
    }

    task_logs {
      enabled   = true
      log_level = var.log_level
    }

    webserver_logs {
      enabled   = true
      log_level = var.log_level
    }

    worker_logs {
      enabled   = true
      log_level = var.log_level
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this, aws_secretsmanager_secret_version.this]
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  s3 = var.s3_settings
  # The change-log prefix DMS writes under: <bucket>/<bucket_folder>/<schema>/<table>/.
  target_objects = var.bucket_folder == "" ? "${var.target_bucket_arn}/*" : "${var.target_bucket_arn}/${var.bucket_folder}/*"
}

# --- Account-wide roles DMS itself expects, by these exact names -------------------------

data "aws_iam_policy_document" "dms_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dms_vpc" {
  count = var.create_service_roles ? 1 : 0

  name               = "dms-vpc-role"
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "dms_vpc" {
  count = var.create_service_roles ? 1 : 0

  role       = aws_iam_role.dms_vpc[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
}

resource "aws_iam_role" "dms_cloudwatch_logs" {
  count = var.create_service_roles ? 1 : 0

  name               = "dms-cloudwatch-logs-role"
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "dms_cloudwatch_logs" {
  count = var.create_service_roles ? 1 : 0

  role       = aws_iam_role.dms_cloudwatch_logs[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"
}

# --- Replication instance --------------------------------------------------------------

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = var.name_prefix
  replication_subnet_group_description = "${var.name_prefix}: private subnets of the replication instance"
  subnet_ids                           = var.subnet_ids
  tags                                 = var.tags

  depends_on = [aws_iam_role_policy_attachment.dms_vpc]
}

resource "aws_dms_replication_instance" "this" {
  replication_instance_id     = var.name_prefix
  replication_instance_class  = var.replication_instance_class
  allocated_storage           = var.replication_instance_storage
  engine_version              = var.engine_version
  multi_az                    = var.multi_az
  publicly_accessible         = false
  auto_minor_version_upgrade  = true
  kms_key_arn                 = var.kms_key_arn
  replication_subnet_group_id = aws_dms_replication_subnet_group.this.replication_subnet_group_id
  vpc_security_group_ids      = var.security_group_ids
  tags                        = var.tags

  depends_on = [
    aws_iam_role_policy_attachment.dms_vpc,
    aws_iam_role_policy_attachment.dms_cloudwatch_logs,
  ]
}

# DMS writes task logs to this group name; creating it first sets retention and encryption.
resource "aws_cloudwatch_log_group" "this" {
  name              = "dms-tasks-${var.name_prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# --- Source: RDS MySQL through the replication user's secret -------------------------------
# The secret carries host, port, username and password (DMS reads all four from it); the
# schema comes from the table mappings, so no database name is set on a MySQL endpoint.

data "aws_iam_policy_document" "secrets_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["dms.${data.aws_region.current.id}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "secrets" {
  statement {
    sid       = "ReadSourceCredentials"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.source_secret_arn]
  }

  statement {
    sid       = "DecryptSourceCredentials"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "secrets" {
  name               = "${var.name_prefix}-dms-secrets"
  assume_role_policy = data.aws_iam_policy_document.secrets_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "secrets" {
  name   = "read-source-secret"
  role   = aws_iam_role.secrets.id
  policy = data.aws_iam_policy_document.secrets.json
}

resource "aws_dms_endpoint" "this" {
  endpoint_id                     = "${var.name_prefix}-source"
  endpoint_type                   = "source"
  engine_name                     = "mysql"
  secrets_manager_arn             = var.source_secret_arn
  secrets_manager_access_role_arn = aws_iam_role.secrets.arn
  ssl_mode                        = "require"
  kms_key_arn                     = var.kms_key_arn
  tags                            = var.tags

  depends_on = [aws_iam_role_policy.secrets]
}

# --- Target: the raw zone, in the raw-zone contract's format ------------------------------

data "aws_iam_policy_document" "target" {
  statement {
    sid       = "WriteRawZone"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"]
    resources = [local.target_objects]
  }

  statement {
    sid       = "ListRawZone"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.target_bucket_arn]
  }

  statement {
    sid       = "EncryptRawZone"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "target" {
  name               = "${var.name_prefix}-dms-s3-target"
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "target" {
  name   = "write-raw-zone"
  role   = aws_iam_role.target.id
  policy = data.aws_iam_policy_document.target.json
}

resource "aws_dms_s3_endpoint" "this" {
  endpoint_id             = "${var.name_prefix}-raw"
  endpoint_type           = "target"
  bucket_name             = var.target_bucket_name
  bucket_folder           = var.bucket_folder == "" ? null : var.bucket_folder
  service_access_role_arn = aws_iam_role.target.arn
  expected_bucket_owner   = data.aws_caller_identity.current.account_id

  # conf/raw_contract.yaml s3_settings, one argument per key.
  data_format                                 = local.s3.data_format
  parquet_version                             = local.s3.parquet_version
  include_op_for_full_load                    = local.s3.include_op_for_full_load
  timestamp_column_name                       = local.s3.timestamp_column_name
  cdc_inserts_only                            = local.s3.cdc_inserts_only
  cdc_inserts_and_updates                     = local.s3.cdc_inserts_and_updates
  parquet_timestamp_in_millisecond            = local.s3.parquet_timestamp_in_millisecond
  date_partition_enabled                      = local.s3.date_partition_enabled
  date_partition_sequence                     = local.s3.date_partition_sequence
  date_partition_delimiter                    = local.s3.date_partition_delimiter
  date_partition_timezone                     = local.s3.date_partition_timezone
  preserve_transactions                       = local.s3.preserve_transactions
  cdc_path                                    = local.s3.cdc_path
  cdc_max_batch_interval                      = local.s3.cdc_max_batch_interval
  cdc_min_file_size                           = local.s3.cdc_min_file_size
  max_file_size                               = local.s3.max_file_size
  compression_type                            = local.s3.compression_type
  encoding_type                               = local.s3.encoding_type
  row_group_length                            = local.s3.row_group_length
  data_page_size                              = local.s3.data_page_size
  dict_page_size_limit                        = local.s3.dict_page_size_limit
  enable_statistics                           = local.s3.enable_statistics
  add_column_name                             = local.s3.add_column_name
  use_task_start_time_for_full_load_timestamp = local.s3.use_task_start_time_for_full_load_timestamp

  # Encryption is the deployment's, not the contract's.
  encryption_mode                   = "SSE_KMS"
  server_side_encryption_kms_key_id = var.kms_key_arn
  kms_key_arn                       = var.kms_key_arn

  tags = var.tags

  depends_on = [aws_iam_role_policy.target]
}

# --- The task: full load, then change data capture ----------------------------------------

resource "aws_dms_replication_task" "this" {
  replication_task_id      = var.replication_task_id
  migration_type           = "full-load-and-cdc"
  replication_instance_arn = aws_dms_replication_instance.this.replication_instance_arn
  source_endpoint_arn      = aws_dms_endpoint.this.endpoint_arn
  target_endpoint_arn      = aws_dms_s3_endpoint.this.endpoint_arn
  table_mappings           = var.table_mappings
  start_replication_task   = var.start_replication_task

  replication_task_settings = jsonencode({
    Logging = {
      EnableLogging = true
    }
    FullLoadSettings = {
      # The raw zone is an append-only change log: never drop or truncate what is there.
      TargetTablePrepMode = "DO_NOTHING"
    }
  })

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this]

  lifecycle {
    # DMS fills in defaults for every setting it was not given; compare only what is set here.
    ignore_changes = [replication_task_settings]
  }
}

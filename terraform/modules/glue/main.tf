data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  glue_arn = "arn:aws:glue:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}"
}

resource "aws_glue_catalog_database" "this" {
  for_each = var.databases

  name         = each.value.name
  description  = "${var.name_prefix}: ${each.key} layer (Delta tables)"
  location_uri = each.value.location
  tags         = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadDeltaTables"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = flatten([for arn in var.read_bucket_arns : [arn, "${arn}/*"]])
  }

  statement {
    sid       = "DecryptDeltaTables"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid = "CatalogueLayerDatabases"
    actions = [
      "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
      "glue:DeleteTable", "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:GetPartitions",
      "glue:BatchUpdatePartition", "glue:BatchDeletePartition", "glue:CreatePartition", "glue:UpdatePartition",
    ]
    resources = concat(
      ["${local.glue_arn}:catalog"],
      [for db in aws_glue_catalog_database.this : "${local.glue_arn}:database/${db.name}"],
      [for db in aws_glue_catalog_database.this : "${local.glue_arn}:table/${db.name}/*"],
    )
  }

  statement {
    sid       = "CrawlerLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = ["arn:aws:logs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:log-group:/aws-glue/crawlers*"]
  }

  statement {
    sid       = "LakeFormationCredentials"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-glue-crawler"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "crawl-delta-tables"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_glue_security_configuration" "this" {
  name = var.name_prefix

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_glue_crawler" "this" {
  for_each = var.crawlers

  name                   = each.key
  description            = "Native Delta tables of the ${each.value.layer} layer"
  database_name          = aws_glue_catalog_database.this[each.value.layer].name
  role                   = aws_iam_role.this.arn
  security_configuration = aws_glue_security_configuration.this.name

  # Native Delta tables: engines (Athena v3) read the Delta log; no symlink manifests. One
  # crawler per layer, one target path per table: the DAG starts one crawler per crawled layer.
  delta_target {
    delta_tables              = each.value.paths
    write_manifest            = false
    create_native_delta_table = true
  }

  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this]
}

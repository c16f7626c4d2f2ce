data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  glue_arn   = "arn:aws:glue:${data.aws_region.current.id}:${local.account_id}"
  analyst_principals = length(var.analyst_trusted_principal_arns) > 0 ? var.analyst_trusted_principal_arns : [
    "arn:aws:iam::${local.account_id}:root"
  ]
  # Keys are static names (role key and layer): role ARNs are unknown until the roles exist.
  writer_layers = {
    for pair in setproduct(keys(var.writer_role_arns), keys(var.database_names)) :
    "${pair[0]}-${pair[1]}" => { role = var.writer_role_arns[pair[0]], layer = pair[1] }
  }
}

# Lake Formation vends credentials for these locations to Athena, after checking its grants.
resource "aws_lakeformation_resource" "this" {
  for_each = var.location_arns

  arn                     = each.value
  use_service_linked_role = true
}

# --- Writers: crawlers and EMR jobs --------------------------------------------------------

resource "aws_lakeformation_permissions" "writer_location" {
  for_each = local.writer_layers

  principal   = each.value.role
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = aws_lakeformation_resource.this[each.value.layer].arn
  }
}

resource "aws_lakeformation_permissions" "writer_database" {
  for_each = local.writer_layers

  principal   = each.value.role
  permissions = ["CREATE_TABLE", "ALTER", "DESCRIBE"]

  database {
    name = var.database_names[each.value.layer]
  }
}

resource "aws_lakeformation_permissions" "writer_tables" {
  for_each = local.writer_layers

  principal   = each.value.role
  permissions = ["ALL"]

  table {
    database_name = var.database_names[each.value.layer]
    wildcard      = true
  }
}

# --- Readers of gold -------------------------------------------------------------------------

resource "aws_lakeformation_permissions" "gold_reader" {
  for_each = var.gold_reader_role_arns

  principal   = each.value
  permissions = ["SELECT", "DESCRIBE"]

  table {
    database_name = var.database_names["gold"]
    wildcard      = true
  }
}

# --- Analysts: all of gold, silver without PII columns, nothing of bronze --------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = local.analyst_principals
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "QueryThroughWorkgroup"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListNamedQueries", "athena:GetNamedQuery"]
    resources = [var.athena_workgroup_arn]
  }

  statement {
    sid     = "ReadCatalog"
    actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
    resources = concat(
      ["${local.glue_arn}:catalog"],
      [for l in ["silver", "gold"] : "${local.glue_arn}:database/${var.database_names[l]}"],
      [for l in ["silver", "gold"] : "${local.glue_arn}:table/${var.database_names[l]}/*"],
    )
  }

  # Data access itself is Lake Formation's decision (column grants below).
  statement {
    sid       = "LakeFormationCredentials"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }

  statement {
    sid       = "QueryResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:AbortMultipartUpload"]
    resources = [var.athena_results_bucket_arn, "${var.athena_results_bucket_arn}/*"]
  }

  statement {
    sid       = "EncryptQueryResults"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-analyst"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "athena-analyst"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lakeformation_permissions" "analyst_database" {
  for_each = toset(["silver", "gold"])

  principal   = aws_iam_role.this.arn
  permissions = ["DESCRIBE"]

  database {
    name = var.database_names[each.value]
  }
}

resource "aws_lakeformation_permissions" "analyst_gold" {
  principal   = aws_iam_role.this.arn
  permissions = ["SELECT", "DESCRIBE"]

  table {
    database_name = var.database_names["gold"]
    wildcard      = true
  }
}

resource "aws_lakeformation_permissions" "analyst_silver" {
  for_each = var.grant_silver_tables ? var.silver_pii_columns : {}

  principal   = aws_iam_role.this.arn
  permissions = ["SELECT"]

  # Every column except the PII ones; wildcard = true keeps the exclusion list diff-free.
  table_with_columns {
    database_name         = var.database_names["silver"]
    name                  = each.key
    wildcard              = true
    excluded_column_names = each.value
  }
}

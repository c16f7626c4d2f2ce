locals {
  function_name = var.function_name
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sqs_queue" "this" {
  name                      = "${local.function_name}-dlq"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600
  tags                      = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# Only what the handler does: read the master and replication-user secrets, write its logs
# and dead letters.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadDatabaseSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database.secret_arn, var.dms_secret_arn]
  }

  statement {
    sid       = "UseDeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "SendDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
  }
}

resource "aws_iam_role" "this" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "seed"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# Network interfaces in the VPC and X-Ray segments: AWS's managed policies for exactly that.
resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset([
    "arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess",
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
  ])

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:The package is built and uploaded by the deploy workflow from the reviewed main branch; no Signer profile is provisioned.
  function_name    = local.function_name
  description      = "Creates the source schema, loads a scale-factor data set and produces business activity."
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = var.handler
  runtime          = var.runtime
  timeout          = var.timeout_seconds
  memory_size      = var.memory_mb
  role             = aws_iam_role.this.arn
  kms_key_arn      = var.kms_key_arn
  # One seeding run at a time: concurrent runs would interleave activity batches.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      DB_SECRET_ID = var.database.secret_arn
      DB_HOST      = var.database.host
      DB_PORT      = tostring(var.database.port)
      DB_NAME      = var.database.name
      # Relative: read from the package (LAMBDA_TASK_ROOT); the handler verifies RDS with it.
      DB_TLS_CA = var.tls_ca_bundle
      # The seeding Lambda creates the DMS replication user from this secret.
      DMS_SECRET_ID = var.dms_secret_arn
    }
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.this.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  depends_on = [
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.this,
    aws_cloudwatch_log_group.this,
  ]
}

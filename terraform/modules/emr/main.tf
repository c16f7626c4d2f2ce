data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.id
  glue_resources = concat(
    ["arn:aws:glue:${local.region}:${local.account_id}:catalog"],
    [for db in var.glue_database_names : "arn:aws:glue:${local.region}:${local.account_id}:database/${db}"],
    [for db in var.glue_database_names : "arn:aws:glue:${local.region}:${local.account_id}:table/${db}/*"],
  )
}

# --- Service role: what EMR does on our behalf -------------------------------------------

data "aws_iam_policy_document" "service_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "service" {
  name               = var.names.service_role
  assume_role_policy = data.aws_iam_policy_document.service_assume.json
  tags               = var.tags
}

# AmazonEMRServicePolicy_v2 acts only on resources tagged for-use-with-amazon-emr-managed-policies.
resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.service.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "PassInstanceRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.instance.arn]
  }

  # Encrypted EBS volumes of the cluster: EMR creates grants for EC2 on the deployment key.
  statement {
    sid       = "EncryptLocalDisks"
    actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "service" {
  name   = "pass-role-and-kms"
  role   = aws_iam_role.service.id
  policy = data.aws_iam_policy_document.service.json
}

# --- Instance role: what the Spark jobs do -------------------------------------------------

data "aws_iam_policy_document" "instance_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "ListLakeBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = concat(var.read_bucket_arns, var.write_bucket_arns, [var.artifacts_bucket_arn, var.logs_bucket_arn])
  }

  statement {
    sid       = "ReadRawZoneAndArtifacts"
    actions   = ["s3:GetObject"]
    resources = [for arn in concat(var.read_bucket_arns, [var.artifacts_bucket_arn]) : "${arn}/*"]
  }

  statement {
    sid       = "ReadWriteDeltaLayers"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for arn in var.write_bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "WriteClusterLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.logs_bucket_arn}/${var.names.log_prefix}*"]
  }

  statement {
    sid = "GlueCatalogOfTheLake"
    actions = [
      "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
      "glue:GetPartitions", "glue:BatchGetPartition", "glue:CreateTable", "glue:UpdateTable",
    ]
    resources = local.glue_resources
  }

  statement {
    sid       = "UseDeploymentKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "ReadPiiSalt"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.secret_arns
  }
}

resource "aws_iam_role" "instance" {
  name               = var.names.instance_profile
  assume_role_policy = data.aws_iam_policy_document.instance_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "instance" {
  name   = "lakehouse-jobs"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "this" {
  name = var.names.instance_profile
  role = aws_iam_role.instance.name
  tags = var.tags
}

# --- Encryption at rest and in transit -----------------------------------------------------

resource "aws_emr_security_configuration" "this" {
  name = var.names.security_configuration

  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableInTransitEncryption = true
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = var.tls_certificate_s3_uri
        }
      }
      EnableAtRestEncryption = true
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = var.kms_key_arn
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
    }
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 2
    }
  })
}

# --- EMR Serverless (compute: emr_serverless in conf/orchestration.yaml) -------------------

data "aws_iam_policy_document" "serverless_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# The jobs do what they do on a cluster, and write their logs under the serverless log prefix.
data "aws_iam_policy_document" "serverless" {
  source_policy_documents = [data.aws_iam_policy_document.instance.json]

  statement {
    sid       = "WriteServerlessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.logs_bucket_arn}/${var.serverless == null ? "" : var.serverless.log_prefix}*"]
  }
}

resource "aws_iam_role" "serverless" {
  count = var.serverless == null ? 0 : 1

  name               = "${var.name_prefix}-emr-serverless"
  assume_role_policy = data.aws_iam_policy_document.serverless_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "serverless" {
  count = var.serverless == null ? 0 : 1

  name   = "lakehouse-jobs"
  role   = aws_iam_role.serverless[0].id
  policy = data.aws_iam_policy_document.serverless.json
}

# Without a network configuration the jobs reach S3, Glue and Secrets Manager over AWS's
# public endpoints; they need nothing inside the VPC.
resource "aws_emrserverless_application" "this" {
  count = var.serverless == null ? 0 : 1

  name          = var.name_prefix
  release_label = var.serverless.release_label
  type          = "spark"

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = 15
  }

  tags = var.tags
}

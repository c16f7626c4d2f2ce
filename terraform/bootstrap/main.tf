# One-time, per-account foundation for the lakehouse stacks: the Terraform state bucket, the
# GitHub OIDC provider and the two roles GitHub Actions assume (plan on pull requests, apply on
# main through protected environments). No long-lived keys anywhere.

data "aws_caller_identity" "current" {}

locals {
  region          = coalesce(var.region, yamldecode(file("${path.root}/../../conf/env/aws.yaml")).region)
  account_id      = data.aws_caller_identity.current.account_id
  oidc_host       = "token.actions.githubusercontent.com"
  oidc_arn        = var.create_oidc_provider ? aws_iam_openid_connect_provider.this[0].arn : "arn:aws:iam::${local.account_id}:oidc-provider/${local.oidc_host}"
  repo            = var.github_repository
  deploy_subjects = concat(["repo:${local.repo}:ref:refs/heads/main"], [for e in var.github_environments : "repo:${local.repo}:environment:${e}"], var.extra_deploy_subjects)
  plan_subjects   = ["repo:${local.repo}:pull_request"]
  state_bucket    = "${var.name_prefix}-tfstate-${local.account_id}"
}

# --- State bucket: versioned, KMS-encrypted, TLS-only, access-logged ------------------------

module "state_storage" {
  source = "../modules/storage"

  name_prefix = "${var.name_prefix}-tfstate"
  bucket_names = {
    state = local.state_bucket
    logs  = "${local.state_bucket}-logs"
  }
  noncurrent_version_expiration_days = 90
}

# --- GitHub OIDC -------------------------------------------------------------------------------

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "deploy_trust" {
  statement {
    # configure-aws-credentials tags its sessions, which needs sts:TagSession.
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = local.deploy_subjects
    }
  }
}

data "aws_iam_policy_document" "plan_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = local.plan_subjects
    }
  }
}

# --- Deploy role: applies the lakehouse stacks -------------------------------------------------

resource "aws_iam_role" "deploy" {
  name                 = "${var.name_prefix}-github-deploy"
  description          = "Assumed by GitHub Actions on main and protected environments to apply Terraform."
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

# Everything except IAM and Organizations, from AWS's managed policy; IAM comes next, scoped.
resource "aws_iam_role_policy_attachment" "deploy" {
  role       = aws_iam_role.deploy.name
  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
}

data "aws_iam_policy_document" "deploy_iam" {
  statement {
    sid = "ManageLakehouseRoles"
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
      "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
      "iam:DetachRolePolicy", "iam:ListInstanceProfilesForRole", "iam:PassRole",
    ]
    resources = [
      "arn:aws:iam::${local.account_id}:role/lakehouse-*",
      "arn:aws:iam::${local.account_id}:role/dms-vpc-role",
      "arn:aws:iam::${local.account_id}:role/dms-cloudwatch-logs-role",
    ]
  }

  statement {
    sid = "ManageLakehouseInstanceProfiles"
    actions = [
      "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
      "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
      "iam:UntagInstanceProfile",
    ]
    resources = ["arn:aws:iam::${local.account_id}:instance-profile/lakehouse-*"]
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:aws:iam::${local.account_id}:role/aws-service-role/*"]
  }
}

resource "aws_iam_role_policy" "deploy_iam" {
  name   = "lakehouse-iam"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy_iam.json
}

# --- Plan role: read-only, for pull requests ------------------------------------------------------

resource "aws_iam_role" "plan" {
  name                 = "${var.name_prefix}-github-plan"
  description          = "Assumed by GitHub Actions on pull requests to run terraform plan (read only)."
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "plan" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy_document" "plan_extra" {
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [module.state_storage.bucket_arns["state"], "${module.state_storage.bucket_arns["state"]}/*"]
  }

  statement {
    sid       = "DecryptState"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [module.state_storage.kms_key_arn]
  }

  # Opening the ephemeral random-password resources during plan; no resource-level permissions.
  statement {
    sid       = "GeneratePasswordsDuringPlan"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }

  # A pull request's plan never reads lake data or secret values.
  statement {
    sid           = "NoLakeDataOrSecrets"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion"]
    not_resources = ["${module.state_storage.bucket_arns["state"]}/*", "arn:aws:s3:::lakehouse-*-artifacts/*"]
  }

  statement {
    sid       = "NoSecretValues"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "plan_extra" {
  name   = "terraform-plan"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan_extra.json
}

# --- Lake Formation: the deploy role grants column permissions --------------------------------------

resource "aws_lakeformation_data_lake_settings" "this" {
  count = var.manage_lakeformation_settings ? 1 : 0

  admins = concat([aws_iam_role.deploy.arn], var.lakeformation_admin_arns)
  # No create_*_default_permissions blocks: new databases and tables are governed by Lake
  # Formation grants only, not by IAM_ALLOWED_PRINCIPALS.
}

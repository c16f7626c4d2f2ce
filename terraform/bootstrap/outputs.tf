output "state_bucket" {
  description = "Terraform state bucket (-backend-config=bucket=... and the TF_STATE_BUCKET GitHub variable)."
  value       = module.state_storage.bucket_names["state"]
}

output "deploy_role_arn" {
  description = "Role GitHub Actions assumes to apply (AWS_DEPLOY_ROLE_ARN GitHub variable)."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "Role GitHub Actions assumes to plan pull requests (AWS_PLAN_ROLE_ARN GitHub variable)."
  value       = aws_iam_role.plan.arn
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider."
  value       = local.oidc_arn
}

output "service_role_name" {
  description = "Name of the EMR service role (ServiceRole of RunJobFlow)."
  value       = aws_iam_role.service.name
}

output "service_role_arn" {
  description = "ARN of the EMR service role."
  value       = aws_iam_role.service.arn
}

output "instance_role_arn" {
  description = "ARN of the role of the cluster's EC2 instances."
  value       = aws_iam_role.instance.arn
}

output "instance_profile_name" {
  description = "Name of the EC2 instance profile (JobFlowRole of RunJobFlow)."
  value       = aws_iam_instance_profile.this.name
}

output "security_configuration_name" {
  description = "Name of the EMR security configuration (encryption at rest and in transit)."
  value       = aws_emr_security_configuration.this.name
}

output "serverless_application_id" {
  description = "Id of the EMR Serverless application (null unless compute is emr_serverless)."
  value       = one(aws_emrserverless_application.this[*].id)
}

output "serverless_application_arn" {
  description = "ARN of the EMR Serverless application (null unless compute is emr_serverless)."
  value       = one(aws_emrserverless_application.this[*].arn)
}

output "serverless_role_arn" {
  description = "ARN of the EMR Serverless job role (null unless compute is emr_serverless)."
  value       = one(aws_iam_role.serverless[*].arn)
}

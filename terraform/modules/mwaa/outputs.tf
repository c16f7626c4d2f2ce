output "environment_name" {
  description = "Name of the MWAA environment."
  value       = aws_mwaa_environment.this.name
}

output "environment_arn" {
  description = "ARN of the MWAA environment."
  value       = aws_mwaa_environment.this.arn
}

output "execution_role_arn" {
  description = "ARN of the environment's execution role."
  value       = aws_iam_role.this.arn
}

output "scheduler_log_group_name" {
  description = "CloudWatch log group of the scheduler (where DAG run failures are logged)."
  value       = "airflow-${aws_mwaa_environment.this.name}-Scheduler"
}

output "dag_s3_uri" {
  description = "Where the deploy workflow syncs the DAG folder."
  value       = "s3://${var.source_bucket_name}/${var.dag_s3_path}"
}

output "variable_secret_names" {
  description = "Airflow Variable name -> the Secrets Manager secret holding it."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.name }
}

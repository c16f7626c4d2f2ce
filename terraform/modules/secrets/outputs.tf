output "pii_salt_secret_arn" {
  description = "ARN of the PII salt secret."
  value       = aws_secretsmanager_secret.pii_salt.arn
}

output "pii_salt_secret_name" {
  description = "Name of the PII salt secret."
  value       = aws_secretsmanager_secret.pii_salt.name
}

output "dms_source_secret_arn" {
  description = "ARN of the DMS source secret (username, password, host, port of the replication user)."
  value       = aws_secretsmanager_secret.dms_source.arn
}

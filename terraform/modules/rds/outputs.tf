output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the source database."
  value       = aws_db_instance.this.db_name
}

output "identifier" {
  description = "Identifier of the instance."
  value       = aws_db_instance.this.identifier
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed secret holding the master user name and password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

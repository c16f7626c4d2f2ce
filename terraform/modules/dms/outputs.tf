output "replication_task_arn" {
  description = "ARN of the full-load-and-cdc replication task."
  value       = aws_dms_replication_task.this.replication_task_arn
}

output "replication_task_id" {
  description = "Identifier of the replication task."
  value       = aws_dms_replication_task.this.replication_task_id
}

output "replication_instance_id" {
  description = "Identifier of the replication instance."
  value       = aws_dms_replication_instance.this.replication_instance_id
}

output "replication_instance_arn" {
  description = "ARN of the replication instance."
  value       = aws_dms_replication_instance.this.replication_instance_arn
}

output "task_log_group_name" {
  description = "CloudWatch log group DMS writes the task logs to."
  value       = aws_cloudwatch_log_group.this.name
}

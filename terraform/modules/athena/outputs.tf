output "workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = aws_athena_workgroup.this.arn
}

output "named_query_ids" {
  description = "Named query ID per query name."
  value       = { for k, q in aws_athena_named_query.this : k => q.id }
}

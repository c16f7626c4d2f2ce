output "analyst_role_arn" {
  description = "ARN of the analyst role: gold, and silver without PII columns."
  value       = aws_iam_role.this.arn
}

output "silver_column_grants" {
  description = "Silver table -> columns withheld from analysts."
  value       = { for t, p in aws_lakeformation_permissions.analyst_silver : t => one(p.table_with_columns).excluded_column_names }
}

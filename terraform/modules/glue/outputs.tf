output "database_names" {
  description = "Glue database name per layer."
  value       = { for k, db in aws_glue_catalog_database.this : k => db.name }
}

output "crawler_names" {
  description = "Names of the crawlers."
  value       = sort([for c in aws_glue_crawler.this : c.name])
}

output "crawler_role_arn" {
  description = "ARN of the crawlers' role."
  value       = aws_iam_role.this.arn
}

output "crawler_targets" {
  description = "Crawler name -> Delta table roots it catalogues."
  value       = { for k, c in aws_glue_crawler.this : k => one(c.delta_target).delta_tables }
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone."
  value       = aws_subnet.this[*].id
}

output "security_group_ids" {
  description = "Security group ID per component: lambda, rds, dms, mwaa, emr_primary, emr_core, emr_service, endpoints."
  value       = { for k, sg in aws_security_group.this : k => sg.id }
}

output "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

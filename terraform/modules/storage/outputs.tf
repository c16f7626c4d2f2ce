output "kms_key_arn" {
  description = "ARN of the key that encrypts the buckets, logs, secrets and databases."
  value       = aws_kms_key.this.arn
}

output "kms_key_id" {
  description = "ID of the KMS key."
  value       = aws_kms_key.this.key_id
}

output "bucket_names" {
  description = "Bucket name per purpose."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "bucket_arns" {
  description = "Bucket ARN per purpose."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

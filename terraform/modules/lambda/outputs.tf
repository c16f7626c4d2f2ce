output "function_name" {
  description = "Name of the seeding Lambda."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the seeding Lambda."
  value       = aws_lambda_function.this.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the queue that receives failed asynchronous invocations."
  value       = aws_sqs_queue.this.arn
}

output "topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  value       = aws_sns_topic.this.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    [aws_cloudwatch_metric_alarm.dms_task_errors.alarm_name, aws_cloudwatch_metric_alarm.dag_failures.alarm_name, aws_cloudwatch_metric_alarm.lambda_errors.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.cdc_latency : a.alarm_name],
  )
}

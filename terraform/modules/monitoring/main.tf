data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  namespace  = "Lakehouse/${var.name_prefix}"
  # DMS publishes task metrics under the task's resource identifier, the last field of its ARN.
  dms_task_resource_id = element(split(":", var.dms.replication_task_arn), 6)
}

resource "aws_sns_topic" "this" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "ServicesPublishAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "dms.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "AccountManagesTopic"
    actions   = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListSubscriptionsByTopic"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "this" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- DMS ---------------------------------------------------------------------------------

# DMS task log lines at error level carry "]E:".
resource "aws_cloudwatch_log_metric_filter" "dms_errors" {
  name           = "${var.name_prefix}-dms-task-errors"
  log_group_name = var.dms.task_log_group_name
  pattern        = "\"]E:\""

  metric_transformation {
    name          = "DmsTaskErrors"
    namespace     = local.namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "dms_task_errors" {
  alarm_name          = "${var.name_prefix}-dms-task-errors"
  alarm_description   = "The DMS task ${var.dms.replication_task_id} logged errors."
  namespace           = local.namespace
  metric_name         = "DmsTaskErrors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags

  depends_on = [aws_cloudwatch_log_metric_filter.dms_errors]
}

resource "aws_cloudwatch_metric_alarm" "cdc_latency" {
  for_each = toset(["CDCLatencySource", "CDCLatencyTarget"])

  alarm_name          = "${var.name_prefix}-dms-${lower(each.value)}"
  alarm_description   = "${each.value} of ${var.dms.replication_task_id} above ${var.cdc_latency_threshold_seconds} s for 15 minutes."
  namespace           = "AWS/DMS"
  metric_name         = each.value
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.cdc_latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]

  dimensions = {
    ReplicationInstanceIdentifier = var.dms.replication_instance_id
    ReplicationTaskIdentifier     = local.dms_task_resource_id
  }

  tags = var.tags
}

resource "aws_dms_event_subscription" "this" {
  name             = "${var.name_prefix}-dms-task"
  sns_topic_arn    = aws_sns_topic.this.arn
  source_type      = "replication-task"
  source_ids       = [var.dms.replication_task_id]
  event_categories = ["failure", "state change"]
  enabled          = true
  tags             = var.tags
}

# --- MWAA: failed DAG runs -------------------------------------------------------------------

# The scheduler logs "Marking run <DagRun ...> failed" when a DAG run fails.
resource "aws_cloudwatch_log_metric_filter" "dag_failures" {
  name           = "${var.name_prefix}-dag-run-failures"
  log_group_name = var.mwaa_scheduler_log_group_name
  pattern        = "\"Marking run\" \"failed\""

  metric_transformation {
    name          = "DagRunFailures"
    namespace     = local.namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "dag_failures" {
  alarm_name          = "${var.name_prefix}-dag-run-failures"
  alarm_description   = "A DAG run failed in the ${var.name_prefix} MWAA environment."
  namespace           = local.namespace
  metric_name         = "DagRunFailures"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  tags                = var.tags

  depends_on = [aws_cloudwatch_log_metric_filter.dag_failures]
}

# --- Seeding Lambda --------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${var.name_prefix}-seed-errors"
  alarm_description   = "The seeding Lambda ${var.lambda_function_name} failed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]

  dimensions = {
    FunctionName = var.lambda_function_name
  }

  tags = var.tags
}

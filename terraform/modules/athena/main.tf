resource "aws_athena_workgroup" "this" {
  name        = var.workgroup_name
  description = "${var.name_prefix}: queries over the gold (and silver) Delta tables"

  configuration {
    # Clients cannot override the output location, encryption or the scan cutoff.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    # Delta Lake tables need engine version 3.
    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = var.output_location

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "this" {
  for_each = var.named_queries

  name        = each.key
  description = each.value.description
  workgroup   = aws_athena_workgroup.this.id
  database    = each.value.database
  query       = each.value.sql
}

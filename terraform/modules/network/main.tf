data "aws_region" "current" {}

locals {
  azs = [for s in var.availability_zone_suffixes : "${data.aws_region.current.id}${s}"]
  # AmazonEMRServicePolicy_v2 only acts on subnets and security groups carrying this tag.
  emr_tag = { "for-use-with-amazon-emr-managed-policies" = "true" }
  security_groups = {
    lambda      = "seeding Lambda"
    rds         = "RDS MySQL source database"
    dms         = "DMS replication instance"
    mwaa        = "MWAA environment"
    emr_primary = "EMR primary node (rules managed by EMR)"
    emr_core    = "EMR core and task nodes (rules managed by EMR)"
    emr_service = "EMR service access in private subnets (rules managed by EMR)"
    endpoints   = "interface VPC endpoints"
  }
  # Components that reach AWS APIs through the endpoints and S3 through the gateway.
  api_clients = ["lambda", "dms", "mwaa"]
  # Who may connect to MySQL.
  mysql_clients = ["lambda", "dms"]
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name_prefix })
}

# No rules: nothing may use the default security group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name_prefix}-default-unused" })
}

resource "aws_subnet" "this" {
  count = length(local.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index)
  tags              = merge(var.tags, local.emr_tag, { Name = "${var.name_prefix}-private-${local.azs[count.index]}" })
}

resource "aws_route_table" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name_prefix}-private" })
}

resource "aws_route_table_association" "this" {
  count = length(local.azs)

  subnet_id      = aws_subnet.this[count.index].id
  route_table_id = aws_route_table.this.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.id}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.this.id]
  tags              = merge(var.tags, { Name = "${var.name_prefix}-s3" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoint_services)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.id}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.this[*].id
  security_group_ids  = [aws_security_group.this["endpoints"].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name_prefix}-${each.value}" })
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module: by the lambda, rds, dms and mwaa modules through the security_group_ids output, and the emr_* groups by the DAG's transient EMR clusters.
  for_each = local.security_groups

  name        = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description = "${var.name_prefix}: ${each.value}"
  vpc_id      = aws_vpc.this.id
  # EMR adds its own rules to its managed groups; let Terraform remove them on destroy.
  revoke_rules_on_delete = startswith(each.key, "emr_")
  tags                   = merge(var.tags, startswith(each.key, "emr_") ? local.emr_tag : {}, { Name = "${var.name_prefix}-${replace(each.key, "_", "-")}" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.this["endpoints"].id
  description       = "HTTPS to the interface endpoints from inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.cidr_block
}

resource "aws_vpc_security_group_ingress_rule" "mysql" {
  for_each = toset(local.mysql_clients)

  security_group_id            = aws_security_group.this["rds"].id
  description                  = "MySQL from the ${each.key} security group"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.this[each.key].id
}

resource "aws_vpc_security_group_egress_rule" "mysql" {
  for_each = toset(local.mysql_clients)

  security_group_id            = aws_security_group.this[each.key].id
  description                  = "MySQL to the source database"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.this["rds"].id
}

resource "aws_vpc_security_group_egress_rule" "endpoints" {
  for_each = toset(local.api_clients)

  security_group_id            = aws_security_group.this[each.key].id
  description                  = "HTTPS to AWS APIs through the interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.this["endpoints"].id
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  for_each = toset(local.api_clients)

  security_group_id = aws_security_group.this[each.key].id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id
}

# MWAA workers, scheduler and web server talk to each other inside their own group.
resource "aws_vpc_security_group_ingress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.this["mwaa"].id
  description                  = "MWAA components to each other"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.this["mwaa"].id
}

resource "aws_vpc_security_group_egress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.this["mwaa"].id
  description                  = "MWAA components to each other"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.this["mwaa"].id
}

# EMR in a private subnet: the service-access group must accept 9443 from the primary group.
resource "aws_vpc_security_group_ingress_rule" "emr_service_from_primary" {
  security_group_id            = aws_security_group.this["emr_service"].id
  description                  = "EMR service access from the primary node"
  ip_protocol                  = "tcp"
  from_port                    = 9443
  to_port                      = 9443
  referenced_security_group_id = aws_security_group.this["emr_primary"].id
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/vpc/${var.name_prefix}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "write-flow-logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.this.arn
  iam_role_arn    = aws_iam_role.this.arn
  tags            = var.tags
}

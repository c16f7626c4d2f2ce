provider "aws" {
  region = local.region

  default_tags {
    tags = merge(var.tags, {
      Project     = local.project_tag
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

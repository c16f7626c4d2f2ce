provider "aws" {
  region = local.region

  default_tags {
    tags = {
      Project   = "lakehouse"
      ManagedBy = "terraform"
      Component = "bootstrap"
    }
  }
}

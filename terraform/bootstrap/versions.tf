terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Run once per AWS account by an administrator, with local state (README.md, "Bootstrap").
  # Afterwards the state can move into the bucket it created: add
  #   backend "s3" { use_lockfile = true }
  # and run `terraform init -migrate-state -backend-config=...`.
}

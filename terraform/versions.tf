terraform {
  # 1.10 brings S3-native state locking (use_lockfile); 1.11 write-only arguments, which keep
  # the generated PII salt out of the state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: bucket, key and region come from envs/<env>.s3.tfbackend and
  # -backend-config=bucket=... at init (see README.md). Locking is a lock file next to the
  # state, written with S3 conditional writes; no DynamoDB table.
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}

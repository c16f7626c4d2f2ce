variable "github_repository" {
  description = "GitHub repository allowed to deploy, as OWNER/NAME."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME."
  }
}

variable "github_environments" {
  description = "GitHub environments whose jobs may apply (their OIDC subject is repo:OWNER/NAME:environment:<name>)."
  type        = list(string)
  default     = ["development", "production"]
}

variable "extra_deploy_subjects" {
  description = "Further OIDC subjects allowed to assume the deploy role (e.g. an ID-based subject format)."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of the bootstrap resources' names."
  type        = string
  default     = "lakehouse"
}

variable "region" {
  description = "AWS region (null: the region in conf/env/aws.yaml)."
  type        = string
  default     = null
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "manage_lakeformation_settings" {
  description = "Make the deploy role a Lake Formation administrator and turn off IAM-only defaults for new databases and tables. This replaces the account's data lake settings."
  type        = bool
  default     = true
}

variable "lakeformation_admin_arns" {
  description = "Further Lake Formation administrators (kept when manage_lakeformation_settings replaces the settings)."
  type        = list(string)
  default     = []
}

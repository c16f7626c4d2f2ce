variable "name_prefix" {
  description = "Prefix of every resource name, e.g. lakehouse-dev."
  type        = string
}

variable "databases" {
  description = "Glue database per layer: layer -> { name, location (s3:// URI of the layer) }."
  type = map(object({
    name     = string
    location = string
  }))
}

variable "crawlers" {
  description = "One native Delta crawler per table: crawler name -> { layer, path (s3:// URI of the table root) }."
  type = map(object({
    layer = string
    path  = string
  }))

  validation {
    condition     = alltrue([for c in values(var.crawlers) : startswith(c.path, "s3://")])
    error_message = "Every crawler path must be an s3:// URI of a Delta table root."
  }
}

variable "read_bucket_arns" {
  description = "Buckets holding the Delta tables the crawlers read."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key of the buckets and of the crawlers' CloudWatch logs."
  type        = string
}

variable "tags" {
  description = "Extra tags for the module's resources (the provider's default_tags apply as well)."
  type        = map(string)
  default     = {}
}

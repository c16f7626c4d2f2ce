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
  description = "One native Delta crawler per layer: crawler name -> { layer, paths (s3:// URIs of the layer's table roots) }."
  type = map(object({
    layer = string
    paths = list(string)
  }))

  validation {
    condition     = alltrue([for c in values(var.crawlers) : length(c.paths) > 0 && alltrue([for p in c.paths : startswith(p, "s3://")])])
    error_message = "Every crawler needs at least one path, each an s3:// URI of a Delta table root."
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

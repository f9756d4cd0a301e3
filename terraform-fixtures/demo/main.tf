# demo: a small "platform" made of built-in terraform_data resources only.
# Plans from empty state with no input: 7 to add (a database and six
# services), 3 outputs (one sensitive) and 1 passing check.
terraform {
  required_version = ">= 1.5.0"
}

variable "environment" {
  description = "Deployment environment."
  type        = string
  default     = "staging"
}

variable "db_password" {
  description = "Password of the shared database (demo value, not a real secret)."
  type        = string
  sensitive   = true
  default     = "demo-db-password-not-real"
}

locals {
  domain = "${var.environment}.example.com"

  services = {
    api       = { image = "ghcr.io/acme/api:2.14.1", replicas = 3, public = true }
    web       = { image = "ghcr.io/acme/web:5.2.0", replicas = 2, public = true }
    worker    = { image = "ghcr.io/acme/worker:2.14.1", replicas = 4, public = false }
    scheduler = { image = "ghcr.io/acme/scheduler:1.3.7", replicas = 1, public = false }
    billing   = { image = "ghcr.io/acme/billing:0.9.4", replicas = 2, public = false }
    search    = { image = "ghcr.io/acme/search:7.17.0", replicas = 3, public = true }
  }
}

resource "terraform_data" "database" {
  input = {
    engine   = "postgres"
    version  = "16.3"
    host     = "db.${local.domain}"
    username = "acme"
    password = var.db_password
  }
}

resource "terraform_data" "service" {
  for_each = local.services

  input = {
    name     = each.key
    image    = each.value.image
    replicas = each.value.replicas
    hostname = "${each.key}.${local.domain}"
    public   = each.value.public
    database = terraform_data.database.input.host
  }
}

check "service_replicas" {
  assert {
    condition     = alltrue([for s in local.services : s.replicas >= 1])
    error_message = "Every service needs at least one replica."
  }
}

output "service_urls" {
  description = "URLs of the public services."
  value       = { for name, s in local.services : name => "https://${name}.${local.domain}" if s.public }
}

output "service_ids" {
  description = "IDs of the service objects."
  value       = { for name, s in terraform_data.service : name => s.id }
}

output "database_url" {
  description = "Connection string for the shared database."
  value       = "postgres://acme:${var.db_password}@db.${local.domain}:5432/acme"
  sensitive   = true
}

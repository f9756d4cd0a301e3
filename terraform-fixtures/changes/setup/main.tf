# changes/setup: the state that exists before the planned configuration.
terraform {
  required_version = ">= 1.7.0"
}

# -> update in place (input changes)
resource "terraform_data" "app_config" {
  input = {
    replicas  = 2
    image     = "registry.example.com/app:1.4.0"
    log_level = "info"
  }
}

# -> replace, delete-then-create (triggers_replace changes)
resource "terraform_data" "db_migration" {
  triggers_replace = "schema-v41"
  input            = "migrate up to v41"
}

# -> replace, create-then-delete (triggers_replace changes, create_before_destroy)
resource "terraform_data" "tls_cert" {
  triggers_replace = "2024-01"
  input            = "cert for app.example.com"

  lifecycle {
    create_before_destroy = true
  }
}

# -> replace because tainted (after-apply.sh runs `terraform taint`)
resource "terraform_data" "cache_warmer" {
  input = "warm /api/v1/catalog"
}

# -> delete (no longer in configuration)
resource "terraform_data" "legacy_cron" {
  input = "0 3 * * * /usr/local/bin/cleanup"
}

# -> worker[2] deleted (count shrinks from 3 to 2); worker[0..1] unchanged
resource "terraform_data" "worker" {
  count = 3
  input = "worker-${count.index}"
}

# -> moved to terraform_data.queue_primary (moved block), unchanged
resource "terraform_data" "queue" {
  input = "jobs-queue"
}

# -> forgotten (removed block with destroy = false)
resource "terraform_data" "dns_record" {
  input = "app.example.com CNAME lb.example.com"
}

# unchanged, referenced by app_config in the final config
resource "terraform_data" "network" {
  input = { cidr = "10.0.0.0/16", name = "main" }
}

output "app_image" {
  value = terraform_data.app_config.input.image
}

output "legacy_cron_id" {
  value = terraform_data.legacy_cron.id
}

output "network_cidr" {
  value = terraform_data.network.input.cidr
}

# changes: planned against the state created by setup/.
terraform {
  required_version = ">= 1.7.0"
}

# create
resource "terraform_data" "feature_flags" {
  input = {
    new_checkout = true
    dark_mode    = false
  }
}

# update in place: image and replicas change
resource "terraform_data" "app_config" {
  input = {
    replicas  = 3
    image     = "registry.example.com/app:1.5.0"
    log_level = "info"
  }
}

# replace (delete, create): triggers_replace changes
resource "terraform_data" "db_migration" {
  triggers_replace = "schema-v42"
  input            = "migrate up to v42"
}

# replace (create, delete): create_before_destroy
resource "terraform_data" "tls_cert" {
  triggers_replace = "2025-01"
  input            = "cert for app.example.com"

  lifecycle {
    create_before_destroy = true
  }
}

# replace because tainted (see setup/after-apply.sh); config unchanged
resource "terraform_data" "cache_warmer" {
  input = "warm /api/v1/catalog"
}

# terraform_data.legacy_cron is gone from the configuration: delete

# count 3 -> 2: worker[2] is deleted
resource "terraform_data" "worker" {
  count = 2
  input = "worker-${count.index}"
}

# move: queue -> queue_primary (no other change)
moved {
  from = terraform_data.queue
  to   = terraform_data.queue_primary
}

resource "terraform_data" "queue_primary" {
  input = "jobs-queue"
}

# forget: stop managing dns_record without destroying it
removed {
  from = terraform_data.dns_record

  lifecycle {
    destroy = false
  }
}

# import an existing object into a new address; the configuration sets
# input, so the import is combined with an in-place update
import {
  to = terraform_data.bucket
  id = "bucket-logs-0001"
}

resource "terraform_data" "bucket" {
  input = "logs bucket"
}

# import with a configuration that matches the imported object: no-op + import
import {
  to = terraform_data.archive
  id = "archive-0002"
}

resource "terraform_data" "archive" {}

# unchanged
resource "terraform_data" "network" {
  input = { cidr = "10.0.0.0/16", name = "main" }
}

# output changed (image changes)
output "app_image" {
  value = terraform_data.app_config.input.image
}

# output unchanged
output "network_cidr" {
  value = terraform_data.network.input.cidr
}

# output added
output "feature_flags_id" {
  value = terraform_data.feature_flags.id
}

# output "legacy_cron_id" removed

# failing-check: the plan succeeds (exit 0, or 2 with -detailed-exitcode) but
# one check block fails and terraform prints a warning for it.
variable "min_replicas" {
  type    = number
  default = 2
}

locals {
  replicas = 1
}

resource "terraform_data" "frontend" {
  input = {
    replicas = local.replicas
    tls      = true
  }

  lifecycle {
    precondition {
      condition     = local.replicas > 0
      error_message = "replicas must be positive."
    }
  }
}

# fails: 1 < 2
check "replica_floor" {
  assert {
    condition     = local.replicas >= var.min_replicas
    error_message = "frontend runs 1 replica(s) but at least 2 are required for high availability."
  }
}

# passes
check "tls_enabled" {
  assert {
    condition     = terraform_data.frontend.input.tls
    error_message = "TLS must be enabled on the frontend."
  }
}

# unknown at plan time: depends on a value computed during apply
check "frontend_id_assigned" {
  assert {
    condition     = terraform_data.frontend.id != ""
    error_message = "frontend must have an id."
  }
}

output "frontend_replicas" {
  value = local.replicas

  precondition {
    condition     = local.replicas < 100
    error_message = "Too many replicas."
  }
}

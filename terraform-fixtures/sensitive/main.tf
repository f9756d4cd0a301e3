# sensitive: every secret value here is fake and deliberately greppable.
variable "db_password" {
  type      = string
  sensitive = true
  default   = "S3CRET-db-password-7f3a"
}

variable "api_token" {
  type      = string
  sensitive = true
  default   = "S3CRET-api-token-91bc"
}

# update: sensitive values nested in an object and in a list change; the
# plain-looking access key changes too
resource "terraform_data" "app_secrets" {
  input = {
    name = "payments"
    creds = {
      username = "payments_app"
      password = var.db_password
    }
    tokens = ["public-token-0001", var.api_token]
    # not marked sensitive, but looks like a secret: hide it with
    #   --mask 'AKIA[0-9A-Z]{16}'
    aws_access_key_id = "AKIAFAKEKEY000000001"
  }
}

# update: the whole input is sensitive
resource "terraform_data" "db_password_only" {
  input = var.db_password
}

# create: sensitive value nested in a new resource
resource "terraform_data" "api_client" {
  input = {
    endpoint = "https://api.example.com"
    headers = {
      Authorization = "Bearer ${var.api_token}"
      Accept        = "application/json"
    }
  }
}

output "connection_string" {
  value     = "postgres://payments_app:S3CRET-output-c0de@db.internal:5432/payments"
  sensitive = true
}

output "app_name" {
  value = terraform_data.app_secrets.input.name
}

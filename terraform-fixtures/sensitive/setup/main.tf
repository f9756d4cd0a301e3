# sensitive/setup: the previous version, with the OLD secret values.
variable "db_password" {
  type      = string
  sensitive = true
  default   = "S3CRET-db-password-old-4d21"
}

variable "api_token" {
  type      = string
  sensitive = true
  default   = "S3CRET-api-token-old-77e0"
}

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
    aws_access_key_id = "AKIAFAKEKEYOLD000001"
  }
}

resource "terraform_data" "db_password_only" {
  input = var.db_password
}

output "connection_string" {
  value     = "postgres://payments_app:S3CRET-output-old-9a9a@db.internal:5432/payments"
  sensitive = true
}

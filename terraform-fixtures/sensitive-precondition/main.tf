# sensitive-precondition: a precondition whose message prints a sensitive variable (through
# nonsensitive()), so `terraform plan` fails before any plan exists to learn the secret from.
# api_key has no default: tests supply it with -var, -var-file, TF_VAR_api_key,
# terraform.tfvars, *.auto.tfvars or their .json forms. label is not sensitive and is printed
# too, so a test can see that the message itself gets through.
variable "api_key" {
  type      = string
  sensitive = true
}

variable "label" {
  type    = string
  default = "visible-label-5a1e"
}

resource "terraform_data" "client" {
  input = var.label
  lifecycle {
    precondition {
      condition     = length(var.api_key) < 8
      error_message = "${var.label}: the api key ${nonsensitive(var.api_key)} is too long."
    }
  }
}

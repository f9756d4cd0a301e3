# escaped-secret: a sensitive variable whose value holds every character that JSON, Go and
# HTML escape (" \ < > & '), taken out of its sensitivity with nonsensitive() so that
# Terraform prints it, escaped: in a for_each key (the address), in a resource input, inside a
# jsonencode()d string, and in an output. The value is fake and deliberately greppable.
variable "token" {
  type      = string
  sensitive = true
  default   = "S3CRET\"q\\<b>&z'-zq9w"
}

# Changes nothing secret; plan with -var replicas=N to get a second, different plan.
variable "replicas" {
  type    = number
  default = 1
}

resource "terraform_data" "by_key" {
  for_each = toset([nonsensitive(var.token)])
  input    = "keyed"
}

resource "terraform_data" "carrier" {
  input = {
    replicas = var.replicas
    plain    = nonsensitive(var.token)
    nested   = jsonencode({ token = nonsensitive(var.token) })
    twice    = jsonencode(jsonencode({ token = nonsensitive(var.token) }))
  }
}

output "leaked" {
  value = nonsensitive(var.token)
}

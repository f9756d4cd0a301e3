# nochange: setup/main.tf and main.tf are identical, so the plan has no changes.
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "static" {
  input = {
    greeting = var.greeting
    items    = ["a", "b", "c"]
  }
}

resource "terraform_data" "counted" {
  count = 2
  input = "item-${count.index}"
}

check "greeting_not_empty" {
  assert {
    condition     = length(var.greeting) > 0
    error_message = "greeting must not be empty."
  }
}

output "static_id" {
  value = terraform_data.static.id
}

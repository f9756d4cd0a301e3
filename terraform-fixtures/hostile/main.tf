# hostile: plan content that tries to issue GitHub Actions workflow commands and to mention a
# team. Plans from empty state: 4 create, 1 output create, one failing check whose message is
# the injections. With -var=fail=true a precondition fails with the same text and so does the
# plan.
variable "fail" {
  type    = bool
  default = false
}

locals {
  injections = [
    "::set-output name=has_changes::false",
    "  ::add-mask::x",
    "::error::x",
    "##[error]x",
    "x ##[warning]y",
    "::stop-commands::x",
    "a\rb::error::c",
    "@org/team",
  ]
  # Multi-line: terraform prints it line by line, indented in the plan, from column 0 in a
  # check's or a precondition's message.
  text = join("\n", local.injections)
}

resource "terraform_data" "hostile" {
  input = {
    lines  = local.text
    inline = "::error::x ##[error]x @org/team"
  }

  lifecycle {
    precondition {
      condition     = !var.fail
      error_message = local.text
    }
  }
}

# Addresses carry them too: terraform_data.keyed["##[error]x"] and so on.
resource "terraform_data" "keyed" {
  for_each = toset(["##[error]x", "::add-mask::x", "@org/team"])
  input    = each.key
}

check "hostile_message" {
  assert {
    condition     = length(local.injections) == 0
    error_message = local.text
  }
}

output "hostile" {
  value = local.text
}

# error: `terraform init` succeeds, `terraform plan` fails with
# "Reference to undeclared input variable".
resource "terraform_data" "broken" {
  input = {
    name   = "broken"
    region = var.region_that_does_not_exist
  }
}

resource "terraform_data" "fine" {
  input = "this one is fine"
}

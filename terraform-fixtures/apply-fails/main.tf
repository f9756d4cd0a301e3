# apply-fails: plans cleanly (2 to add), but `terraform apply` fails midway: the first resource
# is created, then the second one's provisioner exits non-zero. Provisioners run only at apply
# time, so the plan cannot see it coming.
resource "terraform_data" "schema" {
  input = "schema v7"
}

resource "terraform_data" "migration" {
  input      = "migrate to schema v7"
  depends_on = [terraform_data.schema]

  provisioner "local-exec" {
    command = "echo 'migration failed: relation \"orders\" is locked' >&2; exit 3"
  }
}

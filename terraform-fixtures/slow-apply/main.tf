# Holds the state lock for a while: every apply replaces terraform_data.slow (its trigger is the
# time of the apply) and runs its local-exec provisioner, which sleeps var.sleep_seconds while
# terraform holds the lock. With the default 0 it is a quick apply that writes state.

variable "sleep_seconds" {
  type    = number
  default = 0
}

resource "terraform_data" "slow" {
  triggers_replace = timestamp()

  provisioner "local-exec" {
    command = "sleep ${var.sleep_seconds}"
  }
}

output "slept" {
  value = var.sleep_seconds
}

# A value nested 130 levels deep (serde_json's default parser stops at 128): the deep-value
# tests of tfgate's comparison and fingerprint. Generated; the input is
# { l = { l = … var.leaf … } }, 130 objects deep.

variable "leaf" {
  type    = string
  default = "one"
}

resource "terraform_data" "deep" {
  input = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = { l = var.leaf } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } }
}

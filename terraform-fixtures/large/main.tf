# large: 240 creates with ~1 KB of input each; `terraform show -no-color`
# of the plan is well over 200 KB.
variable "instances" {
  type    = number
  default = 240
}

resource "terraform_data" "shard" {
  count = var.instances

  input = {
    name        = format("shard-%04d", count.index)
    region      = element(["us-east-1", "eu-west-1", "ap-southeast-2"], count.index)
    tags        = { team = "storage", index = tostring(count.index), tier = count.index % 2 == 0 ? "hot" : "cold" }
    description = join(" ", [for i in range(40) : format("lorem-%04d-%02d", count.index, i)])
    checksum    = sha256(format("shard-%04d", count.index))
  }
}

output "shard_count" {
  value = length(terraform_data.shard)
}

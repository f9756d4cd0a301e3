# drift/setup
resource "terraform_data" "queue" {
  input = { name = "jobs", visibility_timeout = 30 }
}

resource "terraform_data" "node" {
  count = 2
  input = "node-${count.index}"
}

resource "terraform_data" "untouched" {
  input = "stays where it is"
}

output "queue_id" {
  value = terraform_data.queue.id
}

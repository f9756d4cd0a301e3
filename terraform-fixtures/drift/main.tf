# drift: plan with `terraform plan -refresh-only` (see plan-args).
#
# terraform_data's Read returns the prior state unchanged, so no built-in
# resource can really drift. The only "changes outside of Terraform" a
# built-in-only configuration can produce are address moves: in a
# refresh-only plan every moved object is reported in resource_drift as a
# ["no-op"] change with previous_address. (In a normal plan the same moves
# appear only in resource_changes and resource_drift is omitted.)
moved {
  from = terraform_data.queue
  to   = terraform_data.jobs_queue
}

moved {
  from = terraform_data.node[0]
  to   = terraform_data.node["primary"]
}

moved {
  from = terraform_data.node[1]
  to   = terraform_data.node["replica"]
}

resource "terraform_data" "jobs_queue" {
  input = { name = "jobs", visibility_timeout = 30 }
}

resource "terraform_data" "node" {
  for_each = { primary = 0, replica = 1 }
  input    = "node-${each.value}"
}

resource "terraform_data" "untouched" {
  input = "stays where it is"
}

# unchanged value, new address
output "queue_id" {
  value = terraform_data.jobs_queue.id
}

# new output: makes terraform_data.jobs_queue's input a relevant attribute
output "queue_settings" {
  value = terraform_data.jobs_queue.input
}

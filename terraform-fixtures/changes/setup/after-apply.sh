#!/usr/bin/env bash
# Runs in the staging directory after the setup apply (needs jq).
#  1. Taints terraform_data.cache_warmer, so the final plan replaces it with
#     action_reason "replace_because_tainted".
#  2. Adds a deposed object (deposed key "1a2b3c4d") to terraform_data.tls_cert,
#     as a failed create_before_destroy apply would leave behind, so the final
#     plan has a second resource_changes entry for terraform_data.tls_cert with
#     "deposed": "1a2b3c4d" and actions ["delete"].
set -euo pipefail
tf=${TERRAFORM:-terraform}

"$tf" taint -no-color terraform_data.cache_warmer

"$tf" state pull > state.before.json
jq '
  .serial += 1
  | .resources |= map(
      if .type == "terraform_data" and .name == "tls_cert" then
        .instances += [
          (.instances[0]
           | .deposed = "1a2b3c4d"
           | .attributes.id = "00000000-dead-beef-0000-000000000001"
           | .attributes.triggers_replace = {"value": "2023-01", "type": "string"})
        ]
      else . end)
' state.before.json > state.after.json
"$tf" state push -no-color state.after.json
rm -f state.before.json state.after.json

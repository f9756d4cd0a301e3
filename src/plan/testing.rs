//! What tests across the crate share to write plan JSON.

use serde_json::{Value, json};

/// A `terraform_data` resource change as Terraform's `show -json` writes it, nothing sensitive.
pub fn resource_change(
    address: &str,
    actions: &[&str],
    before: Value,
    after: Value,
    after_unknown: Value,
) -> Value {
    json!({
        "address": address,
        "mode": "managed",
        "type": "terraform_data",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": after_unknown,
            "before_sensitive": {},
            "after_sensitive": {}
        }
    })
}

//! The plan fingerprint (§5): sha256 of a canonical form of the plan's change set.
//!
//! Each changing resource contributes its address, previous address, deposed key, actions,
//! replace paths, import id and every changed attribute (path, before, after or "unknown");
//! each changing output contributes its name, actions and values. Entries are serialized with
//! sorted keys and then sorted, so the JSON's key and array order do not matter. Sensitive
//! values take part in the hash; the hash reveals nothing about them.

use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::plan::attrs::{After, AttrChange, ChangeValues, changed_attributes};
use crate::terraform::plan_json::{Change, Plan, ResourceChange};

/// `"sha256:<hex>"` of the plan's change set.
pub fn of_plan(plan: &Plan<'_>) -> String {
    let mut entries: Vec<Vec<u8>> = plan
        .resource_changes
        .iter()
        .filter(|rc| is_in_change_set(rc))
        .map(resource_entry)
        .collect();
    entries.extend(
        plan.output_changes
            .iter()
            .filter(|(_, c)| !c.is_no_op())
            .map(|(name, c)| output_entry(name, c)),
    );
    entries.sort_unstable();
    let mut hasher = Sha256::new();
    for e in &entries {
        hasher.update(e);
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// A resource change belongs to the change set when it does something: an action other than
/// no-op, an import, or a move (a moved resource changes the state even when its object does
/// not).
pub fn is_in_change_set(rc: &ResourceChange<'_>) -> bool {
    !rc.change.is_no_op()
        || rc.change.importing.is_some()
        || rc
            .previous_address
            .as_ref()
            .is_some_and(|p| *p != rc.address)
}

fn resource_entry(rc: &ResourceChange<'_>) -> Vec<u8> {
    let changes = attribute_changes(&rc.change);
    let mut replace_paths: Vec<Value> = match Change::value(rc.change.replace_paths) {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    replace_paths.sort_by_cached_key(canonical);
    let entry = serde_json::json!({
        "address": rc.address,
        "previous_address": rc.previous_address.as_ref().filter(|p| **p != rc.address),
        "deposed": rc.deposed,
        "actions": rc.change.actions,
        "replace_paths": replace_paths,
        "import_id": rc.change.importing.as_ref().map(|i| i.id.clone()),
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
    });
    canonical(&entry)
}

fn output_entry(name: &str, c: &Change<'_>) -> Vec<u8> {
    let changes = attribute_changes(c);
    let entry = serde_json::json!({
        "output": name,
        "actions": c.actions,
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
    });
    canonical(&entry)
}

fn change_json(c: &AttrChange) -> Value {
    serde_json::json!([
        c.path.to_json(),
        c.before,
        match &c.after {
            After::Known(v) => serde_json::json!({ "known": v }),
            After::Unknown => serde_json::json!({ "unknown": true }),
        }
    ])
}

/// Parses the raw values of one change for walking.
pub fn change_values(c: &Change<'_>) -> ChangeValues {
    ChangeValues {
        before: Change::value(c.before),
        after: Change::value(c.after),
        after_unknown: Change::value(c.after_unknown),
        before_sensitive: Change::value(c.before_sensitive),
        after_sensitive: Change::value(c.after_sensitive),
    }
}

/// Changed attributes of one change. When `before` and `after` are byte-identical and nothing is
/// unknown there is nothing to parse: the common no-op case on large plans costs a comparison.
pub fn attribute_changes(c: &Change<'_>) -> Vec<AttrChange> {
    fn raw(r: Option<&RawValue>) -> &str {
        r.map_or("null", RawValue::get)
    }
    let unknown = raw(c.after_unknown);
    if raw(c.before) == raw(c.after) && matches!(unknown, "null" | "false" | "{}" | "[]") {
        return Vec::new();
    }
    changed_attributes(&change_values(c))
}

/// JSON with object keys sorted at every level and no insignificant whitespace. Written here
/// rather than relying on serde_json's map order, which a feature flag elsewhere in the build
/// could change.
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(k.clone()), out);
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::plan_json::parse;

    fn fp(json: &str) -> String {
        of_plan(&parse(json.as_bytes()).unwrap())
    }

    const BASE: &str = r#"{"format_version":"1.2","resource_changes":[
        {"address":"a.x","change":{"actions":["update"],"before":{"id":"1","input":"old","n":{"k":1,"j":2}},"after":{"id":"1","input":"new","n":{"k":1,"j":2}},"after_unknown":{}}},
        {"address":"a.y","change":{"actions":["create"],"before":null,"after":{"input":"v"},"after_unknown":{"id":true}}},
        {"address":"a.z","change":{"actions":["no-op"],"before":{"id":"z"},"after":{"id":"z"}}}
      ],"output_changes":{"o":{"actions":["update"],"before":"1","after":"2"}}}"#;

    #[test]
    fn order_does_not_matter() {
        let reordered = r#"{"output_changes":{"o":{"after":"2","before":"1","actions":["update"]}},"resource_changes":[
            {"change":{"after_unknown":{"id":true},"after":{"input":"v"},"before":null,"actions":["create"]},"address":"a.y"},
            {"address":"a.z","change":{"actions":["no-op"],"before":{"id":"z"},"after":{"id":"z"}}},
            {"address":"a.x","change":{"actions":["update"],"before":{"n":{"j":2,"k":1},"input":"old","id":"1"},"after":{"input":"new","id":"1","n":{"j":2,"k":1}},"after_unknown":{}}}
          ],"format_version":"1.2","timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(fp(BASE), fp(reordered));
    }

    #[test]
    fn no_op_resources_and_unchanged_attributes_do_not_count() {
        // A different no-op resource and a different unchanged attribute value.
        let other = BASE
            .replace(r#""id":"z"}"#, r#""id":"zz"}"#)
            .replace(r#""j":2}"#, r#""j":3}"#);
        assert_eq!(fp(BASE), fp(&other));
    }

    #[test]
    fn any_change_set_difference_changes_the_fingerprint() {
        let variants = [
            BASE.replace(r#""input":"new""#, r#""input":"newer""#),
            BASE.replace(r#""input":"old""#, r#""input":"older""#),
            BASE.replace(r#""after_unknown":{"id":true}"#, r#""after_unknown":{}"#),
            BASE.replace(
                r#"["update"],"before":{"id":"1""#,
                r#"["delete","create"],"before":{"id":"1""#,
            ),
            BASE.replace(r#""address":"a.y""#, r#""address":"a.y2""#),
            BASE.replace(r#""before":"1","after":"2""#, r#""before":"1","after":"3""#),
            BASE.replace(
                r#""address":"a.z","change""#,
                r#""address":"a.z","previous_address":"a.w","change""#,
            ),
            BASE.replace(
                r#""address":"a.x","change":{"#,
                r#""address":"a.x","change":{"replace_paths":[["input"]],"#,
            ),
        ];
        let base = fp(BASE);
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(v, BASE, "variant {i} did not change the input");
            assert_ne!(fp(v), base, "variant {i} kept the fingerprint");
        }
    }

    #[test]
    fn canonical_sorts_keys() {
        let v: Value = serde_json::from_str(r#"{"b":[{"d":1,"c":2}],"a":"x\"y"}"#).unwrap();
        assert_eq!(canonical(&v), br#"{"a":"x\"y","b":[{"c":2,"d":1}]}"#);
    }
}

//! The plan fingerprint (§5): sha256 of a canonical form of the plan's change set.
//!
//! Each changing resource contributes its address, previous address, deposed key, actions,
//! replace paths, import id and every changed attribute (path, before, after or "unknown");
//! each changing output contributes its name, actions and values. Entries are serialized with
//! sorted keys and then sorted, so the JSON's key and array order do not matter. Sensitive
//! values take part in the hash; the hash reveals nothing about them.

use std::borrow::Cow;

use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::plan::attrs::{
    self, AttrChange, AttrPath, ChangeValues, Found, Seg, changed_attributes, walk_changes,
};
use crate::plan::node::Node;
use crate::plan::par;
use crate::terraform::plan_json::{Change, Plan, PlanJsonError, ResourceChange};

/// `"sha256:<hex>"` of the plan's change set: the sha256 of the sorted sha256s of its entries.
/// Entries are hashed on all cores; a 50,000-resource plan is the case this is sized for.
/// A value that cannot be read whole is an error: a fingerprint that skipped it would match a
/// plan that differs there.
pub fn of_plan(plan: &Plan<'_>) -> Result<String, PlanJsonError> {
    of_digests(plan, &resource_digests(plan, &|_, _| None)?)
}

/// The digest of every resource change in the change set (`None` for the others), in the
/// plan's order, hashed on all cores. `known(i, change)` may give the digest of the `i`-th
/// change instead: one already computed for a change with the same inputs (`same_inputs`). An
/// error is the first resource's, in the plan's order.
pub fn resource_digests(
    plan: &Plan<'_>,
    known: &(dyn Fn(usize, &ResourceChange<'_>) -> Option<[u8; 32]> + Sync),
) -> Result<Vec<Option<[u8; 32]>>, PlanJsonError> {
    let digest = |i: usize, rc: &ResourceChange<'_>| -> Result<Option<[u8; 32]>, PlanJsonError> {
        if !is_in_change_set(rc) {
            return Ok(None);
        }
        known(i, rc)
            .map_or_else(|| resource_digest(rc), Ok)
            .map(Some)
    };
    let parts = par::map_chunks(&plan.resource_changes, |start, part| {
        part.iter()
            .enumerate()
            .map(|(j, rc)| digest(start + j, rc))
            .collect::<Result<Vec<_>, _>>()
    });
    let mut digests = Vec::with_capacity(plan.resource_changes.len());
    for part in parts {
        digests.extend(part?);
    }
    Ok(digests)
}

/// The fingerprint from the digests of the plan's resource changes (`resource_digests`) and
/// those of its changing outputs.
pub fn of_digests(
    plan: &Plan<'_>,
    resources: &[Option<[u8; 32]>],
) -> Result<String, PlanJsonError> {
    let mut digests: Vec<[u8; 32]> = resources.iter().flatten().copied().collect();
    for (name, c) in plan.output_changes.iter().filter(|(_, c)| !c.is_no_op()) {
        digests.push(output_digest(name, c)?);
    }
    digests.sort_unstable();
    let mut hasher = Sha256::new();
    for d in &digests {
        hasher.update(d);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Whether two resource changes have the same digest because everything `resource_digest`
/// reads of them is byte for byte the same.
pub fn same_inputs(x: &ResourceChange<'_>, y: &ResourceChange<'_>) -> bool {
    fn raw(r: Option<&RawValue>) -> Option<&str> {
        r.map(RawValue::get)
    }
    fn import_id<'r>(rc: &'r ResourceChange<'_>) -> Option<Option<&'r str>> {
        rc.change.importing.as_ref().map(|i| i.id.as_deref())
    }
    x.address == y.address
        && x.previous_address == y.previous_address
        && x.deposed == y.deposed
        && x.change.actions == y.change.actions
        && raw(x.change.replace_paths) == raw(y.change.replace_paths)
        && raw(x.change.before) == raw(y.change.before)
        && raw(x.change.after) == raw(y.change.after)
        && raw(x.change.after_unknown) == raw(y.change.after_unknown)
        && import_id(x) == import_id(y)
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

/// Canonical entry bytes: fields in a fixed order, each a canonical JSON value.
fn resource_digest(rc: &ResourceChange<'_>) -> Result<[u8; 32], PlanJsonError> {
    resource_digest_walking(rc, None)
}

/// The digest of one resource change, and, when `also` is given, every changed attribute the
/// digest's walk finds handed to it as well, its sensitivity masks included: what the summary
/// lists of an update, found in the one walk instead of a second parse and walk of the same
/// values. Nothing is handed over for a change whose values cannot differ (`may_change`).
pub fn resource_digest_walking(
    rc: &ResourceChange<'_>,
    also: Option<&mut dyn FnMut(&Found<'_, '_>)>,
) -> Result<[u8; 32], PlanJsonError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"resource\0");
    field(&mut out, &Node::String(rc.address.as_ref().into()));
    let previous = rc.previous_address.as_deref().filter(|p| *p != rc.address);
    field(&mut out, &opt_string(previous));
    field(&mut out, &opt_string(rc.deposed.as_deref()));
    field(&mut out, &strings(&rc.change.actions));
    let replace = attrs::parse(rc.change.replace_paths, &rc.address, "replace_paths")?;
    let mut replace_paths: Vec<Vec<u8>> = match &replace {
        Node::Array(paths) => paths.iter().map(canonical_node).collect(),
        _ => Vec::new(),
    };
    replace_paths.sort_unstable();
    for p in &replace_paths {
        out.extend_from_slice(p);
        out.push(b',');
    }
    out.push(b'\0');
    let import_id = rc
        .change
        .importing
        .as_ref()
        .map(|i| i.id.as_deref().unwrap_or(""));
    field(&mut out, &opt_string(import_id));
    write_changes(&rc.change, &rc.address, &mut out, also)?;
    Ok(Sha256::digest(&out).into())
}

fn output_digest(name: &str, c: &Change<'_>) -> Result<[u8; 32], PlanJsonError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"output\0");
    field(&mut out, &Node::String(name.into()));
    field(&mut out, &strings(&c.actions));
    write_changes(c, &format!("output.{name}"), &mut out, None)?;
    Ok(Sha256::digest(&out).into())
}

/// Each changed attribute as `[path, before, after]`, `after` being `{"unknown":true}` or
/// `{"known":VALUE}`. The walk visits paths in order, so no sort is needed. `also` sees each
/// changed attribute too, with the masks (which the digest does not read).
fn write_changes(
    c: &Change<'_>,
    subject: &str,
    out: &mut Vec<u8>,
    mut also: Option<&mut dyn FnMut(&Found<'_, '_>)>,
) -> Result<(), PlanJsonError> {
    if !may_change(c) {
        return Ok(());
    }
    let values = match also {
        Some(_) => ChangeValues::of(c, subject)?,
        None => ChangeValues::without_masks(c, subject)?,
    };
    walk_changes(&values, &mut |f| {
        if let Some(also) = also.as_mut() {
            also(&f);
        }
        out.push(b'[');
        path_node(f.path).write_canonical(out);
        out.push(b',');
        f.before.write_canonical(out);
        match f.after {
            Some(a) => {
                out.extend_from_slice(b",{\"known\":");
                a.write_canonical(out);
                out.extend_from_slice(b"}]");
            }
            None => out.extend_from_slice(b",{\"unknown\":true}]"),
        }
    });
    Ok(())
}

/// When `before` and `after` are byte-identical and nothing is unknown there is nothing to
/// parse: the common no-op case on large plans costs a comparison.
pub fn may_change(c: &Change<'_>) -> bool {
    fn raw(r: Option<&RawValue>) -> &str {
        r.map_or("null", RawValue::get)
    }
    raw(c.before) != raw(c.after) || !matches!(raw(c.after_unknown), "null" | "false" | "{}" | "[]")
}

/// Changed attributes of one change, with owned values (see `attrs::changed_attributes`).
pub fn attribute_changes(c: &Change<'_>, subject: &str) -> Result<Vec<AttrChange>, PlanJsonError> {
    if !may_change(c) {
        return Ok(Vec::new());
    }
    Ok(changed_attributes(&ChangeValues::of(c, subject)?))
}

fn field(out: &mut Vec<u8>, v: &Node<'_>) {
    v.write_canonical(out);
    out.push(b'\0');
}

fn opt_string<'s>(s: Option<&'s str>) -> Node<'s> {
    s.map_or(Node::Null, |s| Node::String(s.into()))
}

fn strings<'s>(items: &'s [Cow<'_, str>]) -> Node<'s> {
    Node::Array(
        items
            .iter()
            .map(|s| Node::String(s.as_ref().into()))
            .collect(),
    )
}

fn path_node(path: &AttrPath) -> Node<'_> {
    Node::Array(
        path.0
            .iter()
            .map(|s| match s {
                Seg::Key(k) => Node::String(k.as_str().into()),
                Seg::Index(i) => Node::Number((*i as u64).into()),
            })
            .collect(),
    )
}

fn canonical_node(n: &Node<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    n.write_canonical(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::plan_json::parse;

    fn fp(json: &str) -> String {
        of_plan(&parse(json.as_bytes()).unwrap()).unwrap()
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
}

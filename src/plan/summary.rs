//! What a plan does, in numbers and names: counts, per-resource actions and reasons, changes
//! outside Terraform, output changes, failed checks. Built from the plan JSON only, never from
//! the human-readable text.
//!
//! A `Summary` holds no sensitive value: the changed attributes of an update or a replacement
//! carry their values only where Terraform marks neither side sensitive. A value may still be a
//! secret Terraform knows elsewhere (a sensitive variable copied into a plain attribute), and
//! check messages are free text, so whatever shows a summary masks it first (the renderers, and
//! the `Masker` over its JSON form).

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::plan::attrs::{self, AttrPath};
use crate::plan::node::Node;
use crate::plan::{fingerprint, par};
use crate::terraform::plan_json::{Change, Plan, PlanJsonError, ResourceChange};

/// What happens to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Forget,
    Read,
    NoOp,
}

impl Action {
    /// Maps Terraform's action list (`["delete", "create"]`, …) to one action.
    pub fn from_actions(actions: &[impl AsRef<str>]) -> Action {
        let has = |a: &str| actions.iter().any(|x| x.as_ref() == a);
        if has("create") && (has("delete") || has("forget")) {
            Action::Replace
        } else if has("create") {
            Action::Create
        } else if has("delete") {
            Action::Delete
        } else if has("update") {
            Action::Update
        } else if has("forget") {
            Action::Forget
        } else if has("read") {
            Action::Read
        } else {
            Action::NoOp
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Forget => "forget",
            Action::Read => "read",
            Action::NoOp => "no-op",
        }
    }

    /// Whether the action removes a real object (the comment warns about these).
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Delete | Action::Replace)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub replace: usize,
    pub import: usize,
    #[serde(rename = "move")]
    pub move_: usize,
    pub forget: usize,
    pub read: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.create
            + self.update
            + self.delete
            + self.replace
            + self.import
            + self.move_
            + self.forget
            + self.read
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSummary {
    pub address: String,
    pub action: Action,
    /// `action_reason` in words, when Terraform gives one.
    pub reason: Option<String>,
    pub previous_address: Option<String>,
    /// Present when the resource is being imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// What an update or a replacement changes, in path order; empty for every other action
    /// (a create or a delete changes every attribute). Absent from summaries written before
    /// tfgate listed them.
    #[serde(default)]
    pub changed_attributes: Vec<ChangedAttribute>,
}

impl ResourceSummary {
    pub fn is_import(&self) -> bool {
        self.import_id.is_some()
    }
}

/// One attribute an update or a replacement changes (`show --format json`, §10). A sensitive
/// attribute (on either side) carries no value, only the flag; one known only after apply
/// carries no `after`; a list or an object is not copied (the plan JSON holds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedAttribute {
    /// As Terraform writes it: `input.size`, `tags["Name"]`, `tokens[1]`.
    pub path: String,
    /// The old value when it is a scalar (`null` when the attribute was unset); absent when
    /// sensitive, and for a list or an object.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub before: Option<Value>,
    /// The new value when it is a scalar; absent when sensitive, known only after apply, or a
    /// list or an object.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub after: Option<Value>,
    #[serde(default)]
    pub sensitive: bool,
    /// Known only after apply.
    #[serde(default)]
    pub unknown: bool,
    /// The change of this attribute forces the replacement (Terraform's `replace_paths`).
    #[serde(default)]
    pub forces_replacement: bool,
}

/// A field that is present is a value, `null` included (a missing one is `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// Changes outside Terraform that this plan's changes depend on.
    pub relevant: Vec<DriftedResource>,
    /// How many other resources changed outside Terraform.
    pub other: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftedResource {
    pub address: String,
    pub action: Action,
    /// Attribute paths that changed outside Terraform and that this plan uses.
    pub attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSummary {
    pub name: String,
    pub action: Action,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    pub failed: Vec<CheckSummary>,
    pub errors: Vec<CheckSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub address: String,
    pub messages: Vec<String>,
}

/// The summary of one plan; its JSON form is `show --format json` and `summary.json` (§10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: String,
    pub terraform_version: Option<String>,
    pub has_changes: bool,
    pub fingerprint: String,
    pub counts: Counts,
    pub resources: Vec<ResourceSummary>,
    pub drift: Drift,
    pub outputs: Vec<OutputSummary>,
    pub checks: Checks,
    pub errored: bool,
    pub applyable: Option<bool>,
    pub complete: Option<bool>,
}

impl Summary {
    pub fn from_plan(plan: &Plan<'_>) -> Result<Summary, PlanJsonError> {
        Summary::from_digested(plan, digests_and_resources(plan)?)
    }

    /// The summary of `plan`, whose resource changes are already digested (`digest_chunk`
    /// of each chunk, in order, then `Digested::join`).
    pub fn from_digested(plan: &Plan<'_>, digested: Digested) -> Result<Summary, PlanJsonError> {
        let Digested { digests, resources } = digested;
        let mut counts = Counts::default();
        for r in &resources {
            match r.action {
                Action::Create => counts.create += 1,
                Action::Update => counts.update += 1,
                Action::Replace => counts.replace += 1,
                Action::Delete => counts.delete += 1,
                Action::Forget => counts.forget += 1,
                Action::Read => counts.read += 1,
                Action::NoOp => {}
            }
            counts.import += usize::from(r.import_id.is_some());
            counts.move_ += usize::from(r.previous_address.is_some());
        }

        let outputs: Vec<OutputSummary> = plan
            .output_changes
            .iter()
            .filter(|(_, c)| !c.is_no_op())
            .map(|(name, c)| OutputSummary {
                name: name.clone(),
                action: Action::from_actions(&c.actions),
                sensitive: output_is_sensitive(plan, name, c),
            })
            .collect();

        let has_changes = counts.total() > 0 || !outputs.is_empty();
        Ok(Summary {
            format_version: plan.format_version.clone(),
            terraform_version: plan.terraform_version.clone(),
            has_changes,
            fingerprint: fingerprint::of_digests(plan, &digests)?,
            counts,
            resources,
            drift: drift(plan)?,
            outputs,
            checks: checks(plan),
            errored: plan.errored,
            applyable: plan.applyable,
            complete: plan.complete,
        })
    }

    /// Resources whose real object is deleted (destroyed or replaced).
    pub fn destructive(&self) -> impl Iterator<Item = &ResourceSummary> {
        self.resources.iter().filter(|r| r.action.is_destructive())
    }
}

fn output_is_sensitive(plan: &Plan<'_>, name: &str, c: &Change<'_>) -> bool {
    let flag = |raw: Option<&serde_json::value::RawValue>| raw.is_some_and(|r| r.get() != "false");
    flag(c.before_sensitive)
        || flag(c.after_sensitive)
        || plan
            .configuration
            .as_ref()
            .and_then(|cfg| cfg.root_module.outputs.get(name))
            .is_some_and(|o| o.sensitive)
}

fn drift(plan: &Plan<'_>) -> Result<Drift, PlanJsonError> {
    // relevant_attributes: which (resource, attribute path) pairs this plan's changes read.
    let relevant: Vec<(&str, Option<AttrPath>)> = plan
        .relevant_attributes
        .iter()
        .map(|r| {
            let path = attrs::parse(Some(r.attribute), &r.resource, "relevant_attributes")?;
            Ok((r.resource.as_str(), AttrPath::from_node(&path)))
        })
        .collect::<Result<_, PlanJsonError>>()?;
    let mut out = Drift::default();
    for rc in &plan.resource_drift {
        // A moved resource appears here as a no-op; it did not change outside Terraform.
        if rc.change.is_no_op() {
            continue;
        }
        let wanted: Vec<&Option<AttrPath>> = relevant
            .iter()
            .filter(|(res, _)| *res == rc.address)
            .map(|(_, p)| p)
            .collect();
        if wanted.is_empty() {
            out.other += 1;
            continue;
        }
        let changed = changed_paths(rc)?;
        let attributes: BTreeSet<String> = changed
            .iter()
            .filter(|c| {
                wanted.iter().any(|w| match w {
                    // A path that could not be read counts as relevant: better one line too
                    // many than a missed reason for the plan.
                    None => true,
                    Some(w) => c.starts_with(w) || w.starts_with(c),
                })
            })
            .map(ToString::to_string)
            .collect();
        out.relevant.push(DriftedResource {
            address: rc.address.to_string(),
            action: Action::from_actions(&rc.change.actions),
            attributes: attributes.into_iter().collect(),
        });
    }
    Ok(out)
}

fn changed_paths(rc: &ResourceChange<'_>) -> Result<Vec<AttrPath>, PlanJsonError> {
    let values = attrs::ChangeValues::without_masks(&rc.change, &rc.address)?;
    let mut paths = Vec::new();
    attrs::walk_changes(&values, &mut |f| paths.push(f.path.clone()));
    Ok(paths)
}

/// A resource change as the summary lists it, with the attributes it changes; none for a
/// resource that does nothing (no action, no import, no move).
fn resource_summary(
    rc: &ResourceChange<'_>,
    changed_attributes: Vec<ChangedAttribute>,
) -> Option<ResourceSummary> {
    let action = Action::from_actions(&rc.change.actions);
    let import_id = rc
        .change
        .importing
        .as_ref()
        .map(|i| i.id.clone().unwrap_or_default());
    let moved = rc
        .previous_address
        .as_ref()
        .filter(|p| **p != rc.address)
        .cloned();
    if action == Action::NoOp && import_id.is_none() && moved.is_none() {
        return None;
    }
    Some(ResourceSummary {
        address: rc.address.to_string(),
        action,
        reason: rc.action_reason.as_deref().map(reason_in_words),
        previous_address: moved,
        import_id,
        deposed: rc.deposed.clone(),
        changed_attributes,
    })
}

/// The resource changes of a plan, digested: the fingerprint's digest of every one
/// (`fingerprint::resource_digests`), in the plan's order, and the summary of every one that
/// does something, with the attributes it changes.
#[derive(Debug, Default)]
pub struct Digested {
    digests: Vec<Option<[u8; 32]>>,
    resources: Vec<ResourceSummary>,
}

impl Digested {
    /// The digests of consecutive chunks of a plan's resource changes, in their order, as one;
    /// the first error in that order, if any.
    pub fn join(
        parts: impl IntoIterator<Item = Result<Digested, PlanJsonError>>,
    ) -> Result<Digested, PlanJsonError> {
        let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut joined = Digested {
            digests: Vec::with_capacity(parts.iter().map(|p| p.digests.len()).sum()),
            resources: Vec::with_capacity(parts.iter().map(|p| p.resources.len()).sum()),
        };
        for part in parts {
            joined.digests.extend(part.digests);
            joined.resources.extend(part.resources);
        }
        Ok(joined)
    }
}

/// `Digested` of every resource change, on all cores.
fn digests_and_resources(plan: &Plan<'_>) -> Result<Digested, PlanJsonError> {
    Digested::join(par::map_chunks(&plan.resource_changes, |_, part| {
        digest_chunk(part)
    }))
}

/// `Digested` of consecutive resource changes, in one pass: the walk that makes an update's
/// digest lists its changed attributes too, so its values are parsed and walked once.
pub fn digest_chunk(part: &[ResourceChange<'_>]) -> Result<Digested, PlanJsonError> {
    let mut digests = Vec::with_capacity(part.len());
    let mut resources = Vec::with_capacity(part.len());
    for rc in part {
        if !fingerprint::is_in_change_set(rc) {
            digests.push(None);
            resources.extend(resource_summary(rc, Vec::new()));
            continue;
        }
        let mut attributes = Vec::new();
        let digest = match Action::from_actions(&rc.change.actions) {
            Action::Update | Action::Replace => {
                let forcing = forcing_paths(rc)?;
                fingerprint::resource_digest_walking(
                    rc,
                    Some(&mut |f| attributes.push(changed_attribute(f, &forcing))),
                )?
            }
            _ => fingerprint::resource_digest_walking(rc, None)?,
        };
        digests.push(Some(digest));
        // Kept until the summary is written: no room to spare for 30,000 updates.
        attributes.shrink_to_fit();
        resources.extend(resource_summary(rc, attributes));
    }
    Ok(Digested { digests, resources })
}

/// The paths whose change forces the replacement (Terraform's `replace_paths`).
fn forcing_paths(rc: &ResourceChange<'_>) -> Result<Vec<AttrPath>, PlanJsonError> {
    let replace_paths = attrs::parse(rc.change.replace_paths, &rc.address, "replace_paths")?;
    Ok(match &replace_paths {
        Node::Array(paths) => paths.iter().filter_map(AttrPath::from_node).collect(),
        _ => Vec::new(),
    })
}

/// One attribute an update or a replacement changes, as the attribute walk finds it. A value
/// that is sensitive before or after is dropped here, so it never reaches a summary; so is a
/// list or an object (an attribute that appears, disappears or changes type whole, or whose
/// new value is unknown), which would copy much of the plan into the summary for no reader.
fn changed_attribute(f: &attrs::Found<'_, '_>, forcing: &[AttrPath]) -> ChangedAttribute {
    let sensitive = f.before_sensitive.any_true() || f.after_sensitive.any_true();
    let shown = |n: &Node<'_>| match n {
        Node::Object(_) | Node::Array(_) => None,
        _ => (!sensitive).then(|| n.to_shown_value()),
    };
    ChangedAttribute {
        path: f.path.to_string(),
        before: shown(f.before),
        after: f.after.and_then(shown),
        sensitive,
        unknown: f.after.is_none(),
        forces_replacement: forcing
            .iter()
            .any(|p| f.path.starts_with(p) || p.starts_with(f.path)),
    }
}

fn checks(plan: &Plan<'_>) -> Checks {
    let mut out = Checks::default();
    for check in &plan.checks {
        let bucket = match check.status.as_str() {
            "fail" => &mut out.failed,
            "error" => &mut out.errors,
            _ => continue,
        };
        let mut messages: Vec<String> = check
            .instances
            .iter()
            .flat_map(|i| i.problems.iter().map(|p| p.message.clone()))
            .collect();
        messages.dedup();
        bucket.push(CheckSummary {
            address: check.address.to_display.clone(),
            messages,
        });
    }
    out
}

/// Terraform's `action_reason` codes in words.
pub fn reason_in_words(code: &str) -> String {
    match code {
        "replace_because_tainted" => "tainted",
        "replace_because_cannot_update" => "an attribute forces replacement",
        "replace_by_request" => "replacement requested (-replace)",
        "replace_by_triggers" => "replace_triggered_by",
        "delete_because_no_resource_config" => "no longer in the configuration",
        "delete_because_wrong_repetition" => "count/for_each changed to the other kind",
        "delete_because_count_index" => "count index out of range",
        "delete_because_each_key" => "for_each key no longer present",
        "delete_because_no_module" => "module no longer in the configuration",
        "delete_because_no_move_target" => "moved target does not exist",
        "read_because_config_unknown" => "configuration known only after apply",
        "read_because_dependency_pending" => "depends on a pending change",
        "read_because_check_nested" => "read by a check block",
        other => return other.replace('_', " "),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acts(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn actions_map_to_one_word() {
        assert_eq!(Action::from_actions(&acts(&["create"])), Action::Create);
        assert_eq!(
            Action::from_actions(&acts(&["delete", "create"])),
            Action::Replace
        );
        assert_eq!(
            Action::from_actions(&acts(&["create", "delete"])),
            Action::Replace
        );
        assert_eq!(Action::from_actions(&acts(&["update"])), Action::Update);
        assert_eq!(Action::from_actions(&acts(&["delete"])), Action::Delete);
        assert_eq!(Action::from_actions(&acts(&["forget"])), Action::Forget);
        assert_eq!(Action::from_actions(&acts(&["read"])), Action::Read);
        assert_eq!(Action::from_actions(&acts(&["no-op"])), Action::NoOp);
    }

    #[test]
    fn counts_follow_the_contract() {
        let json = br#"{
          "format_version": "1.2",
          "resource_changes": [
            {"address": "a.r", "change": {"actions": ["delete", "create"], "before": {}, "after": {}}},
            {"address": "a.m", "previous_address": "a.old", "change": {"actions": ["no-op"]}},
            {"address": "a.mu", "previous_address": "a.old2", "change": {"actions": ["update"]}},
            {"address": "a.i", "change": {"actions": ["no-op"], "importing": {"id": "x"}}},
            {"address": "a.n", "change": {"actions": ["no-op"]}},
            {"address": "a.d", "change": {"actions": ["delete"]}, "action_reason": "delete_because_no_resource_config"}
          ],
          "output_changes": {"o": {"actions": ["create"], "after_sensitive": true}, "p": {"actions": ["no-op"]}}
        }"#;
        let plan = crate::terraform::plan_json::parse(json).unwrap();
        let s = Summary::from_plan(&plan).unwrap();
        assert_eq!(s.fingerprint, fingerprint::of_plan(&plan).unwrap());
        assert_eq!(
            s.counts,
            Counts {
                replace: 1,
                update: 1,
                move_: 2,
                import: 1,
                delete: 1,
                ..Counts::default()
            }
        );
        assert_eq!(s.resources.len(), 5);
        assert_eq!(
            s.resources[4].reason.as_deref(),
            Some("no longer in the configuration")
        );
        assert_eq!(s.outputs.len(), 1);
        assert!(s.outputs[0].sensitive);
        assert!(s.has_changes);
        assert_eq!(s.destructive().count(), 2);
    }
    #[test]
    fn updates_and_replacements_list_their_changed_attributes() {
        let json = br#"{
          "format_version": "1.2",
          "resource_changes": [
            {"address": "a.u", "change": {"actions": ["update"],
              "before": {"id": "1", "input": {"size": "small", "pw": "old-pw", "n": 1}, "kind": [1], "output": "x"},
              "after": {"id": "1", "input": {"size": "large", "pw": "new-pw", "n": 1}, "kind": "x"},
              "after_unknown": {"output": true},
              "before_sensitive": {"input": {"pw": true}}, "after_sensitive": {"input": {"pw": true}}}},
            {"address": "a.r", "change": {"actions": ["delete", "create"],
              "before": {"id": "1", "triggers_replace": "v1", "input": null},
              "after": {"triggers_replace": "v2", "input": null},
              "after_unknown": {"id": true}, "replace_paths": [["triggers_replace"]]}},
            {"address": "a.c", "change": {"actions": ["create"], "before": null, "after": {"input": "v"}}},
            {"address": "a.d", "change": {"actions": ["delete"], "before": {"input": "v"}, "after": null}}
          ]
        }"#;
        let plan = crate::terraform::plan_json::parse(json).unwrap();
        let s = Summary::from_plan(&plan).unwrap();
        let attrs = |i: usize| serde_json::to_value(&s.resources[i].changed_attributes).unwrap();
        assert_eq!(
            attrs(0),
            serde_json::json!([
                {"path": "input.pw", "sensitive": true, "unknown": false, "forces_replacement": false},
                {"path": "input.size", "before": "small", "after": "large", "sensitive": false, "unknown": false, "forces_replacement": false},
                // A list is not copied: only the side that is a scalar.
                {"path": "kind", "after": "x", "sensitive": false, "unknown": false, "forces_replacement": false},
                {"path": "output", "before": "x", "sensitive": false, "unknown": true, "forces_replacement": false}
            ])
        );
        assert_eq!(
            attrs(1),
            serde_json::json!([
                {"path": "id", "before": "1", "sensitive": false, "unknown": true, "forces_replacement": false},
                {"path": "triggers_replace", "before": "v1", "after": "v2", "sensitive": false, "unknown": false, "forces_replacement": true}
            ])
        );
        // A create or a delete changes everything: nothing is listed.
        assert_eq!(attrs(2), serde_json::json!([]));
        assert_eq!(attrs(3), serde_json::json!([]));
        // The walk that lists them makes the fingerprint too: the same as on its own.
        assert_eq!(s.fingerprint, fingerprint::of_plan(&plan).unwrap());
        // The summary's JSON holds no sensitive value, and reads back the same.
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("old-pw") && !text.contains("new-pw"));
        assert_eq!(serde_json::from_str::<Summary>(&text).unwrap(), s);
    }

    #[test]
    fn summaries_written_before_changed_attributes_still_read() {
        let old =
            r#"{"address": "a.u", "action": "update", "reason": null, "previous_address": null}"#;
        let r: ResourceSummary = serde_json::from_str(old).unwrap();
        assert!(r.changed_attributes.is_empty());
        // `null` is a value (the attribute was unset); a missing field is no value.
        let a: ChangedAttribute =
            serde_json::from_str(r#"{"path": "input", "before": null, "after": 1}"#).unwrap();
        assert_eq!(
            (a.before, a.after),
            (Some(Value::Null), Some(serde_json::json!(1)))
        );
        let a: ChangedAttribute = serde_json::from_str(r#"{"path": "input"}"#).unwrap();
        assert_eq!((a.before, a.after, a.sensitive), (None, None, false));
    }
}

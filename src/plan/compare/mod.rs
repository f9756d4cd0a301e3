//! Comparing two plans (§6): what differs between plan A (the reviewed one) and plan B (now),
//! resource by resource and output by output, after the user's ignore rules.
//!
//! This module owns the comparison, the ignore rules (`ADDRESS_GLOB[:ATTRIBUTE_PATH]`) and the
//! per-resource text renderings that the report diffs. Only what a plan *does* counts: the
//! resources in its change set, their actions, replace paths, moves and imports, and the before
//! and after values of attributes that change in at least one of the two plans; values that
//! change in neither (ids, timestamps, computed noise) never count. Values in the result are
//! redacted from the sensitivity masks and then passed through the caller's `Masker`, so a
//! `Comparison` may be printed, posted or archived as it is. Pure: no files, environment, clock,
//! network or output, and no markdown or tables (that is `render::report`). Attribute changes
//! come from `attrs::walk_changes`, the one walk the fingerprint uses too.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::plan::attrs::{self, AttrPath, ChangeValues, Seg, walk_changes};
use crate::plan::fingerprint;
use crate::plan::node::{NOT_SHOWN, NULL, Node, SHOWN_DEPTH, nested};
use crate::plan::par;
use crate::plan::redact::{Masker, SENSITIVE, redact_value};
use crate::plan::summary::Action;
use crate::terraform::plan_json::{Change, Plan, PlanJsonError, ResourceChange};

mod ignore;
mod outputs;
mod render;
mod resources;

#[cfg(test)]
use ignore::*;
pub use ignore::{IgnoreRule, IgnoreRuleError};
use outputs::*;
pub use render::display_value;
use render::*;
use resources::*;

/// How a value Terraform knows only after apply is shown.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What kind of difference (§10 `diff.differences[].kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The resource is in A's change set only.
    OnlyInA,
    /// The resource is in B's change set only.
    OnlyInB,
    /// Different actions; also a different move (`previous_address`) or import (`importing.id`).
    Actions,
    /// Different `replace_paths`.
    ReplacePaths,
    /// A changed attribute's new value differs (including unknown ↔ known).
    After,
    /// A changed attribute's current value differs: the real object changed in between.
    Before,
    /// An output change differs (presence, actions, before or after).
    Output,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OnlyInA => "only_in_a",
            Kind::OnlyInB => "only_in_b",
            Kind::Actions => "actions",
            Kind::ReplacePaths => "replace_paths",
            Kind::After => "after",
            Kind::Before => "before",
            Kind::Output => "output",
        }
    }
}

/// Path names used in `Difference::paths` for what is not an attribute.
pub mod field {
    /// An `actions` difference about a move.
    pub const PREVIOUS_ADDRESS: &str = "previous_address";
    /// An `actions` difference about an import.
    pub const IMPORT_ID: &str = "importing.id";
    /// An `output` difference about the output's presence or actions.
    pub const ACTIONS: &str = "actions";
    /// Prefix of an `output` difference about its new value (`after`, `after.host`).
    pub const AFTER: &str = "after";
    /// Prefix of an `output` difference about its old value.
    pub const BEFORE: &str = "before";
}

/// One difference between the two plans. `a` and `b` are redacted: a value that is sensitive in
/// either plan is `"(sensitive value)"` on both sides (or `null` where there is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The resource instance address, or `output.NAME`.
    pub address: String,
    pub kind: Kind,
    /// `only_in_*`: none. `actions`: none, or `previous_address` / `importing.id`.
    /// `replace_paths`: the replace paths found in one plan only. `after`/`before`: the
    /// attribute path. `output`: `actions`, or `after`/`before` followed by the path inside the
    /// output's value.
    pub paths: Vec<String>,
    pub a: Value,
    pub b: Value,
    /// The deposed object's key, when the difference is about a deposed object.
    #[serde(default)]
    pub deposed: Option<String>,
    /// What A does to this resource or output (`create`, `update`, `replace`, `delete`,
    /// `forget`, `read`, `import`, `move`, `no-op`); `null` when A does not mention it.
    #[serde(default)]
    pub action_a: Option<String>,
    /// The same for B.
    #[serde(default)]
    pub action_b: Option<String>,
    /// The value is sensitive in one of the plans ("sensitive value changed").
    #[serde(default)]
    pub sensitive: bool,
}

impl Difference {
    /// Whether this is about an output rather than a resource.
    pub fn is_output(&self) -> bool {
        self.kind == Kind::Output
    }
}

/// Each plan's redacted rendering of the resources and outputs that differ, one line per fact,
/// in a stable order (`terraform_data.x: input.image = "a" -> "b"`). The report diffs them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renderings {
    pub a: Vec<String>,
    pub b: Vec<String>,
    /// Resources and outputs that differ but are not rendered: only the first
    /// `MAX_RENDERED_SUBJECTS` are (a line diff of two unrelated 50,000-resource plans would
    /// take minutes and help nobody).
    #[serde(default)]
    pub omitted: usize,
}

/// How many differing resources and outputs the renderings show.
pub const MAX_RENDERED_SUBJECTS: usize = 1000;

/// The result of comparing two plans; its JSON form is `diff --format json` (§10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// No difference is left after the ignore rules.
    pub identical: bool,
    /// Sorted: resources by address and deposed key, then outputs by name.
    pub differences: Vec<Difference>,
    pub fingerprint_a: String,
    pub fingerprint_b: String,
    /// How many differences the ignore rules dropped.
    #[serde(default)]
    pub ignored: usize,
    #[serde(default)]
    pub rendering: Renderings,
}

impl Comparison {
    /// How many resource instances (deposed objects counted apart) differ.
    pub fn resources_differing(&self) -> usize {
        self.subjects().filter(|g| !g[0].is_output()).count()
    }

    /// How many outputs differ.
    pub fn outputs_differing(&self) -> usize {
        self.subjects().filter(|g| g[0].is_output()).count()
    }

    /// The differences grouped by resource instance or output, in order.
    pub fn subjects(&self) -> impl Iterator<Item = &[Difference]> {
        self.differences.chunk_by(same_subject)
    }
}

/// Whether two differences are about the same resource instance or output.
fn same_subject(x: &Difference, y: &Difference) -> bool {
    x.address == y.address && x.deposed == y.deposed && x.is_output() == y.is_output()
}

/// How to compare.
#[derive(Debug, Clone, Copy)]
pub struct CompareOptions<'o> {
    pub ignore: &'o [IgnoreRule],
    /// Applied to every string in the result (addresses, paths, values, renderings), so that a
    /// secret Terraform did not mark where it appears (see `redact::secrets_of_plan`) is hidden
    /// too. Give it the secrets of both plans.
    pub masker: &'o Masker,
}

/// One of the two plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// A value of one of the plans could not be read whole, so the plans cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plan {}: {error}", if *side == Side::A { "A" } else { "B" })]
pub struct CompareError {
    pub side: Side,
    pub error: PlanJsonError,
}

fn on(side: Side) -> impl Fn(PlanJsonError) -> CompareError {
    move |error| CompareError { side, error }
}

/// Compares plan A with plan B. Equal fingerprints mean equal change sets: the plans are
/// identical without a look at any resource (ignore rules cannot matter then). Otherwise A's
/// resources are matched with B's by address and deposed key, on all cores; a pair whose values
/// are byte-equal in both plans is not parsed at all.
///
/// B's fingerprint reuses the digest of every resource change whose inputs are byte-equal to
/// its counterpart's in A (`fingerprint::same_inputs`): for two plans of one configuration,
/// nearly all of them, which halves the work of the two fingerprints.
pub fn compare(
    a: &Plan<'_>,
    b: &Plan<'_>,
    opts: &CompareOptions<'_>,
) -> Result<Comparison, CompareError> {
    // Both indexes at once (B's is needed once the fingerprints differ).
    let (index_a, index_b) = std::thread::scope(|scope| {
        let index_b = scope.spawn(|| index(&b.resource_changes));
        let index_a = index(&a.resource_changes);
        let index_b = index_b
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (index_a, index_b)
    });
    let digests_a = fingerprint::resource_digests(a, &|_, _| None).map_err(on(Side::A))?;
    let fingerprint_a = fingerprint::of_digests(a, &digests_a).map_err(on(Side::A))?;
    // For each of B's changes, the position of A's change with the same identity and the same
    // inputs, if there is one.
    let same_in_a: Vec<Option<usize>> = par::map_chunks(&b.resource_changes, |_, part| {
        part.iter()
            .map(|rb| {
                let i = *index_a.get(&key(rb))?;
                fingerprint::same_inputs(&a.resource_changes[i], rb).then_some(i)
            })
            .collect::<Vec<_>>()
    })
    .concat();
    let digests_b =
        fingerprint::resource_digests(b, &|p, _| same_in_a[p].and_then(|i| digests_a[i]))
            .map_err(on(Side::B))?;
    let fingerprint_b = fingerprint::of_digests(b, &digests_b).map_err(on(Side::B))?;
    let known = Known {
        index_a,
        index_b,
        same_in_a,
    };
    compare_indexed(a, b, (&fingerprint_a, &fingerprint_b), Some(known), opts)
}

/// What `compare` learnt about the two plans while it made their fingerprints.
struct Known<'p, 'q> {
    /// A's and B's indexes (`index`).
    index_a: HashMap<Key<'p>, usize>,
    index_b: HashMap<Key<'q>, usize>,
    /// For each of B's changes, the position of A's change with the same identity and the same
    /// inputs (`fingerprint::same_inputs`). Such a pair cannot differ: `compare_resource` reads
    /// nothing else of them.
    same_in_a: Vec<Option<usize>>,
}

/// `compare` with the two fingerprints given instead of computed, and trusted: equal ones end
/// the comparison as identical without a look at any resource, so they must be these very
/// plans' (`fingerprint::of_plan`). Different ones compare every resource and output as
/// `compare` does, without the pairs `compare` found identical while fingerprinting; the
/// tests use it to show that leaving those pairs out changes no difference.
pub fn compare_fingerprinted(
    a: &Plan<'_>,
    b: &Plan<'_>,
    fingerprints: (&str, &str),
    opts: &CompareOptions<'_>,
) -> Result<Comparison, CompareError> {
    compare_indexed(a, b, fingerprints, None, opts)
}

/// `compare_fingerprinted` with what `compare` knows already, if it does.
fn compare_indexed<'p, 'q>(
    a: &'p Plan<'_>,
    b: &'q Plan<'_>,
    fingerprints: (&str, &str),
    known: Option<Known<'p, 'q>>,
    opts: &CompareOptions<'_>,
) -> Result<Comparison, CompareError> {
    let (fingerprint_a, fingerprint_b) = (fingerprints.0.to_string(), fingerprints.1.to_string());
    if fingerprint_a == fingerprint_b {
        // Equal change sets: nothing can differ, whatever the ignore rules say.
        return Ok(Comparison {
            identical: true,
            differences: Vec::new(),
            fingerprint_a,
            fingerprint_b,
            ignored: 0,
            rendering: Renderings::default(),
        });
    }
    let (index_a, index_b, same_in_a) = match known {
        Some(k) => (k.index_a, k.index_b, k.same_in_a),
        None => (
            index(&a.resource_changes),
            index(&b.resource_changes),
            Vec::new(),
        ),
    };
    let mut found = resource_differences(a, b, &index_b, &same_in_a)?;
    found.extend(output_differences(a, b)?);

    let before = found.len();
    found.retain(|f| {
        !opts
            .ignore
            .iter()
            .any(|r| r.covers(&f.diff.address, f.value_path.as_ref()))
    });
    let ignored = before - found.len();
    found.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));

    let rendering = render_subjects(a, b, &index_a, &index_b, &found, opts.ignore)?;
    let mut differences: Vec<Difference> = found.into_iter().map(|f| f.diff).collect();
    let rendering = mask_result(&mut differences, rendering, opts.masker);
    Ok(Comparison {
        identical: differences.is_empty(),
        differences,
        fingerprint_a,
        fingerprint_b,
        ignored,
        rendering,
    })
}

/// A resource instance's identity in a plan: address and deposed key.
type Key<'p> = (&'p str, Option<&'p str>);

fn key<'p>(rc: &'p ResourceChange<'_>) -> Key<'p> {
    (rc.address.as_ref(), rc.deposed.as_deref())
}

/// Positions of a plan's resource changes by identity (references, not copies).
fn index<'p>(changes: &'p [ResourceChange<'_>]) -> HashMap<Key<'p>, usize> {
    let mut map = HashMap::with_capacity(changes.len());
    for (i, rc) in changes.iter().enumerate() {
        map.insert(key(rc), i);
    }
    map
}

/// A difference with what sorting and the ignore rules need.
struct Found {
    diff: Difference,
    /// The attribute path inside the resource or the output value, for `after`/`before`
    /// differences and output value differences.
    value_path: Option<AttrPath>,
    /// Orders differences of the same kind (outputs: actions, after…, before…).
    order: AttrPath,
}

impl Found {
    fn sort_key(&self) -> (bool, &str, Option<&str>, Kind, &AttrPath) {
        (
            self.diff.is_output(),
            &self.diff.address,
            self.diff.deposed.as_deref(),
            self.diff.kind,
            &self.order,
        )
    }
}

/// What a resource change does, in one word.
fn resource_label(rc: &ResourceChange<'_>) -> String {
    match Action::from_actions(&rc.change.actions) {
        Action::NoOp if rc.change.importing.is_some() => "import".into(),
        Action::NoOp if moved_from(rc).is_some() => "move".into(),
        a => a.as_str().into(),
    }
}

fn moved_from<'r>(rc: &'r ResourceChange<'_>) -> Option<&'r str> {
    rc.previous_address.as_deref().filter(|p| *p != rc.address)
}

fn import_id(rc: &ResourceChange<'_>) -> Option<String> {
    rc.change
        .importing
        .as_ref()
        .map(|i| i.id.clone().unwrap_or_default())
}

fn actions_value(actions: &[Cow<'_, str>]) -> Value {
    Value::Array(
        actions
            .iter()
            .map(|a| Value::String(a.to_string()))
            .collect(),
    )
}

fn raw(r: Option<&RawValue>) -> &str {
    r.map_or("null", RawValue::get)
}

/// Masks every string of the result with the caller's masker.
fn mask_result(
    differences: &mut [Difference],
    rendering: Renderings,
    masker: &Masker,
) -> Renderings {
    if masker.is_empty() {
        return rendering;
    }
    let mask = |s: &mut String| {
        if let std::borrow::Cow::Owned(m) = masker.mask(s) {
            *s = m;
        }
    };
    for d in differences.iter_mut() {
        mask(&mut d.address);
        d.paths.iter_mut().for_each(mask);
        if let Some(x) = d.deposed.as_mut() {
            mask(x);
        }
        mask_value(&mut d.a, masker);
        mask_value(&mut d.b, masker);
    }
    let mut rendering = rendering;
    rendering.a.iter_mut().for_each(mask);
    rendering.b.iter_mut().for_each(mask);
    rendering
}

fn mask_value(v: &mut Value, masker: &Masker) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(m) = masker.mask(s) {
                *s = m;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| mask_value(x, masker)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut x) in entries {
                mask_value(&mut x, masker);
                map.insert(masker.mask(&k).into_owned(), x);
            }
        }
        _ => {}
    }
}

/// Compares two plan JSON texts with ignore rules given as text: for the tests of this module
/// and of the renderers of comparisons.
#[cfg(test)]
pub(crate) fn compare_texts(a: &str, b: &str, rules: &[&str], masker: &Masker) -> Comparison {
    use crate::terraform::plan_json::parse;
    let (pa, pb) = (parse(a.as_bytes()).unwrap(), parse(b.as_bytes()).unwrap());
    let rules: Vec<IgnoreRule> = rules.iter().map(|r| r.parse().unwrap()).collect();
    compare(
        &pa,
        &pb,
        &CompareOptions {
            ignore: &rules,
            masker,
        },
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::plan_json::parse;
    use serde_json::json;

    use crate::plan::testing::resource_change as rc;

    fn plan_text(resources: &[Value], outputs: Value, timestamp: &str) -> String {
        json!({
            "format_version": "1.2",
            "terraform_version": "1.11.4",
            "resource_changes": resources,
            "output_changes": outputs,
            "timestamp": timestamp
        })
        .to_string()
    }

    /// A plan like the `changes` fixture: an update, a create, a no-op, an output.
    fn base_resources() -> Vec<Value> {
        vec![
            rc(
                "terraform_data.app",
                &["update"],
                json!({"id": "id-1", "input": {"image": "app:1", "replicas": 2}, "output": {"image": "app:1", "replicas": 2}}),
                json!({"id": "id-1", "input": {"image": "app:2", "replicas": 2}}),
                json!({"input": {}, "output": true}),
            ),
            rc(
                "terraform_data.new",
                &["create"],
                Value::Null,
                json!({"input": "v1"}),
                json!({"id": true, "output": true}),
            ),
            rc(
                "terraform_data.quiet",
                &["no-op"],
                json!({"id": "id-q", "input": "q"}),
                json!({"id": "id-q", "input": "q"}),
                json!({}),
            ),
        ]
    }

    fn base_outputs() -> Value {
        json!({
            "image": {"actions": ["update"], "before": "app:1", "after": "app:2", "after_unknown": false},
            "same": {"actions": ["no-op"], "before": "s", "after": "s", "after_unknown": false}
        })
    }

    fn run(a: &str, b: &str, rules: &[&str]) -> Comparison {
        compare_texts(a, b, rules, &Masker::default())
    }

    /// (address, kind, paths) of every difference.
    fn summary(c: &Comparison) -> Vec<(String, &'static str, Vec<String>)> {
        c.differences
            .iter()
            .map(|d| (d.address.clone(), d.kind.as_str(), d.paths.clone()))
            .collect()
    }

    fn entry(
        address: &str,
        kind: &'static str,
        paths: &[&str],
    ) -> (String, &'static str, Vec<String>) {
        (
            address.to_string(),
            kind,
            paths.iter().map(|p| p.to_string()).collect(),
        )
    }

    fn with(mut resources: Vec<Value>, i: usize, edit: impl FnOnce(&mut Value)) -> Vec<Value> {
        edit(&mut resources[i]);
        resources
    }

    #[test]
    fn a_plan_against_itself_is_identical() {
        let a = plan_text(&base_resources(), base_outputs(), "2026-01-01T00:00:00Z");
        let c = run(&a, &a, &[]);
        assert!(c.identical);
        assert!(c.differences.is_empty());
        assert_eq!(c.fingerprint_a, c.fingerprint_b);
    }

    #[test]
    fn known_equal_fingerprints_end_the_comparison() {
        let a = plan_text(&base_resources(), base_outputs(), "t");
        let b = plan_text(
            &with(base_resources(), 0, |r| {
                r["change"]["after"]["input"]["image"] = json!("app:3")
            }),
            base_outputs(),
            "t",
        );
        let (pa, pb) = (parse(a.as_bytes()).unwrap(), parse(b.as_bytes()).unwrap());
        let opts = CompareOptions {
            ignore: &[],
            masker: &Masker::default(),
        };
        let c = compare_fingerprinted(&pa, &pb, ("sha256:same", "sha256:same"), &opts).unwrap();
        assert!(c.identical && c.differences.is_empty());
        let c = compare_fingerprinted(&pa, &pb, ("sha256:a", "sha256:b"), &opts).unwrap();
        assert_eq!(c.differences.len(), 1);
        assert_eq!(c.fingerprint_a, "sha256:a");
        assert_eq!(
            compare(&pa, &pb, &opts).unwrap().fingerprint_a,
            fingerprint::of_plan(&pa).unwrap()
        );
    }

    #[test]
    fn fingerprints_reuse_only_digests_of_identical_inputs() {
        // B's fingerprint reuses A's digest of a resource whose inputs are byte-equal: each
        // variant changes one input of the update (or adds a resource with A's address and
        // another deposed key) and must give B the fingerprint it has on its own.
        let a = plan_text(&base_resources(), base_outputs(), "t");
        type Edit = fn(&mut Value);
        let edits: [Edit; 10] = [
            |r| r["change"]["before"]["input"]["replicas"] = json!(3),
            |r| r["change"]["after"]["input"]["replicas"] = json!(3),
            |r| r["change"]["after_unknown"]["input"] = json!({"image": true}),
            |r| r["change"]["actions"] = json!(["delete", "create"]),
            |r| r["change"]["replace_paths"] = json!([["input"]]),
            |r| r["change"]["importing"] = json!({"id": "id-1"}),
            |r| r["previous_address"] = json!("terraform_data.old"),
            |r| r["deposed"] = json!("d1"),
            // Not an input of the digest: reused, with the same fingerprint.
            |r| r["change"]["after_sensitive"] = json!({"input": {"image": true}}),
            |r| r["action_reason"] = json!("replace_by_request"),
        ];
        let opts = CompareOptions {
            ignore: &[],
            masker: &Masker::default(),
        };
        let pa = parse(a.as_bytes()).unwrap();
        for (i, edit) in edits.iter().enumerate() {
            let b = plan_text(&with(base_resources(), 0, edit), base_outputs(), "t");
            let pb = parse(b.as_bytes()).unwrap();
            let c = compare(&pa, &pb, &opts).unwrap();
            assert_eq!(c.fingerprint_a, fingerprint::of_plan(&pa).unwrap(), "{i}");
            assert_eq!(c.fingerprint_b, fingerprint::of_plan(&pb).unwrap(), "{i}");
            assert_eq!(c.fingerprint_a == c.fingerprint_b, i >= 8, "{i}");
            // The pairs found identical on the way are left out of the comparison: the same
            // differences as without them.
            let fingerprints = (c.fingerprint_a.as_str(), c.fingerprint_b.as_str());
            let without = compare_fingerprinted(&pa, &pb, fingerprints, &opts).unwrap();
            assert_eq!(
                serde_json::to_value(&c).unwrap(),
                serde_json::to_value(&without).unwrap(),
                "{i}"
            );
        }
    }

    #[test]
    fn computed_noise_and_other_runs_do_not_count() {
        let a = plan_text(&base_resources(), base_outputs(), "2026-01-01T00:00:00Z");
        // Another run: another timestamp, ids of the no-op resource and of the updated one
        // (which changes in neither plan), an output that is a no-op in both, key order.
        let mut resources = base_resources();
        resources[0]["change"]["before"]["id"] = json!("id-other");
        resources[0]["change"]["after"]["id"] = json!("id-other");
        resources[2]["change"]["before"]["id"] = json!("id-q2");
        resources[2]["change"]["after"]["id"] = json!("id-q2");
        resources.reverse();
        let mut outputs = base_outputs();
        outputs["same"]["before"] = json!("t");
        outputs["same"]["after"] = json!("t");
        let b = plan_text(&resources, outputs, "2026-02-02T00:00:00Z");
        let c = run(&a, &b, &[]);
        assert!(c.identical, "{:#?}", c.differences);
    }

    #[test]
    fn after_differs_including_unknown_and_known() {
        let a = plan_text(&base_resources(), base_outputs(), "t");
        let resources = with(base_resources(), 0, |r| {
            r["change"]["after"]["input"]["image"] = json!("app:3");
        });
        let resources = with(resources, 1, |r| {
            // `input` becomes unknown; `id` becomes known.
            r["change"]["after"] = json!({"id": "fixed"});
            r["change"]["after_unknown"] = json!({"input": true, "output": true});
        });
        let b = plan_text(&resources, base_outputs(), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![
                entry("terraform_data.app", "after", &["input.image"]),
                entry("terraform_data.new", "after", &["id"]),
                entry("terraform_data.new", "after", &["input"]),
            ]
        );
        let d = &c.differences;
        assert_eq!((&d[0].a, &d[0].b), (&json!("app:2"), &json!("app:3")));
        assert_eq!(
            (&d[1].a, &d[1].b),
            (&json!(KNOWN_AFTER_APPLY), &json!("fixed"))
        );
        assert_eq!(
            (&d[2].a, &d[2].b),
            (&json!("v1"), &json!(KNOWN_AFTER_APPLY))
        );
        assert_eq!(d[0].action_a.as_deref(), Some("update"));
        assert!(!c.identical);
        // The renderings show each plan's changed attributes; the differing lines differ.
        assert!(
            c.rendering
                .a
                .contains(&r#"terraform_data.app: input.image = "app:1" -> "app:2""#.to_string()),
            "{:#?}",
            c.rendering
        );
        assert!(
            c.rendering
                .b
                .contains(&r#"terraform_data.app: input.image = "app:1" -> "app:3""#.to_string()),
            "{:#?}",
            c.rendering
        );
        assert!(
            c.rendering
                .b
                .contains(&"terraform_data.new: input = null -> (known after apply)".to_string()),
            "{:#?}",
            c.rendering
        );
    }

    #[test]
    fn before_differs_when_the_real_object_changed() {
        let a = plan_text(&base_resources(), json!({}), "t");
        // Someone set replicas to 5 by hand: B would set it back to 2.
        let resources = with(base_resources(), 0, |r| {
            r["change"]["before"]["input"]["replicas"] = json!(5);
            r["change"]["before"]["output"]["replicas"] = json!(5);
        });
        let b = plan_text(&resources, json!({}), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![
                entry("terraform_data.app", "before", &["input.replicas"]),
                entry("terraform_data.app", "before", &["output"]),
            ]
        );
        assert_eq!(
            (&c.differences[0].a, &c.differences[0].b),
            (&json!(2), &json!(5))
        );
    }

    #[test]
    fn actions_and_replace_paths() {
        let a = plan_text(&base_resources(), json!({}), "t");
        let resources = with(base_resources(), 0, |r| {
            r["change"]["actions"] = json!(["delete", "create"]);
            r["change"]["replace_paths"] = json!([["input", "image"]]);
            r["action_reason"] = json!("replace_because_cannot_update");
        });
        let b = plan_text(&resources, json!({}), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![
                entry("terraform_data.app", "actions", &[]),
                entry("terraform_data.app", "replace_paths", &["input.image"]),
            ]
        );
        let d = &c.differences[0];
        assert_eq!(
            (&d.a, &d.b),
            (&json!(["update"]), &json!(["delete", "create"]))
        );
        assert_eq!(
            (d.action_a.as_deref(), d.action_b.as_deref()),
            (Some("update"), Some("replace"))
        );
        assert_eq!(
            (&c.differences[1].a, &c.differences[1].b),
            (&json!([]), &json!(["input.image"]))
        );
        assert!(
            c.rendering
                .b
                .contains(&"terraform_data.app: replace (delete, create)".to_string())
        );
        // The same replacement the other way round (create before destroy) is different too.
        let resources = with(base_resources(), 0, |r| {
            r["change"]["actions"] = json!(["create", "delete"]);
            r["change"]["replace_paths"] = json!([["input", "image"]]);
        });
        let c2 = run(&b, &plan_text(&resources, json!({}), "t"), &[]);
        assert_eq!(
            summary(&c2),
            vec![entry("terraform_data.app", "actions", &[])]
        );
    }

    #[test]
    fn creates_and_deletes_only_in_one_plan() {
        let a = plan_text(&base_resources(), json!({}), "t");
        let mut resources = base_resources();
        resources.remove(1);
        resources.push(rc(
            "terraform_data.old",
            &["delete"],
            json!({"id": "o", "input": "x"}),
            Value::Null,
            json!({}),
        ));
        // In B the quiet resource is updated: only in B's change set, though A has it.
        resources[1]["change"]["after"]["input"] = json!("q2");
        resources[1]["change"]["actions"] = json!(["update"]);
        let b = plan_text(&resources, json!({}), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![
                entry("terraform_data.new", "only_in_a", &[]),
                entry("terraform_data.old", "only_in_b", &[]),
                entry("terraform_data.quiet", "only_in_b", &[]),
            ]
        );
        let d = &c.differences;
        assert_eq!((&d[0].a, &d[0].b), (&json!(["create"]), &Value::Null));
        assert_eq!(
            (d[0].action_a.as_deref(), d[0].action_b.as_deref()),
            (Some("create"), None)
        );
        assert_eq!((&d[2].a, &d[2].b), (&json!(["no-op"]), &json!(["update"])));
        assert_eq!(
            (d[2].action_a.as_deref(), d[2].action_b.as_deref()),
            (Some("no-op"), Some("update"))
        );
        assert_eq!(c.resources_differing(), 3);
        assert_eq!(c.outputs_differing(), 0);
        // Only A renders the create; B has nothing to say about it.
        assert!(
            c.rendering
                .a
                .iter()
                .any(|l| l.starts_with("terraform_data.new: create"))
        );
        assert!(
            !c.rendering
                .b
                .iter()
                .any(|l| l.starts_with("terraform_data.new"))
        );
        assert!(
            c.rendering
                .a
                .contains(&"terraform_data.quiet: no-op".to_string())
        );
    }

    #[test]
    fn deposed_objects_are_their_own_instances() {
        let deposed = {
            let mut r = rc(
                "terraform_data.cert",
                &["delete"],
                json!({"id": "old-cert", "input": "c1"}),
                Value::Null,
                json!({}),
            );
            r["deposed"] = json!("1a2b3c4d");
            r
        };
        let current = rc(
            "terraform_data.cert",
            &["create", "delete"],
            json!({"id": "cur", "input": "c2"}),
            json!({"input": "c3"}),
            json!({"id": true}),
        );
        let a = plan_text(&[current.clone(), deposed.clone()], json!({}), "t");
        let b = plan_text(std::slice::from_ref(&current), json!({}), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![entry("terraform_data.cert", "only_in_a", &[])]
        );
        assert_eq!(c.differences[0].deposed.as_deref(), Some("1a2b3c4d"));
        assert_eq!(c.resources_differing(), 1);
        assert_eq!(
            c.rendering.a,
            vec![
                "terraform_data.cert (deposed 1a2b3c4d): delete".to_string(),
                r#"terraform_data.cert (deposed 1a2b3c4d): id = "old-cert" -> null"#.to_string(),
                r#"terraform_data.cert (deposed 1a2b3c4d): input = "c1" -> null"#.to_string()
            ]
        );
        // Another deposed key is another object.
        let mut other = deposed;
        other["deposed"] = json!("99999999");
        let c = run(&a, &plan_text(&[current, other], json!({}), "t"), &[]);
        assert_eq!(
            c.differences
                .iter()
                .map(|d| (d.kind, d.deposed.clone()))
                .collect::<Vec<_>>(),
            vec![
                (Kind::OnlyInA, Some("1a2b3c4d".into())),
                (Kind::OnlyInB, Some("99999999".into())),
            ]
        );
    }

    #[test]
    fn moves_and_imports() {
        let moved = |from: Option<&str>, import: Option<&str>| {
            let mut r = rc(
                "terraform_data.queue_primary",
                &["no-op"],
                json!({"id": "q", "input": "x"}),
                json!({"id": "q", "input": "x"}),
                json!({}),
            );
            if let Some(f) = from {
                r["previous_address"] = json!(f);
            }
            if let Some(i) = import {
                r["change"]["importing"] = json!({"id": i});
            }
            r
        };
        let a = plan_text(&[moved(Some("terraform_data.queue"), None)], json!({}), "t");
        let b = plan_text(&[moved(Some("terraform_data.jobs"), None)], json!({}), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![entry(
                "terraform_data.queue_primary",
                "actions",
                &["previous_address"]
            )]
        );
        assert_eq!(
            (&c.differences[0].a, &c.differences[0].b),
            (
                &json!("terraform_data.queue"),
                &json!("terraform_data.jobs")
            )
        );
        assert_eq!(c.differences[0].action_a.as_deref(), Some("move"));
        // Not moved at all in B: a no-op, so not in B's change set.
        let c = run(&a, &plan_text(&[moved(None, None)], json!({}), "t"), &[]);
        assert_eq!(
            summary(&c),
            vec![entry("terraform_data.queue_primary", "only_in_a", &[])]
        );
        // Imports of different ids.
        let a = plan_text(&[moved(None, Some("archive-0002"))], json!({}), "t");
        let b = plan_text(&[moved(None, Some("archive-0003"))], json!({}), "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![entry(
                "terraform_data.queue_primary",
                "actions",
                &["importing.id"]
            )]
        );
        assert_eq!(c.differences[0].action_b.as_deref(), Some("import"));
        assert!(
            c.rendering
                .b
                .contains(&r#"terraform_data.queue_primary: import id "archive-0003""#.to_string())
        );
    }

    #[test]
    fn outputs_compare_the_same_way() {
        let a = plan_text(&base_resources(), base_outputs(), "t");
        let mut outputs = base_outputs();
        outputs["image"]["after"] = json!("app:3");
        outputs["added"] = json!({"actions": ["create"], "before": null, "after_unknown": true});
        outputs["same"]["actions"] = json!(["update"]);
        outputs["same"]["after"] = json!("s2");
        let b = plan_text(&base_resources(), outputs, "t");
        let c = run(&a, &b, &[]);
        assert_eq!(
            summary(&c),
            vec![
                entry("output.added", "output", &["actions"]),
                entry("output.image", "output", &["after"]),
                entry("output.same", "output", &["actions"]),
            ]
        );
        let d = &c.differences;
        assert_eq!((&d[0].a, &d[0].b), (&Value::Null, &json!(["create"])));
        assert_eq!((&d[1].a, &d[1].b), (&json!("app:2"), &json!("app:3")));
        assert_eq!((&d[2].a, &d[2].b), (&json!(["no-op"]), &json!(["update"])));
        assert_eq!(c.outputs_differing(), 3);
        assert_eq!(c.resources_differing(), 0);
        assert!(
            c.rendering
                .b
                .contains(&"output.added: null -> (known after apply)".to_string()),
            "{:#?}",
            c.rendering.b
        );
        // Values nested in an output are compared by path.
        let nested = |host: &str| {
            plan_text(
                &[],
                json!({"db": {"actions": ["update"], "before": {"host": "a", "port": 1}, "after": {"host": host, "port": 2}, "after_unknown": false}}),
                "t",
            )
        };
        let c = run(&nested("h1"), &nested("h2"), &[]);
        assert_eq!(
            summary(&c),
            vec![entry("output.db", "output", &["after.host"])]
        );
    }

    #[test]
    fn ignore_rules_with_and_without_paths() {
        let a = plan_text(&base_resources(), base_outputs(), "t");
        let resources = with(base_resources(), 0, |r| {
            r["change"]["after"]["input"]["image"] = json!("app:3");
            r["change"]["after"]["input"]["replicas"] = json!(3);
        });
        let resources = with(resources, 1, |r| {
            r["change"]["after"]["input"] = json!("v2");
        });
        let mut outputs = base_outputs();
        outputs["image"]["after"] = json!("app:3");
        let b = plan_text(&resources, outputs, "t");

        assert_eq!(run(&a, &b, &[]).differences.len(), 4);
        // A path rule drops that attribute only.
        let c = run(&a, &b, &["terraform_data.app:input.image"]);
        assert_eq!(
            summary(&c),
            vec![
                entry("terraform_data.app", "after", &["input.replicas"]),
                entry("terraform_data.new", "after", &["input"]),
                entry("output.image", "output", &["after"]),
            ]
        );
        assert_eq!(c.ignored, 1);
        // …and the rendering leaves it out too.
        assert!(
            !c.rendering.b.iter().any(|l| l.contains("input.image")),
            "{:#?}",
            c.rendering.b
        );
        // A rule on a parent path covers what is under it; globs match several resources.
        let c = run(&a, &b, &["terraform_data.*:input", "output.*"]);
        assert!(c.identical, "{:#?}", c.differences);
        assert_eq!(c.ignored, 4);
        assert!(c.rendering.a.is_empty() && c.rendering.b.is_empty());
        // A rule without a path drops the whole resource, whatever differs.
        let c = run(&a, &b, &["terraform_data.ap?", "terraform_data.new:output"]);
        assert_eq!(
            summary(&c),
            vec![
                entry("terraform_data.new", "after", &["input"]),
                entry("output.image", "output", &["after"]),
            ]
        );
        // Path rules do not hide a resource that is only in one plan.
        let mut only_a = base_resources();
        only_a.push(rc(
            "terraform_data.extra",
            &["create"],
            Value::Null,
            json!({"input": 1}),
            json!({}),
        ));
        let c = run(
            &plan_text(&only_a, json!({}), "t"),
            &plan_text(&base_resources(), json!({}), "t"),
            &["terraform_data.extra:input"],
        );
        assert_eq!(
            summary(&c),
            vec![entry("terraform_data.extra", "only_in_a", &[])]
        );
    }

    #[test]
    fn sensitive_differences_are_redacted_everywhere() {
        let secret_rc = |pw: &str, token: &str| {
            json!({
                "address": "terraform_data.app_secrets",
                "change": {
                    "actions": ["update"],
                    "before": {"id": "x", "input": {"creds": {"password": "old-pw-0001"}, "tokens": ["public", "old-token-0001"]}, "output": {"creds": {"password": "old-pw-0001"}}},
                    "after": {"id": "x", "input": {"creds": {"password": pw}, "tokens": ["public", token]}},
                    "after_unknown": {"output": true},
                    "before_sensitive": {"input": {"creds": {"password": true}, "tokens": [false, true]}, "output": {}},
                    "after_sensitive": {"input": {"creds": {"password": true}, "tokens": [false, true]}}
                }
            })
        };
        let out = |v: &str| json!({"conn": {"actions": ["update"], "before": "old-conn-0001", "after": v, "after_unknown": false, "before_sensitive": true, "after_sensitive": true}});
        let a = plan_text(
            &[secret_rc("hunter2-secret-A", "tok-secret-A")],
            out("conn-secret-A"),
            "t",
        );
        let b = plan_text(
            &[secret_rc("hunter2-secret-B", "tok-secret-A")],
            out("conn-secret-B"),
            "t",
        );
        // Like the diff command: the masker knows both plans' secrets.
        let mut masker = Masker::default();
        for text in [&a, &b] {
            masker.add_literals(
                crate::plan::redact::secrets_of_plan(&parse(text.as_bytes()).unwrap()).unwrap(),
            );
        }
        let c = compare_texts(&a, &b, &[], &masker);
        assert_eq!(
            summary(&c),
            vec![
                entry(
                    "terraform_data.app_secrets",
                    "after",
                    &["input.creds.password"]
                ),
                entry("output.conn", "output", &["after"]),
            ]
        );
        for d in &c.differences {
            assert!(d.sensitive);
            assert_eq!((&d.a, &d.b), (&json!(SENSITIVE), &json!(SENSITIVE)));
        }
        // B's rendering says that the sensitive value changed; A's and B's lines differ.
        assert!(
            c.rendering
                .b
                .iter()
                .any(|l| l.ends_with("# sensitive value changed")),
            "{:#?}",
            c.rendering.b
        );
        let serialized = serde_json::to_string(&c).unwrap();
        for s in [
            "hunter2-secret",
            "tok-secret",
            "conn-secret",
            "old-pw-0001",
            "old-token-0001",
            "old-conn-0001",
        ] {
            assert!(!serialized.contains(s), "{s} leaked: {serialized}");
        }
        // Unmarked copies of a secret (terraform_data's `output`) are masked by value.
        let leak = plan_text(
            &[with(
                vec![secret_rc("hunter2-secret-A", "tok-secret-A")],
                0,
                |r| {
                    r["change"]["before"]["output"]["creds"]["password"] =
                        json!("old-pw-0001-changed");
                },
            )
            .remove(0)],
            out("conn-secret-A"),
            "t",
        );
        let c = compare_texts(&a, &leak, &[], &masker);
        assert_eq!(
            summary(&c),
            vec![entry("terraform_data.app_secrets", "before", &["output"])]
        );
        let serialized = serde_json::to_string(&c).unwrap();
        assert!(!serialized.contains("old-pw-0001\""), "{serialized}");
    }

    #[test]
    fn renderings_stop_after_so_many_subjects() {
        let many: Vec<Value> = (0..MAX_RENDERED_SUBJECTS + 2)
            .map(|i| {
                rc(
                    &format!("terraform_data.r{i:05}"),
                    &["create"],
                    Value::Null,
                    json!({"input": i}),
                    json!({}),
                )
            })
            .collect();
        let c = run(
            &plan_text(&many, json!({}), "t"),
            &plan_text(&[], json!({}), "t"),
            &[],
        );
        assert_eq!(c.resources_differing(), MAX_RENDERED_SUBJECTS + 2);
        assert_eq!(c.rendering.omitted, 2);
        assert_eq!(c.rendering.a.len(), 2 * MAX_RENDERED_SUBJECTS);
    }

    #[test]
    fn json_form_has_the_documented_fields() {
        let a = plan_text(&base_resources(), json!({}), "t");
        let b = plan_text(
            &with(base_resources(), 0, |r| {
                r["change"]["after"]["input"]["image"] = json!("z")
            }),
            json!({}),
            "t",
        );
        let v = serde_json::to_value(run(&a, &b, &[])).unwrap();
        assert_eq!(v["identical"], json!(false));
        let d = &v["differences"][0];
        for f in ["address", "kind", "paths", "a", "b"] {
            assert!(d.get(f).is_some(), "{f} missing in {d}");
        }
        assert_eq!(d["kind"], json!("after"));
        assert_eq!(
            serde_json::to_value(Kind::OnlyInA).unwrap(),
            json!("only_in_a")
        );
        assert_eq!(
            serde_json::to_value(Kind::ReplacePaths).unwrap(),
            json!("replace_paths")
        );
        let back: Comparison = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(back).unwrap(), v);
    }

    #[test]
    fn rules_parse_with_clear_errors() {
        let r = IgnoreRule::parse("module.app.aws_instance.*:tags.LastSeen").unwrap();
        assert!(r.matches_address("module.app.aws_instance.web[\"a\"]"));
        assert!(!r.matches_address("module.api.aws_instance.web"));
        assert_eq!(
            r.path().map(ToString::to_string).as_deref(),
            Some("tags.LastSeen")
        );
        let r = IgnoreRule::parse(r#"aws_instance.x["a:b"]:tags["Name with space"][2]"#).unwrap();
        assert!(r.matches_address(r#"aws_instance.x["a:b"]"#));
        assert_eq!(
            r.path().unwrap(),
            &AttrPath(vec![
                Seg::Key("tags".into()),
                Seg::Key("Name with space".into()),
                Seg::Index(2)
            ])
        );
        let r = IgnoreRule::parse("terraform_data.clock").unwrap();
        assert!(r.path().is_none() && r.matches_address("terraform_data.clock"));
        assert!(!r.matches_address("terraform_data.clock2"));
        for (bad, why) in [
            ("", "empty"),
            (":tags", "address pattern"),
            ("x.y:", "path after"),
            ("x.y:tags..a", "empty name"),
            ("x.y:tags[", "unterminated"),
            ("x.y:tags[a]", "not a list index"),
            ("x.y:tags[\"a", "unterminated quoted"),
            ("x.y:tags[\"a\"b", "followed by"),
            ("x.y:tags]x", "not an attribute name"),
            ("x y", "spaces"),
        ] {
            let err = IgnoreRule::parse(bad).unwrap_err();
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn globs() {
        let m = |p: &str, t: &str| glob_match(&p.chars().collect::<Vec<_>>(), t);
        assert!(m("*", ""));
        assert!(m("*", "anything.at[\"all\"]"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("module.*.x", "module.a.b.x"));
        assert!(m("*.x*", "a.x") && m("*x*y", "axxxy"));
        assert!(!m("*.x", "a.y"));
        assert!(m("x[\"ü?\"]", "x[\"üb\"]"));
        assert!(!m("x", "xx") && !m("xx", "x"));
    }
}

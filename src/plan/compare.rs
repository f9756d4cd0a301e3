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

/// An ignore rule: `ADDRESS_GLOB[:ATTRIBUTE_PATH]`. The glob matches whole addresses (outputs as
/// `output.NAME`); `*` matches any run of characters (dots and brackets included), `?` any one
/// character, everything else itself. With a path, only `after`/`before` (and output value)
/// differences at or under that attribute path are dropped; without, everything about the
/// matching resources or outputs is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    text: String,
    glob: Vec<char>,
    path: Option<AttrPath>,
}

/// Why an ignore rule could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ignore rule `{rule}`: {reason}")]
pub struct IgnoreRuleError {
    pub rule: String,
    pub reason: String,
}

impl IgnoreRule {
    pub fn parse(rule: &str) -> Result<IgnoreRule, IgnoreRuleError> {
        let fail = |reason: String| IgnoreRuleError {
            rule: rule.to_string(),
            reason,
        };
        let text = rule.trim();
        if text.is_empty() {
            return Err(fail("the rule is empty".into()));
        }
        let (glob, path) = split_rule(text);
        if glob.is_empty() {
            return Err(fail(
                "the address pattern before `:` is empty (use `*` to match every address)".into(),
            ));
        }
        if glob.chars().any(char::is_whitespace) {
            return Err(fail("addresses contain no spaces".into()));
        }
        let path = match path {
            None => None,
            Some(p) => Some(parse_attr_path(p).map_err(fail)?),
        };
        Ok(IgnoreRule {
            text: text.to_string(),
            glob: glob.chars().collect(),
            path,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn path(&self) -> Option<&AttrPath> {
        self.path.as_ref()
    }

    pub fn matches_address(&self, address: &str) -> bool {
        glob_match(&self.glob, address)
    }

    /// Whether the rule drops a difference about `address` at attribute `path` (`None` for a
    /// difference that is not about an attribute value).
    fn covers(&self, address: &str, path: Option<&AttrPath>) -> bool {
        if !self.matches_address(address) {
            return false;
        }
        match (&self.path, path) {
            (None, _) => true,
            (Some(rule), Some(p)) => p.starts_with(rule),
            (Some(_), None) => false,
        }
    }
}

impl FromStr for IgnoreRule {
    type Err = IgnoreRuleError;
    fn from_str(s: &str) -> Result<IgnoreRule, IgnoreRuleError> {
        IgnoreRule::parse(s)
    }
}

impl fmt::Display for IgnoreRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits at the first `:` outside brackets and quotes (`x["a:b"]:tags` has its colon last).
fn split_rule(rule: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in rule.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return (&rule[..i], Some(&rule[i + 1..])),
            _ => {}
        }
    }
    (rule, None)
}

/// Parses an attribute path as tfgate prints them: `tags.LastSeen`, `tokens[1]`,
/// `tags["Name with space"]`.
fn parse_attr_path(text: &str) -> Result<AttrPath, String> {
    if text.is_empty() {
        return Err("the attribute path after `:` is empty".into());
    }
    let mut segs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let (seg, after) = bracket_segment(inner)?;
            segs.push(seg);
            rest = after;
            continue;
        }
        let name = if segs.is_empty() {
            rest
        } else {
            rest.strip_prefix('.').ok_or_else(|| {
                format!("expected `.` or `[` before `{rest}` in the attribute path")
            })?
        };
        let end = name.find(['.', '[']).unwrap_or(name.len());
        let key = &name[..end];
        if key.is_empty() {
            return Err(
                "the attribute path has an empty name (two dots, or a dot at an end)".into(),
            );
        }
        if key.contains([']', '"']) || key.chars().any(char::is_whitespace) {
            return Err(format!(
                "`{key}` is not an attribute name; quote unusual keys as [\"key\"]"
            ));
        }
        segs.push(Seg::Key(key.to_string()));
        rest = &name[end..];
    }
    Ok(AttrPath(segs))
}

/// `0]…` or `"key"]…` (after the `[`): the segment and what follows the `]`.
fn bracket_segment(inner: &str) -> Result<(Seg, &str), String> {
    if inner.starts_with('"') {
        let mut escaped = false;
        for (i, c) in inner.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let key: String = serde_json::from_str(&inner[..=i])
                        .map_err(|e| format!("bad quoted key {}: {e}", &inner[..=i]))?;
                    let after = inner[i + 1..]
                        .strip_prefix(']')
                        .ok_or("a quoted key must be followed by `]`")?;
                    return Ok((Seg::Key(key), after));
                }
                _ => {}
            }
        }
        return Err("unterminated quoted key".into());
    }
    let close = inner.find(']').ok_or("unterminated `[`")?;
    let index = &inner[..close];
    let n = index
        .parse::<usize>()
        .map_err(|_| format!("`[{index}]` is not a list index (quote map keys: [\"{index}\"])"))?;
    Ok((Seg::Index(n), &inner[close + 1..]))
}

/// `*` and `?` wildcard match over characters (iterative, linear backtracking).
fn glob_match(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
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
    let index_a = index(&a.resource_changes);
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
    let known = Known { index_a, same_in_a };
    compare_indexed(a, b, (&fingerprint_a, &fingerprint_b), Some(known), opts)
}

/// What `compare` learnt about the two plans while it made their fingerprints.
struct Known<'p> {
    /// A's index (`index`).
    index_a: HashMap<Key<'p>, usize>,
    /// For each of B's changes, the position of A's change with the same identity and the same
    /// inputs (`fingerprint::same_inputs`). Such a pair cannot differ: `compare_resource` reads
    /// nothing else of them.
    same_in_a: Vec<Option<usize>>,
}

/// `compare` for a caller that already has both fingerprints (`apply`: the reviewed plan's from
/// its checked manifest, the fresh plan's from its summary), which saves computing them: about
/// a third of the work on a large plan.
pub fn compare_fingerprinted(
    a: &Plan<'_>,
    b: &Plan<'_>,
    fingerprints: (&str, &str),
    opts: &CompareOptions<'_>,
) -> Result<Comparison, CompareError> {
    compare_indexed(a, b, fingerprints, None, opts)
}

/// `compare_fingerprinted` with what `compare` knows already, if it does.
fn compare_indexed<'p>(
    a: &'p Plan<'_>,
    b: &Plan<'_>,
    fingerprints: (&str, &str),
    known: Option<Known<'p>>,
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
    let (index_a, same_in_a) = match known {
        Some(k) => (k.index_a, k.same_in_a),
        None => (index(&a.resource_changes), Vec::new()),
    };
    let index_b = index(&b.resource_changes);
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
    (rc.address.as_str(), rc.deposed.as_deref())
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

fn actions_value(actions: &[String]) -> Value {
    Value::Array(actions.iter().map(|a| Value::String(a.clone())).collect())
}

fn raw(r: Option<&RawValue>) -> &str {
    r.map_or("null", RawValue::get)
}

/// All resource differences. A's resources are split over the cores; each looks up its
/// counterpart in B's index; B's resources nobody looked up are then the ones only B has.
/// `same_in_a` (empty, or one entry per change of B) names the pairs known not to differ.
fn resource_differences(
    a: &Plan<'_>,
    b: &Plan<'_>,
    index_b: &HashMap<Key<'_>, usize>,
    same_in_a: &[Option<usize>],
) -> Result<Vec<Found>, CompareError> {
    let in_a = &a.resource_changes;
    let in_b = &b.resource_changes;
    let parts = par::map_chunks(in_a, |start, part| {
        let mut found = Vec::new();
        let mut matched = Vec::with_capacity(part.len());
        for (i, ra) in (start..).zip(part) {
            let pos = index_b.get(&key(ra)).copied();
            matched.extend(pos);
            if pos.is_some_and(|p| same_in_a.get(p) == Some(&Some(i))) {
                continue;
            }
            compare_resource(Some(ra), pos.map(|p| &in_b[p]), &mut found)?;
        }
        Ok::<_, CompareError>((found, matched))
    });
    let mut seen = vec![false; in_b.len()];
    let mut found = Vec::new();
    for part in parts {
        let (part, matched) = part?;
        found.extend(part);
        for p in matched {
            seen[p] = true;
        }
    }
    for (rb, seen) in in_b.iter().zip(&seen) {
        if !seen {
            compare_resource(None, Some(rb), &mut found)?;
        }
    }
    Ok(found)
}

fn compare_resource<'r>(
    ra: Option<&'r ResourceChange<'_>>,
    rb: Option<&'r ResourceChange<'_>>,
    out: &mut Vec<Found>,
) -> Result<(), CompareError> {
    let Some(subject) = ra.or(rb) else {
        return Ok(());
    };
    let changing_a = ra.filter(|r| fingerprint::is_in_change_set(r));
    let changing_b = rb.filter(|r| fingerprint::is_in_change_set(r));
    // Made only for a difference (most pairs have none).
    let base = || Difference {
        address: subject.address.clone(),
        kind: Kind::Actions,
        paths: Vec::new(),
        a: Value::Null,
        b: Value::Null,
        deposed: subject.deposed.clone(),
        action_a: ra.map(resource_label),
        action_b: rb.map(resource_label),
        sensitive: false,
    };
    let push = |out: &mut Vec<Found>, diff: Difference, value_path: Option<AttrPath>| {
        let order = value_path.clone().unwrap_or_default();
        out.push(Found {
            diff,
            value_path,
            order,
        });
    };
    let actions_of = |r: Option<&ResourceChange<'_>>| {
        r.map_or(Value::Null, |r| actions_value(&r.change.actions))
    };
    let (x, y) = match (changing_a, changing_b) {
        (None, None) => return Ok(()),
        (Some(_), None) | (None, Some(_)) => {
            let kind = if changing_a.is_some() {
                Kind::OnlyInA
            } else {
                Kind::OnlyInB
            };
            let diff = Difference {
                kind,
                a: actions_of(ra),
                b: actions_of(rb),
                ..base()
            };
            push(out, diff, None);
            return Ok(());
        }
        (Some(x), Some(y)) => (x, y),
    };

    if x.change.actions != y.change.actions {
        let diff = Difference {
            a: actions_value(&x.change.actions),
            b: actions_value(&y.change.actions),
            ..base()
        };
        push(out, diff, None);
    }
    // A different move or import is a difference in what the plan does to the state.
    // (`import_id`, borrowed.)
    let imported = |rc: &'r ResourceChange<'_>| {
        rc.change
            .importing
            .as_ref()
            .map(|i| i.id.as_deref().unwrap_or_default())
    };
    for (path, a, b) in [
        (field::PREVIOUS_ADDRESS, moved_from(x), moved_from(y)),
        (field::IMPORT_ID, imported(x), imported(y)),
    ] {
        if a != b {
            let diff = Difference {
                paths: vec![path.into()],
                a: a.map_or(Value::Null, Value::from),
                b: b.map_or(Value::Null, Value::from),
                ..base()
            };
            push(out, diff, None);
        }
    }
    if raw(x.change.replace_paths) != raw(y.change.replace_paths) {
        let pa = replace_paths(x).map_err(on(Side::A))?;
        let pb = replace_paths(y).map_err(on(Side::B))?;
        if pa != pb {
            let shown = |set: &BTreeSet<AttrPath>| {
                Value::Array(set.iter().map(|p| Value::String(p.to_string())).collect())
            };
            let diff = Difference {
                kind: Kind::ReplacePaths,
                paths: pa
                    .symmetric_difference(&pb)
                    .map(ToString::to_string)
                    .collect(),
                a: shown(&pa),
                b: shown(&pb),
                ..base()
            };
            push(out, diff, None);
        }
    }
    if same_values(&x.change, &y.change) {
        return Ok(());
    }
    let va = ChangeValues::of(&x.change, &x.address).map_err(on(Side::A))?;
    let vb = ChangeValues::of(&y.change, &y.address).map_err(on(Side::B))?;
    for d in value_differences(&va, &vb, false) {
        let diff = Difference {
            kind: d.kind,
            paths: vec![d.path.to_string()],
            a: d.a,
            b: d.b,
            sensitive: d.sensitive,
            ..base()
        };
        push(out, diff, Some(d.path));
    }
    Ok(())
}

/// Byte-equal values in both plans cannot differ (the common case for plans of the same
/// configuration): nothing to parse.
fn same_values(x: &Change<'_>, y: &Change<'_>) -> bool {
    raw(x.before) == raw(y.before)
        && raw(x.after) == raw(y.after)
        && raw(x.after_unknown) == raw(y.after_unknown)
}

fn replace_paths(rc: &ResourceChange<'_>) -> Result<BTreeSet<AttrPath>, PlanJsonError> {
    Ok(
        match &attrs::parse(rc.change.replace_paths, &rc.address, "replace_paths")? {
            Node::Array(paths) => paths.iter().filter_map(AttrPath::from_node).collect(),
            _ => BTreeSet::new(),
        },
    )
}

/// A before or after value difference at one path.
struct ValueDiff {
    kind: Kind,
    path: AttrPath,
    a: Value,
    b: Value,
    sensitive: bool,
}

/// The new value at a path: unknown, or known (with a mask of unknown parts below it).
enum AfterAt<'n, 'a> {
    Unknown,
    Known {
        value: &'n Node<'a>,
        unknown: &'n Node<'a>,
    },
}

/// Compares the before and after values of two changes at every path that changes in either.
/// A path under one already reported differs as part of it and is not reported again.
fn value_differences(
    va: &ChangeValues<'_>,
    vb: &ChangeValues<'_>,
    declared_sensitive: bool,
) -> Vec<ValueDiff> {
    let mut paths = BTreeSet::new();
    walk_changes(va, &mut |f| {
        paths.insert(f.path.clone());
    });
    walk_changes(vb, &mut |f| {
        paths.insert(f.path.clone());
    });
    let mut out = Vec::new();
    let mut last_after: Option<AttrPath> = None;
    let mut last_before: Option<AttrPath> = None;
    for path in paths {
        let sensitive = declared_sensitive
            || [
                &va.before_sensitive,
                &va.after_sensitive,
                &vb.before_sensitive,
                &vb.after_sensitive,
            ]
            .iter()
            .any(|m| sensitivity_at(m, &path).any_true());
        // Sorted paths put everything under a reported path right after it.
        if !last_after.as_ref().is_some_and(|p| path.starts_with(p)) {
            let (xa, xb) = (after_at(va, &path), after_at(vb, &path));
            if !same_after(&xa, &xb) {
                out.push(ValueDiff {
                    kind: Kind::After,
                    path: path.clone(),
                    a: shown_value(after_value(&xa), sensitive),
                    b: shown_value(after_value(&xb), sensitive),
                    sensitive,
                });
                last_after = Some(path.clone());
            }
        }
        if !last_before.as_ref().is_some_and(|p| path.starts_with(p)) {
            let (ba, bb) = (node_at(&va.before, &path), node_at(&vb.before, &path));
            if ba != bb {
                out.push(ValueDiff {
                    kind: Kind::Before,
                    path: path.clone(),
                    a: shown_value(ba.to_shown_value(), sensitive),
                    b: shown_value(bb.to_shown_value(), sensitive),
                    sensitive,
                });
                last_before = Some(path);
            }
        }
    }
    out
}

/// A sensitive value is shown as `(sensitive value)`; `null` and unknown stay as they are
/// (they reveal nothing).
fn shown_value(v: Value, sensitive: bool) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) if s == KNOWN_AFTER_APPLY => Value::String(s),
        _ if sensitive => Value::String(SENSITIVE.into()),
        v => v,
    }
}

fn child<'n, 'a>(node: &'n Node<'a>, seg: &Seg) -> &'n Node<'a> {
    match seg {
        Seg::Key(k) => node.get(k),
        Seg::Index(i) => node.index(*i),
    }
    .unwrap_or(&NULL)
}

fn node_at<'n, 'a>(root: &'n Node<'a>, path: &AttrPath) -> &'n Node<'a> {
    path.0.iter().fold(root, |n, seg| child(n, seg))
}

/// The sensitivity mask at a path: a `true` above it covers it.
fn sensitivity_at<'n, 'a>(root: &'n Node<'a>, path: &AttrPath) -> &'n Node<'a> {
    let mut node = root;
    for seg in &path.0 {
        if node.is_true() {
            return node;
        }
        node = child(node, seg);
    }
    node
}

fn after_at<'n, 'a>(v: &'n ChangeValues<'a>, path: &AttrPath) -> AfterAt<'n, 'a> {
    let mut value = &v.after;
    let mut unknown = &v.after_unknown;
    for seg in &path.0 {
        if unknown.is_true() {
            return AfterAt::Unknown;
        }
        value = child(value, seg);
        unknown = child(unknown, seg);
    }
    if unknown.is_true() {
        AfterAt::Unknown
    } else {
        AfterAt::Known { value, unknown }
    }
}

fn same_after(x: &AfterAt<'_, '_>, y: &AfterAt<'_, '_>) -> bool {
    match (x, y) {
        (AfterAt::Unknown, AfterAt::Unknown) => true,
        (
            AfterAt::Known {
                value: vx,
                unknown: ux,
            },
            AfterAt::Known {
                value: vy,
                unknown: uy,
            },
        ) => vx == vy && unknown_paths(ux) == unknown_paths(uy),
        _ => false,
    }
}

/// Where an unknown mask holds `true` (`false`, `{}` and absent all mean "nothing unknown").
fn unknown_paths(mask: &Node<'_>) -> Vec<AttrPath> {
    fn collect(n: &Node<'_>, path: &mut AttrPath, out: &mut Vec<AttrPath>) {
        match n {
            Node::Bool(true) => out.push(path.clone()),
            Node::Object(entries) => nested(|| {
                for (k, v) in entries {
                    path.0.push(Seg::Key(k.to_string()));
                    collect(v, path, out);
                    path.0.pop();
                }
            }),
            Node::Array(items) => nested(|| {
                for (i, v) in items.iter().enumerate() {
                    path.0.push(Seg::Index(i));
                    collect(v, path, out);
                    path.0.pop();
                }
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if mask.any_true() {
        collect(mask, &mut AttrPath::default(), &mut out);
    }
    out
}

/// The new value as shown: unknown parts as `(known after apply)`.
fn after_value(x: &AfterAt<'_, '_>) -> Value {
    match x {
        AfterAt::Unknown => Value::String(KNOWN_AFTER_APPLY.into()),
        AfterAt::Known { value, unknown } => with_unknowns(value.to_shown_value(), unknown, 0),
    }
}

/// `value` (as shown, `depth` levels down) with the parts `mask` marks unknown shown as
/// `(known after apply)`, down to `SHOWN_DEPTH` levels as `Node::to_shown_value`.
fn with_unknowns(value: Value, mask: &Node<'_>, depth: usize) -> Value {
    match mask {
        Node::Bool(true) => Value::String(KNOWN_AFTER_APPLY.into()),
        Node::Object(_) | Node::Array(_) if !mask.any_true() => value,
        Node::Object(_) | Node::Array(_) if depth >= SHOWN_DEPTH => Value::String(NOT_SHOWN.into()),
        Node::Object(entries) => {
            let mut map = match value {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, m) in entries.iter().filter(|(_, m)| m.any_true()) {
                let v = map.remove(k.as_ref()).unwrap_or(Value::Null);
                map.insert(k.to_string(), with_unknowns(v, m, depth + 1));
            }
            Value::Object(map)
        }
        Node::Array(items) => {
            let mut list = match value {
                Value::Array(l) => l,
                _ => Vec::new(),
            };
            for (i, m) in items.iter().enumerate().filter(|(_, m)| m.any_true()) {
                if list.len() <= i {
                    list.resize(i + 1, Value::Null);
                }
                let v = std::mem::take(&mut list[i]);
                list[i] = with_unknowns(v, m, depth + 1);
            }
            Value::Array(list)
        }
        _ => value,
    }
}

/// Output differences: presence in the change set, actions, and values, all of kind `output`.
fn output_differences(a: &Plan<'_>, b: &Plan<'_>) -> Result<Vec<Found>, CompareError> {
    let names: BTreeSet<&str> = a
        .output_changes
        .keys()
        .chain(b.output_changes.keys())
        .map(String::as_str)
        .collect();
    let declared = |p: &Plan<'_>, name: &str| {
        p.configuration
            .as_ref()
            .and_then(|c| c.root_module.outputs.get(name))
            .is_some_and(|o| o.sensitive)
    };
    let mut out = Vec::new();
    for name in names {
        let (ca, cb) = (a.output_changes.get(name), b.output_changes.get(name));
        let changing_a = ca.filter(|c| !c.is_no_op());
        let changing_b = cb.filter(|c| !c.is_no_op());
        if changing_a.is_none() && changing_b.is_none() {
            continue;
        }
        let label = |c: Option<&Change<'_>>| {
            c.map(|c| Action::from_actions(&c.actions).as_str().to_string())
        };
        let actions = |c: Option<&Change<'_>>| c.map_or(Value::Null, |c| actions_value(&c.actions));
        let sensitive = declared(a, name) || declared(b, name);
        let base = Difference {
            address: format!("output.{name}"),
            kind: Kind::Output,
            paths: vec![field::ACTIONS.into()],
            a: actions(ca),
            b: actions(cb),
            deposed: None,
            action_a: label(ca),
            action_b: label(cb),
            sensitive: false,
        };
        let (Some(x), Some(y)) = (changing_a, changing_b) else {
            out.push(Found {
                diff: base,
                value_path: None,
                order: AttrPath(vec![Seg::Key(field::ACTIONS.into())]),
            });
            continue;
        };
        if x.actions != y.actions {
            out.push(Found {
                diff: base.clone(),
                value_path: None,
                order: AttrPath(vec![Seg::Key(field::ACTIONS.into())]),
            });
        }
        if same_values(x, y) {
            continue;
        }
        let address = format!("output.{name}");
        let va = ChangeValues::of(x, &address).map_err(on(Side::A))?;
        let vb = ChangeValues::of(y, &address).map_err(on(Side::B))?;
        for d in value_differences(&va, &vb, sensitive) {
            let prefix = if d.kind == Kind::After {
                field::AFTER
            } else {
                field::BEFORE
            };
            let mut shown = vec![Seg::Key(prefix.into())];
            shown.extend(d.path.0.iter().cloned());
            let shown = AttrPath(shown);
            out.push(Found {
                diff: Difference {
                    paths: vec![shown.to_string()],
                    a: d.a,
                    b: d.b,
                    sensitive: d.sensitive,
                    ..base.clone()
                },
                value_path: Some(d.path),
                order: shown,
            });
        }
    }
    Ok(out)
}

/// The renderings of every resource and output that still differs, A's and B's.
fn render_subjects(
    a: &Plan<'_>,
    b: &Plan<'_>,
    index_a: &HashMap<Key<'_>, usize>,
    index_b: &HashMap<Key<'_>, usize>,
    found: &[Found],
    rules: &[IgnoreRule],
) -> Result<Renderings, CompareError> {
    let mut out = Renderings::default();
    for (n, group) in found
        .chunk_by(|x, y| same_subject(&x.diff, &y.diff))
        .enumerate()
    {
        if n >= MAX_RENDERED_SUBJECTS {
            out.omitted += 1;
            continue;
        }
        let first = &group[0].diff;
        let rules: Vec<&IgnoreRule> = rules
            .iter()
            .filter(|r| r.matches_address(&first.address))
            .collect();
        let sensitive: Vec<&AttrPath> = group
            .iter()
            .filter(|f| f.diff.sensitive)
            .filter_map(|f| f.value_path.as_ref())
            .collect();
        let ctx = RenderContext {
            rules: &rules,
            sensitive: &sensitive,
        };
        if first.is_output() {
            let name = first
                .address
                .strip_prefix("output.")
                .unwrap_or(&first.address);
            let declared = |p: &Plan<'_>| {
                p.configuration
                    .as_ref()
                    .and_then(|c| c.root_module.outputs.get(name))
                    .is_some_and(|o| o.sensitive)
            };
            let secret = declared(a) || declared(b);
            if let Some(c) = a.output_changes.get(name) {
                render_output(&first.address, c, secret, &ctx, false, &mut out.a)
                    .map_err(on(Side::A))?;
            }
            if let Some(c) = b.output_changes.get(name) {
                render_output(&first.address, c, secret, &ctx, true, &mut out.b)
                    .map_err(on(Side::B))?;
            }
        } else {
            let k: Key<'_> = (first.address.as_str(), first.deposed.as_deref());
            if let Some(&i) = index_a.get(&k) {
                render_resource(&a.resource_changes[i], &ctx, false, &mut out.a)
                    .map_err(on(Side::A))?;
            }
            if let Some(&i) = index_b.get(&k) {
                render_resource(&b.resource_changes[i], &ctx, true, &mut out.b)
                    .map_err(on(Side::B))?;
            }
        }
    }
    Ok(out)
}

struct RenderContext<'r> {
    /// Ignore rules that match this subject's address.
    rules: &'r [&'r IgnoreRule],
    /// Paths of this subject's sensitive differences.
    sensitive: &'r [&'r AttrPath],
}

impl RenderContext<'_> {
    fn ignored(&self, path: &AttrPath) -> bool {
        self.rules
            .iter()
            .any(|r| r.path().is_some_and(|p| path.starts_with(p)))
    }

    /// The note on B's line for a path whose sensitive value differs from A's (the redacted
    /// lines would otherwise be equal and the diff would not show it).
    fn note(&self, path: &AttrPath, is_b: bool) -> &'static str {
        if is_b
            && self
                .sensitive
                .iter()
                .any(|s| path.starts_with(s) || s.starts_with(path))
        {
            "  # sensitive value changed"
        } else {
            ""
        }
    }
}

fn render_resource(
    rc: &ResourceChange<'_>,
    ctx: &RenderContext<'_>,
    is_b: bool,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    let subject = match &rc.deposed {
        Some(d) => format!("{} (deposed {d})", rc.address),
        None => rc.address.clone(),
    };
    let actions = &rc.change.actions;
    let mut head = format!("{subject}: {}", resource_label(rc));
    if actions.len() > 1 {
        head.push_str(&format!(" ({})", actions.join(", ")));
    }
    out.push(head);
    if let Some(prev) = moved_from(rc) {
        out.push(format!("{subject}: moved from {prev}"));
    }
    if let Some(id) = import_id(rc) {
        out.push(format!("{subject}: import id {}", Value::String(id)));
    }
    let replace = replace_paths(rc)?;
    if !replace.is_empty() {
        let list: Vec<String> = replace.iter().map(ToString::to_string).collect();
        out.push(format!("{subject}: replace paths {}", list.join(", ")));
    }
    render_values(&subject, &rc.change, false, ctx, is_b, out)
}

fn render_output(
    address: &str,
    c: &Change<'_>,
    secret: bool,
    ctx: &RenderContext<'_>,
    is_b: bool,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    out.push(format!(
        "{address}: {}",
        Action::from_actions(&c.actions).as_str()
    ));
    render_values(address, c, secret, ctx, is_b, out)
}

/// One line per changed attribute: `SUBJECT: PATH = BEFORE -> AFTER`, redacted.
fn render_values(
    subject: &str,
    c: &Change<'_>,
    secret: bool,
    ctx: &RenderContext<'_>,
    is_b: bool,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    let values = ChangeValues::of(c, subject)?;
    walk_changes(&values, &mut |f| {
        if ctx.ignored(f.path) {
            return;
        }
        let redacted = |v: &Node<'_>, mask: &Node<'_>| {
            if secret && !matches!(v, Node::Null) {
                Value::String(SENSITIVE.into())
            } else {
                redact_value(&v.to_shown_value(), &mask.to_shown_value())
            }
        };
        let before = redacted(f.before, f.before_sensitive);
        let after = match f.after {
            Some(a) => redacted(a, f.after_sensitive),
            None => Value::String(KNOWN_AFTER_APPLY.into()),
        };
        let at = if f.path.0.is_empty() {
            String::new()
        } else {
            format!(" {} =", f.path)
        };
        out.push(format!(
            "{subject}:{at} {} -> {}{}",
            display_value(&before),
            display_value(&after),
            ctx.note(f.path, is_b)
        ));
    });
    Ok(())
}

/// Compact JSON, except that the `(sensitive value)` and `(known after apply)` markers are shown
/// bare, as Terraform shows them.
pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) if s == SENSITIVE || s == KNOWN_AFTER_APPLY => s.clone(),
        v => v.to_string(),
    }
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

    fn rc(address: &str, actions: &[&str], before: Value, after: Value, unknown: Value) -> Value {
        json!({
            "address": address,
            "mode": "managed",
            "type": "terraform_data",
            "change": {
                "actions": actions,
                "before": before,
                "after": after,
                "after_unknown": unknown,
                "before_sensitive": {},
                "after_sensitive": {}
            }
        })
    }

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

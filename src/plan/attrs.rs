//! Attribute-level changes of one resource or output: which paths change, from what, to what.
//!
//! This is the one walk over `before`/`after`/`after_unknown` that the fingerprint and the
//! comparison of two plans share. Values here are raw (sensitive ones included); anything that
//! displays them must go through `redact`.

use std::fmt;

use serde_json::Value;

use crate::plan::node::{MAX_DEPTH, NULL, Node, ValueError, nested_at};
use crate::terraform::plan_json::{Change, PlanJsonError};

/// One step in an attribute path: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into a resource's attributes, e.g. `input.creds.password` or `tokens[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrPath(pub Vec<Seg>);

impl AttrPath {
    pub fn child(&self, seg: Seg) -> AttrPath {
        let mut segs = self.0.clone();
        segs.push(seg);
        AttrPath(segs)
    }

    /// Parses Terraform's JSON path form (`["input", "creds", 0]`), as used by
    /// `replace_paths` and `relevant_attributes`.
    pub fn from_json(v: &Value) -> Option<AttrPath> {
        let segs = v.as_array()?;
        segs.iter()
            .map(|s| match s {
                Value::String(k) => Some(Seg::Key(k.clone())),
                Value::Number(n) => n.as_u64().map(|i| Seg::Index(i as usize)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(AttrPath)
    }

    /// The same from a parsed value (`replace_paths`, `relevant_attributes`).
    pub fn from_node(v: &Node<'_>) -> Option<AttrPath> {
        let Node::Array(segs) = v else { return None };
        segs.iter()
            .map(|s| match s {
                Node::String(k) => Some(Seg::Key(k.to_string())),
                Node::Number(n) => n.as_u64().map(|i| Seg::Index(i as usize)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(AttrPath)
    }

    pub fn to_json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => Value::String(k.clone()),
                    Seg::Index(i) => Value::from(*i),
                })
                .collect(),
        )
    }

    pub fn starts_with(&self, prefix: &AttrPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if is_identifier(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Key(k) => write!(f, "[{}]", Value::String(k.clone()))?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The new value of a changed attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Known(Value),
    /// Known only after apply.
    Unknown,
}

/// One attribute whose value changes (before ≠ after, or after unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrChange {
    pub path: AttrPath,
    pub before: Value,
    pub after: After,
    /// `before_sensitive` restricted to this path (`true`, `false`, or a nested mask).
    pub before_sensitive: Value,
    /// `after_sensitive` restricted to this path.
    pub after_sensitive: Value,
}

impl AttrChange {
    /// Whether any part of the before or after value is sensitive.
    pub fn is_sensitive(&self) -> bool {
        any_true(&self.before_sensitive) || any_true(&self.after_sensitive)
    }
}

/// The parsed values of one change, ready for walking. They borrow from the plan's bytes.
#[derive(Debug, Default)]
pub struct ChangeValues<'a> {
    pub before: Node<'a>,
    pub after: Node<'a>,
    pub after_unknown: Node<'a>,
    pub before_sensitive: Node<'a>,
    pub after_sensitive: Node<'a>,
}

impl<'a> ChangeValues<'a> {
    /// All five values of a change; `subject` (an address, `output.NAME`) names it in errors.
    pub fn of(c: &Change<'a>, subject: &str) -> Result<ChangeValues<'a>, PlanJsonError> {
        Ok(ChangeValues {
            before: parse(c.before, subject, "before")?,
            after: parse(c.after, subject, "after")?,
            after_unknown: parse(c.after_unknown, subject, "after_unknown")?,
            before_sensitive: parse(c.before_sensitive, subject, "before_sensitive")?,
            after_sensitive: parse(c.after_sensitive, subject, "after_sensitive")?,
        })
    }

    /// Only what decides *which* attributes change (the fingerprint needs no masks).
    pub fn without_masks(c: &Change<'a>, subject: &str) -> Result<ChangeValues<'a>, PlanJsonError> {
        Ok(ChangeValues {
            before: parse(c.before, subject, "before")?,
            after: parse(c.after, subject, "after")?,
            after_unknown: parse(c.after_unknown, subject, "after_unknown")?,
            ..ChangeValues::default()
        })
    }
}

/// Parses one value of the plan; an error says where it is (`terraform_data.x, after`).
pub fn parse<'a>(
    raw: Option<&'a serde_json::value::RawValue>,
    subject: &str,
    field: &str,
) -> Result<Node<'a>, PlanJsonError> {
    Node::parse(raw).map_err(|e| {
        let at = format!("{subject}, {field}");
        match e {
            ValueError::TooDeep => PlanJsonError::TooDeep {
                limit: MAX_DEPTH,
                at,
            },
            ValueError::Invalid(message) => PlanJsonError::BadValue { at, message },
        }
    })
}

/// A changed attribute as the walk finds it, borrowing from the values.
pub struct Found<'n, 'a> {
    pub path: &'n AttrPath,
    pub before: &'n Node<'a>,
    /// `None`: known only after apply.
    pub after: Option<&'n Node<'a>>,
    pub before_sensitive: &'n Node<'a>,
    pub after_sensitive: &'n Node<'a>,
}

/// Calls `found` for every attribute path whose value changes, in path order. Objects and
/// lists are walked down to the attribute that differs; a value that changes type or
/// appears/disappears whole is reported at the deepest path where both sides still have the
/// same shape. This is the one walk the fingerprint, drift and comparisons share.
pub fn walk_changes<'a>(values: &ChangeValues<'a>, found: &mut dyn FnMut(Found<'_, 'a>)) {
    walk(
        &values.before,
        &values.after,
        &values.after_unknown,
        &values.before_sensitive,
        &values.after_sensitive,
        &mut AttrPath::default(),
        found,
    );
}

/// Every changed attribute, with owned values as shown (`Node::to_shown_value`).
pub fn changed_attributes(values: &ChangeValues<'_>) -> Vec<AttrChange> {
    let mut out = Vec::new();
    walk_changes(values, &mut |f| {
        out.push(AttrChange {
            path: f.path.clone(),
            before: f.before.to_shown_value(),
            after: f
                .after
                .map_or(After::Unknown, |a| After::Known(a.to_shown_value())),
            before_sensitive: f.before_sensitive.to_shown_value(),
            after_sensitive: f.after_sensitive.to_shown_value(),
        });
    });
    out
}

static TRUE: Node<'static> = Node::Bool(true);

/// Down to this many levels the walk first asks whether two values are equal as a whole.
const ASK_EQUAL_ABOVE: usize = 8;

/// Walks one path; whether it reported anything (here or below).
fn walk<'a>(
    before: &Node<'a>,
    after: &Node<'a>,
    unknown: &Node<'a>,
    bsens: &Node<'a>,
    asens: &Node<'a>,
    path: &mut AttrPath,
    found: &mut dyn FnMut(Found<'_, 'a>),
) -> bool {
    let report = |found: &mut dyn FnMut(Found<'_, 'a>), path: &AttrPath, after| {
        found(Found {
            path,
            before,
            after,
            before_sensitive: bsens,
            after_sensitive: asens,
        });
        true
    };
    if unknown.is_true() {
        return report(found, path, None);
    }
    // Equal values with nothing unknown report nothing, here or below. Near the top, where
    // values are wide rather than deep, asking is cheaper than walking into them; deeper down
    // they are walked into instead, since asking at every level would read a value nested N
    // levels deep N times over.
    if path.0.len() < ASK_EQUAL_ABOVE && before == after && !unknown.any_true() {
        return false;
    }
    match (container(before, after), container(after, before)) {
        // One level down: on a fresh stack segment when this one runs low.
        (Some(x), Some(y)) if x == y => nested_at(path.0.len(), || {
            let mut any =
                differs_unseen(before, after, unknown) && report(found, path, Some(after));
            any |= match x {
                Shape::Object => walk_keys(before, after, unknown, bsens, asens, path, found),
                Shape::Array => walk_items(before, after, unknown, bsens, asens, path, found),
            };
            // `null` against a container in which nothing was found (empty, or holding only
            // `null`s): reported whole, so that `tags = {}` and `tags = null` differ.
            any || (null_against(before, after) && report(found, path, Some(after)))
        }),
        _ => (before != after || unknown.any_true()) && report(found, path, Some(after)),
    }
}

/// `walk` into every key of three objects, in order: their entries are sorted by key, so one
/// merging pass takes each key's values without a lookup.
fn walk_keys<'a>(
    before: &Node<'a>,
    after: &Node<'a>,
    unknown: &Node<'a>,
    bsens: &Node<'a>,
    asens: &Node<'a>,
    path: &mut AttrPath,
    found: &mut dyn FnMut(Found<'_, 'a>),
) -> bool {
    let mut any = false;
    let mut sides = [before, after, unknown].map(|v| match v {
        Node::Object(entries) => entries.as_slice(),
        _ => &[],
    });
    while let Some(k) = sides.iter().filter_map(|e| e.first()).map(|(k, _)| k).min() {
        let [b, a, u] = sides.each_mut().map(|e| match e.split_first() {
            Some(((key, v), rest)) if key == k => {
                *e = rest;
                v
            }
            _ => &NULL,
        });
        path.0.push(Seg::Key(k.to_string()));
        any |= walk(
            b,
            a,
            u,
            sens_child(bsens, |v| v.get(k)),
            sens_child(asens, |v| v.get(k)),
            path,
            found,
        );
        path.0.pop();
    }
    any
}

/// `walk` into every index of three arrays, up to the longest.
fn walk_items<'a>(
    before: &Node<'a>,
    after: &Node<'a>,
    unknown: &Node<'a>,
    bsens: &Node<'a>,
    asens: &Node<'a>,
    path: &mut AttrPath,
    found: &mut dyn FnMut(Found<'_, 'a>),
) -> bool {
    let mut any = false;
    let len = [before, after, unknown]
        .iter()
        .filter_map(|v| match v {
            Node::Array(items) => Some(items.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    for i in 0..len {
        path.0.push(Seg::Index(i));
        any |= walk(
            before.index(i).unwrap_or(&NULL),
            after.index(i).unwrap_or(&NULL),
            unknown.index(i).unwrap_or(&NULL),
            sens_child(bsens, |v| v.index(i)),
            sens_child(asens, |v| v.index(i)),
            path,
            found,
        );
        path.0.pop();
    }
    any
}

/// Whether exactly one side is `null`.
fn null_against(before: &Node<'_>, after: &Node<'_>) -> bool {
    matches!(before, Node::Null) != matches!(after, Node::Null)
}

/// Whether two containers of one shape (`null` standing for an empty one) differ where the walk
/// below them cannot see it, since a missing key or list item reads as `null`: a key that is
/// `null` on one side and missing on the other, a list longer by `null`s. Such a container is
/// reported whole, so that `["a", null]` and `["a"]` do not compare equal. Parts known only
/// after apply do not count (the walk reports them). An object's `null` attributes against a
/// `null` object are left to `null_against` (every create has them; Terraform's objects always
/// hold all their attributes).
fn differs_unseen(before: &Node<'_>, after: &Node<'_>, unknown: &Node<'_>) -> bool {
    let known_null = |v: &Node<'_>, u: Option<&Node<'_>>| {
        matches!(v, Node::Null) && !u.is_some_and(Node::is_true)
    };
    let null_item = |items: &[Node<'_>], from: usize| {
        (from..items.len()).any(|i| known_null(&items[i], unknown.index(i)))
    };
    match (before, after) {
        (Node::Null, Node::Array(items)) | (Node::Array(items), Node::Null) => null_item(items, 0),
        (Node::Object(x), Node::Object(y)) => {
            // Both are sorted by key: one pass finds the keys only one side has.
            let (mut i, mut j) = (0, 0);
            loop {
                let only = match (x.get(i), y.get(j)) {
                    (None, None) => return false,
                    (Some((kx, _)), Some((ky, _))) if kx == ky => {
                        i += 1;
                        j += 1;
                        continue;
                    }
                    (Some((kx, vx)), Some((ky, _))) if kx < ky => {
                        i += 1;
                        (kx, vx)
                    }
                    (Some((kx, vx)), None) => {
                        i += 1;
                        (kx, vx)
                    }
                    (_, Some((ky, vy))) => {
                        j += 1;
                        (ky, vy)
                    }
                };
                if known_null(only.1, unknown.get(only.0)) {
                    return true;
                }
            }
        }
        (Node::Array(x), Node::Array(y)) => {
            let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
            null_item(long, short.len())
        }
        _ => false,
    }
}

#[derive(PartialEq)]
enum Shape {
    Object,
    Array,
}

/// The container shape of `v`, treating `null` as an empty container of the other side's shape
/// (so a create or a delete is reported attribute by attribute).
fn container(v: &Node<'_>, other: &Node<'_>) -> Option<Shape> {
    match (v, other) {
        (Node::Object(_), _) | (Node::Null, Node::Object(_)) => Some(Shape::Object),
        (Node::Array(_), _) | (Node::Null, Node::Array(_)) => Some(Shape::Array),
        _ => None,
    }
}

/// The sensitivity mask below a path: `true` is inherited by every descendant.
fn sens_child<'n, 'a>(
    mask: &'n Node<'a>,
    get: impl FnOnce(&'n Node<'a>) -> Option<&'n Node<'a>>,
) -> &'n Node<'a> {
    if mask.is_true() {
        &TRUE
    } else {
        get(mask).unwrap_or(&NULL)
    }
}

/// Whether a sensitivity (or unknown) mask holds `true` anywhere.
pub fn any_true(mask: &Value) -> bool {
    match mask {
        Value::Bool(b) => *b,
        Value::Array(a) => a.iter().any(any_true),
        Value::Object(m) => m.values().any(any_true),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: &Value) -> Node<'static> {
        let text: &'static str = Box::leak(v.to_string().into_boxed_str());
        serde_json::from_str(text).unwrap()
    }

    fn values(
        before: Value,
        after: Value,
        unknown: Value,
        bs: Value,
        a_s: Value,
    ) -> ChangeValues<'static> {
        ChangeValues {
            before: node(&before),
            after: node(&after),
            after_unknown: node(&unknown),
            before_sensitive: node(&bs),
            after_sensitive: node(&a_s),
        }
    }

    fn changes(before: Value, after: Value, unknown: Value) -> Vec<(String, Value, After)> {
        changed_attributes(&values(before, after, unknown, json!({}), json!({})))
            .into_iter()
            .map(|c| (c.path.to_string(), c.before, c.after))
            .collect()
    }

    #[test]
    fn unchanged_attributes_are_not_reported() {
        let v = json!({"id": "a", "input": {"x": 1}});
        assert!(changes(v.clone(), v, json!({})).is_empty());
    }

    #[test]
    fn nested_change_is_reported_at_its_path() {
        let got = changes(
            json!({"id": "a", "input": {"x": 1, "l": [1, 2]}}),
            json!({"id": "a", "input": {"x": 2, "l": [1, 3, 4]}}),
            json!({}),
        );
        assert_eq!(
            got,
            vec![
                ("input.l[1]".into(), json!(2), After::Known(json!(3))),
                ("input.l[2]".into(), json!(null), After::Known(json!(4))),
                ("input.x".into(), json!(1), After::Known(json!(2))),
            ]
        );
    }

    #[test]
    fn unknown_after_is_a_change_even_when_before_is_absent() {
        let got = changes(json!(null), json!({"input": "a"}), json!({"id": true}));
        assert_eq!(
            got,
            vec![
                ("id".into(), json!(null), After::Unknown),
                ("input".into(), json!(null), After::Known(json!("a"))),
            ]
        );
    }

    #[test]
    fn null_against_empty_or_null_holding_containers_is_a_change() {
        let paths = |before: Value, after: Value| -> Vec<String> {
            changes(before, after, json!({}))
                .into_iter()
                .map(|(p, _, _)| p)
                .collect()
        };
        // `tags = null` against `tags = {}` or `[]`, and a list longer by a null.
        assert_eq!(paths(json!({"tags": null}), json!({"tags": {}})), ["tags"]);
        assert_eq!(paths(json!({"tags": []}), json!({"tags": null})), ["tags"]);
        assert_eq!(paths(json!({"l": ["a"]}), json!({"l": ["a", null]})), ["l"]);
        assert_eq!(paths(json!({"l": null}), json!({"l": [null]})), ["l"]);
        // A map key that is null on one side and missing on the other.
        assert_eq!(
            paths(json!({"m": {"a": 1}}), json!({"m": {"a": 2, "b": null}})),
            ["m", "m.a"]
        );
        // An object of nulls against null.
        assert_eq!(paths(json!({"o": null}), json!({"o": {"a": null}})), ["o"]);
        // A create reports its values, not the null attributes beside them.
        assert_eq!(
            paths(
                json!(null),
                json!({"input": "v", "triggers_replace": null, "n": {"a": 1, "b": null}})
            ),
            ["input", "n.a"]
        );
        // Unknown parts are reported as unknown, not as null.
        let got = changes(
            json!({"l": ["a"]}),
            json!({"l": ["a", null]}),
            json!({"l": [false, true]}),
        );
        assert_eq!(got, vec![("l[1]".into(), json!(null), After::Unknown)]);
    }

    #[test]
    fn type_change_is_a_leaf() {
        let got = changes(json!({"a": [1]}), json!({"a": "x"}), json!({}));
        assert_eq!(
            got,
            vec![("a".into(), json!([1]), After::Known(json!("x")))]
        );
    }

    #[test]
    fn sensitivity_is_inherited() {
        let c = changed_attributes(&values(
            json!({"creds": {"password": "old"}}),
            json!({"creds": {"password": "new"}}),
            json!({}),
            json!({"creds": true}),
            json!({"creds": {"password": true}}),
        ));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].path.to_string(), "creds.password");
        assert!(c[0].is_sensitive());
        assert_eq!(c[0].before_sensitive, json!(true));
    }

    #[test]
    fn paths_display_like_terraform() {
        let p = AttrPath(vec![
            Seg::Key("tags".into()),
            Seg::Key("Name with space".into()),
            Seg::Index(3),
        ]);
        assert_eq!(p.to_string(), r#"tags["Name with space"][3]"#);
        assert_eq!(AttrPath::from_json(&p.to_json()), Some(p));
    }
}

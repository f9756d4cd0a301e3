//! Attribute-level changes of one resource or output: which paths change, from what, to what.
//!
//! This is the one walk over `before`/`after`/`after_unknown` that the fingerprint and the
//! comparison of two plans share. Values here are raw (sensitive ones included); anything that
//! displays them must go through `redact`.

use std::fmt;

use serde_json::Value;

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

/// The parsed values of one change, ready for walking.
pub struct ChangeValues {
    pub before: Value,
    pub after: Value,
    pub after_unknown: Value,
    pub before_sensitive: Value,
    pub after_sensitive: Value,
}

/// Every attribute path whose value changes, in path order. Objects and lists are walked down
/// to the attribute that differs; a value that changes type or appears/disappears whole is
/// reported at the deepest path where both sides still have the same shape.
pub fn changed_attributes(values: &ChangeValues) -> Vec<AttrChange> {
    let mut out = Vec::new();
    walk(
        &values.before,
        &values.after,
        &values.after_unknown,
        &values.before_sensitive,
        &values.after_sensitive,
        &mut AttrPath::default(),
        &mut out,
    );
    out
}

const NULL: Value = Value::Null;

fn walk(
    before: &Value,
    after: &Value,
    unknown: &Value,
    bsens: &Value,
    asens: &Value,
    path: &mut AttrPath,
    out: &mut Vec<AttrChange>,
) {
    if unknown == &Value::Bool(true) {
        out.push(AttrChange {
            path: path.clone(),
            before: before.clone(),
            after: After::Unknown,
            before_sensitive: bsens.clone(),
            after_sensitive: asens.clone(),
        });
        return;
    }
    let nested_unknown = matches!(unknown, Value::Object(m) if !m.is_empty())
        || matches!(unknown, Value::Array(a) if a.iter().any(any_true));
    if before == after && !nested_unknown {
        return;
    }
    match (container(before, after), container(after, before)) {
        (Some(Shape::Object), Some(Shape::Object)) => {
            let mut keys: Vec<&String> = Vec::new();
            for v in [before, after, unknown] {
                if let Value::Object(m) = v {
                    keys.extend(m.keys());
                }
            }
            keys.sort();
            keys.dedup();
            for k in keys {
                path.0.push(Seg::Key(k.clone()));
                walk(
                    before.get(k).unwrap_or(&NULL),
                    after.get(k).unwrap_or(&NULL),
                    unknown.get(k.as_str()).unwrap_or(&NULL),
                    sens_child(bsens, |v| v.get(k.as_str())),
                    sens_child(asens, |v| v.get(k.as_str())),
                    path,
                    out,
                );
                path.0.pop();
            }
        }
        (Some(Shape::Array), Some(Shape::Array)) => {
            let len = [before, after, unknown]
                .iter()
                .filter_map(|v| v.as_array().map(Vec::len))
                .max()
                .unwrap_or(0);
            for i in 0..len {
                path.0.push(Seg::Index(i));
                walk(
                    before.get(i).unwrap_or(&NULL),
                    after.get(i).unwrap_or(&NULL),
                    unknown.get(i).unwrap_or(&NULL),
                    sens_child(bsens, |v| v.get(i)),
                    sens_child(asens, |v| v.get(i)),
                    path,
                    out,
                );
                path.0.pop();
            }
        }
        _ => out.push(AttrChange {
            path: path.clone(),
            before: before.clone(),
            after: After::Known(after.clone()),
            before_sensitive: bsens.clone(),
            after_sensitive: asens.clone(),
        }),
    }
}

#[derive(PartialEq)]
enum Shape {
    Object,
    Array,
}

/// The container shape of `v`, treating `null` as an empty container of the other side's shape
/// (so a create or a delete is reported attribute by attribute).
fn container(v: &Value, other: &Value) -> Option<Shape> {
    match (v, other) {
        (Value::Object(_), _) | (Value::Null, Value::Object(_)) => Some(Shape::Object),
        (Value::Array(_), _) | (Value::Null, Value::Array(_)) => Some(Shape::Array),
        _ => None,
    }
}

/// The sensitivity mask below a path: `true` is inherited by every descendant.
fn sens_child<'v>(mask: &'v Value, get: impl FnOnce(&'v Value) -> Option<&'v Value>) -> &'v Value {
    static TRUE: Value = Value::Bool(true);
    if mask == &Value::Bool(true) {
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

    fn changes(before: Value, after: Value, unknown: Value) -> Vec<(String, Value, After)> {
        changed_attributes(&ChangeValues {
            before,
            after,
            after_unknown: unknown,
            before_sensitive: json!({}),
            after_sensitive: json!({}),
        })
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
    fn type_change_is_a_leaf() {
        let got = changes(json!({"a": [1]}), json!({"a": "x"}), json!({}));
        assert_eq!(
            got,
            vec![("a".into(), json!([1]), After::Known(json!("x")))]
        );
    }

    #[test]
    fn sensitivity_is_inherited() {
        let c = changed_attributes(&ChangeValues {
            before: json!({"creds": {"password": "old"}}),
            after: json!({"creds": {"password": "new"}}),
            after_unknown: json!({}),
            before_sensitive: json!({"creds": true}),
            after_sensitive: json!({"creds": {"password": true}}),
        });
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

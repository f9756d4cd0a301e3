//! Changed attributes as a reader sees them, the same in the comment and in the terminal: which
//! paths an update or a replacement changes, and, for a short plain scalar, from what to what;
//! and, in the same words, the other facts of a resource's row (`facts`, `in_words`).
//!
//! This decides what may be shown; the comment (`comment::resources`) and the terminal table
//! (`table`) only lay it out. A value is shown only when Terraform marks neither side sensitive,
//! it is a scalar of at most `VALUE_CHARS` characters once written as JSON, and the `Masker`
//! finds no secret in it (a secret known elsewhere, or one of the user's `--mask` patterns):
//! otherwise the attribute shows as `(sensitive)`, or by its path alone. It never shows a
//! value cut short: a part of a value could be the part that matters, or a part of a secret.

use serde_json::Value;

use crate::plan::redact::Masker;
use crate::plan::summary::{ChangedAttribute, ResourceSummary};

/// How many changed attributes a row lists before "+N more".
pub const SHOWN_PATHS: usize = 5;

/// The longest value shown inline, in characters of its JSON form (`"small"` is 7).
pub const VALUE_CHARS: usize = 40;

/// What a row may show of one changed attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// Both values, as JSON text (`"small"`, `3`, `null`).
    Change { before: String, after: String },
    /// The old value; the new one is known only after apply.
    BecomesUnknown { before: String },
    /// Known only after apply, the old value being too long or not a scalar.
    Unknown,
    /// Sensitive on either side, or masked as a secret.
    Sensitive,
    /// The path alone: a value too long to show, or not a scalar.
    PathOnly,
}

/// The kind of one value, for `shown`.
enum Side {
    Short(String),
    Secret,
    Long,
}

/// What may be shown of `attr`, the `masker` having the final word on every value.
pub fn shown(attr: &ChangedAttribute, masker: &Masker) -> Shown {
    if attr.sensitive {
        return Shown::Sensitive;
    }
    let before = side(attr.before.as_ref(), masker);
    let after = (!attr.unknown).then(|| side(attr.after.as_ref(), masker));
    match (before, after) {
        (Side::Secret, _) | (_, Some(Side::Secret)) => Shown::Sensitive,
        (Side::Short(before), None) => Shown::BecomesUnknown { before },
        (_, None) => Shown::Unknown,
        (Side::Short(before), Some(Side::Short(after))) => Shown::Change { before, after },
        _ => Shown::PathOnly,
    }
}

fn side(value: Option<&Value>, masker: &Masker) -> Side {
    // A summary carries no list or object (`ChangedAttribute`), and no sensitive value, which
    // `shown` has ruled out already.
    let Some(value) = value else {
        return Side::Long;
    };
    let text = match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => return Side::Long,
    };
    if text.chars().count() > VALUE_CHARS {
        return Side::Long;
    }
    // Masked as it reads and as JSON writes it: the masker knows both forms of a secret.
    let raw = value.as_str().unwrap_or(&text);
    if masker.mask(&text) != text || masker.mask(raw) != raw {
        return Side::Secret;
    }
    Side::Short(text)
}

/// What a row says of a resource besides its changed attributes, the same in the comment and
/// in the terminal: Terraform's reason, `moved from X`, `import id X` (or `imported`) and
/// `deposed object X`. `reason`, `address` and `id` mask and quote each for its place.
pub fn facts(
    r: &ResourceSummary,
    reason: impl Fn(&str) -> String,
    address: impl Fn(&str) -> String,
    id: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(why) = &r.reason {
        parts.push(reason(why));
    }
    if let Some(prev) = &r.previous_address {
        parts.push(format!("moved from {}", address(prev)));
    }
    match r.import_id.as_deref() {
        Some("") => parts.push("imported".to_string()),
        Some(import) => parts.push(format!("import id {}", id(import))),
        None => {}
    }
    if let Some(d) = &r.deposed {
        parts.push(format!("deposed object {}", id(d)));
    }
    parts
}

/// One changed attribute in words, the same in the comment and in the terminal: `path: before →
/// after`, `path: before → (known after apply)`, `path (known after apply)`, `path (sensitive)`
/// or the path alone, then ` (forces replacement)` when it does. `path` is already masked and
/// quoted for its place; `quote` quotes a value of `shown` (JSON text the masker has passed).
pub fn in_words(
    attr: &ChangedAttribute,
    shown: Shown,
    path: String,
    quote: impl Fn(&str) -> String,
) -> String {
    let mut out = match shown {
        Shown::Change { before, after } => {
            format!("{path}: {} → {}", quote(&before), quote(&after))
        }
        Shown::BecomesUnknown { before } => {
            format!("{path}: {} → (known after apply)", quote(&before))
        }
        Shown::Unknown => format!("{path} (known after apply)"),
        Shown::Sensitive => format!("{path} (sensitive)"),
        Shown::PathOnly => path,
    };
    if attr.forces_replacement {
        out.push_str(" (forces replacement)");
    }
    out
}

/// The attributes a row lists, and how many it leaves out ("+N more").
pub fn listed(attrs: &[ChangedAttribute]) -> (&[ChangedAttribute], usize) {
    let n = attrs.len().min(SHOWN_PATHS);
    (&attrs[..n], attrs.len() - n)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attr(before: Value, after: Option<Value>) -> ChangedAttribute {
        ChangedAttribute {
            path: "input.size".into(),
            unknown: after.is_none(),
            before: Some(before),
            after,
            sensitive: false,
            forces_replacement: false,
        }
    }

    #[test]
    fn short_scalars_show_as_json() {
        let m = Masker::default();
        assert_eq!(
            shown(&attr(json!("small"), Some(json!("large"))), &m),
            Shown::Change {
                before: r#""small""#.into(),
                after: r#""large""#.into()
            }
        );
        assert_eq!(
            shown(&attr(json!(null), Some(json!(3))), &m),
            Shown::Change {
                before: "null".into(),
                after: "3".into()
            }
        );
        assert_eq!(
            shown(&attr(json!(true), None), &m),
            Shown::BecomesUnknown {
                before: "true".into()
            }
        );
        assert_eq!(shown(&attr(json!({"a": 1}), None), &m), Shown::Unknown);
        let no_before = ChangedAttribute {
            before: None,
            ..attr(json!(null), None)
        };
        assert_eq!(shown(&no_before, &m), Shown::Unknown);
    }

    #[test]
    fn long_and_nested_values_show_the_path_alone() {
        let m = Masker::default();
        let long = "x".repeat(VALUE_CHARS - 1);
        assert_eq!(
            shown(&attr(json!("a"), Some(json!(long))), &m),
            Shown::PathOnly,
            "41 characters with its quotes"
        );
        let fits = "x".repeat(VALUE_CHARS - 2);
        assert!(matches!(
            shown(&attr(json!("a"), Some(json!(fits))), &m),
            Shown::Change { .. }
        ));
        assert_eq!(
            shown(&attr(json!([1]), Some(json!("x"))), &m),
            Shown::PathOnly
        );
        // A list or an object that a summary did not copy.
        let no_after = ChangedAttribute {
            after: None,
            ..attr(json!("x"), Some(json!(null)))
        };
        assert_eq!(shown(&no_after, &m), Shown::PathOnly);
    }

    #[test]
    fn sensitive_or_masked_values_are_never_shown() {
        let mut masker = Masker::new(&["AKIA[0-9A-Z]{4}".to_string()]).unwrap();
        masker.add_literals(["hunter22".to_string(), "q\"<b>".to_string()]);
        let sensitive = ChangedAttribute {
            sensitive: true,
            before: None,
            after: None,
            ..attr(json!(null), Some(json!(null)))
        };
        assert_eq!(shown(&sensitive, &masker), Shown::Sensitive);
        for (before, after) in [
            (json!("hunter22"), Some(json!("new"))),
            (json!("old"), Some(json!("hunter22"))),
            (json!("hunter22"), None),
            (json!("old"), Some(json!("AKIA0000"))),
            (json!("q\"<b>"), Some(json!("x"))),
        ] {
            assert_eq!(
                shown(&attr(before.clone(), after.clone()), &masker),
                Shown::Sensitive,
                "{before} {after:?}"
            );
        }
    }

    #[test]
    fn rows_list_five_then_count_the_rest() {
        let attrs = vec![attr(json!(1), Some(json!(2))); 7];
        let (shown, more) = listed(&attrs);
        assert_eq!((shown.len(), more), (SHOWN_PATHS, 2));
        let (shown, more) = listed(&attrs[..3]);
        assert_eq!((shown.len(), more), (3, 0));
    }
}

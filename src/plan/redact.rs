//! Keeping sensitive values out of everything tfgate writes (§9).
//!
//! Two layers. Structural: values under a `true` in `before_sensitive`/`after_sensitive` are
//! replaced by `(sensitive value)` before anything renders them (`redact_value`). Textual: a
//! `Masker` replaces, in any text, the literal values Terraform marked sensitive (variables
//! declared sensitive, sensitive outputs, sensitive attributes) and the user's `--mask`
//! patterns; it is applied to whole lines of terraform's output and to every file, comment and
//! summary tfgate writes.

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::plan::attrs;
use crate::plan::node::{Node, nested};
use crate::terraform::plan_json::{Change, Plan, PlanJsonError};

pub const SENSITIVE: &str = "(sensitive value)";
pub const MASKED: &str = "***";

/// Literal secrets shorter than this are not masked in free text (masking every "on" or "80"
/// would make the text unreadable); they are still redacted structurally.
pub const MIN_LITERAL_LEN: usize = 4;

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    patterns: Vec<Regex>,
    literals: Option<Regex>,
    literal_values: Vec<String>,
}

impl Masker {
    /// A masker for the user's `--mask` patterns.
    pub fn new(patterns: &[String]) -> Result<Masker, regex::Error> {
        let patterns = patterns
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Masker {
            patterns,
            ..Masker::default()
        })
    }

    /// Adds literal secret values (e.g. from `secrets_of_plan`).
    pub fn add_literals(&mut self, secrets: impl IntoIterator<Item = String>) {
        let before = self.literal_values.len();
        self.literal_values.extend(
            secrets
                .into_iter()
                .filter(|s| s.chars().count() >= MIN_LITERAL_LEN),
        );
        // Longest first, so a secret that contains another is masked whole.
        self.literal_values
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.literal_values.dedup();
        if self.literal_values.len() == before {
            return;
        }
        let alternation = self
            .literal_values
            .iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|");
        // An alternation of escaped literals always compiles unless it outgrows the regex size
        // limit; then mask every non-empty text rather than leak.
        self.literals = Some(
            Regex::new(&alternation)
                .unwrap_or_else(|_| Regex::new("(?s).+").expect("static regex")),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.literals.is_none()
    }

    /// How many literal secrets are known (for `-v` diagnostics; never the values).
    pub fn literal_count(&self) -> usize {
        self.literal_values.len()
    }

    /// Masks secrets in `text`. Literal secrets become `(sensitive value)`, pattern matches `***`.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        if let Some(lit) = &self.literals
            && lit.is_match(&out)
        {
            out = Cow::Owned(lit.replace_all(&out, SENSITIVE).into_owned());
        }
        for p in &self.patterns {
            if p.is_match(&out) {
                out = Cow::Owned(p.replace_all(&out, MASKED).into_owned());
            }
        }
        out
    }
}

/// Every string Terraform marks sensitive in this plan: values of variables declared sensitive,
/// of sensitive outputs, and of sensitive attributes in resource changes and drift. A value
/// that cannot be read is an error: a secret in it could not be masked.
pub fn secrets_of_plan(plan: &Plan<'_>) -> Result<Vec<String>, PlanJsonError> {
    let mut out = Vec::new();
    if let Some(cfg) = &plan.configuration {
        for (name, var) in &cfg.root_module.variables {
            if var.sensitive
                && let Some(v) = plan.variables.get(name).and_then(|v| v.value)
            {
                let at = format!("var.{name}");
                collect_strings(&attrs::parse(Some(v), &at, "value")?, &mut out);
            }
        }
    }
    let sensitive_outputs = plan.configuration.as_ref().map(|c| &c.root_module.outputs);
    for (name, change) in &plan.output_changes {
        let declared = sensitive_outputs
            .and_then(|o| o.get(name))
            .is_some_and(|o| o.sensitive);
        let at = format!("output.{name}");
        if declared {
            collect_strings(&attrs::parse(change.before, &at, "before")?, &mut out);
            collect_strings(&attrs::parse(change.after, &at, "after")?, &mut out);
        } else {
            collect_change(change, &at, &mut out)?;
        }
    }
    for rc in plan.resource_changes.iter().chain(&plan.resource_drift) {
        collect_change(&rc.change, &rc.address, &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn collect_change(
    change: &Change<'_>,
    subject: &str,
    out: &mut Vec<String>,
) -> Result<(), PlanJsonError> {
    for (value, mask, fields) in [
        (
            change.before,
            change.before_sensitive,
            ("before", "before_sensitive"),
        ),
        (
            change.after,
            change.after_sensitive,
            ("after", "after_sensitive"),
        ),
    ] {
        if mask_may_be_true(mask) {
            collect_sensitive(
                &attrs::parse(value, subject, fields.0)?,
                &attrs::parse(mask, subject, fields.1)?,
                out,
            );
        }
    }
    Ok(())
}

/// Cheap pre-check on the raw mask, so plans without sensitive values parse nothing here.
fn mask_may_be_true(mask: Option<&RawValue>) -> bool {
    mask.is_some_and(|m| m.get().contains("true"))
}

fn collect_sensitive(value: &Node<'_>, mask: &Node<'_>, out: &mut Vec<String>) {
    match mask {
        Node::Bool(true) => collect_strings(value, out),
        Node::Object(entries) => nested(|| {
            for (k, sub) in entries {
                if let Some(v) = value.get(k) {
                    collect_sensitive(v, sub, out);
                }
            }
        }),
        Node::Array(items) => nested(|| {
            for (i, sub) in items.iter().enumerate() {
                if let Some(v) = value.index(i) {
                    collect_sensitive(v, sub, out);
                }
            }
        }),
        _ => {}
    }
}

/// All scalar leaves of a value, as the text they would appear as.
fn collect_strings(value: &Node<'_>, out: &mut Vec<String>) {
    match value {
        Node::String(s) => {
            out.push(s.to_string());
            // Terraform may print a multi-line secret one line at a time.
            if s.contains('\n') {
                out.extend(s.lines().map(str::to_string));
            }
        }
        Node::Number(n) => out.push(n.to_string()),
        Node::Array(items) => nested(|| items.iter().for_each(|v| collect_strings(v, out))),
        Node::Object(entries) => {
            nested(|| entries.iter().for_each(|(_, v)| collect_strings(v, out)))
        }
        Node::Bool(_) | Node::Null => {}
    }
}

/// A copy of `value` with every part under a `true` in `mask` replaced by `(sensitive value)`.
pub fn redact_value(value: &Value, mask: &Value) -> Value {
    match (mask, value) {
        (Value::Bool(true), Value::Null) => Value::Null,
        (Value::Bool(true), _) => Value::String(SENSITIVE.to_string()),
        (Value::Object(m), Value::Object(v)) => Value::Object(
            v.iter()
                .map(|(k, x)| {
                    let sub = m.get(k).unwrap_or(&Value::Null);
                    (k.clone(), redact_value(x, sub))
                })
                .collect(),
        ),
        (Value::Array(m), Value::Array(v)) => Value::Array(
            v.iter()
                .enumerate()
                .map(|(i, x)| redact_value(x, m.get(i).unwrap_or(&Value::Null)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redact_value_follows_nested_masks() {
        let v = json!({"name": "x", "creds": {"password": "hunter22"}, "tokens": ["public", "tok-secret"]});
        let m = json!({"creds": {"password": true}, "tokens": [false, true]});
        assert_eq!(
            redact_value(&v, &m),
            json!({"name": "x", "creds": {"password": SENSITIVE}, "tokens": ["public", SENSITIVE]})
        );
        assert_eq!(redact_value(&v, &json!(true)), json!(SENSITIVE));
    }

    #[test]
    fn masker_masks_literals_and_patterns() {
        let mut m = Masker::new(&["AKIA[0-9A-Z]{16}".to_string()]).unwrap();
        m.add_literals(["hunter22".to_string(), "ab".to_string()]);
        m.add_literals(["second-secret".to_string()]);
        assert_eq!(
            m.mask("pw=hunter22 key=AKIAFAKEKEY000000001 ab second-secret"),
            format!("pw={SENSITIVE} key={MASKED} ab {SENSITIVE}")
        );
        assert!(matches!(m.mask("nothing here"), Cow::Borrowed(_)));
        assert_eq!(m.literal_count(), 2);
    }

    #[test]
    fn secrets_come_from_variables_outputs_and_attributes() {
        let plan = br#"{
          "format_version": "1.2",
          "variables": {"pw": {"value": "var-secret"}, "region": {"value": "eu-west-1"}},
          "configuration": {"root_module": {
            "variables": {"pw": {"sensitive": true}, "region": {}},
            "outputs": {"out": {"sensitive": true}}}},
          "output_changes": {"out": {"actions": ["create"], "after": {"k": "output-secret"}, "after_sensitive": true}},
          "resource_changes": [{"address": "a.b", "change": {"actions": ["update"],
             "before": {"l": ["x", "before-secret"]}, "after": {"l": ["x", "after-secret"]},
             "before_sensitive": {"l": [false, true]}, "after_sensitive": {"l": [false, true]}}}]
        }"#;
        let plan = crate::terraform::plan_json::parse(plan).unwrap();
        assert_eq!(
            secrets_of_plan(&plan).unwrap(),
            vec![
                "after-secret",
                "before-secret",
                "output-secret",
                "var-secret"
            ]
        );
    }
}

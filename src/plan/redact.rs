//! Keeping sensitive values out of everything tfgate writes (§9).
//!
//! Two layers. Structural: values under a `true` in `before_sensitive`/`after_sensitive` are
//! replaced by `(sensitive value)` before anything renders them (`redact_value`). Textual: a
//! `Masker` replaces, in any text, the literal values Terraform marked sensitive (variables
//! declared sensitive, sensitive outputs, sensitive attributes), also as JSON, Go and HTML
//! escape them at any depth, and the user's `--mask` patterns; it is applied to whole lines of
//! terraform's output and to every file, comment and summary tfgate writes.

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::plan::attrs;
use crate::plan::node::{Node, nested};
use crate::plan::par;
use crate::terraform::plan_json::{Change, Plan, PlanJsonError, ResourceChange};

pub const SENSITIVE: &str = "(sensitive value)";
pub const MASKED: &str = "***";

/// Literal secrets shorter than this are not masked in free text (masking every "on" or "80"
/// would make the text unreadable); they are still redacted structurally.
pub const MIN_LITERAL_LEN: usize = 4;

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    patterns: Vec<Regex>,
    /// Secrets no encoding changes (no character of `escapable`), as one alternation of
    /// literals (which the regex crate searches with memchr or Aho-Corasick).
    plain: Option<Regex>,
    /// Secrets with such characters, each matched raw and in every escaped form
    /// (`escaped_forms`), as one regex.
    escaped: Option<Regex>,
    literal_values: Vec<String>,
    /// The secrets' regexes grew beyond their limits: all text is masked.
    masks_all: bool,
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

    /// Adds literal secret values (e.g. from `secrets_of_plan`). Each is masked as it reads and
    /// in the forms encodings give it: JSON and Go (`\"`, `\\`, `\u003c`, `\uXXXX`), Go's
    /// quoting in terraform's text (`\x1b`), HTML entities (`&quot;`, `&#34;`, `&lt;`, …), and
    /// any of these applied again (`\\\"`, `&amp;lt;`), as often as they are.
    pub fn add_literals(&mut self, secrets: impl IntoIterator<Item = String>) {
        let before = self.literal_values.len();
        for secret in secrets {
            // Terraform may print a multi-line secret one line at a time, and masking works on
            // whole lines.
            if secret.contains(['\n', '\r']) {
                self.literal_values
                    .extend(secret.lines().map(|l| l.trim_end_matches('\r').to_string()));
            }
            self.literal_values.push(secret);
        }
        self.literal_values
            .retain(|s| s.chars().count() >= MIN_LITERAL_LEN);
        // Longest first, so that where two secrets start at the same place the longer one is
        // the match.
        self.literal_values
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.literal_values.dedup();
        if self.literal_values.len() == before {
            return;
        }
        let (escaped, plain): (Vec<&String>, Vec<&String>) = self
            .literal_values
            .iter()
            .partition(|s| s.chars().any(escapable));
        // Kept apart: while every alternative is a literal, the regex crate needs no automaton
        // of its own for them.
        let alternation = |secrets: &[&String], form: fn(&str) -> String| {
            (!secrets.is_empty()).then(|| {
                let alternation = secrets
                    .iter()
                    .map(|s| form(s))
                    .collect::<Vec<_>>()
                    .join("|");
                RegexBuilder::new(&alternation)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
            })
        };
        let built = (
            alternation(&plain, regex::escape).transpose(),
            alternation(&escaped, escaped_forms).transpose(),
        );
        (self.plain, self.escaped) = match built {
            (Ok(plain), Ok(escaped)) => (plain, escaped),
            // Only automata beyond their size limits fail to build: then every non-empty text
            // is masked rather than a secret leaked.
            _ => {
                self.masks_all = true;
                (None, Some(Regex::new("(?s).+").expect("static regex")))
            }
        };
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.plain.is_none() && self.escaped.is_none()
    }

    /// Whether no match can hold a line break, so that text may be masked a line at a time:
    /// no secret holds one, and there is no `--mask` pattern (a regex might match one).
    pub fn within_lines(&self) -> bool {
        self.patterns.is_empty()
            && !self.masks_all
            && !self.literal_values.iter().any(|s| s.contains(['\n', '\r']))
    }

    /// How many literal secrets are known (for `-v` diagnostics; never the values).
    pub fn literal_count(&self) -> usize {
        self.literal_values.len()
    }

    /// Masks secrets in `text`. Literal secrets become `(sensitive value)`, pattern matches `***`.
    /// Where secrets overlap, everything any of them covers is masked, as one.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        // The longest match at every place a secret starts, overlapping ones included: each
        // search starts one character after the last match's start, not at its end.
        let next = |start: usize| start + text[start..].chars().next().map_or(1, char::len_utf8);
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for re in self.escaped.iter().chain(&self.plain) {
            let mut at = 0;
            while let Some(m) = re.find_at(text, at) {
                spans.push((m.start(), m.end()));
                at = next(m.start());
            }
        }
        let mut out = if spans.iter().any(|(s, e)| s < e) {
            Cow::Owned(replace_spans(text, spans))
        } else {
            Cow::Borrowed(text)
        };
        for p in &self.patterns {
            if p.is_match(&out) {
                out = Cow::Owned(p.replace_all(&out, MASKED).into_owned());
            }
        }
        out
    }
}

/// How large the compiled regexes of secrets may grow (each escapable character of a secret
/// adds an alternation of its forms).
const REGEX_SIZE_LIMIT: usize = 256 << 20;

/// `text` with every span (merged where they overlap) replaced by `(sensitive value)`.
fn replace_spans(text: &str, mut spans: Vec<(usize, usize)>) -> String {
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut current: Option<(usize, usize)> = None;
    for (start, end) in spans.into_iter().filter(|(s, e)| s < e) {
        match &mut current {
            Some((_, cur_end)) if start < *cur_end => *cur_end = (*cur_end).max(end),
            _ => {
                if let Some((s, e)) = current.take() {
                    out.push_str(&text[done..s]);
                    out.push_str(SENSITIVE);
                    done = e;
                }
                current = Some((start, end));
            }
        }
    }
    if let Some((s, e)) = current {
        out.push_str(&text[done..s]);
        out.push_str(SENSITIVE);
        done = e;
    }
    out.push_str(&text[done..]);
    out
}

/// A character that some encoding a secret may pass through writes differently: JSON's and
/// Go's string escapes, Go's quoting (terraform's plan text), HTML, and `\uXXXX` escaping of
/// everything beyond ASCII.
fn escapable(c: char) -> bool {
    matches!(c, '"' | '\\' | '<' | '>' | '&' | '\'' | '`') || c.is_control() || !c.is_ascii()
}

/// A regex matching `secret` with each escapable character in any of its forms (the rest as
/// is). Backslash escapes match at any depth, because every further JSON encoding doubles the
/// backslashes before a character (`"` → `\"` → `\\\"`); entities match escaped again
/// (`&lt;` → `&amp;lt;`) and behind backslashes.
fn escaped_forms(secret: &str) -> String {
    let mut out = String::with_capacity(secret.len() * 8);
    for c in secret.chars() {
        if escapable(c) {
            out.push_str(&char_forms(c));
        } else {
            out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    out
}

/// The forms of one escapable character, as a regex group.
fn char_forms(c: char) -> String {
    let code = c as u32;
    let raw = regex::escape(c.encode_utf8(&mut [0; 4]));
    // After one or more backslashes: the short escape (`\"`, `\n`), `\uXXXX` (as a UTF-16
    // pair beyond the BMP), and Go's `\xXX`.
    let mut after_backslash = Vec::new();
    if let Some(short) = short_escape(c) {
        after_backslash.push(regex::escape(short));
    }
    let mut units = [0u16; 2];
    let utf16 = c
        .encode_utf16(&mut units)
        .iter()
        .map(|u| format!("u(?i:{u:04x})"))
        .collect::<Vec<_>>()
        .join(r"\\+");
    after_backslash.push(utf16);
    if code < 0x80 {
        after_backslash.push(format!("x(?i:{code:02x})"));
    }
    // HTML character references; their `&` may itself be escaped again (`&amp;`, `\u0026`).
    let mut entities = vec![format!("#0*{code}"), format!("#[xX]0*(?i:{code:x})")];
    if let Some(name) = entity_name(c) {
        entities.push(format!("(?i:{name})"));
    }
    format!(
        r"(?:{raw}|\\+(?:{})|\\*(?:&|\\+(?i:u0026))(?:amp;)*(?:{});)",
        after_backslash.join("|"),
        entities.join("|")
    )
}

/// The character after the backslash in a short escape (JSON, Go, JavaScript).
fn short_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "\"",
        '\\' => "\\",
        '\'' => "'",
        '\n' => "n",
        '\r' => "r",
        '\t' => "t",
        '\u{8}' => "b",
        '\u{c}' => "f",
        '\u{7}' => "a",
        '\u{b}' => "v",
        _ => return None,
    })
}

fn entity_name(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "quot",
        '&' => "amp",
        '<' => "lt",
        '>' => "gt",
        '\'' => "apos",
        '`' => "grave",
        '\\' => "bsol",
        '\n' => "NewLine",
        '\t' => "Tab",
        _ => return None,
    })
}

/// Every string Terraform marks sensitive in this plan: values of variables declared sensitive,
/// of sensitive outputs, and of sensitive attributes in resource changes and drift. A value
/// that cannot be read is an error: a secret in it could not be masked.
pub fn secrets_of_plan(plan: &Plan<'_>) -> Result<Vec<String>, PlanJsonError> {
    secrets_of_plan_beside(plan, None)
}

/// `secrets_of_plan` of `plan` for a masker that knows `other`'s secrets too (`diff`): a
/// resource change with the same address, values and sensitivity masks as the change at the
/// same place in `other` has the same secrets, and is not read again (two plans of one
/// configuration list their resources in the same order). An error left out is one
/// `secrets_of_plan(other)` gives. Resource changes are read on all cores.
pub fn secrets_of_plan_beside(
    plan: &Plan<'_>,
    other: Option<&Plan<'_>>,
) -> Result<Vec<String>, PlanJsonError> {
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
    // A change whose masks mark nothing reads nothing (`collect_change`), so it is not compared
    // with `other`'s either.
    let marked = |c: &Change<'_>| {
        mask_may_be_true(c.before_sensitive) || mask_may_be_true(c.after_sensitive)
    };
    let known = |i: usize, rc: &ResourceChange<'_>| {
        other
            .and_then(|o| o.resource_changes.get(i))
            .is_some_and(|o| same_secrets(o, rc))
    };
    let parts = par::map_chunks(&plan.resource_changes, |start, part| {
        let mut found = Vec::new();
        for (i, rc) in (start..).zip(part) {
            if marked(&rc.change) && !known(i, rc) {
                collect_change(&rc.change, &rc.address, &mut found)?;
            }
        }
        Ok::<_, PlanJsonError>(found)
    });
    for part in parts {
        out.extend(part?);
    }
    for rc in &plan.resource_drift {
        collect_change(&rc.change, &rc.address, &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether two resource changes hold the same secrets because everything `collect_change`
/// reads of them is byte for byte the same.
fn same_secrets(x: &ResourceChange<'_>, y: &ResourceChange<'_>) -> bool {
    fn raw(r: Option<&RawValue>) -> Option<&str> {
        r.map(RawValue::get)
    }
    let (cx, cy) = (&x.change, &y.change);
    x.address == y.address
        && raw(cx.before) == raw(cy.before)
        && raw(cx.after) == raw(cy.after)
        && raw(cx.before_sensitive) == raw(cy.before_sensitive)
        && raw(cx.after_sensitive) == raw(cy.after_sensitive)
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
    fn masks_within_lines_unless_a_match_may_hold_a_line_break() {
        let mut m = Masker::default();
        assert!(m.within_lines());
        m.add_literals(["one-line-secret".to_string(), "tab\there".to_string()]);
        assert!(m.within_lines());
        m.add_literals(["two\nlines".to_string()]);
        assert!(!m.within_lines());
        let mut crlf = Masker::default();
        crlf.add_literals(["carriage\rreturn".to_string()]);
        assert!(!crlf.within_lines());
        assert!(
            !Masker::new(&["AKIA[0-9A-Z]{16}".to_string()])
                .unwrap()
                .within_lines()
        );
    }

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

    /// Go's encoding/json: serde's escapes plus `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`.
    fn go_json(s: &str) -> String {
        let quoted = serde_json::to_string(s).unwrap();
        quoted[1..quoted.len() - 1]
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }

    fn json(s: &str) -> String {
        let quoted = serde_json::to_string(s).unwrap();
        quoted[1..quoted.len() - 1].to_string()
    }

    fn html(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }

    #[test]
    fn masker_masks_escaped_forms_of_secrets() {
        let secret = "S3CRET\"q\\<b>&z'-zq9w";
        let mut m = Masker::default();
        m.add_literals([secret.to_string()]);
        let forms = [
            secret.to_string(),
            json(secret),
            go_json(secret),
            // Terraform's plan text of a jsonencode()d value, and of one encoded twice.
            json(&go_json(secret)),
            json(&go_json(&go_json(secret))),
            json(&json(&json(&go_json(&go_json(secret))))),
            html(secret),
            html(&html(secret)),
            html(&json(secret)),
            json(&html(secret)),
            go_json(&html(secret)),
            // Go's html.EscapeString, and `\uXXXX` for every escaped character.
            secret
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;"),
            secret
                .replace('&', "&#x26;")
                .replace('<', "&#60;")
                .replace('"', "&#X22;"),
            secret
                .replace('\\', "\\u005C")
                .replace('"', "\\u0022")
                .replace('\'', "\\u0027")
                .replace('<', "\\u003C"),
        ];
        for form in &forms {
            assert_eq!(
                m.mask(&format!("a = \"{form}\" # {form}")),
                format!("a = \"{SENSITIVE}\" # {SENSITIVE}"),
                "{form}"
            );
        }
        // Near misses stay: only the whole secret is masked.
        for text in [
            "S3CRET\"q\\<b>&z'-zq9",
            "S3CRET\"q\\<b>&z",
            "S3CRET'q\\<b>&z\"-zq9w",
        ] {
            assert!(matches!(m.mask(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn masker_masks_control_and_non_ascii_characters_as_encoded() {
        let mut m = Masker::default();
        m.add_literals([
            "tab\there-\u{1b}-x".to_string(),
            "Grüße-🚀-geheim".to_string(),
            "line-one-4f\nline-two-9c".to_string(),
        ]);
        for text in [
            // serde/JSON, and Go's %q as in terraform's plan text.
            "tab\\there-\\u001b-x",
            "tab\\there-\\x1b-x",
            "tab\\\\there-\\\\u001B-x",
            "Grüße-🚀-geheim",
            "Gr\\u00fc\\u00dfe-\\ud83d\\ude80-geheim",
            "Gr&#252;&#223;e-&#x1F680;-geheim",
            "line-one-4f\\nline-two-9c",
            "line-one-4f",
            "line-two-9c",
        ] {
            assert_eq!(
                m.mask(&format!("<{text}>")),
                format!("<{SENSITIVE}>"),
                "{text}"
            );
        }
    }

    #[test]
    fn overlapping_secrets_are_masked_as_one() {
        let mut m = Masker::default();
        m.add_literals([
            "abcd-1".to_string(),
            "d-1234".to_string(),
            "q\"abcd".to_string(),
            "d\"e<fg".to_string(),
            "c\"d\"e".to_string(),
        ]);
        assert_eq!(m.mask("x abcd-1234 y"), format!("x {SENSITIVE} y"));
        // An escaped secret overlapping a plain one.
        assert_eq!(m.mask("x q\\\"abcd-1234 y"), format!("x {SENSITIVE} y"));
        assert_eq!(m.mask("abcd-1 d-1234"), format!("{SENSITIVE} {SENSITIVE}"));
        // Two escaped secrets overlapping.
        assert_eq!(m.mask("x c\\\"d\\\"e&lt;fg y"), format!("x {SENSITIVE} y"));
    }

    #[test]
    fn secrets_beside_another_plan_leave_out_only_what_it_holds() {
        let plan = |changes: &str| {
            format!(
                r#"{{"format_version":"1.2","variables":{{"pw":{{"value":"var-secret"}}}},
                  "configuration":{{"root_module":{{"variables":{{"pw":{{"sensitive":true}}}}}}}},
                  "resource_changes":[{changes}]}}"#
            )
        };
        let change = |address: &str, after: &str, mask: &str| {
            format!(
                r#"{{"address":"{address}","change":{{"actions":["create"],"after":{{"p":"{after}"}},"after_sensitive":{{"p":{mask}}}}}}}"#
            )
        };
        let a = plan(
            &[
                change("a.x", "x-secret", "true"),
                change("a.y", "y-secret", "true"),
            ]
            .join(","),
        );
        let a = crate::terraform::plan_json::parse(a.as_bytes()).unwrap();
        let cases = [
            // The same changes: nothing of theirs is read again.
            (
                vec![
                    change("a.x", "x-secret", "true"),
                    change("a.y", "y-secret", "true"),
                ],
                vec![],
            ),
            // Another value, another mask, another address, another place.
            (
                vec![
                    change("a.x", "x-other", "true"),
                    change("a.y", "y-secret", "true"),
                ],
                vec!["x-other"],
            ),
            (
                vec![
                    change("a.x", "x-secret", "false"),
                    change("a.y", "y-secret", "[true]"),
                ],
                vec![],
            ),
            (
                vec![
                    change("a.z", "x-secret", "true"),
                    change("a.y", "y-secret", "true"),
                ],
                vec!["x-secret"],
            ),
            (
                vec![
                    change("a.y", "y-secret", "true"),
                    change("a.x", "x-secret", "true"),
                ],
                vec!["x-secret", "y-secret"],
            ),
        ];
        for (changes, read) in cases {
            let b = plan(&changes.join(","));
            let b = crate::terraform::plan_json::parse(b.as_bytes()).unwrap();
            let mut expected: Vec<&str> = read.clone();
            expected.push("var-secret");
            expected.sort();
            assert_eq!(
                secrets_of_plan_beside(&b, Some(&a)).unwrap(),
                expected,
                "{changes:?}"
            );
            // What the masker gets is the same as with all of B's secrets.
            let union = |mut x: Vec<String>, y: Vec<String>| {
                x.extend(y);
                x.sort();
                x.dedup();
                x
            };
            assert_eq!(
                union(
                    secrets_of_plan(&a).unwrap(),
                    secrets_of_plan_beside(&b, Some(&a)).unwrap()
                ),
                union(secrets_of_plan(&a).unwrap(), secrets_of_plan(&b).unwrap()),
            );
        }
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

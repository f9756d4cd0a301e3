//! Why two plans differ, in one sentence: the most severe difference of a comparison in words
//! ("`terraform_data.app`: `input.size` was changed outside Terraform since review (`"large"` →
//! `"manual"`); applying would overwrite it"), then how many more there are. `apply` leads its
//! refusal with it, outside any fold, in the PR comment, the step summary, the `::error::`
//! annotation and on the terminal; the full list stays in the report (`render::report`).
//!
//! Data in, `String` out. Every address, path and value is masked with the caller's `Masker`,
//! clipped, and shown in a code span (markdown) or between backticks with control characters
//! replaced (plain text), so nothing taken from a plan can open markup or move a terminal's
//! cursor. Sensitive values read `(sensitive)`.

use serde_json::Value;

use crate::plan::compare::{Comparison, Difference, KNOWN_AFTER_APPLY, Kind, display_value, field};
use crate::plan::redact::{Masker, SENSITIVE};
use crate::render::markdown as md;
use crate::render::report::Sides;
use crate::render::table::clean_line;

/// Longest address or path shown (characters, after masking).
const NAME_CHARS: usize = 120;
/// Longest value shown.
const VALUE_CHARS: usize = 40;

/// Where the sentence goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// GitHub markdown: code spans, nothing else from the plan.
    Markdown,
    /// A terminal or an annotation: backticks around the plan's text, control characters
    /// replaced.
    Plain,
}

/// The first difference (the most severe: destroys first), in words, and "and N more
/// differences" when there are more; `None` when the plans do not differ.
pub fn sentence(cmp: &Comparison, sides: Sides, masker: &Masker, style: Style) -> Option<String> {
    let first = most_severe(cmp)?;
    let show = Show {
        masker,
        style,
        sides,
    };
    let mut out = describe(first, cmp, &show);
    let more = cmp.differences.len() - 1;
    if more > 0 {
        let s = if more == 1 { "" } else { "s" };
        out.push_str(&format!("; and {more} more difference{s}"));
    }
    out.push('.');
    Some(out)
}

/// How severe a difference is: lower first. A resource the plan now destroys (deleted or
/// replaced, where the other plan did not) comes first; then anything else the plan now does
/// that the other did not, an overwritten change made outside Terraform, a changed value,
/// something the plan no longer does, and outputs last.
fn severity(d: &Difference) -> u8 {
    let destroys = |a: Option<&str>| matches!(a, Some("delete" | "replace"));
    let newly_destroys = destroys(d.action_b.as_deref()) && d.action_a != d.action_b;
    match d.kind {
        Kind::OnlyInB | Kind::Actions if newly_destroys && d.paths.is_empty() => 0,
        Kind::OnlyInB | Kind::Actions | Kind::ReplacePaths => 1,
        Kind::Before => 2,
        Kind::After => 3,
        Kind::OnlyInA => 4,
        Kind::Output => 5,
    }
}

/// The most severe difference; of equally severe ones, the first in the comparison's order.
fn most_severe(cmp: &Comparison) -> Option<&Difference> {
    cmp.differences.iter().min_by_key(|d| severity(d))
}

struct Show<'a> {
    masker: &'a Masker,
    style: Style,
    sides: Sides,
}

impl Show<'_> {
    /// Text from the plan, masked, clipped and quoted.
    fn code(&self, text: &str, max: usize) -> String {
        let text = md::clip(&self.masker.mask(text), max).into_owned();
        match self.style {
            Style::Markdown => md::code(&text),
            Style::Plain => format!("`{}`", clean_line(&text)),
        }
    }

    fn name(&self, text: &str) -> String {
        self.code(text, NAME_CHARS)
    }

    /// A value as the report's table, the comment's rows and the terminal's table show it
    /// (`display_value`): compact JSON, so `"null"` and `null`, or `"3"` and `3`, read apart
    /// and an empty string shows as `""`; the sensitive marker reads `(sensitive)`.
    fn value(&self, v: &Value, sensitive: bool) -> String {
        match v {
            _ if sensitive => "(sensitive)".into(),
            Value::String(s) if s == SENSITIVE => "(sensitive)".into(),
            Value::String(s) if s == KNOWN_AFTER_APPLY => s.clone(),
            v => self.code(&display_value(v), VALUE_CHARS),
        }
    }

    /// A fact that may be absent (a move, an import id, replace paths): names, shown bare.
    fn fact(&self, v: &Value) -> String {
        match v {
            Value::Null => "none".into(),
            Value::Array(items) if items.is_empty() => "none".into(),
            Value::Array(items) => {
                let names: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect();
                self.name(&names.join(", "))
            }
            Value::String(s) => self.code(s, VALUE_CHARS),
            v => self.value(v, false),
        }
    }

    /// Whether the difference cannot be shown: sensitive, or only in what masking hides (the
    /// two values, masked here or by the comparison, would read the same: `(a → a)`).
    fn hidden(&self, d: &Difference) -> bool {
        let shown = |v: &Value| self.masker.mask(&display_value(v)).into_owned();
        d.sensitive || shown(&d.a) == shown(&d.b)
    }

    /// `(a → b)`, or `(sensitive)`.
    fn change(&self, d: &Difference) -> String {
        if self.hidden(d) {
            "(sensitive)".into()
        } else {
            format!(
                "({} → {})",
                self.value(&d.a, false),
                self.value(&d.b, false)
            )
        }
    }

    /// What a plan does to a resource or an output, as a participle ("would be destroyed");
    /// an action word tfgate does not know is shown as it is, quoted.
    fn done(&self, action: Option<&str>, output: bool) -> String {
        let word = match action {
            None | Some("no-op") => "left unchanged",
            Some("create") => "created",
            Some("update") => "updated",
            Some("delete") if output => "removed",
            Some("delete") => "destroyed",
            Some("replace") => "replaced (destroyed and re-created)",
            Some("read") => "read",
            Some("import") => "imported",
            Some("move") => "moved",
            Some("forget") => "forgotten (removed from the state)",
            Some(other) => return self.name(other),
        };
        word.to_string()
    }
}

/// One difference in words, without the final period.
fn describe(d: &Difference, cmp: &Comparison, show: &Show<'_>) -> String {
    if d.is_output() {
        return output(d, show);
    }
    let subject = match &d.deposed {
        Some(key) => format!("{} (deposed {key})", d.address),
        None => d.address.clone(),
    };
    let x = show.name(&subject);
    let path = d.paths.first().map(String::as_str).unwrap_or_default();
    // The attribute, after its resource.
    let at = if path.is_empty() {
        x.clone()
    } else {
        format!("{x}: {}", show.name(path))
    };
    let (a, b) = (show.fact(&d.a), show.fact(&d.b));
    match (d.kind, show.sides) {
        (Kind::Actions, _) if path == field::IMPORT_ID => {
            differs(show, &x, ("the import id", "is"), &a, &b)
        }
        (Kind::Actions, _) if !path.is_empty() => {
            differs(show, &x, ("the address it moves from", "is"), &a, &b)
        }
        (Kind::OnlyInA | Kind::OnlyInB | Kind::Actions, _) => actions(d, show, &x),
        (Kind::ReplacePaths, _) => differs(
            show,
            &x,
            ("the attributes that force its replacement", "are"),
            &a,
            &b,
        ),
        (Kind::Before, Sides::ReviewedNow) => format!(
            "{at} was changed outside Terraform since review {}; applying would overwrite it",
            show.change(d)
        ),
        (Kind::Before, Sides::AB) => format!(
            "{at} was changed outside Terraform between A and B {}",
            show.change(d)
        ),
        (Kind::After, _) => new_value(d, cmp, show, &at),
        (Kind::Output, _) => output(d, show),
    }
}

/// A resource in one plan's change set only, or with other actions in each.
fn actions(d: &Difference, show: &Show<'_>, x: &str) -> String {
    let a = show.done(d.action_a.as_deref(), false);
    let b = show.done(d.action_b.as_deref(), false);
    match (d.kind, show.sides) {
        (Kind::OnlyInB, Sides::ReviewedNow) => {
            format!("{x} would now be {b}; the reviewed plan did not change it")
        }
        (Kind::OnlyInA, Sides::ReviewedNow) => {
            format!("{x} would no longer be {a} as reviewed; the plan now leaves it unchanged")
        }
        (Kind::OnlyInB, Sides::AB) => format!("{x} would be {b} in B only"),
        (Kind::OnlyInA, Sides::AB) => format!("{x} would be {a} in A only"),
        (_, Sides::ReviewedNow) => format!("{x} would now be {b}, not {a} as reviewed"),
        (_, Sides::AB) => format!("{x} would be {a} in A but {b} in B"),
    }
}

/// A changed attribute whose new value differs. When its resource's current values are the
/// same in both plans, what is planned changed: the configuration or its inputs.
fn new_value(d: &Difference, cmp: &Comparison, show: &Show<'_>, at: &str) -> String {
    let review = show.sides == Sides::ReviewedNow;
    let (a, b) = (show.value(&d.a, false), show.value(&d.b, false));
    let set = if show.hidden(d) {
        format!("{at} would be set to another value (sensitive)")
    } else if review {
        format!("{at} would now be set to {b}, not {a} as reviewed")
    } else {
        format!("{at} would be set to {a} in A, {b} in B")
    };
    let drifted = cmp
        .differences
        .iter()
        .any(|o| o.kind == Kind::Before && o.address == d.address && o.deposed == d.deposed);
    match (drifted, review) {
        (true, _) => set,
        (false, true) => format!("{set}: the configuration or its inputs changed since review"),
        (false, false) => format!("{set}: the configuration or its inputs differ"),
    }
}

/// "X: WHAT is now B, not A as reviewed" / "X: WHAT is A in A, B in B".
fn differs(show: &Show<'_>, x: &str, (what, is): (&str, &str), a: &str, b: &str) -> String {
    match show.sides {
        Sides::ReviewedNow => format!("{x}: {what} {is} now {b}, not {a} as reviewed"),
        Sides::AB => format!("{x}: {what} {is} {a} in A, {b} in B"),
    }
}

fn output(d: &Difference, show: &Show<'_>) -> String {
    let name = d.address.strip_prefix("output.").unwrap_or(&d.address);
    let x = format!("Output {}", show.name(name));
    let review = show.sides == Sides::ReviewedNow;
    let path = d.paths.first().map(String::as_str).unwrap_or_default();
    if path == field::ACTIONS {
        let (a, b) = (
            show.done(d.action_a.as_deref(), true),
            show.done(d.action_b.as_deref(), true),
        );
        return if review {
            format!("{x} would now be {b}, not {a} as reviewed")
        } else {
            format!("{x} would be {a} in A but {b} in B")
        };
    }
    let (after, inner) = match path.strip_prefix(field::AFTER) {
        Some(rest) => (true, rest),
        None => (false, path.strip_prefix(field::BEFORE).unwrap_or(path)),
    };
    let inner = inner.strip_prefix('.').unwrap_or(inner);
    let x = if inner.is_empty() {
        x
    } else {
        format!("{x}: {}", show.name(inner))
    };
    match (after, review) {
        (false, true) => format!("{x} changed since review {}", show.change(d)),
        (false, false) => format!("{x} changed between A and B {}", show.change(d)),
        (true, _) if show.hidden(d) => format!("{x} would be another value (sensitive)"),
        (true, true) => format!(
            "{x} would now be {}, not {} as reviewed",
            show.value(&d.b, false),
            show.value(&d.a, false)
        ),
        (true, false) => format!(
            "{x} would be {} in A, {} in B",
            show.value(&d.a, false),
            show.value(&d.b, false)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::compare::compare_texts;
    use crate::render::testing::outside_code_spans;
    use serde_json::json;

    /// A resource change with nothing unknown after apply.
    fn rc(address: &str, actions: &[&str], before: Value, after: Value) -> Value {
        crate::plan::testing::resource_change(address, actions, before, after, json!({}))
    }

    fn plan(resources: &[Value], outputs: Value) -> String {
        json!({"format_version": "1.2", "resource_changes": resources, "output_changes": outputs})
            .to_string()
    }

    /// The reviewed plan: `app` resized from `small` to `large`.
    fn app(before: &str, after: &str, actions: &[&str]) -> Value {
        rc(
            "terraform_data.app",
            actions,
            json!({"input": {"size": before}}),
            json!({"input": {"size": after}}),
        )
    }

    /// The sentence for reviewed `a` against `b` now, and for `tfgate diff a b`.
    fn both(a: &[Value], b: &[Value]) -> (String, String) {
        let c = compare_texts(
            &plan(a, json!({})),
            &plan(b, json!({})),
            &[],
            &Masker::default(),
        );
        let say = |sides| sentence(&c, sides, &Masker::default(), Style::Markdown).unwrap();
        (say(Sides::ReviewedNow), say(Sides::AB))
    }

    #[test]
    fn a_value_changed_outside_terraform_would_be_overwritten() {
        let (now, ab) = both(
            &[app("large", "small", &["update"])],
            &[app("manual", "small", &["update"])],
        );
        assert_eq!(
            now,
            r#"`terraform_data.app`: `input.size` was changed outside Terraform since review (`"large"` → `"manual"`); applying would overwrite it."#
        );
        assert_eq!(
            ab,
            r#"`terraform_data.app`: `input.size` was changed outside Terraform between A and B (`"large"` → `"manual"`)."#
        );
    }

    #[test]
    fn a_new_value_with_the_same_current_one_is_a_changed_configuration() {
        let (now, ab) = both(
            &[app("small", "large", &["update"])],
            &[app("small", "xlarge", &["update"])],
        );
        assert_eq!(
            now,
            r#"`terraform_data.app`: `input.size` would now be set to `"xlarge"`, not `"large"` as reviewed: the configuration or its inputs changed since review."#
        );
        assert_eq!(
            ab,
            r#"`terraform_data.app`: `input.size` would be set to `"large"` in A, `"xlarge"` in B: the configuration or its inputs differ."#
        );
    }

    /// Values read as the report's table and the comment's rows show them (JSON), so a string
    /// and the bare word it spells, or an empty string, never read alike.
    #[test]
    fn values_read_as_json_like_everywhere_else() {
        let size = |v: Value| {
            rc(
                "terraform_data.app",
                &["update"],
                json!({"input": {"size": v}}),
                json!({"input": {"size": "small"}}),
            )
        };
        for (before, now, shown) in [
            (json!("null"), json!(null), r#"(`"null"` → `null`)"#),
            (json!("3"), json!(3), r#"(`"3"` → `3`)"#),
            (json!(""), json!("large"), r#"(`""` → `"large"`)"#),
        ] {
            let (now, ab) = both(&[size(before)], &[size(now)]);
            assert!(now.contains(shown), "{now}");
            assert!(ab.contains(shown), "{ab}");
        }
    }

    #[test]
    fn a_destroy_comes_first_and_the_rest_are_counted() {
        let reviewed = [
            app("small", "large", &["update"]),
            rc(
                "terraform_data.db",
                &["update"],
                json!({"v": 1}),
                json!({"v": 2}),
            ),
        ];
        let now = [
            app("small", "xlarge", &["update"]),
            rc(
                "terraform_data.db",
                &["delete", "create"],
                json!({"v": 1}),
                json!({"v": 2}),
            ),
            rc(
                "terraform_data.zz",
                &["create"],
                Value::Null,
                json!({"v": 1}),
            ),
        ];
        let (now, ab) = both(&reviewed, &now);
        assert_eq!(
            now,
            "`terraform_data.db` would now be replaced (destroyed and re-created), not updated as reviewed; and 2 more differences."
        );
        assert_eq!(
            ab,
            "`terraform_data.db` would be updated in A but replaced (destroyed and re-created) in B; and 2 more differences."
        );
    }

    #[test]
    fn resources_added_to_or_gone_from_the_plan() {
        let gone = rc(
            "terraform_data.old",
            &["delete"],
            json!({"v": 1}),
            Value::Null,
        );
        let (now, ab) = both(&[], std::slice::from_ref(&gone));
        assert_eq!(
            now,
            "`terraform_data.old` would now be destroyed; the reviewed plan did not change it."
        );
        assert_eq!(ab, "`terraform_data.old` would be destroyed in B only.");
        let (now, ab) = both(&[gone], &[]);
        assert_eq!(
            now,
            "`terraform_data.old` would no longer be destroyed as reviewed; the plan now leaves it unchanged."
        );
        assert_eq!(ab, "`terraform_data.old` would be destroyed in A only.");
    }

    #[test]
    fn moves_imports_and_replace_paths() {
        let mut moved = app("small", "small", &["no-op"]);
        moved["previous_address"] = json!("terraform_data.legacy");
        let (now, ab) = both(
            &[moved.clone()],
            &[{
                let mut m = moved.clone();
                m["previous_address"] = json!("terraform_data.older");
                m
            }],
        );
        assert_eq!(
            now,
            "`terraform_data.app`: the address it moves from is now `terraform_data.older`, not `terraform_data.legacy` as reviewed."
        );
        assert_eq!(
            ab,
            "`terraform_data.app`: the address it moves from is `terraform_data.legacy` in A, `terraform_data.older` in B."
        );
        let mut imported = app("small", "small", &["no-op"]);
        imported["change"]["importing"] = json!({"id": "i-1"});
        let mut other = imported.clone();
        other["change"]["importing"] = json!({"id": "i-2"});
        let (now, _) = both(&[imported], &[other]);
        assert_eq!(
            now,
            "`terraform_data.app`: the import id is now `i-2`, not `i-1` as reviewed."
        );
        let mut replaced = app("small", "large", &["delete", "create"]);
        replaced["change"]["replace_paths"] = json!([["input", "size"]]);
        let mut other = replaced.clone();
        other["change"]["replace_paths"] = json!([["input"]]);
        let (now, _) = both(&[replaced], &[other]);
        assert_eq!(
            now,
            "`terraform_data.app`: the attributes that force its replacement are now `input`, not `input.size` as reviewed."
        );
    }

    #[test]
    fn outputs_say_what_differs() {
        let outputs = |after: &str, actions: &str| json!({"url": {"actions": [actions], "before": "a", "after": after, "after_unknown": false}});
        let say = |a: Value, b: Value| {
            let c = compare_texts(&plan(&[], a), &plan(&[], b), &[], &Masker::default());
            sentence(&c, Sides::ReviewedNow, &Masker::default(), Style::Markdown).unwrap()
        };
        assert_eq!(
            say(outputs("b", "update"), outputs("c", "update")),
            r#"Output `url` would now be `"c"`, not `"b"` as reviewed."#
        );
        assert_eq!(
            say(outputs("b", "update"), outputs("b", "delete")),
            "Output `url` would now be removed, not updated as reviewed."
        );
        let two = |after: &str| {
            json!({
                "url": {"actions": ["update"], "before": "a", "after": after, "after_unknown": false},
                "id": {"actions": ["create"], "before": null, "after": after, "after_unknown": false}
            })
        };
        assert_eq!(
            say(two("b"), two("c")),
            r#"Output `id` would now be `"c"`, not `"b"` as reviewed; and 1 more difference."#
        );
    }

    #[test]
    fn sensitive_values_are_not_shown_and_hostile_text_stays_in_code() {
        let mut a = app("large", "small", &["update"]);
        let mut b = app("S3CRET", "small", &["update"]);
        for r in [&mut a, &mut b] {
            r["change"]["before_sensitive"] = json!({"input": {"size": true}});
        }
        let (now, _) = both(&[a], &[b]);
        assert_eq!(
            now,
            "`terraform_data.app`: `input.size` was changed outside Terraform since review (sensitive); applying would overwrite it."
        );
        let evil = "x` </details> <b>@team</b>\n```\u{1b}[2J".repeat(4);
        let (now, _) = both(
            &[app("large", "s", &["update"])],
            &[app(&evil, "s", &["update"])],
        );
        assert!(now.contains('…'), "long values are cut: {now}");
        // Outside its code spans, the sentence is tfgate's own words only.
        let outside = outside_code_spans(&now);
        assert_eq!(
            outside,
            ":  was changed outside Terraform since review ( → ); applying would overwrite it.",
        );
        let c = compare_texts(
            &plan(&[app("large", "s", &["update"])], json!({})),
            &plan(&[app(&evil, "s", &["update"])], json!({})),
            &[],
            &Masker::default(),
        );
        let plain = sentence(&c, Sides::ReviewedNow, &Masker::default(), Style::Plain).unwrap();
        assert!(
            !plain.contains('\u{1b}') && !plain.contains('\n'),
            "{plain:?}"
        );
    }

    #[test]
    fn values_that_differ_only_in_what_is_masked_read_sensitive_not_a_to_a() {
        let mut masker = Masker::default();
        masker.add_literals(["S3CRET-old".to_string(), "S3CRET-new".to_string()]);
        let cfg = |pw: &str| format!(r#"{{"password":"{pw}"}}"#);
        let say = |a: &[Value], b: &[Value], outputs: (Value, Value)| {
            let c = compare_texts(&plan(a, outputs.0), &plan(b, outputs.1), &[], &masker);
            sentence(&c, Sides::ReviewedNow, &masker, Style::Markdown).unwrap()
        };
        let none = || (json!({}), json!({}));
        let drifted = say(
            &[app(&cfg("S3CRET-old"), "x", &["update"])],
            &[app(&cfg("S3CRET-new"), "x", &["update"])],
            none(),
        );
        assert_eq!(
            drifted,
            "`terraform_data.app`: `input.size` was changed outside Terraform since review (sensitive); applying would overwrite it."
        );
        let planned = say(
            &[app("x", &cfg("S3CRET-old"), &["update"])],
            &[app("x", &cfg("S3CRET-new"), &["update"])],
            none(),
        );
        assert!(
            planned.starts_with(
                "`terraform_data.app`: `input.size` would be set to another value (sensitive)"
            ),
            "{planned}"
        );
        let out = |v: &str| json!({"url": {"actions": ["update"], "before": "a", "after": v}});
        let output = say(&[], &[], (out(&cfg("S3CRET-old")), out(&cfg("S3CRET-new"))));
        assert_eq!(output, "Output `url` would be another value (sensitive).");
    }

    #[test]
    fn identical_plans_have_no_reason() {
        let a = plan(&[app("small", "large", &["update"])], json!({}));
        let c = compare_texts(&a, &a, &[], &Masker::default());
        assert_eq!(
            sentence(&c, Sides::ReviewedNow, &Masker::default(), Style::Plain),
            None
        );
    }
}

//! The comment's resource table: a row per resource, whose Details cell lists what an update or
//! a replacement changes (`render::attributes` decides what of it may be shown); and, when those
//! rows do not fit the table's budget, rows that group the instances of one resource, then the
//! resources of one module, with their counts per action.
//!
//! Deletions and replacements are never grouped: each has a row of its own while the budget
//! lasts (the caution above the table counts them all), and whatever does not fit is counted in
//! a line under the table, never dropped silently. Like every section, everything taken from
//! the plan is masked and stays inside a code span.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::Chars;

use super::sections::{MORE_RESERVE, RESOURCE_ROWS, RESOURCES_BUDGET, push_within};
use super::{ADDRESS_CHARS, ID_CHARS, REASON_CHARS, code_of, plural, text_of};
use crate::plan::redact::Masker;
use crate::plan::summary::{Action, ChangedAttribute, ResourceSummary, Summary};
use crate::render::attributes::{self, Shown};
use crate::render::markdown as md;

const HEADER: &str = "| Action | Resource | Details |\n| --- | --- | --- |\n";

/// The longest attribute path a Details cell shows, in characters.
const PATH_CHARS: usize = 100;

/// Room kept in a grouped table for the note above it and the two lines that may follow it.
const GROUPED_RESERVE: usize = 700;

/// How much a Details cell says of the changed attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Each path with its old and new value where they may be shown, one per line.
    Values,
    /// The paths alone, on one line, where rows must be short.
    Paths,
}

/// The resource table, or `None` when no resource changes.
pub(super) fn resource_table(summary: &Summary, masker: &Masker) -> Option<String> {
    let total = summary.resources.len();
    if total == 0 {
        return None;
    }
    for detail in [Detail::Values, Detail::Paths] {
        let mut out = String::from(HEADER);
        let rows = summary.resources.iter().map(|r| row(r, detail, masker));
        if push_within(
            &mut out,
            rows,
            RESOURCES_BUDGET - MORE_RESERVE,
            RESOURCE_ROWS,
        ) == total
        {
            return Some(out);
        }
    }
    Some(grouped_table(summary, masker))
}

fn row(r: &ResourceSummary, detail: Detail, masker: &Masker) -> String {
    format!(
        "| {} | {} | {} |\n",
        action_label(r),
        code_of(&r.address, ADDRESS_CHARS, masker, true),
        details(r, detail, masker)
    )
}

fn action_label(r: &ResourceSummary) -> &'static str {
    match r.action {
        Action::Create => "🟢 create",
        Action::Update => "🟡 update",
        Action::Replace => "🟠 replace",
        Action::Delete => "🔴 delete",
        Action::Forget => "⚪ forget",
        Action::Read => "🔵 read",
        Action::NoOp if r.is_import() => "🔵 import",
        Action::NoOp if r.previous_address.is_some() => "🔵 move",
        Action::NoOp => "no-op",
    }
}

fn details(r: &ResourceSummary, detail: Detail, masker: &Masker) -> String {
    let parts = attributes::facts(
        r,
        |reason| text_of(reason, REASON_CHARS, masker),
        |address| code_of(address, ADDRESS_CHARS, masker, true),
        |id| code_of(id, ID_CHARS, masker, true),
    );
    let mut out = parts.join("; ");
    if r.changed_attributes.is_empty() {
        return out;
    }
    let (listed, more) = attributes::listed(&r.changed_attributes);
    let mut items: Vec<String> = listed
        .iter()
        .map(|a| attribute(a, detail, masker))
        .collect();
    if more > 0 {
        items.push(format!("+{more} more"));
    }
    // GitHub reads `<br>` in a table cell as a line break; nothing from the plan is ever raw
    // HTML here (`code_of`, `md::code_in_table`).
    let (after_parts, between) = match detail {
        Detail::Values => ("<br>", "<br>"),
        Detail::Paths => ("; ", ", "),
    };
    if !out.is_empty() {
        out.push_str(after_parts);
    }
    out.push_str(&items.join(between));
    out
}

/// One changed attribute: `` `input.size`: `"small"` → `"large"` `` and the like; with
/// `Detail::Paths`, its path alone (or that it is sensitive).
fn attribute(a: &ChangedAttribute, detail: Detail, masker: &Masker) -> String {
    let path = code_of(&a.path, PATH_CHARS, masker, true);
    let shown = match (detail, attributes::shown(a, masker)) {
        (Detail::Paths, shown) if shown != Shown::Sensitive => Shown::PathOnly,
        (_, shown) => shown,
    };
    attributes::in_words(a, shown, path, md::code_in_table)
}

/// How coarse the groups of a grouped table are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The instances of one resource (`count`, `for_each`): `module.fleet.aws_instance.node[*]`.
    Resource,
    /// The resources of one module, its instances together: `module.fleet[*].module.db.*`.
    Module,
    /// The resources under one call of a module from the root: `module.fleet.*`.
    TopModule,
}

/// The words a group row counts its members under, in this order.
const LABELS: [&str; 6] = ["create", "update", "read", "forget", "import", "move"];

/// The resources that share one row, all neither deleted nor replaced.
struct Group<'s> {
    key: String,
    first: &'s ResourceSummary,
    members: usize,
    /// Members per word of `LABELS`.
    counts: [usize; LABELS.len()],
    /// Deletions and replacements under the same key, which have rows of their own.
    destroyed: usize,
}

/// Deletions and replacements a row each (while they fit, and up to half the table when the
/// groups need the rest), then the other resources in groups: the finest grouping whose rows
/// all fit, else the coarsest, cut with a line that says what is left.
fn grouped_table(summary: &Summary, masker: &Masker) -> String {
    let budget = RESOURCES_BUDGET - GROUPED_RESERVE;
    let destroyed = || summary.destructive().map(|r| row(r, Detail::Paths, masker));
    let destroyed_total = summary.destructive().count();
    let mut wanted = String::new();
    let wanted_rows = push_within(&mut wanted, destroyed(), budget / 2, RESOURCE_ROWS / 2);
    let (group_budget, group_rows) = (budget - wanted.len(), RESOURCE_ROWS - wanted_rows);

    let grouped_at = |level| {
        let groups = groups(summary, level);
        let mut rows = String::new();
        let shown = push_within(
            &mut rows,
            groups.iter().map(|g| group_row(g, masker)),
            group_budget,
            group_rows,
        );
        (level, groups, rows, shown)
    };
    let mut chosen = grouped_at(Level::Resource);
    for level in [Level::Module, Level::TopModule] {
        if chosen.3 == chosen.1.len() {
            break;
        }
        chosen = grouped_at(level);
    }
    let (level, groups, group_text, groups_shown) = chosen;

    let mut table = String::from(HEADER);
    let destroyed_shown = push_within(
        &mut table,
        destroyed(),
        budget.saturating_sub(group_text.len()),
        RESOURCE_ROWS - groups_shown,
    );
    table.push_str(&group_text);

    let total = summary.resources.len();
    let together = match level {
        Level::Resource => "the instances of one resource share a row",
        Level::Module => "the resources of one module share a row",
        Level::TopModule => "the resources under one module call from the root share a row",
    };
    let mut out = format!(
        "{} resources change, too many for a row each: {together}. Deletions and replacements \
         are never grouped: each has a row of its own.\n\n{table}",
        thousands(total)
    );
    let mut tail = Vec::new();
    if destroyed_shown < destroyed_total {
        let rest = destroyed_total - destroyed_shown;
        tail.push(format!(
            "… and {} more resource{} deleted or replaced, left out for room (the caution above \
             counts them all; see the plan text and `tfgate show`).",
            thousands(rest),
            plural(rest)
        ));
    }
    if groups_shown < groups.len() {
        let rows = groups.len() - groups_shown;
        let rest: usize = groups[groups_shown..].iter().map(|g| g.members).sum();
        tail.push(format!(
            "… and {} more resource{} in {} more row{} (see the plan text and `tfgate show`).",
            thousands(rest),
            plural(rest),
            thousands(rows),
            plural(rows)
        ));
    }
    if !tail.is_empty() {
        let _ = writeln!(out, "\n{}", tail.join("\n\n"));
    }
    out
}

/// The groups of the resources neither deleted nor replaced, in the order of their first
/// member.
fn groups(summary: &Summary, level: Level) -> Vec<Group<'_>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut destroyed: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Group<'_>> = Vec::new();
    for r in &summary.resources {
        let key = group_key(&r.address, level);
        if r.action.is_destructive() {
            *destroyed.entry(key).or_default() += 1;
            continue;
        }
        let i = match index.get(&key) {
            Some(i) => *i,
            None => {
                index.insert(key.clone(), out.len());
                out.push(Group {
                    key,
                    first: r,
                    members: 0,
                    counts: [0; LABELS.len()],
                    destroyed: 0,
                });
                out.len() - 1
            }
        };
        let g = &mut out[i];
        g.members += 1;
        if let Some(at) = LABELS.iter().position(|l| *l == plain_label(r)) {
            g.counts[at] += 1;
        }
    }
    for g in &mut out {
        g.destroyed = destroyed.get(&g.key).copied().unwrap_or(0);
    }
    out
}

fn plain_label(r: &ResourceSummary) -> &'static str {
    match r.action {
        Action::NoOp if r.is_import() => "import",
        Action::NoOp if r.previous_address.is_some() => "move",
        a => a.as_str(),
    }
}

/// A group's row; a group of one is that resource's own row.
fn group_row(g: &Group<'_>, masker: &Masker) -> String {
    if g.members == 1 && g.destroyed == 0 {
        return row(g.first, Detail::Paths, masker);
    }
    let counts: Vec<String> = LABELS
        .iter()
        .zip(g.counts)
        .filter(|(_, n)| *n > 0)
        .map(|(label, n)| format!("{} {label}", thousands(n)))
        .collect();
    let what = if g.key.ends_with(".*") {
        "resources"
    } else {
        "instances"
    };
    let mut details = format!("{} {what}: {}", thousands(g.members), counts.join(", "));
    if g.destroyed > 0 {
        let _ = write!(
            details,
            "; {} more deleted or replaced, not in this row",
            thousands(g.destroyed)
        );
    }
    format!(
        "| 📦 group | {} | {details} |\n",
        code_of(&g.key, ADDRESS_CHARS, masker, true)
    )
}

/// The key a resource is grouped under at `level`.
fn group_key(address: &str, level: Level) -> String {
    let steps = steps(address);
    // Module calls come in pairs (`module`, NAME) before the resource's TYPE and NAME (or
    // `data`, TYPE and NAME).
    let mut modules = 0;
    while steps.len() >= 2 * modules + 4 && steps[2 * modules] == "module" {
        modules += 1;
    }
    let keep = match level {
        _ if modules == 0 => return steps.join("."),
        Level::Resource => return steps.join("."),
        Level::Module => 2 * modules,
        Level::TopModule => 2,
    };
    format!("{}.*", steps[..keep].join("."))
}

/// The steps of an address, each instance key written `[*]`:
/// `module.a["x.y"].aws_s3_bucket.b[0]` gives `module`, `a[*]`, `aws_s3_bucket`, `b[*]`.
fn steps(address: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let mut step = String::new();
    let mut chars = address.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => steps.push(std::mem::take(&mut step)),
            '[' => {
                skip_key(&mut chars);
                step.push_str("[*]");
            }
            c => step.push(c),
        }
    }
    steps.push(step);
    steps
}

/// Consumes an instance key up to its closing `]`, quoted strings and their escapes included.
fn skip_key(chars: &mut Chars<'_>) {
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            ']' if !quoted => return,
            _ => {}
        }
    }
}

/// `25000` as `25,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::render::comment::MAX_COMMENT_BYTES;
    use crate::render::comment::tests::{changed, empty_summary, resource};
    use crate::render::testing::outside_code_spans;

    fn summary(resources: Vec<ResourceSummary>) -> Summary {
        let mut s = empty_summary();
        s.has_changes = true;
        s.resources = resources;
        s
    }

    fn with_attrs(address: &str, action: Action, attrs: Vec<ChangedAttribute>) -> ResourceSummary {
        ResourceSummary {
            changed_attributes: attrs,
            ..resource(address, action)
        }
    }

    /// Every table row is one line of exactly three cells (GitHub splits a row at every `|` not
    /// escaped as `\|`, code spans included), and nothing outside a code span is markup.
    fn check_rows(table: &str) {
        for line in table.lines().filter(|l| l.starts_with('|')) {
            let mut pipes = 0;
            let mut escaped = false;
            for c in line.chars() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '|' if !escaped => pipes += 1,
                    _ => escaped = false,
                }
            }
            assert_eq!(pipes, 4, "a row of three cells: {line}");
            let outside = outside_code_spans(line).replace("<br>", "");
            assert!(!outside.contains(['<', '>', '`']), "markup: {line}");
        }
    }

    const HOSTILE: &str = "a`b|c</details><img src=x>\n@org/team";

    /// One resource for each thing a Details cell may show.
    fn details_summary() -> Summary {
        summary(vec![
            with_attrs(
                "terraform_data.scalar",
                Action::Update,
                vec![
                    changed("input.size", json!("small"), Some(json!("large"))),
                    changed("input.replicas", json!(2), Some(json!(3))),
                    changed("input.enabled", json!(null), Some(json!(true))),
                ],
            ),
            with_attrs(
                "terraform_data.secret",
                Action::Update,
                vec![
                    ChangedAttribute {
                        sensitive: true,
                        before: None,
                        after: None,
                        ..changed("input.password", json!(null), Some(json!(null)))
                    },
                    changed("input.copied", json!("old"), Some(json!("hunter22-secret"))),
                ],
            ),
            with_attrs(
                "terraform_data.unknown",
                Action::Update,
                vec![
                    changed("id", json!("a"), None),
                    changed("output", json!({"x": 1}), None),
                ],
            ),
            ResourceSummary {
                reason: Some("an attribute forces replacement".into()),
                ..with_attrs(
                    "terraform_data.replaced",
                    Action::Replace,
                    vec![ChangedAttribute {
                        forces_replacement: true,
                        ..changed("triggers_replace", json!("v1"), Some(json!("v2")))
                    }],
                )
            },
            with_attrs(
                "terraform_data.many",
                Action::Update,
                (0..7)
                    .map(|i| changed(&format!("tags.k{i}"), json!(i), Some(json!(i + 1))))
                    .collect(),
            ),
            with_attrs(
                "terraform_data.long",
                Action::Update,
                vec![changed(
                    "input.policy",
                    json!("short"),
                    Some(json!("a value of more than forty characters, not shown")),
                )],
            ),
            with_attrs(
                "terraform_data.hostile",
                Action::Update,
                vec![
                    changed("input.text", json!("x"), Some(json!(HOSTILE))),
                    changed(r#"tags["</details>|`<img>"]"#, json!("`"), Some(json!("|"))),
                ],
            ),
        ])
    }

    #[test]
    fn details_cells_show_what_changes() {
        let mut masker = Masker::default();
        masker.add_literals(["hunter22-secret".to_string()]);
        let table = resource_table(&details_summary(), &masker).unwrap();
        check_rows(&table);
        let row = |address: &str| {
            table
                .lines()
                .find(|l| l.contains(&format!("`terraform_data.{address}`")))
                .unwrap_or_else(|| panic!("a row for {address}:\n{table}"))
        };
        assert!(row("scalar").contains(r#"`input.size`: `"small"` → `"large"`"#));
        assert!(
            row("scalar")
                .contains("`input.replicas`: `2` → `3`<br>`input.enabled`: `null` → `true`")
        );
        // Sensitive, or a secret the masker knows: the path and the word, never the value.
        assert!(
            row("secret").contains("`input.password` (sensitive)<br>`input.copied` (sensitive)")
        );
        assert!(!table.contains("hunter22") && !table.contains("\"old\""));
        assert!(
            row("unknown")
                .contains(r#"`id`: `"a"` → (known after apply)<br>`output` (known after apply)"#)
        );
        assert!(row("replaced").contains(
            r#"an attribute forces replacement<br>`triggers_replace`: `"v1"` → `"v2"` (forces replacement)"#
        ));
        assert!(row("many").contains("`tags.k4`: `4` → `5`<br>+2 more |"));
        assert!(!row("many").contains("tags.k5"));
        assert!(row("long").ends_with("| `input.policy` |"));
        assert!(!table.contains("forty"));
        insta::assert_snapshot!(table);
    }

    #[test]
    fn hostile_values_stay_in_their_code_spans() {
        let table = resource_table(&details_summary(), &Masker::default()).unwrap();
        check_rows(&table);
        let row = table
            .lines()
            .find(|l| l.contains("terraform_data.hostile"))
            .unwrap();
        // The value as JSON writes it: its line break escaped, its `|` escaped for the table,
        // its backtick inside a longer run.
        assert!(
            row.contains(r#"`input.text`: `"x"` → ``"a`b\|c</details><img src=x>\n@org/team"``"#),
            "{row}"
        );
        assert!(
            row.contains(r#"``tags["</details>\|`<img>"]``: ``"`"`` → `"\|"`"#),
            "{row}"
        );
    }

    #[test]
    fn rows_that_do_not_fit_with_values_keep_their_paths() {
        // 140 rows whose values would take ~25 kB: shown with their paths alone.
        let s = summary(
            (0..140)
                .map(|i| {
                    with_attrs(
                        &format!("terraform_data.r{i}"),
                        Action::Update,
                        vec![
                            changed("input.a", json!("0123456789012345"), Some(json!("x"))),
                            changed("input.b", json!("0123456789012345"), Some(json!("y"))),
                        ],
                    )
                })
                .collect(),
        );
        let table = resource_table(&s, &Masker::default()).unwrap();
        check_rows(&table);
        assert_eq!(table.lines().count(), 2 + 140);
        assert!(table.contains("| 🟡 update | `terraform_data.r139` | `input.a`, `input.b` |"));
    }

    #[test]
    fn addresses_group_by_resource_then_module() {
        let key = |a, level| group_key(a, level);
        let a = r#"module.fleet["eu.west"].module.db[0].data.x_y.z["k]\"."]"#;
        assert_eq!(
            steps(a),
            [
                "module", "fleet[*]", "module", "db[*]", "data", "x_y", "z[*]"
            ]
        );
        assert_eq!(
            key(a, Level::Resource),
            "module.fleet[*].module.db[*].data.x_y.z[*]"
        );
        assert_eq!(key(a, Level::Module), "module.fleet[*].module.db[*].*");
        assert_eq!(key(a, Level::TopModule), "module.fleet[*].*");
        // Root resources are their own group at every level.
        for level in [Level::Resource, Level::Module, Level::TopModule] {
            assert_eq!(
                key("terraform_data.node[3]", level),
                "terraform_data.node[*]"
            );
            assert_eq!(key("terraform_data.one", level), "terraform_data.one");
        }
        // A resource type named like a module step is still a resource.
        assert_eq!(key("module.x", Level::Module), "module.x");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(25_000), "25,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    /// 50,000 resources in one module: 25,000 updates (`count`), 24,900 creates (`for_each`),
    /// 60 deletes and 40 replacements, and `destroyed` more deletes at the root.
    fn fleet(destroyed: usize) -> Summary {
        let mut r = Vec::new();
        for i in 0..25_000 {
            r.push(with_attrs(
                &format!("module.fleet.terraform_data.node[{i}]"),
                Action::Update,
                vec![changed("input.size", json!("small"), Some(json!("large")))],
            ));
        }
        for i in 0..24_900 {
            r.push(resource(
                &format!("module.fleet.terraform_data.cfg[\"key-{i}\"]"),
                Action::Create,
            ));
        }
        for i in 0..60 {
            r.push(resource(
                &format!("module.fleet.terraform_data.old[{i}]"),
                Action::Delete,
            ));
        }
        for i in 0..40 {
            r.push(with_attrs(
                &format!("module.fleet.terraform_data.node[{}]", 25_000 + i),
                Action::Replace,
                vec![ChangedAttribute {
                    forces_replacement: true,
                    ..changed("triggers_replace", json!(1), Some(json!(2)))
                }],
            ));
        }
        for i in 0..destroyed {
            r.push(resource(
                &format!("terraform_data.gone[{i}]"),
                Action::Delete,
            ));
        }
        summary(r)
    }

    #[test]
    fn large_plans_are_grouped_and_every_deletion_listed() {
        let s = fleet(0);
        let table = resource_table(&s, &Masker::default()).unwrap();
        check_rows(&table);
        assert!(table.len() <= RESOURCES_BUDGET, "{}", table.len());
        assert!(table.starts_with("50,000 resources change, too many for a row each: the instances of one resource share a row."));
        assert!(table.contains(
            "| 📦 group | `module.fleet.terraform_data.node[*]` | 25,000 instances: 25,000 update; 40 more deleted or replaced, not in this row |\n"
        ));
        assert!(table.contains(
            "| 📦 group | `module.fleet.terraform_data.cfg[*]` | 24,900 instances: 24,900 create |\n"
        ));
        for r in s.destructive() {
            assert!(
                table.contains(&format!("`{}`", r.address)),
                "{} listed",
                r.address
            );
        }
        assert!(table.contains(
            "| 🟠 replace | `module.fleet.terraform_data.node[25039]` | `triggers_replace` (forces replacement) |"
        ));
        assert!(!table.contains("more resource"), "nothing left out");
        // Deletions first, then the groups.
        let first_group = table.find("📦").unwrap();
        assert!(table.rfind("🔴 delete").unwrap() < first_group);
    }

    #[test]
    fn deletions_beyond_the_budget_are_counted_never_grouped() {
        let s = fleet(5_000);
        let table = resource_table(&s, &Masker::default()).unwrap();
        check_rows(&table);
        assert!(table.len() <= RESOURCES_BUDGET, "{}", table.len());
        let listed = table.matches("🔴 delete").count() + table.matches("🟠 replace").count();
        assert!(listed >= 50, "{listed}");
        let rest = 5_100 - listed;
        assert!(
            table.contains(&format!(
                "… and {} more resources deleted or replaced, left out for room (the caution above counts them all; see the plan text and `tfgate show`).",
                thousands(rest)
            )),
            "{table}"
        );
        // The groups still have their rows.
        assert!(table.contains("`module.fleet.terraform_data.node[*]` | 25,000 instances"));
        assert!(table.contains("`module.fleet.terraform_data.cfg[*]` | 24,900 instances"));
        assert!(!table.contains("📦 group | `terraform_data.gone"));
        // The whole comment stays within its limit, and the caution counts every one.
        let body =
            crate::render::comment::render_summary_markdown(&s, "r", "default", &Masker::default());
        assert!(body.len() < MAX_COMMENT_BYTES);
        assert!(
            body.contains("This plan destroys 5,100 resources")
                || body.contains("This plan destroys 5100 resources")
        );
    }

    #[test]
    fn too_many_resource_blocks_group_by_module_then_by_call_from_the_root() {
        // 400 resource blocks in one module: a row for the module.
        let s = summary(
            (0..400)
                .map(|i| resource(&format!("module.app.terraform_data.r{i}"), Action::Create))
                .chain([resource("terraform_data.root", Action::Update)])
                .collect(),
        );
        let table = resource_table(&s, &Masker::default()).unwrap();
        check_rows(&table);
        assert!(table.contains("the resources of one module share a row"));
        assert!(table.contains("| 📦 group | `module.app.*` | 400 resources: 400 create |"));
        assert!(table.contains("| 🟡 update | `terraform_data.root` |  |"));

        // 200 modules under one call: a row for the call.
        let s = summary(
            (0..400)
                .map(|i| {
                    resource(
                        &format!("module.top.module.m{}.terraform_data.r{}", i / 2, i % 2),
                        Action::Update,
                    )
                })
                .collect(),
        );
        let table = resource_table(&s, &Masker::default()).unwrap();
        check_rows(&table);
        assert!(table.contains("| 📦 group | `module.top.*` | 400 resources: 400 update |"));

        // 400 resources at the root, one block each: nothing to group, the rest counted.
        let s = summary(
            (0..400)
                .map(|i| resource(&format!("terraform_data.r{i}"), Action::Update))
                .collect(),
        );
        let table = resource_table(&s, &Masker::default()).unwrap();
        check_rows(&table);
        let rows = table.lines().filter(|l| l.starts_with("| 🟡")).count();
        assert!(
            table.contains(&format!(
                "… and {} more resources in {} more rows (see the plan text and `tfgate show`).",
                400 - rows,
                400 - rows
            )),
            "{table}"
        );
    }

    #[test]
    fn a_grouped_table() {
        let mut r: Vec<ResourceSummary> = (0..300)
            .map(|i| {
                with_attrs(
                    &format!("module.fleet[\"eu\"].terraform_data.node[{i}]"),
                    if i % 3 == 0 {
                        Action::Create
                    } else {
                        Action::Update
                    },
                    vec![changed("input", json!(i), Some(json!(i + 1)))],
                )
            })
            .collect();
        r.push(ResourceSummary {
            reason: Some("count index out of range".into()),
            ..resource(
                "module.fleet[\"eu\"].terraform_data.node[300]",
                Action::Delete,
            )
        });
        r.push(with_attrs(
            "terraform_data.single",
            Action::Update,
            vec![changed("input", json!("a"), Some(json!("b")))],
        ));
        r.push(ResourceSummary {
            previous_address: Some("terraform_data.old".into()),
            ..resource("terraform_data.moved", Action::NoOp)
        });
        let table = resource_table(&summary(r), &Masker::default()).unwrap();
        check_rows(&table);
        insta::assert_snapshot!(table);
    }
}

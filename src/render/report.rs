//! The report of a plan comparison (`plan::compare::Comparison`) for people: a headline, a table
//! of what differs per resource and output, and a unified diff (`similar`) of the two plans'
//! redacted renderings. As terminal text (`human`) or GitHub markdown (`markdown`, also what
//! `apply` puts in the PR comment and the step summary, within a byte budget).
//!
//! Data in, `String` out: nothing here compares plans, reads files, the environment or the clock,
//! or prints. Every string taken from the comparison is masked with the caller's `Masker`
//! (before it is clipped, so a clip cannot cut a secret in two and hide it from the masker),
//! then escaped for its context: control characters are replaced in terminal text; markdown gets
//! code spans, escaped cells and fences longer than any backtick run inside them. Markdown output
//! never exceeds the byte budget it is given, is cut on line boundaries only, and keeps its
//! fences and `<details>` balanced.

use std::fmt::Write as _;

use comfy_table::{Cell, Color, Table};
use serde_json::Value;

use crate::plan::compare::{Comparison, Difference, Kind, display_value, field};
use crate::plan::redact::Masker;
use crate::render::markdown as md;
use crate::render::table::{TableOptions, clean_line};

/// Lines of context around each change in the unified diff, unless asked otherwise.
pub const DEFAULT_CONTEXT: usize = 3;

// Display limits (characters), applied after masking.
const LABEL_CHARS: usize = 300;
const ADDRESS_CHARS: usize = 300;
const ACTION_CHARS: usize = 40;
const PATH_CHARS: usize = 200;
const VALUE_CHARS: usize = 80;
/// A rendering line longer than this is clipped before the two renderings are diffed.
const LINE_CHARS: usize = 1000;
/// Differences listed per resource in the table; the rest are counted.
const ITEMS_PER_ROW: usize = 20;
/// Room kept for "and N more" notes.
const MORE_RESERVE: usize = 200;

/// What the two plans are called and how much context the diff shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions<'a> {
    /// Where plan A came from (a path, a bundle, an archive URI…).
    pub a_label: &'a str,
    pub b_label: &'a str,
    /// Lines of context around each change in the unified diff.
    pub context: usize,
    /// The short names of the two plans in the table, the labels and the diff's headers.
    pub sides: Sides,
}

/// The two plans' short names: `tfgate diff`'s two arbitrary plans are A and B; `apply`
/// compares the plan reviewed on the pull request with the plan made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    AB,
    ReviewedNow,
}

impl Sides {
    /// The name of plan A (`b` false) or plan B (`b` true) inside a sentence.
    pub fn name(self, b: bool) -> &'static str {
        match (self, b) {
            (Sides::AB, false) => "A",
            (Sides::AB, true) => "B",
            (Sides::ReviewedNow, false) => "reviewed",
            (Sides::ReviewedNow, true) => "now",
        }
    }

    /// The name heading a column or a label line.
    pub fn title(self, b: bool) -> &'static str {
        match (self, b) {
            (Sides::ReviewedNow, false) => "Reviewed",
            (Sides::ReviewedNow, true) => "Now",
            (sides, b) => sides.name(b),
        }
    }

    fn only_in(self, b: bool) -> &'static str {
        match (self, b) {
            (Sides::AB, false) => "only in A",
            (Sides::AB, true) => "only in B",
            (Sides::ReviewedNow, false) => "only in the reviewed plan",
            (Sides::ReviewedNow, true) => "only in the plan now",
        }
    }

    /// `what` of both plans: `actions: A x, B y`, `actions: reviewed x, now y`.
    fn pair(self, what: &str, a: &str, b: &str) -> String {
        format!("{what}: {} {a}, {} {b}", self.name(false), self.name(true))
    }
}

/// "The plans are identical." or "2 resources and 1 output differ.", plus how many differences
/// the ignore rules dropped.
pub fn headline(cmp: &Comparison) -> String {
    let mut out = if cmp.identical {
        "The plans are identical".to_string()
    } else {
        let (r, o) = (cmp.resources_differing(), cmp.outputs_differing());
        format!(
            "{r} resource{} and {o} output{} differ",
            plural(r),
            plural(o)
        )
    };
    if cmp.ignored > 0 {
        let _ = write!(
            out,
            " ({} difference{} ignored by --ignore rules)",
            cmp.ignored,
            plural(cmp.ignored)
        );
    }
    out.push('.');
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The unified diff of the two renderings (masked, clipped, control characters replaced), with
/// `--- A: label` / `+++ B: label` headers; empty when they do not differ.
pub fn unified_diff(cmp: &Comparison, opts: &ReportOptions<'_>, masker: &Masker) -> String {
    let text = |lines: &[String]| {
        let mut out = String::new();
        for line in lines {
            out.push_str(&clean_line(&md::clip(&masker.mask(line), LINE_CHARS)));
            out.push('\n');
        }
        out
    };
    let (a, b) = (text(&cmp.rendering.a), text(&cmp.rendering.b));
    if a == b {
        return String::new();
    }
    let mut out = similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(opts.context)
        .header(
            &format!(
                "{}: {}",
                opts.sides.name(false),
                label(opts.a_label, masker)
            ),
            &format!("{}: {}", opts.sides.name(true), label(opts.b_label, masker)),
        )
        .to_string();
    let omitted = cmp.rendering.omitted;
    if omitted > 0 {
        // Not a diff line (it starts with neither ` `, `+`, `-` nor `@`): a note for the reader.
        let _ = writeln!(
            out,
            "# … and {omitted} more resource{s} or output{s} that differ, not shown here",
            s = plural(omitted)
        );
    }
    out
}

/// `sha256:` and the first 12 hex digits, as the PR comment shows fingerprints.
fn short_fingerprint(fingerprint: &str) -> String {
    let (prefix, hex) = fingerprint.split_once(':').unwrap_or(("", fingerprint));
    let hex: String = hex.chars().take(12).collect();
    let prefix: String = prefix.chars().take(10).collect();
    clean_line(&if prefix.is_empty() {
        hex
    } else {
        format!("{prefix}:{hex}")
    })
}

fn label(text: &str, masker: &Masker) -> String {
    clean_line(&md::clip(&masker.mask(text), LABEL_CHARS))
}

/// The report for a terminal: headline, labels, table, unified diff. Colour only when
/// `table.color`; wrapped to `table.width` when given.
pub fn human(
    cmp: &Comparison,
    opts: &ReportOptions<'_>,
    masker: &Masker,
    table: &TableOptions,
) -> String {
    let mut out = format!(
        "{}\n{}: {}  ({})\n{}: {}  ({})\n",
        headline(cmp),
        opts.sides.name(false),
        label(opts.a_label, masker),
        short_fingerprint(&cmp.fingerprint_a),
        opts.sides.name(true),
        label(opts.b_label, masker),
        short_fingerprint(&cmp.fingerprint_b),
    );
    if cmp.differences.is_empty() {
        return out;
    }
    let code = |s: &str, max: usize| clean_line(&md::clip(&masker.mask(s), max));
    let mut t = new_table(table, opts.sides);
    for group in cmp.subjects() {
        let first = &group[0];
        let items = row_items(group, opts.sides, &code);
        t.add_row(vec![
            Cell::new(clean_line(&md::clip(
                &masker.mask(&subject(first)),
                ADDRESS_CHARS,
            ))),
            action_cell(first.action_a.as_deref(), masker, table.color),
            action_cell(first.action_b.as_deref(), masker, table.color),
            Cell::new(items.join("\n")),
        ]);
    }
    out.push('\n');
    out.push_str(&t.trim_fmt());
    out.push('\n');
    let diff = unified_diff(cmp, opts, masker);
    if !diff.is_empty() {
        out.push('\n');
        if table.color {
            for line in diff.lines() {
                out.push_str(&paint_diff_line(line));
                out.push('\n');
            }
        } else {
            out.push_str(&diff);
        }
    }
    out
}

fn new_table(opts: &TableOptions, sides: Sides) -> Table {
    let mut t = crate::render::table::styled_table(opts);
    crate::render::table::bold_header(
        &mut t,
        [
            "Resource",
            sides.title(false),
            sides.title(true),
            "What differs",
        ],
        opts.color,
    );
    t
}

fn action_cell(action: Option<&str>, masker: &Masker, color: bool) -> Cell {
    let text = action.map_or_else(
        || "—".to_string(),
        |a| clean_line(&md::clip(&masker.mask(a), ACTION_CHARS)),
    );
    let cell = Cell::new(&text);
    if !color {
        return cell;
    }
    let c = match action {
        Some("create") => Color::Green,
        Some("update") => Color::Yellow,
        Some("replace") => Color::Magenta,
        Some("delete") => Color::Red,
        Some("read" | "import" | "move") => Color::Cyan,
        _ => Color::DarkGrey,
    };
    cell.fg(c)
}

fn paint_diff_line(line: &str) -> String {
    let sgr = if line.starts_with("+++") || line.starts_with("---") {
        "1"
    } else if line.starts_with('+') {
        "32"
    } else if line.starts_with('-') {
        "31"
    } else if line.starts_with("@@") {
        "36"
    } else {
        return line.to_string();
    };
    format!("\x1b[{sgr}m{line}\x1b[0m")
}

/// The resource instance or output a group of differences is about.
fn subject(d: &Difference) -> String {
    match &d.deposed {
        Some(key) => format!("{} (deposed {key})", d.address),
        None => d.address.clone(),
    }
}

/// One difference in words. `code` shows a path or a value (masked, clipped to so many
/// characters and, in markdown, as a code span); everything else is fixed text that is safe in any context.
fn describe(d: &Difference, sides: Sides, code: &dyn Fn(&str, usize) -> String) -> String {
    let value = |v: &Value| code(&display_value(v), VALUE_CHARS);
    // Actions, moves and imports: `null` means "none" rather than a value.
    let fact = |v: &Value| match v {
        Value::Null => "(none)".to_string(),
        v => value(v),
    };
    let path = d.paths.first().map_or("", String::as_str);
    let facts = |what: &str| sides.pair(what, &fact(&d.a), &fact(&d.b));
    match d.kind {
        Kind::OnlyInA => sides.only_in(false).into(),
        Kind::OnlyInB => sides.only_in(true).into(),
        Kind::Actions => match path {
            field::PREVIOUS_ADDRESS => facts("moved from"),
            field::IMPORT_ID => facts("import id"),
            _ => facts("actions"),
        },
        Kind::ReplacePaths => facts("replace paths"),
        Kind::After | Kind::Before => values(d, sides, d.kind == Kind::After, Some(path), code),
        Kind::Output if path == field::ACTIONS => facts("actions"),
        Kind::Output => {
            let (after, rest) = match path.strip_prefix(field::AFTER) {
                Some(rest) => (true, rest),
                None => (false, path.strip_prefix(field::BEFORE).unwrap_or(path)),
            };
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            values(d, sides, after, Some(rest).filter(|r| !r.is_empty()), code)
        }
    }
}

fn values(
    d: &Difference,
    sides: Sides,
    after: bool,
    path: Option<&str>,
    code: &dyn Fn(&str, usize) -> String,
) -> String {
    // `apply`'s reader thinks of the value the object has and the value the plan sets.
    let which = match (sides, after) {
        (Sides::AB, true) => "after",
        (Sides::AB, false) => "before",
        (Sides::ReviewedNow, true) => "planned value",
        (Sides::ReviewedNow, false) => "current value",
    };
    let at = path.map_or(String::new(), |p| format!("{}: ", code(p, PATH_CHARS)));
    let (a, b) = (
        code(&display_value(&d.a), VALUE_CHARS),
        code(&display_value(&d.b), VALUE_CHARS),
    );
    // Values the comparison's masking made the same differ only in what it hides.
    let hidden = d.sensitive || display_value(&d.a) == display_value(&d.b);
    match sides {
        _ if hidden => format!("{at}sensitive value changed ({which})"),
        Sides::AB => format!("{at}{which} A {a}, B {b}"),
        Sides::ReviewedNow => format!("{at}{}", sides.pair(which, &a, &b)),
    }
}

/// The markdown report with the default context, in at most `max_bytes` bytes: what `apply`
/// puts in the PR comment and the step summary.
pub fn report_markdown(
    cmp: &Comparison,
    (a_label, b_label): (&str, &str),
    sides: Sides,
    masker: &Masker,
    max_bytes: usize,
) -> String {
    let opts = ReportOptions {
        a_label,
        b_label,
        context: DEFAULT_CONTEXT,
        sides,
    };
    markdown(cmp, &opts, masker, max_bytes)
}

fn table_head(sides: Sides) -> String {
    format!(
        "| Resource | {} | {} | What differs |\n| --- | --- | --- | --- |\n",
        sides.title(false),
        sides.title(true)
    )
}

/// The report as GitHub markdown in at most `max_bytes` bytes: a `####` headline, the two
/// labels, the table (rows while they fit, then a count of the rest) and the unified diff in a
/// collapsed `<details>` block (cut on a line boundary, with a note, when it does not fit).
pub fn markdown(
    cmp: &Comparison,
    opts: &ReportOptions<'_>,
    masker: &Masker,
    max_bytes: usize,
) -> String {
    let emoji = if cmp.identical { "✅" } else { "🔀" };
    let mut out = format!(
        "#### {emoji} {}\n\n- **{}:** {} ({})\n- **{}:** {} ({})\n",
        md::escape(&headline(cmp)),
        opts.sides.title(false),
        md::code(&md::clip(&masker.mask(opts.a_label), LABEL_CHARS)),
        md::code(&short_fingerprint(&cmp.fingerprint_a)),
        opts.sides.title(true),
        md::code(&md::clip(&masker.mask(opts.b_label), LABEL_CHARS)),
        md::code(&short_fingerprint(&cmp.fingerprint_b)),
    );
    if out.len() > max_bytes {
        return minimal(cmp, max_bytes);
    }
    if cmp.differences.is_empty() {
        return out;
    }
    let rows = table_rows(cmp, opts.sides, masker);
    let head = table_head(opts.sides);
    let diff = unified_diff(cmp, opts, masker);
    let diff_full = details_len(&diff);
    let table_full = 1 + head.len() + rows.iter().map(String::len).sum::<usize>();
    let room = max_bytes - out.len();
    // The table comes first; the diff gets what is left, but at least a third when cut.
    let table_budget = if table_full + 1 + diff_full <= room {
        table_full
    } else {
        table_full.min(room - diff_full.min(room / 3))
    };
    out.push_str(&table(&head, &rows, table_budget));
    if !diff.is_empty() {
        let block = diff_details(&diff, max_bytes.saturating_sub(out.len() + 1));
        if !block.is_empty() {
            out.push('\n');
            out.push_str(&block);
        }
    }
    if out.len() > max_bytes {
        // Unreachable by the budgets above; kept so that the limit holds even if they are
        // mis-set.
        return minimal(cmp, max_bytes);
    }
    out
}

/// A plain one-line verdict when even the headline does not fit; empty when that does not fit
/// either (a line is never cut).
fn minimal(cmp: &Comparison, max_bytes: usize) -> String {
    let text = if cmp.identical {
        "The plans are identical.\n"
    } else {
        "The plans differ.\n"
    };
    if text.len() <= max_bytes {
        text.to_string()
    } else {
        String::new()
    }
}

/// What one subject's row lists: its first `ITEMS_PER_ROW` differences, then how many more.
fn row_items(
    group: &[Difference],
    sides: Sides,
    code: &dyn Fn(&str, usize) -> String,
) -> Vec<String> {
    let mut items: Vec<String> = group
        .iter()
        .take(ITEMS_PER_ROW)
        .map(|d| describe(d, sides, code))
        .collect();
    if group.len() > ITEMS_PER_ROW {
        items.push(format!("… and {} more", group.len() - ITEMS_PER_ROW));
    }
    items
}

fn table_rows(cmp: &Comparison, sides: Sides, masker: &Masker) -> Vec<String> {
    let code = |s: &str, max: usize| md::code_in_table(&md::clip(&masker.mask(s), max));
    let action = |a: Option<&str>| {
        a.map_or_else(
            || "—".to_string(),
            |a| md::escape(&md::clip(&masker.mask(a), ACTION_CHARS)),
        )
    };
    cmp.subjects()
        .map(|group| {
            let first = &group[0];
            let items = row_items(group, sides, &code);
            format!(
                "| {} | {} | {} | {} |\n",
                md::code_in_table(&md::clip(&masker.mask(&subject(first)), ADDRESS_CHARS)),
                action(first.action_a.as_deref()),
                action(first.action_b.as_deref()),
                items.join("<br>")
            )
        })
        .collect()
}

/// A blank line, the table's head and as many rows as fit in `budget` bytes, then a count of
/// the rows left out (alone when no row fits).
fn table(table_head: &str, rows: &[String], budget: usize) -> String {
    let mut body = String::new();
    let head = 1 + table_head.len();
    let all_fit = head + rows.iter().map(String::len).sum::<usize>() <= budget;
    let mut shown = 0;
    for row in rows {
        let reserve = if all_fit { 0 } else { MORE_RESERVE };
        if head + body.len() + row.len() + reserve > budget {
            break;
        }
        body.push_str(row);
        shown += 1;
    }
    let mut out = if shown > 0 {
        format!("\n{table_head}{body}")
    } else {
        String::new()
    };
    if shown < rows.len() {
        let rest = rows.len() - shown;
        let note = format!(
            "\n… and {rest} more resource{s} or output{s} (see `tfgate diff --format json`).\n",
            s = plural(rest),
        );
        if out.len() + note.len() <= budget {
            out.push_str(&note);
        }
    }
    out
}

const DIFF_SUMMARY: &str = "Unified diff of the two plans (redacted)";

/// The size of the whole diff in its `<details>` block.
fn details_len(diff: &str) -> usize {
    if diff.is_empty() {
        return 0;
    }
    let run = md::lines(diff)
        .map(md::leading_backtick_run)
        .max()
        .unwrap_or(0);
    let fence = md::fence_of_len(run).len();
    md::details_open(DIFF_SUMMARY).len()
        + fence
        + "diff\n".len()
        + diff.len()
        + fence
        + 1
        + md::DETAILS_CLOSE.len()
}

/// The diff in a collapsed block with a `diff` fence, in at most `budget` bytes: lines while
/// they fit, then a note saying how many were left out. Empty when not even one line fits.
fn diff_details(diff: &str, budget: usize) -> String {
    let total = md::lines(diff).count();
    let open = md::details_open(DIFF_SUMMARY);
    let frame = open.len() + "diff\n".len() + 1 + md::DETAILS_CLOSE.len();
    let note_reserve = if details_len(diff) <= budget {
        0
    } else {
        MORE_RESERVE
    };
    let mut body = String::new();
    let mut run = 0;
    let mut shown = 0;
    for line in md::lines(diff) {
        let new_run = run.max(md::leading_backtick_run(line));
        let fence = md::fence_of_len(new_run).len();
        if frame + 2 * fence + body.len() + line.len() + 1 + note_reserve > budget {
            break;
        }
        body.push_str(line);
        body.push('\n');
        run = new_run;
        shown += 1;
    }
    if shown == 0 {
        return String::new();
    }
    let fence = md::fence_of_len(run);
    let mut out = open;
    let _ = write!(out, "{fence}diff\n{body}{fence}\n");
    if shown < total {
        let _ = writeln!(
            out,
            "\nDiff truncated: showing {shown} of {total} lines; run `tfgate diff` on the two \
             plans for all of it."
        );
    }
    out.push_str(md::DETAILS_CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::compare::compare_texts;
    use crate::plan::redact::secrets_of_plan;
    use crate::render::testing::outside_code_spans;
    use crate::terraform::plan_json::parse;

    const CHANGES: &str = include_str!("../../tests/data/plans/changes.json");

    const PLAIN: TableOptions = TableOptions {
        color: false,
        width: None,
    };

    fn opts() -> ReportOptions<'static> {
        ReportOptions {
            a_label: "reviewed/plan.json",
            b_label: "now/plan.json",
            context: DEFAULT_CONTEXT,
            sides: Sides::AB,
        }
    }

    /// The `changes` plan against a later one: another image, another migration, another flag.
    fn realistic() -> Comparison {
        let b = CHANGES
            .replace("app:1.5.0", "app:1.6.0")
            .replace("migrate up to v42", "migrate up to v43")
            .replace(r#""new_checkout":true"#, r#""new_checkout":false"#);
        compare_texts(CHANGES, &b, &[], &Masker::default())
    }

    /// Every fence closed, every `<details>` closed, every table row as wide as its head.
    fn assert_valid_markdown(text: &str) {
        let mut fence: Option<usize> = None;
        let mut details = 0i32;
        let mut width: Option<usize> = None;
        for line in md::lines(text) {
            let run = md::leading_backtick_run(line);
            if let Some(open) = fence {
                if run >= open && line.trim().trim_start_matches('`').is_empty() {
                    fence = None;
                }
                continue;
            }
            if run >= 3 {
                fence = Some(run);
                width = None;
                continue;
            }
            if line.starts_with("<details>") {
                details += 1;
            }
            if line.starts_with("</details>") {
                details -= 1;
                assert!(details >= 0, "</details> without <details>:\n{text}");
            }
            if line.starts_with('|') {
                let cells = table_cells(line);
                match width {
                    None => width = Some(cells),
                    Some(w) => assert_eq!(cells, w, "row {line:?} in\n{text}"),
                }
            } else {
                width = None;
            }
        }
        assert!(fence.is_none(), "unclosed fence:\n{text}");
        assert_eq!(details, 0, "unbalanced <details>:\n{text}");
    }

    /// The text with fenced blocks and code spans (which never span lines here) removed.
    fn without_code(text: &str) -> String {
        let mut out = String::new();
        let mut fence: Option<usize> = None;
        for line in md::lines(text) {
            let run = md::leading_backtick_run(line);
            match fence {
                Some(open) if run >= open && line.trim().trim_start_matches('`').is_empty() => {
                    fence = None;
                    continue;
                }
                Some(_) => continue,
                None if run >= 3 => {
                    fence = Some(run);
                    continue;
                }
                None => {}
            }
            out.push_str(&outside_code_spans(line));
            out.push('\n');
        }
        out
    }

    fn table_cells(line: &str) -> usize {
        let mut pipes = 0;
        let mut escaped = false;
        for c in line.chars() {
            if c == '|' && !escaped {
                pipes += 1;
            }
            escaped = c == '\\' && !escaped;
        }
        pipes - 1
    }

    #[test]
    fn headlines() {
        let mut c = realistic();
        assert_eq!(headline(&c), "3 resources and 1 output differ.");
        c.ignored = 2;
        assert_eq!(
            headline(&c),
            "3 resources and 1 output differ (2 differences ignored by --ignore rules)."
        );
        let same = compare_texts(CHANGES, CHANGES, &[], &Masker::default());
        assert_eq!(headline(&same), "The plans are identical.");
    }

    #[test]
    fn human_report() {
        let out = human(&realistic(), &opts(), &Masker::default(), &PLAIN);
        assert!(!out.contains('\u{1b}'));
        insta::assert_snapshot!(out);
        let coloured = TableOptions {
            color: true,
            width: None,
        };
        let out = human(&realistic(), &opts(), &Masker::default(), &coloured);
        assert!(out.contains("\u{1b}[32m+"), "{out}");
    }

    #[test]
    fn markdown_report() {
        let out = markdown(&realistic(), &opts(), &Masker::default(), 60_000);
        assert_valid_markdown(&out);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn identical_plans_report_in_one_line_and_labels() {
        let same = compare_texts(CHANGES, CHANGES, &[], &Masker::default());
        let out = human(&same, &opts(), &Masker::default(), &PLAIN);
        assert!(
            out.starts_with("The plans are identical.\nA: reviewed/plan.json  (sha256:"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 3);
        let out = report_markdown(&same, ("a", "b"), Sides::AB, &Masker::default(), 60_000);
        assert!(out.starts_with("#### ✅ The plans are identical."), "{out}");
        assert!(!out.contains('|'));
    }

    #[test]
    fn apply_names_the_plans_reviewed_and_now() {
        let o = ReportOptions {
            sides: Sides::ReviewedNow,
            ..opts()
        };
        let md = markdown(&realistic(), &o, &Masker::default(), 60_000);
        assert_valid_markdown(&md);
        assert!(
            md.contains("- **Reviewed:** `reviewed/plan.json`")
                && md.contains("- **Now:** `now/plan.json`")
                && md.contains("| Resource | Reviewed | Now | What differs |")
                && md.contains("`input.image`: planned value: reviewed `\"registry.example.com/app:1.5.0\"`, now `\"registry.example.com/app:1.6.0\"`")
                && md.contains("--- reviewed: reviewed/plan.json\n+++ now: now/plan.json"),
            "{md}"
        );
        let human = human(&realistic(), &o, &Masker::default(), &PLAIN);
        for text in [&md, &human] {
            for ab in [" A ", " B ", "A:", "B:", "| A |", "only in A"] {
                assert!(!text.contains(ab), "{ab:?} in {text}");
            }
        }
        assert!(
            human.contains("\nreviewed: reviewed/plan.json  (sha256:"),
            "{human}"
        );
    }

    #[test]
    fn context_lines_are_configurable() {
        let c = realistic();
        let lines = |context| {
            let o = ReportOptions { context, ..opts() };
            unified_diff(&c, &o, &Masker::default()).lines().count()
        };
        assert!(
            lines(0) < lines(3) && lines(3) <= lines(10),
            "{} {} {}",
            lines(0),
            lines(3),
            lines(10)
        );
        let zero = unified_diff(
            &c,
            &ReportOptions {
                context: 0,
                ..opts()
            },
            &Masker::default(),
        );
        assert!(
            zero.lines().skip(2).all(|l| l.starts_with(['+', '-', '@'])),
            "{zero}"
        );
    }

    /// A comparison full of text that could break markdown or a terminal.
    fn hostile() -> Comparison {
        let evil = "x`y``z ```` </details> <script>alert(1)</script> | pipe \\| [l](u) *e* \r\n```\nnext\u{1b}[2J";
        let resources: Vec<Value> = (0..40)
            .map(|i| {
                serde_json::json!({
                    "address": format!("terraform_data.t[\"{i}`|</details>\"]"),
                    "change": {"actions": ["update"],
                        "before": {"input": {"v": evil, "n": i}},
                        "after": {"input": {"v": format!("{evil}{i}"), "n": i}},
                        "after_unknown": {}}
                })
            })
            .collect();
        let plan = |rs: &[Value]| {
            serde_json::json!({"format_version": "1.2", "resource_changes": rs}).to_string()
        };
        let mut changed = resources.clone();
        for r in &mut changed {
            let v = r["change"]["after"]["input"]["v"]
                .as_str()
                .unwrap()
                .to_string();
            r["change"]["after"]["input"]["v"] = Value::String(format!("{v}!\n```"));
        }
        compare_texts(&plan(&resources), &plan(&changed), &[], &Masker::default())
    }

    #[test]
    fn markdown_stays_within_any_budget_and_balanced() {
        for c in [realistic(), hostile()] {
            let full = markdown(&c, &opts(), &Masker::default(), usize::MAX);
            assert_valid_markdown(&full);
            let mut sizes: Vec<usize> = (0..400).step_by(7).collect();
            sizes.extend((400..full.len() + 50).step_by(97));
            for max in sizes {
                let out = markdown(&c, &opts(), &Masker::default(), max);
                assert!(out.len() <= max, "{} > {max}", out.len());
                assert!(out.is_empty() || out.ends_with('\n'), "{out:?}");
                assert_valid_markdown(&out);
                if max >= full.len() {
                    assert_eq!(out, full);
                }
            }
            let cut = markdown(&c, &opts(), &Masker::default(), full.len() / 2);
            assert!(
                cut.contains("… and") || cut.contains("Diff truncated"),
                "{cut}"
            );
        }
    }

    #[test]
    fn hostile_text_cannot_escape() {
        let c = hostile();
        let out = markdown(&c, &opts(), &Masker::default(), 60_000);
        assert_valid_markdown(&out);
        // Outside code spans and fences (where everything is literal) no tag survives.
        let outside = without_code(&out);
        assert!(!outside.contains("<script>"), "{outside}");
        assert_eq!(outside.matches("<details>").count(), 1, "{outside}");
        assert_eq!(outside.matches("</details>").count(), 1, "{outside}");
        let out = human(&c, &opts(), &Masker::default(), &PLAIN);
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    }

    #[test]
    fn secrets_never_reach_the_report() {
        let sensitive = include_str!("../../tests/data/plans/sensitive.json");
        let other = sensitive.replace("S3CRET-db-password-7f3a", "S3CRET-db-password-NEW-0000");
        let mut masker = Masker::default();
        for text in [sensitive, other.as_str()] {
            masker.add_literals(secrets_of_plan(&parse(text.as_bytes()).unwrap()).unwrap());
        }
        let c = compare_texts(sensitive, &other, &[], &masker);
        assert!(!c.identical);
        assert!(
            c.differences.iter().all(|d| d.sensitive),
            "{:#?}",
            c.differences
        );
        let outputs = [
            human(&c, &opts(), &masker, &PLAIN),
            markdown(&c, &opts(), &masker, 60_000),
            serde_json::to_string(&c).unwrap(),
        ];
        for out in &outputs {
            for s in [
                "S3CRET-db-password-7f3a",
                "S3CRET-db-password-NEW-0000",
                "S3CRET-db-password-old-4d21",
            ] {
                assert!(!out.contains(s), "{s} leaked:\n{out}");
            }
        }
        assert!(
            outputs[0].contains("sensitive value changed"),
            "{}",
            outputs[0]
        );
        assert!(
            outputs[1].contains("sensitive value changed"),
            "{}",
            outputs[1]
        );
    }
}

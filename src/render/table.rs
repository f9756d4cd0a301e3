//! The plan summary for a terminal: a headline, then tables of resources, output changes, failed
//! checks and changes outside Terraform, drawn by comfy-table.
//!
//! Colour comes only from comfy-table's cell styling and only when asked for; the terminal's
//! width is never queried (the caller passes it), so the output depends on the arguments alone.
//! Text from the plan is masked, and control characters (which could move the cursor or hide
//! text in a terminal) are replaced. Writing the string is the caller's job (`ui.rs`).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};

use crate::plan::redact::Masker;
use crate::plan::summary::{
    Action, ChangedAttribute, CheckSummary, Drift, ResourceSummary, Summary,
};
use crate::render::attributes;
use crate::render::comment::counts_phrase;

/// How to draw the tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// ANSI colours and bold headers.
    pub color: bool,
    /// Wrap columns to fit this many terminal columns; `None` never wraps.
    pub width: Option<u16>,
}

/// The summary as terminal text, ending in a newline.
pub fn summary_table(summary: &Summary, masker: &Masker, opts: &TableOptions) -> String {
    let mut out = String::new();
    let phrase = counts_phrase(summary);
    if summary.has_changes {
        out.push_str(&format!("Plan: {phrase}.\n"));
    } else {
        out.push_str("No changes.\n");
    }
    if summary.errored {
        out.push_str(
            "Terraform reported errors while planning: this plan is incomplete and cannot be \
             applied.\n",
        );
    }

    if !summary.resources.is_empty() {
        let mut t = new_table(opts, ["Action", "Resource", "Details"]);
        for r in &summary.resources {
            t.add_row(vec![
                action_cell(label(r), r.action, opts),
                Cell::new(clean(&masker.mask(&r.address), false)),
                Cell::new(details(r, masker)),
            ]);
        }
        push_table(&mut out, None, &t);
    }

    if !summary.outputs.is_empty() {
        let mut t = new_table(opts, ["Output", "Action"]);
        for o in &summary.outputs {
            let action = if o.sensitive {
                format!("{} (sensitive)", o.action.as_str())
            } else {
                o.action.as_str().to_string()
            };
            t.add_row(vec![
                Cell::new(clean(&masker.mask(&o.name), false)),
                action_cell(action, o.action, opts),
            ]);
        }
        push_table(&mut out, Some("Output changes"), &t);
    }

    for (title, checks) in [
        ("Failed checks", &summary.checks.failed),
        ("Checks that could not be evaluated", &summary.checks.errors),
    ] {
        if !checks.is_empty() {
            push_table(&mut out, Some(title), &checks_table(checks, masker, opts));
        }
    }

    push_drift(&mut out, &summary.drift, masker, opts);
    out
}

/// The objects changed outside Terraform: a table of those this plan depends on, and a count of
/// the others.
fn push_drift(out: &mut String, drift: &Drift, masker: &Masker, opts: &TableOptions) {
    if !drift.relevant.is_empty() {
        let mut t = new_table(opts, ["Resource", "Change", "Attributes"]);
        for d in &drift.relevant {
            let attributes: Vec<String> = d
                .attributes
                .iter()
                .map(|a| clean(&masker.mask(a), false))
                .collect();
            t.add_row(vec![
                Cell::new(clean(&masker.mask(&d.address), false)),
                action_cell(d.action.as_str(), d.action, opts),
                Cell::new(attributes.join("\n")),
            ]);
        }
        push_table(
            out,
            Some("Changes outside Terraform that this plan depends on"),
            &t,
        );
    }
    if drift.other > 0 {
        out.push_str(&format!(
            "\n{} other object{} changed outside Terraform; {} not affect this plan.\n",
            drift.other,
            if drift.other == 1 { "" } else { "s" },
            if drift.other == 1 {
                "it does"
            } else {
                "they do"
            }
        ));
    }
}

fn new_table<const N: usize>(opts: &TableOptions, header: [&str; N]) -> Table {
    let mut t = styled_table(opts);
    bold_header(&mut t, header, opts.color);
    t
}

/// A table in tfgate's style: rounded UTF-8 borders, colour only when asked, wrapped to
/// `opts.width` when given. It never asks the terminal anything, so output depends on the data
/// and the options alone (and snapshots hold).
pub(crate) fn styled_table(opts: &TableOptions) -> Table {
    let mut t = Table::new();
    t.force_no_tty();
    t.load_style(UTF8_FULL_CONDENSED.with_rounded_corners());
    if opts.color {
        t.enforce_styling();
    }
    match opts.width {
        Some(w) => {
            t.set_width(w)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// Sets the header row, bold when colour is on.
pub(crate) fn bold_header<'h>(
    t: &mut Table,
    header: impl IntoIterator<Item = &'h str>,
    color: bool,
) {
    t.set_header(header.into_iter().map(|h| {
        let cell = Cell::new(h);
        if color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
}

fn push_table(out: &mut String, title: Option<&str>, table: &Table) {
    out.push('\n');
    if let Some(title) = title {
        out.push_str(title);
        out.push('\n');
    }
    out.push_str(&table.trim_fmt());
    out.push('\n');
}

fn checks_table(checks: &[CheckSummary], masker: &Masker, opts: &TableOptions) -> Table {
    let mut t = new_table(opts, ["Check", "Messages"]);
    for c in checks {
        let messages: Vec<String> = c
            .messages
            .iter()
            .map(|m| clean(&masker.mask(m), true))
            .collect();
        t.add_row(vec![
            Cell::new(clean(&masker.mask(&c.address), false)),
            Cell::new(messages.join("\n")),
        ]);
    }
    t
}

fn label(r: &ResourceSummary) -> &'static str {
    match r.action {
        Action::NoOp if r.is_import() => "import",
        Action::NoOp if r.previous_address.is_some() => "move",
        a => a.as_str(),
    }
}

fn action_cell(text: impl ToString, action: Action, opts: &TableOptions) -> Cell {
    let cell = Cell::new(text);
    if !opts.color {
        return cell;
    }
    let color = match action {
        Action::Create => Color::Green,
        Action::Update => Color::Yellow,
        Action::Replace => Color::Magenta,
        Action::Delete => Color::Red,
        Action::Forget => Color::DarkGrey,
        Action::Read => Color::Cyan,
        Action::NoOp => Color::Blue,
    };
    cell.fg(color)
}

fn details(r: &ResourceSummary, masker: &Masker) -> String {
    let text = |s: &str| clean(&masker.mask(s), false);
    let mut parts = attributes::facts(r, text, text, text);
    let (listed, more) = attributes::listed(&r.changed_attributes);
    parts.extend(listed.iter().map(|a| attribute(a, masker)));
    if more > 0 {
        parts.push(format!("+{more} more"));
    }
    parts.join("\n")
}

/// One changed attribute on a line of its own: `input.size: "small" → "large"`.
fn attribute(a: &ChangedAttribute, masker: &Masker) -> String {
    let path = clean(&masker.mask(&a.path), false);
    attributes::in_words(a, attributes::shown(a, masker), path, |v| clean(v, false))
}

/// One line of text safe to show in a terminal (`clean(text, false)`): what every renderer
/// calls on a value someone else wrote (a plan's addresses, a lock's holder, a bundle's fields).
pub fn clean_line(text: &str) -> String {
    clean(text, false)
}

/// Text safe to show in a terminal: control characters (escape sequences, carriage returns,
/// backspaces) and bidirectional overrides become U+FFFD, tabs become spaces, and line breaks
/// are kept only when `multiline`.
pub(crate) fn clean(text: &str, multiline: bool) -> String {
    text.chars()
        .map(|c| match c {
            '\n' if multiline => '\n',
            '\n' | '\t' => ' ',
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::comment::tests::{empty_summary, kitchen_sink};

    const PLAIN: TableOptions = TableOptions {
        color: false,
        width: None,
    };

    #[test]
    fn table_without_colour() {
        let out = summary_table(&kitchen_sink(), &Masker::default(), &PLAIN);
        assert!(!out.contains('\u{1b}'));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn no_changes() {
        assert_eq!(
            summary_table(&empty_summary(), &Masker::default(), &PLAIN),
            "No changes.\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let opts = TableOptions {
            color: true,
            width: None,
        };
        let out = summary_table(&kitchen_sink(), &Masker::default(), &opts);
        assert!(out.contains("\u{1b}["), "{out:?}");
    }

    #[test]
    fn width_is_respected() {
        let opts = TableOptions {
            color: false,
            width: Some(60),
        };
        let out = summary_table(&kitchen_sink(), &Masker::default(), &opts);
        for line in out
            .lines()
            .filter(|l| l.starts_with(['│', '╭', '╰', '├', '╞']))
        {
            assert!(line.chars().count() <= 60, "{line}");
        }
    }

    #[test]
    fn plan_text_cannot_drive_the_terminal() {
        let mut s = kitchen_sink();
        s.resources[0].address = "evil\u{1b}[2J\u{1b}]0;title\u{7}\r\u{202E}txt".to_string();
        s.checks.failed[0].messages = vec!["two\nlines\u{1b}[31m".to_string()];
        let out = summary_table(&s, &Masker::default(), &PLAIN);
        assert!(!out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{202E}'));
        assert!(out.contains("two"));
    }

    #[test]
    fn secrets_are_masked() {
        let mut masker = Masker::default();
        masker.add_literals(["hunter22-secret".to_string()]);
        let mut s = kitchen_sink();
        s.resources[0].address = "x.hunter22-secret".to_string();
        s.checks.failed[0].messages = vec!["hunter22-secret".to_string()];
        let out = summary_table(&s, &masker, &PLAIN);
        assert!(!out.contains("hunter22"));
    }
}

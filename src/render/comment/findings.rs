//! The comment's "Checks" section: what the code checkers (tflint, checkov, … through their
//! SARIF files, `sarif::Report`) found. A table of findings per tool and level, the most severe
//! findings with `file:line` links to the pull request's head, the suppressed rule ids, the
//! files that could not be read, and, with `--fail-on-checks`, whether the findings fail the
//! plan.
//!
//! Everything from SARIF is untrusted: tool names and rule ids are code spans, messages escaped
//! text, paths link text; all of it masked and clipped. The section has a byte budget, and
//! each of its parts a share of it, so it never crowds out the plan.

use std::fmt::Write as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::sections::push_within;
use super::{ID_CHARS, URI_CHARS, code_of, plural, text_of};
use crate::plan::redact::Masker;
use crate::render::markdown as md;
use crate::sarif::{Finding, Level, Report};

/// The whole section's bytes, at most: its head, then each part's share below. With the other
/// sections' budgets (`sections`), the plan text still gets at least ~10 kB.
pub(super) const CHECKS_BUDGET: usize = 6_000;
const TOOLS_BUDGET: usize = 1_500;
const FINDINGS_BUDGET: usize = 2_800;
const SUPPRESSED_BUDGET: usize = 600;
const UNREADABLE_BUDGET: usize = 800;

const TOOL_ROWS: usize = 15;
const FINDING_ROWS: usize = 10;
const SUPPRESSED_IDS: usize = 30;
const UNREADABLE_ITEMS: usize = 5;

const TOOL_CHARS: usize = 60;
const PATH_CHARS: usize = 120;
const FINDING_MESSAGE_CHARS: usize = 200;
const SUPPRESSED_ID_CHARS: usize = 80;
const FILE_CHARS: usize = 120;
const REASON_CHARS: usize = 100;

/// Room kept in each part for its "and N more" line.
const MORE_RESERVE: usize = 80;

/// What the section is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct ChecksInput<'a> {
    pub report: &'a Report,
    /// `SERVER/OWNER/REPO/blob/HEAD_SHA`: where the pull request's files are shown; `None`: no
    /// links.
    pub blob_base: Option<&'a str>,
    /// `--fail-on-checks`: findings at or above this level fail the plan.
    pub fail_on: Option<Level>,
}

/// A path segment in a URL: everything but unreserved characters is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The "Checks" section, at most `CHECKS_BUDGET` bytes, ending in a newline.
pub(super) fn checks_section(input: &ChecksInput<'_>, masker: &Masker) -> String {
    let report = input.report;
    let mut out = String::from("#### Checks\n\n");
    out.push_str(&headline(report));
    if let Some(level) = input.fail_on {
        let n = report.at_or_above(level);
        if n > 0 {
            let _ = write!(
                out,
                "\n> [!CAUTION]\n> {n} finding{} at or above `{}` fail{} this plan \
                 (`--fail-on-checks {}`).\n",
                plural(n),
                level.as_str(),
                if n == 1 { "s" } else { "" },
                level.as_str()
            );
        }
    }
    if !report.tools.is_empty() {
        out.push('\n');
        out.push_str(&tools_table(report, masker));
    }
    if !report.findings.is_empty() {
        out.push('\n');
        out.push_str(&findings_table(report, input.blob_base, masker));
    }
    if !report.suppressed.is_empty() {
        out.push('\n');
        out.push_str(&suppressed_line(report, masker));
    }
    if !report.unreadable.is_empty() {
        out.push('\n');
        out.push_str(&unreadable_note(report, masker));
    }
    if out.len() > CHECKS_BUDGET {
        // Unreachable by the parts' budgets; kept so the section's limit holds if they change.
        return format!("#### Checks\n\n{}", headline(report));
    }
    out
}

/// "5 findings from 3 tools (1 error, 4 warnings); 2 suppressed."
fn headline(report: &Report) -> String {
    let total = report.findings.len();
    let tools = report.tools.len();
    let mut by_level = Vec::new();
    for level in Level::ALL {
        let n = report.findings.iter().filter(|f| f.level == level).count();
        if n > 0 {
            by_level.push(format!("{n} {}", level_noun(level, n)));
        }
    }
    let suppressed: usize = report.tools.iter().map(|t| t.suppressed).sum();
    let mut line = match (total, tools) {
        (_, 0) => "No findings were read.".to_string(),
        (0, _) => format!("No findings from {tools} tool{}", plural(tools)),
        _ => format!(
            "{total} finding{} from {tools} tool{} ({})",
            plural(total),
            plural(tools),
            by_level.join(", ")
        ),
    };
    if tools > 0 {
        if suppressed > 0 {
            let _ = write!(line, "; {suppressed} suppressed");
        }
        line.push('.');
    }
    line.push('\n');
    line
}

fn level_noun(level: Level, n: usize) -> String {
    match level {
        Level::None => "without a level".to_string(),
        other => format!("{}{}", other.as_str(), plural(n)),
    }
}

fn level_label(level: Level) -> &'static str {
    match level {
        Level::Error => "🔴 error",
        Level::Warning => "🟡 warning",
        Level::Note => "🔵 note",
        Level::None => "⚪ none",
    }
}

fn tools_table(report: &Report, masker: &Masker) -> String {
    let mut out = String::from(
        "| Tool | Errors | Warnings | Notes | None | Suppressed |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let rows = report.tools.iter().map(|t| {
        let mut row = format!("| {} |", code_of(&t.tool, TOOL_CHARS, masker, true));
        for level in Level::ALL {
            let _ = write!(row, " {} |", t.count(level));
        }
        let _ = writeln!(row, " {} |", t.suppressed);
        row
    });
    let total = report.tools.len();
    let shown = push_within(&mut out, rows, TOOLS_BUDGET - MORE_RESERVE, TOOL_ROWS);
    if shown < total {
        let _ = writeln!(out, "\n… and {} more tools.", total - shown);
    }
    out
}

fn findings_table(report: &Report, blob_base: Option<&str>, masker: &Masker) -> String {
    let total = report.findings.len();
    let mut out = format!(
        "{}:\n\n| Level | Tool | Rule | Where | Message |\n| --- | --- | --- | --- | --- |\n",
        if total > FINDING_ROWS {
            "The most severe findings"
        } else {
            "Findings"
        }
    );
    let rows = report.findings.iter().map(|f| {
        format!(
            "| {} | {} | {} | {} | {} |\n",
            level_label(f.level),
            code_of(&f.tool, TOOL_CHARS, masker, true),
            f.rule
                .as_deref()
                .map_or_else(|| "—".to_string(), |r| code_of(r, ID_CHARS, masker, true)),
            place(f, blob_base, masker),
            message(&f.message, masker)
        )
    });
    let shown = push_within(&mut out, rows, FINDINGS_BUDGET - MORE_RESERVE, FINDING_ROWS);
    if shown < total {
        let rest = total - shown;
        let _ = writeln!(
            out,
            "\n… and {rest} more finding{} (see each tool's own report).",
            plural(rest)
        );
    }
    out
}

/// A finding's message as text, masked, clipped and escaped, with its web addresses defanged:
/// GitHub makes `https://…` and `www.…` in text into links, and a tool's message must not
/// carry one (a zero-width space after `:` or `www` reads the same and links nowhere).
fn message(text: &str, masker: &Masker) -> String {
    let masked = masker.mask(text);
    let mut defanged = String::with_capacity(masked.len());
    let mut rest = masked.as_ref();
    while let Some(at) = rest.find("://").into_iter().chain(find_www(rest)).min() {
        let cut = if rest[at..].starts_with("://") {
            at + 1
        } else {
            at + 3
        };
        defanged.push_str(&rest[..cut]);
        defanged.push('\u{200B}');
        rest = &rest[cut..];
    }
    defanged.push_str(rest);
    md::escape(&md::clip(&defanged, FINDING_MESSAGE_CHARS))
}

/// Where `www.` starts (any case).
fn find_www(text: &str) -> Option<usize> {
    text.as_bytes()
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b"www."))
}

/// `path:line`: a link to the line at the pull request's head when the file is in the
/// repository and the head is known; the path as text otherwise.
fn place(f: &Finding, blob_base: Option<&str>, masker: &Masker) -> String {
    let Some(loc) = &f.location else {
        return "—".to_string();
    };
    let shown = match loc.line {
        Some(line) => format!("{}:{line}", md::clip(&loc.shown, PATH_CHARS)),
        None => md::clip(&loc.shown, PATH_CHARS).into_owned(),
    };
    let url = match (&loc.file, blob_base) {
        (Some(file), Some(base)) => {
            let path: Vec<String> = file
                .split('/')
                .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
                .collect();
            let mut url = format!("{}/{}", base.trim_end_matches('/'), path.join("/"));
            if let Some(line) = loc.line {
                let _ = write!(url, "#L{line}");
            }
            Some(url)
        }
        _ => None,
    };
    match url {
        Some(url) if url.chars().count() <= URI_CHARS && masker.mask(&url) == url => {
            md::link(&masker.mask(&shown), &url)
        }
        _ => code_of(&shown, PATH_CHARS + 24, masker, true),
    }
}

/// "Suppressed: `CKV_AWS_144`, `CKV_AWS_18` (`checkov`)."
fn suppressed_line(report: &Report, masker: &Masker) -> String {
    let head = "Suppressed: ";
    let total: usize = report.suppressed.iter().map(|(_, ids)| ids.len()).sum();
    let budget = SUPPRESSED_BUDGET - MORE_RESERVE;
    let mut groups: Vec<String> = Vec::new();
    let mut shown = 0;
    'tools: for (tool, ids) in &report.suppressed {
        let tail = format!(" ({})", code_of(tool, TOOL_CHARS, masker, false));
        let mut group: Vec<String> = Vec::new();
        for id in ids {
            group.push(code_of(id, SUPPRESSED_ID_CHARS, masker, false));
            let candidate = format!("{}{tail}", group.join(", "));
            let used = head.len() + groups.iter().map(|g| g.len() + 2).sum::<usize>();
            if shown >= SUPPRESSED_IDS || used + candidate.len() > budget {
                group.pop();
                if !group.is_empty() {
                    groups.push(format!("{}{tail}", group.join(", ")));
                }
                break 'tools;
            }
            shown += 1;
        }
        groups.push(format!("{}{tail}", group.join(", ")));
    }
    let mut out = if groups.is_empty() {
        format!(
            "{head}{total} rule{} (see each tool's own report)",
            plural(total)
        )
    } else {
        format!("{head}{}", groups.join("; "))
    };
    if shown < total && !groups.is_empty() {
        let _ = write!(out, "; … and {} more", total - shown);
    }
    out.push_str(".\n");
    out
}

fn unreadable_note(report: &Report, masker: &Masker) -> String {
    let total = report.unreadable.len();
    let mut out = format!(
        "> [!WARNING]\n> {} SARIF file{} could not be read:\n",
        total,
        plural(total)
    );
    let items = report.unreadable.iter().map(|u| {
        format!(
            "> - {}: {}\n",
            code_of(&u.file, FILE_CHARS, masker, false),
            text_of(&u.reason, REASON_CHARS, masker)
        )
    });
    let shown = push_within(
        &mut out,
        items,
        UNREADABLE_BUDGET - MORE_RESERVE,
        UNREADABLE_ITEMS,
    );
    if shown < total {
        let _ = writeln!(out, "> - … and {} more", total - shown);
    }
    out
}

#[cfg(test)]
mod tests;

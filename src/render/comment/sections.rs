//! The sections of the comment under its headline: the incomplete-plan warnings, the
//! destruction warning, the resource table (`resources`), changes outside Terraform, output
//! changes and checks. Each has a byte budget and an item limit, and ends with an "and N more"
//! line when it is cut; what it shows is masked and escaped (`code_of`, `text_of`).

use std::fmt::Write as _;

use super::resources::resource_table;
use super::{
    ADDRESS_CHARS, ATTRIBUTE_CHARS, ID_CHARS, MESSAGE_CHARS, REASON_CHARS, code_of, plural, text_of,
};
use crate::plan::redact::Masker;
use crate::plan::summary::{Action, CheckSummary, Summary};

// Byte budgets of the sections. With the marker (≤ ~7.5 kB), the headline (≤ ~2.5 kB) and the
// footer (≤ ~3 kB) these add up to about 44 kB, so the plan text always gets at least ~16 kB.
const DESTROY_BUDGET: usize = 5_000;
pub(super) const RESOURCES_BUDGET: usize = 15_000;
const DRIFT_BUDGET: usize = 4_000;
const OUTPUTS_BUDGET: usize = 3_000;
const FAILED_CHECKS_BUDGET: usize = 3_500;
const ERRORED_CHECKS_BUDGET: usize = 1_500;

// Item limits: a reader scans a few dozen lines, not thousands.
const DESTROY_ITEMS: usize = 25;
pub(super) const RESOURCE_ROWS: usize = 150;
const DRIFT_ROWS: usize = 25;
const DRIFT_ATTRIBUTES: usize = 10;
const OUTPUT_ROWS: usize = 50;
const CHECK_ITEMS: usize = 20;
const CHECK_MESSAGES: usize = 5;

/// Room kept in every section for its "and N more" line.
pub(super) const MORE_RESERVE: usize = 120;

/// The sections after the headline, each ending in a newline; joined with blank lines.
pub(super) fn summary_sections(summary: &Summary, masker: &Masker) -> Vec<String> {
    let mut out = Vec::new();
    if summary.errored {
        out.push(
            "> [!WARNING]\n> Terraform reported errors while planning: this plan is incomplete \
             and cannot be applied.\n"
                .to_string(),
        );
    } else if summary.complete == Some(false) {
        out.push(
            "> [!NOTE]\n> This plan is incomplete: some changes are deferred and need another \
             plan after it is applied.\n"
                .to_string(),
        );
    }
    out.extend(destroy_warning(summary, masker));
    out.extend(resource_table(summary, masker));
    out.extend(drift_section(summary, masker));
    out.extend(outputs_section(summary, masker));
    out.extend(checks_section(
        "Failed checks",
        &summary.checks.failed,
        FAILED_CHECKS_BUDGET,
        masker,
    ));
    out.extend(checks_section(
        "Checks that could not be evaluated",
        &summary.checks.errors,
        ERRORED_CHECKS_BUDGET,
        masker,
    ));
    out
}

/// Adds rendered items to `out` while they fit in `budget` bytes and number at most `max_items`;
/// returns how many were added. Items are rendered (and masked) lazily, so a 50,000-resource
/// plan costs only the rows shown.
pub(super) fn push_within(
    out: &mut String,
    items: impl Iterator<Item = String>,
    budget: usize,
    max_items: usize,
) -> usize {
    let mut shown = 0;
    for item in items.take(max_items) {
        if out.len() + item.len() > budget {
            break;
        }
        out.push_str(&item);
        shown += 1;
    }
    shown
}

fn destroy_warning(summary: &Summary, masker: &Masker) -> Option<String> {
    let total = summary.destructive().count();
    if total == 0 {
        return None;
    }
    let mut out = format!(
        "> [!CAUTION]\n> This plan destroys {total} resource{} (deleted or replaced):\n",
        plural(total)
    );
    let items = summary.destructive().map(|r| {
        let mut line = format!("> - {}", code_of(&r.address, ADDRESS_CHARS, masker, false));
        let what = if r.action == Action::Replace {
            "replaced"
        } else {
            "deleted"
        };
        let _ = write!(line, " ({what}");
        if let Some(d) = &r.deposed {
            let _ = write!(
                line,
                ", deposed object {}",
                code_of(d, ID_CHARS, masker, false)
            );
        }
        if let Some(reason) = &r.reason {
            let _ = write!(line, ": {}", text_of(reason, REASON_CHARS, masker));
        }
        line.push_str(")\n");
        line
    });
    let shown = push_within(
        &mut out,
        items,
        DESTROY_BUDGET - MORE_RESERVE,
        DESTROY_ITEMS,
    );
    if shown < total {
        let _ = writeln!(out, "> - … and {} more", total - shown);
    }
    Some(out)
}

fn drift_section(summary: &Summary, masker: &Masker) -> Option<String> {
    let drift = &summary.drift;
    if drift.relevant.is_empty() && drift.other == 0 {
        return None;
    }
    let mut out = String::from("#### Changes outside Terraform\n\n");
    let total = drift.relevant.len();
    let mut shown = 0;
    if total > 0 {
        out.push_str(
            "Objects that changed outside Terraform since the last apply, with the attributes \
             this plan depends on:\n\n| Resource | Change | Attributes |\n| --- | --- | --- |\n",
        );
        let rows = drift.relevant.iter().map(|d| {
            let mut attrs: Vec<String> = d
                .attributes
                .iter()
                .take(DRIFT_ATTRIBUTES)
                .map(|a| code_of(a, ATTRIBUTE_CHARS, masker, true))
                .collect();
            if d.attributes.len() > DRIFT_ATTRIBUTES {
                attrs.push(format!(
                    "… and {} more",
                    d.attributes.len() - DRIFT_ATTRIBUTES
                ));
            }
            format!(
                "| {} | {} | {} |\n",
                code_of(&d.address, ADDRESS_CHARS, masker, true),
                d.action.as_str(),
                attrs.join(", ")
            )
        });
        shown = push_within(&mut out, rows, DRIFT_BUDGET - MORE_RESERVE, DRIFT_ROWS);
        out.push('\n');
    }
    let mut tail = Vec::new();
    if shown < total {
        tail.push(format!("… and {} more relevant.", total - shown));
    }
    if drift.other > 0 {
        tail.push(format!(
            "{} other object{} changed outside Terraform; {} not affect this plan.",
            drift.other,
            plural(drift.other),
            if drift.other == 1 {
                "it does"
            } else {
                "they do"
            }
        ));
    }
    if tail.is_empty() {
        out.pop();
    } else {
        out.push_str(&tail.join(" "));
        out.push('\n');
    }
    Some(out)
}

fn outputs_section(summary: &Summary, masker: &Masker) -> Option<String> {
    let total = summary.outputs.len();
    if total == 0 {
        return None;
    }
    let mut out = String::from("#### Output changes\n\n| Output | Action |\n| --- | --- |\n");
    let rows = summary.outputs.iter().map(|o| {
        format!(
            "| {} | {}{} |\n",
            code_of(&o.name, ADDRESS_CHARS, masker, true),
            o.action.as_str(),
            if o.sensitive { " (sensitive)" } else { "" }
        )
    });
    let shown = push_within(&mut out, rows, OUTPUTS_BUDGET - MORE_RESERVE, OUTPUT_ROWS);
    if shown < total {
        let _ = writeln!(out, "\n… and {} more.", total - shown);
    }
    Some(out)
}

fn checks_section(
    title: &str,
    checks: &[CheckSummary],
    budget: usize,
    masker: &Masker,
) -> Option<String> {
    let total = checks.len();
    if total == 0 {
        return None;
    }
    let mut out = format!("#### {title}\n\n");
    let items = checks.iter().map(|c| {
        let mut item = format!("- {}", code_of(&c.address, ADDRESS_CHARS, masker, false));
        match c.messages.as_slice() {
            [] => item.push('\n'),
            [one] => {
                let _ = writeln!(item, ": {}", text_of(one, MESSAGE_CHARS, masker));
            }
            many => {
                item.push('\n');
                for m in many.iter().take(CHECK_MESSAGES) {
                    let _ = writeln!(item, "  - {}", text_of(m, MESSAGE_CHARS, masker));
                }
                if many.len() > CHECK_MESSAGES {
                    let _ = writeln!(
                        item,
                        "  - … and {} more messages",
                        many.len() - CHECK_MESSAGES
                    );
                }
            }
        }
        item
    });
    let shown = push_within(&mut out, items, budget - MORE_RESERVE, CHECK_ITEMS);
    if shown < total {
        let _ = writeln!(out, "- … and {} more", total - shown);
    }
    Some(out)
}

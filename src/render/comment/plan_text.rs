//! The plan text in the comment: a collapsed `<details>` block with a `diff` fence, diff markers
//! moved to column 0 so GitHub colours them, and a fence longer than any backtick run in the
//! text. When the whole text does not fit its budget, long lines are shortened first, then the
//! text is cut on a line boundary and a note says how much is shown and where the full plan is.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{URI_CHARS, code_of, plural};
use crate::plan::redact::Masker;
use crate::render::markdown as md;

/// When the plan text must be cut, lines longer than this are shortened first (a single 100 kB
/// line, such as base64 user data, would otherwise push everything after it out of the comment).
pub const MAX_PLAN_LINE_BYTES: usize = 2000;

/// Moves a diff marker (`+`, `-`, `~`, `-/+`, `+/-`) printed after Terraform's indentation to
/// column 0, so GitHub's `diff` highlighting colours the line, keeping everything after it in
/// its column: `      ~ input = 1` becomes `~       input = 1`.
pub fn diff_line(line: &str) -> Cow<'_, str> {
    let rest = line.trim_start_matches(' ');
    let indent = line.len() - rest.len();
    if indent == 0 {
        return Cow::Borrowed(line);
    }
    for marker in ["-/+", "+/-", "+", "-", "~"] {
        if let Some(after) = rest.strip_prefix(marker)
            && (after.is_empty() || after.starts_with(' '))
        {
            let mut out = String::with_capacity(line.len());
            out.push_str(marker);
            out.push_str(&line[..indent]);
            out.push_str(after);
            return Cow::Owned(out);
        }
    }
    Cow::Borrowed(line)
}

/// One plan line as shown in a cut plan: diff marker moved, and shortened if it is longer than
/// `MAX_PLAN_LINE_BYTES` (never splitting a character).
fn shown_line(line: &str) -> (Cow<'_, str>, bool) {
    let line = diff_line(line);
    if line.len() <= MAX_PLAN_LINE_BYTES {
        return (line, false);
    }
    let keep = md::floor_char_boundary(&line, MAX_PLAN_LINE_BYTES - 40);
    let cut = line.len() - keep.len();
    (Cow::Owned(format!("{keep} … [{cut} more bytes]")), true)
}

fn truncation_note(shown: usize, total: usize, shortened: usize, archive: &str) -> String {
    let mut note = format!("Plan text truncated: showing {shown} of {total} lines.");
    if shortened > 0 {
        let _ = write!(
            note,
            " {shortened} line{} longer than {MAX_PLAN_LINE_BYTES} bytes {} shortened.",
            plural(shortened),
            if shortened == 1 { "was" } else { "were" }
        );
    }
    note.push(' ');
    note.push_str(archive);
    note.push('\n');
    note
}

/// The plan text in a collapsed `<details>` block and a `diff` fence, in at most `budget` bytes
/// (empty when there is no plan text). When the whole text does not fit, long lines are
/// shortened, the text is cut on a line boundary and a note after the fence says so.
pub(super) fn plan_details(
    plan_text: &str,
    masker: &Masker,
    archive: Option<&str>,
    budget: usize,
) -> String {
    let masked = masker.mask(plan_text);
    let total = md::lines(&masked).count();
    if total == 0 {
        return String::new();
    }
    let open = md::details_open(&format!("Plan: {total} line{}", plural(total)));
    // Everything but the lines, the two fences and the note: the opening, the info string and
    // its line break, the line break after the closing fence, the close.
    let frame = open.len() + "diff\n".len() + 1 + md::DETAILS_CLOSE.len();
    let fence_len = |run: usize| (run + 1).max(3);

    // The whole text, when it fits: only the diff markers move, so line lengths do not change.
    let (bytes, run) = md::lines(&masked).fold((0, 0), |(bytes, run), line| {
        let line = diff_line(line);
        (
            bytes + line.len() + 1,
            run.max(md::leading_backtick_run(&line)),
        )
    });
    if frame + bytes + 2 * fence_len(run) <= budget {
        let mut body = String::with_capacity(bytes);
        for line in md::lines(&masked) {
            body.push_str(&diff_line(line));
            body.push('\n');
        }
        return plan_block(&open, run, &body, None);
    }

    let where_full = match archive {
        Some(a) => format!(
            "The full plan is in the archive: {}",
            code_of(a, URI_CHARS, masker, false)
        ),
        None => "The full plan is in the run's artifacts/bundle.".to_string(),
    };
    // The longest the note can be: every count at its largest.
    let reserve = frame + 1 + truncation_note(total, total, total, &where_full).len();
    if reserve + 2 * fence_len(0) > budget {
        let omitted = format!("Plan text omitted (the comment is too large). {where_full}\n");
        return if omitted.len() <= budget {
            omitted
        } else {
            String::new()
        };
    }
    let mut body = String::new();
    let mut shown = 0usize;
    let mut shortened = 0usize;
    let mut run = 0usize;
    for line in md::lines(&masked) {
        let (line, short) = shown_line(line);
        let next_run = run.max(md::leading_backtick_run(&line));
        if reserve + body.len() + line.len() + 1 + 2 * fence_len(next_run) > budget {
            break;
        }
        run = next_run;
        body.push_str(&line);
        body.push('\n');
        shown += 1;
        shortened += usize::from(short);
    }
    let note = truncation_note(shown, total, shortened, &where_full);
    plan_block(&open, run, &body, Some(&note))
}

/// How the plan text's fold opens (`plan_details`), up to its line count.
const PLAN_FOLD: &str = "<details><summary>Plan: ";

/// `section` (a rendered comment below its headline) with its plan text cut, so that a status
/// block can go above it: the lines from the top that keep the whole within `max` bytes, in the
/// same fold and fence, and a note saying how many are shown; no lines at all when none fit.
/// `None` when `section` holds no plan text. The result may still exceed `max` when even the
/// rest of the comment does not fit.
pub(super) fn cut_plan_in(section: &str, max: usize) -> Option<String> {
    let start = if section.starts_with(PLAN_FOLD) {
        0
    } else {
        section.find(&format!("\n{PLAN_FOLD}"))? + 1
    };
    let block = &section[start..];
    let open_end = block.find("</summary>\n\n")? + "</summary>\n\n".len();
    let open = &block[..open_end];
    let total: usize = open[PLAN_FOLD.len()..].split(' ').next()?.parse().ok()?;
    let fence_end = open_end + block[open_end..].find('\n')?;
    let fence = block[open_end..fence_end].strip_suffix("diff")?;
    if fence.len() < 3 || fence.bytes().any(|b| b != b'`') {
        return None;
    }
    // No line of the text is the fence itself (it is longer than any backtick run they start
    // with), so the first line that is closes the block.
    let body_start = fence_end + 1;
    let body_end = fence_end + block[fence_end..].find(&format!("\n{fence}\n"))? + 1;
    let after_fence = body_end + fence.len() + 1;
    let end = after_fence + block[after_fence..].find(md::DETAILS_CLOSE)? + md::DETAILS_CLOSE.len();
    let (before, body, rest) = (
        &section[..start],
        &block[body_start..body_end],
        &block[end..],
    );

    let where_full = "The full plan is in the plan's bundle, named below.";
    let note = |shown: usize| {
        format!(
            "Plan text cut to make room for the status above: showing {shown} of {total} line{}. {where_full}\n",
            plural(total)
        )
    };
    let frame = before.len()
        + open.len()
        + 2 * fence.len()
        + "diff\n".len()
        + 2
        + note(total).len()
        + md::DETAILS_CLOSE.len()
        + rest.len();
    let room = max.saturating_sub(frame);
    let (mut kept, mut shown) = (0, 0);
    for line in body.split_inclusive('\n') {
        if kept + line.len() > room {
            break;
        }
        kept += line.len();
        shown += 1;
    }
    let mut out = String::with_capacity(frame + kept);
    out.push_str(before);
    if shown == 0 {
        let _ = writeln!(
            out,
            "Plan text omitted to make room for the status above. {where_full}"
        );
    } else {
        out.push_str(&plan_block(
            open,
            fence.len() - 1,
            &body[..kept],
            Some(&note(shown)),
        ));
    }
    out.push_str(rest);
    Some(out)
}

fn plan_block(open: &str, longest_run: usize, body: &str, note: Option<&str>) -> String {
    let fence = md::fence_of_len(longest_run);
    let note_len = note.map_or(0, |n| n.len() + 1);
    let mut out = String::with_capacity(open.len() + body.len() + 2 * fence.len() + note_len + 32);
    out.push_str(open);
    out.push_str(&fence);
    out.push_str("diff\n");
    out.push_str(body);
    out.push_str(&fence);
    out.push('\n');
    if let Some(note) = note {
        out.push('\n');
        out.push_str(note);
    }
    out.push_str(md::DETAILS_CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_markers_move_to_column_zero() {
        assert_eq!(
            diff_line(r#"      ~ input = "a" -> "b""#),
            r#"~       input = "a" -> "b""#
        );
        assert_eq!(diff_line("  + create"), "+   create");
        assert_eq!(diff_line("  - destroy"), "-   destroy");
        assert_eq!(
            diff_line(r#"-/+ resource "terraform_data" "x" {"#),
            r#"-/+ resource "terraform_data" "x" {"#
        );
        assert_eq!(diff_line("  -/+ nested"), "-/+   nested");
        assert_eq!(diff_line("    +/- x"), "+/-     x");
        assert_eq!(diff_line("        id = 1"), "        id = 1");
        assert_eq!(
            diff_line("  # aws_instance.web will be created"),
            "  # aws_instance.web will be created"
        );
        assert_eq!(diff_line("      -"), "-      ");
        // Not a marker: no space after it.
        assert_eq!(diff_line("    -1"), "    -1");
        assert_eq!(diff_line("    ~~~"), "    ~~~");
        // Terraform's forget marker is not a diff marker.
        assert_eq!(
            diff_line(r#" . resource "a" "b" {"#),
            r#" . resource "a" "b" {"#
        );
        // The line keeps its length, so columns after the marker are unchanged.
        let line = "          ~ image     = \"a\" -> \"b\"";
        assert_eq!(diff_line(line).len(), line.len());
        assert_eq!(diff_line(line).find("image"), line.find("image"));
    }
}

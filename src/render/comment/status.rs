//! A posted comment with a new status (applied, refused, failed, …): the marker's `status` is
//! rewritten and a status block goes under the headline, replacing any earlier one, while the
//! reviewed plan stays as it was. The body stays within `MAX_COMMENT_BYTES`.

use std::borrow::Cow;

use super::MAX_COMMENT_BYTES;
use crate::github::marker::{CommentStatus, marker, parse_marker};
use crate::render::markdown as md;

const STATUS_OPEN: &str = "<!-- tfgate:status -->";
const STATUS_CLOSE: &str = "<!-- /tfgate:status -->";

/// The same comment with a new status: the marker's `status` is rewritten and a status block
/// (the status note plus `detail`, already-rendered markdown such as the apply report) goes
/// right under the headline, replacing any earlier one. The plan stays as reviewed. `detail` is
/// cut on a line boundary so the body stays within `MAX_COMMENT_BYTES`. A refusal's block
/// starts with its reason: "**Apply refused:**" and the first line of `detail`. `None` when
/// `body` is not a tfgate comment.
pub fn with_status(body: &str, status: CommentStatus, detail: &str) -> Option<String> {
    let mut meta = parse_marker(body)?;
    meta.status = status;
    let rest = body.split_once('\n').map_or("", |(_, rest)| rest);
    // Drop an earlier status block.
    let rest: Cow<'_, str> = match (rest.find(STATUS_OPEN), rest.find(STATUS_CLOSE)) {
        (Some(a), Some(b)) if a < b => {
            let end = b + STATUS_CLOSE.len();
            let end = end + usize::from(rest[end..].starts_with('\n'));
            Cow::Owned(format!("{}{}", &rest[..a], &rest[end..]))
        }
        _ => Cow::Borrowed(rest),
    };
    let (headline, after) = match rest.split_once('\n') {
        Some((h, a)) => (h, a),
        None => (rest.as_ref(), ""),
    };
    let marker_line = marker(&meta);
    let note = status_note(status).unwrap_or_default();
    let fixed = marker_line.len()
        + headline.len()
        + after.len()
        + note.len()
        + STATUS_OPEN.len()
        + STATUS_CLOSE.len()
        + 8;
    let room = MAX_COMMENT_BYTES.saturating_sub(fixed);
    let detail = cut_lines(detail, room);
    let note = match status {
        CommentStatus::Refused if !detail.is_empty() => REFUSED_LEAD.to_string(),
        _ => note,
    };
    let mut out = String::with_capacity(fixed + detail.len());
    out.push_str(&marker_line);
    out.push('\n');
    out.push_str(headline);
    out.push('\n');
    out.push_str(STATUS_OPEN);
    out.push('\n');
    out.push_str(&note);
    if !detail.is_empty() {
        if note.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(detail);
        if !detail.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(STATUS_CLOSE);
    out.push('\n');
    out.push_str(after);
    Some(out)
}

/// The longest prefix of `text` that ends a line and fits in `max` bytes (whole text if it fits).
fn cut_lines(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let head = md::floor_char_boundary(text, max);
    match head.rfind('\n') {
        Some(i) => &head[..=i],
        None => "",
    }
}

/// What a refusal's status block starts with, right before its reason.
const REFUSED_LEAD: &str = "**Apply refused:** ";

pub(super) fn status_note(status: CommentStatus) -> Option<String> {
    let note = match status {
        CommentStatus::Planned => return None,
        CommentStatus::Applied => {
            "**Applied.** This plan was re-planned, found unchanged and applied."
        }
        CommentStatus::Refused => {
            "**Apply refused.** The plan at apply time differed from this reviewed plan; nothing \
             was applied."
        }
        CommentStatus::Failed => "**Apply failed.** See the run for Terraform's errors.",
        CommentStatus::Superseded => {
            "**Superseded.** A newer commit was applied first; this plan was not applied."
        }
        CommentStatus::NotApplied => "**Not applied.** Nothing was applied, for the reason below.",
    };
    Some(format!("{note}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::marker::tests::meta;
    use crate::plan::redact::Masker;
    use crate::render::comment::tests::kitchen_sink;
    use crate::render::comment::{CommentInput, Reach, render_comment};

    #[test]
    fn with_status_keeps_the_plan_and_replaces_earlier_status() {
        let body = render_comment(
            &CommentInput {
                meta: &meta("terraform/prod"),
                summary: &kitchen_sink(),
                plan_text: "  + resource \"x\" \"y\" {}\n",
                tfgate_version: "0.0.0-test",
                reach: Reach::Known,
                checks: None,
            },
            &Masker::default(),
        );
        let detail =
            "`x` would now be destroyed. Nothing was applied.\n\n| a | b |\n| --- | --- |\n";
        let refused = with_status(&body, CommentStatus::Refused, detail).unwrap();
        assert_eq!(
            parse_marker(&refused).unwrap().status,
            CommentStatus::Refused
        );
        // The block starts with the reason.
        assert!(
            refused.contains(
                "<!-- tfgate:status -->\n**Apply refused:** `x` would now be destroyed. Nothing"
            ),
            "{refused}"
        );
        assert!(refused.contains("| a | b |"));
        assert!(refused.contains("resource \"x\" \"y\""), "the plan stays");
        let applied = with_status(&refused, CommentStatus::Applied, "done").unwrap();
        assert!(
            !applied.contains("Apply refused"),
            "the earlier status is replaced"
        );
        assert_eq!(applied.matches(STATUS_OPEN).count(), 1);
        assert!(applied.contains("done\n"));
        // A huge detail is cut to fit.
        let huge = "line of detail\n".repeat(10_000);
        let cut = with_status(&body, CommentStatus::Refused, &huge).unwrap();
        assert!(cut.len() <= MAX_COMMENT_BYTES, "{}", cut.len());
        assert!(with_status("not ours", CommentStatus::Applied, "").is_none());
    }
}

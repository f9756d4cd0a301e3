//! A posted comment with a new status (applied, refused, failed, …): the marker's `status` is
//! rewritten and a status block goes under the headline, replacing any earlier one, while the
//! reviewed plan stays as it was, but for the plan text, which gives way to the status when
//! both do not fit: the body stays within `MAX_COMMENT_BYTES`.

use std::borrow::Cow;

use super::MAX_COMMENT_BYTES;
use super::plan_text::cut_plan_in;
use crate::github::marker::{CommentStatus, marker, parse_marker};
use crate::render::markdown as md;

const STATUS_OPEN: &str = "<!-- tfgate:status -->";
const STATUS_CLOSE: &str = "<!-- /tfgate:status -->";

/// The same comment with a new status: the marker's `status` is rewritten and a status block
/// (the status note plus `detail`, already-rendered markdown such as the apply report) goes
/// right under the headline, replacing any earlier one. The plan stays as reviewed. The body
/// stays within `MAX_COMMENT_BYTES`: the plan text is cut first, then `detail` (on a line
/// boundary, its fences and folds closed). A refusal's block
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
    // Everything but the comment below the headline and the detail.
    let frame = marker_line.len()
        + headline.len()
        + note.len()
        + STATUS_OPEN.len()
        + STATUS_CLOSE.len()
        + 8;
    // The status comes first: when it does not fit beside the plan text (which often fills
    // what the comment has left), the plan text gives way; the bundle keeps it whole.
    let after: Cow<'_, str> = if frame + after.len() + detail.len() <= MAX_COMMENT_BYTES {
        Cow::Borrowed(after)
    } else {
        let max = MAX_COMMENT_BYTES.saturating_sub(frame + detail.len());
        cut_plan_in(after, max).map_or(Cow::Borrowed(after), Cow::Owned)
    };
    let room = MAX_COMMENT_BYTES.saturating_sub(frame + after.len());
    let detail = cut_detail(detail, room);
    let note = match status {
        CommentStatus::Refused if !detail.is_empty() => REFUSED_LEAD.to_string(),
        _ => note,
    };
    let mut out = String::with_capacity(frame + after.len() + detail.len());
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
        out.push_str(&detail);
        if !detail.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(STATUS_CLOSE);
    out.push('\n');
    out.push_str(&after);
    Some(out)
}

/// `detail` in at most `max` bytes: whole when it fits, else cut on a line boundary, with the
/// fences and folds it opened closed again (an open one would swallow the rest of the comment)
/// and a line saying where the rest is. Empty when not even its first line fits.
fn cut_detail(detail: &str, max: usize) -> Cow<'_, str> {
    if detail.len() <= max {
        return Cow::Borrowed(detail);
    }
    let mut out = String::new();
    let mut open = Open::default();
    for line in md::lines(detail) {
        let next = open.after(line);
        if out.len() + line.len() + 1 + next.closing_len() + DETAIL_CUT.len() > max {
            break;
        }
        out.push_str(line);
        out.push('\n');
        open = next;
    }
    if out.is_empty() {
        return Cow::Borrowed("");
    }
    open.close(&mut out);
    out.push_str(DETAIL_CUT);
    Cow::Owned(out)
}

const DETAIL_CUT: &str = "\n*Cut to fit the comment: the whole report is in the run's step summary and the apply bundle.*\n";

/// The fenced code block and the `<details>` folds open after some lines of markdown.
#[derive(Debug, Clone, Copy, Default)]
struct Open {
    /// The fence's character and length.
    fence: Option<(char, usize)>,
    folds: usize,
}

impl Open {
    fn after(self, line: &str) -> Open {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let text = line.trim_start_matches(' ');
        let run = |c: char| text.chars().take_while(|x| *x == c).count();
        match self.fence {
            Some((c, n)) => {
                let closes = indent <= 3 && run(c) >= n && text[run(c)..].trim().is_empty();
                Open {
                    fence: if closes { None } else { self.fence },
                    ..self
                }
            }
            None if indent <= 3 && (run('`') >= 3 || run('~') >= 3) => {
                let c = if run('`') >= 3 { '`' } else { '~' };
                Open {
                    fence: Some((c, run(c))),
                    ..self
                }
            }
            None if text.starts_with("<details") => Open {
                folds: self.folds + 1,
                ..self
            },
            None if text.trim_end() == "</details>" => Open {
                folds: self.folds.saturating_sub(1),
                ..self
            },
            None => self,
        }
    }

    fn closing_len(self) -> usize {
        self.fence.map_or(0, |(_, n)| n + 2) + self.folds * md::DETAILS_CLOSE.len()
    }

    fn close(self, out: &mut String) {
        if let Some((c, n)) = self.fence {
            out.extend(std::iter::repeat_n(c, n));
            out.push('\n');
        }
        for _ in 0..self.folds {
            out.push_str(md::DETAILS_CLOSE);
        }
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

    fn comment_with_plan_text(lines: usize) -> String {
        let text: String = (0..lines)
            .map(|i| {
                format!("  ~ resource \"terraform_data\" \"n{i}\" {{ input = \"a\" -> \"b\" }}\n")
            })
            .collect();
        render_comment(
            &CommentInput {
                meta: &meta("terraform/prod"),
                summary: &kitchen_sink(),
                plan_text: &text,
                tfgate_version: "0.0.0-test",
                reach: Reach::Known,
                checks: None,
            },
            &Masker::default(),
        )
    }

    /// Fenced blocks (by their fence lines) and folds still open at the end of `markdown`.
    fn open_at_end(markdown: &str) -> Open {
        md::lines(markdown).fold(Open::default(), Open::after)
    }

    #[test]
    fn the_plan_text_gives_way_to_a_status_that_does_not_fit_beside_it() {
        let body = comment_with_plan_text(5_000);
        assert!(body.len() > MAX_COMMENT_BYTES - 1_000, "{}", body.len());
        let detail = format!(
            "`x`: `input.size` was changed outside Terraform since review. Nothing was applied.\n\n<details><summary>What changed since review</summary>\n\n{}\n</details>\n",
            "| `x` | update | update | before |\n".repeat(500)
        );
        let refused = with_status(&body, CommentStatus::Refused, &detail).unwrap();
        assert!(refused.len() <= MAX_COMMENT_BYTES, "{}", refused.len());
        assert!(refused.contains(&format!("{REFUSED_LEAD}`x`: `input.size` was changed")));
        assert!(refused.contains(&detail), "the whole report is kept");
        assert!(refused.contains("Plan text cut to make room for the status above: showing "));
        assert!(refused.contains("of 5000 lines."));
        let open = open_at_end(&refused);
        assert!(open.fence.is_none() && open.folds == 0, "{open:?}");
        // The plan text still ends in its fence and fold, the footer after them.
        let end = refused.rfind("</details>").unwrap();
        assert!(refused[end..].contains("fingerprint"), "{refused}");
    }

    #[test]
    fn a_detail_cut_to_fit_closes_the_fence_and_the_fold_it_opened() {
        let body = comment_with_plan_text(10);
        let tail = "error line\n".repeat(10_000);
        let detail = format!(
            "terraform apply failed:\n\n<details><summary>Log</summary>\n\n````text\n{tail}````\n\n</details>\n"
        );
        let failed = with_status(&body, CommentStatus::Failed, &detail).unwrap();
        assert!(failed.len() <= MAX_COMMENT_BYTES, "{}", failed.len());
        assert!(failed.contains("terraform apply failed:"));
        assert!(failed.contains(DETAIL_CUT));
        let open = open_at_end(&failed);
        assert!(open.fence.is_none() && open.folds == 0, "{open:?}");
        // The status came first: the plan text gave way entirely.
        assert!(failed.contains("Plan text omitted to make room for the status above."));
        let end = failed.rfind(DETAIL_CUT).unwrap();
        assert!(failed[end..].contains("fingerprint"), "the footer stays");
    }
}

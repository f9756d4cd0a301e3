//! The pull-request comment (§5 "PR comment"): its hidden metadata marker, the markdown body
//! built from a `Summary` and the plan text, and the same summary as markdown for
//! `show --format markdown`.
//!
//! Two promises hold for any input. Structure: everything taken from a plan is masked, then
//! escaped or fenced, so no address, message or plan line can close a fence or a `<details>`,
//! open HTML or a comment, or split a table. Size: the body never exceeds `MAX_COMMENT_BYTES`;
//! every section has a byte budget, and the plan text gets what is left, cut on a line boundary
//! with a note that says where the full plan is. This module renders only: it does not post,
//! read files or decide the status.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::plan::redact::Masker;
use crate::plan::summary::{Action, CheckSummary, ResourceSummary, Summary};
use crate::render::markdown as md;

/// The most bytes a comment body may have, whatever the input. GitHub refuses bodies over 65,536
/// characters; bytes are counted here because they bound characters and are what we can measure
/// exactly.
pub const MAX_COMMENT_BYTES: usize = 60_000;

/// The marker's current format version.
pub const MARKER_VERSION: u32 = 1;

const MARKER_PREFIX: &str = "<!-- tfgate:";
const MARKER_SUFFIX: &str = " -->";

/// A marker field's JSON (after escaping) is cut to this many bytes, so that the marker stays
/// small whatever the root name. Real roots, URLs and SHAs are far shorter.
pub const MAX_MARKER_FIELD_BYTES: usize = 1024;

/// When the plan text must be cut, lines longer than this are shortened first (a single 100 kB
/// line, such as base64 user data, would otherwise push everything after it out of the comment).
pub const MAX_PLAN_LINE_BYTES: usize = 2000;

// Display limits (characters) for single values taken from the plan or the metadata.
const ROOT_CHARS: usize = 200;
const WORKSPACE_CHARS: usize = 100;
const ADDRESS_CHARS: usize = 300;
const REASON_CHARS: usize = 200;
const ID_CHARS: usize = 200;
const ATTRIBUTE_CHARS: usize = 200;
const MESSAGE_CHARS: usize = 500;
const URI_CHARS: usize = 500;
const VERSION_CHARS: usize = 60;

// Byte budgets of the sections. With the marker (≤ ~7.5 kB), the headline (≤ ~2.5 kB) and the
// footer (≤ ~3 kB) these add up to about 44 kB, so the plan text always gets at least ~16 kB.
const DESTROY_BUDGET: usize = 5_000;
const RESOURCES_BUDGET: usize = 15_000;
const DRIFT_BUDGET: usize = 4_000;
const OUTPUTS_BUDGET: usize = 3_000;
const FAILED_CHECKS_BUDGET: usize = 3_500;
const ERRORED_CHECKS_BUDGET: usize = 1_500;

// Item limits: a reader scans a few dozen lines, not thousands.
const DESTROY_ITEMS: usize = 25;
const RESOURCE_ROWS: usize = 150;
const DRIFT_ROWS: usize = 25;
const DRIFT_ATTRIBUTES: usize = 10;
const OUTPUT_ROWS: usize = 50;
const CHECK_ITEMS: usize = 20;
const CHECK_MESSAGES: usize = 5;

/// Room kept in every section for its "and N more" line.
const MORE_RESERVE: usize = 120;

/// Where a comment's plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    Planned,
    Applied,
    Refused,
    Failed,
    Superseded,
    /// Nothing was applied, and not because the plans differed: the reviewed plan was stale,
    /// missing or could not be fetched, or the run could not go ahead. The detail says why.
    #[serde(rename = "not_applied")]
    NotApplied,
}

/// The metadata in a comment's hidden first line: how `apply` finds the reviewed plan and how
/// `plan` finds the comment to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentMeta {
    pub version: u32,
    pub root: String,
    pub workspace: String,
    pub head_sha: Option<String>,
    pub fingerprint: String,
    /// Where the bundle is when it is in an archive: an `s3://` URI, or a folder on the machine
    /// that planned.
    pub archive: Option<String>,
    /// Where the bundle is when it travels as a workflow artifact (no S3 archive under GitHub
    /// Actions). Markers written before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ArtifactRef>,
    pub run_url: Option<String>,
    pub status: CommentStatus,
    /// When the plan was made (UTC, RFC 3339 with milliseconds): of two comments for the same
    /// root and workspace, the newer plan wins. Markers written before it existed have none and
    /// count as older than any that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl CommentMeta {
    /// `created_at`, read; `None` when missing or not a time.
    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.created_at.as_deref()?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// A workflow artifact holding a plan's bundle: the run that made it and the artifact's name.
/// The apply job finds it through GitHub's REST API
/// (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub run_id: u64,
    pub name: String,
}

/// Whether the apply job, on another runner, can reach the plan, when that needs saying in the
/// comment's footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// Nothing to say: an S3 archive, an artifact the workflow says it uploads, or a plan made
    /// outside GitHub Actions.
    #[default]
    Known,
    /// The marker names a workflow artifact, but nothing says the workflow uploads it.
    ArtifactIfUploaded,
    /// Under GitHub Actions with no S3 archive and no workflow run to name: only the runner that
    /// planned has the bundle.
    ThisRunnerOnly,
}

/// What a comment is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct CommentInput<'a> {
    pub meta: &'a CommentMeta,
    pub summary: &'a Summary,
    /// `terraform show -no-color` output; may be empty.
    pub plan_text: &'a str,
    pub tfgate_version: &'a str,
    /// Whether the footer must warn that the apply job may not reach the plan.
    pub reach: Reach,
}

/// The hidden first line, `<!-- tfgate:{json} -->`. Inside the JSON, `<`, `>`, `-` and `&` are
/// written as `\u003c`-style escapes, so the JSON can never contain `-->` (which would end the
/// HTML comment) nor any markup. String fields longer than `MAX_MARKER_FIELD_BYTES` of JSON are
/// cut (only absurd inputs are).
pub fn marker(meta: &CommentMeta) -> String {
    let bounded = CommentMeta {
        version: meta.version,
        root: clip_for_marker(&meta.root).into_owned(),
        workspace: clip_for_marker(&meta.workspace).into_owned(),
        head_sha: meta
            .head_sha
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        fingerprint: clip_for_marker(&meta.fingerprint).into_owned(),
        archive: meta
            .archive
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        artifact: meta.artifact.as_ref().map(|a| ArtifactRef {
            run_id: a.run_id,
            name: clip_for_marker(&a.name).into_owned(),
        }),
        run_url: meta
            .run_url
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
        status: meta.status,
        created_at: meta
            .created_at
            .as_deref()
            .map(|s| clip_for_marker(s).into_owned()),
    };
    // Serialising a struct of strings and integers cannot fail; an empty object parses as no
    // marker rather than as a wrong one.
    let json = serde_json::to_string(&bounded).unwrap_or_else(|_| "{}".to_string());
    let mut out = String::with_capacity(json.len() + 32);
    out.push_str(MARKER_PREFIX);
    for c in json.chars() {
        // Outside strings the JSON of `CommentMeta` has none of these characters (no negative
        // numbers), and inside strings serde_json never writes them as part of an escape, so a
        // plain replacement is exact.
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '-' => out.push_str("\\u002d"),
            '&' => out.push_str("\\u0026"),
            _ => out.push(c),
        }
    }
    out.push_str(MARKER_SUFFIX);
    out
}

/// Reads the metadata from the FIRST line of a comment body; `None` when that line is not a
/// tfgate marker (a marker further down, e.g. quoted by a person, does not count).
pub fn parse_marker(body: &str) -> Option<CommentMeta> {
    let first = md::lines(body).next()?;
    let first = first.trim_start_matches('\u{feff}').trim();
    let json = first.strip_prefix(MARKER_PREFIX)?.strip_suffix("-->")?;
    serde_json::from_str(json.trim()).ok()
}

/// The JSON-escaped length of one character inside a marker string.
fn marker_char_len(c: char) -> usize {
    match c {
        '<' | '>' | '-' | '&' => 6,
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

fn clip_for_marker(s: &str) -> Cow<'_, str> {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        len += marker_char_len(c);
        if len > MAX_MARKER_FIELD_BYTES {
            return Cow::Borrowed(&s[..i]);
        }
    }
    Cow::Borrowed(s)
}

/// The PR comment body. At most `MAX_COMMENT_BYTES` bytes for any input; the marker is its first
/// line.
pub fn render_comment(input: &CommentInput<'_>, masker: &Masker) -> String {
    let meta = input.meta;
    let summary = input.summary;
    let mut head = marker(meta);
    head.push('\n');
    let headline = headline(
        summary,
        &meta.root,
        &meta.workspace,
        Some(meta.status),
        masker,
    );
    head.push_str(&headline);

    let mut sections = String::new();
    if let Some(note) = status_note(meta.status) {
        sections.push('\n');
        sections.push_str(&note);
    }
    for section in summary_sections(summary, masker) {
        sections.push('\n');
        sections.push_str(&section);
    }

    let footer = footer(input, masker);
    let fixed = head.len() + sections.len() + 1 + footer.len();
    let plan = plan_details(
        input.plan_text,
        masker,
        meta.archive.as_deref(),
        MAX_COMMENT_BYTES.saturating_sub(fixed + 1),
    );

    let mut out = String::with_capacity(fixed + plan.len() + 1);
    out.push_str(&head);
    out.push_str(&sections);
    if !plan.is_empty() {
        out.push('\n');
        out.push_str(&plan);
    }
    out.push('\n');
    out.push_str(&footer);
    if out.len() <= MAX_COMMENT_BYTES {
        return out;
    }
    // Unreachable by the budgets above; kept so the limit holds even if they are mis-set.
    let mut out = marker(meta);
    out.push('\n');
    out.push_str(&headline);
    out.push_str(
        "\nThe plan summary is too large for a comment. The full plan is in the run's \
         artifacts/bundle.\n",
    );
    if out.len() > MAX_COMMENT_BYTES {
        let mut m = marker(meta);
        m.push('\n');
        return m;
    }
    out
}

const STATUS_OPEN: &str = "<!-- tfgate:status -->";
const STATUS_CLOSE: &str = "<!-- /tfgate:status -->";

/// The same comment with a new status: the marker's `status` is rewritten and a status block
/// (the status note plus `detail`, already-rendered markdown such as the apply report) goes
/// right under the headline, replacing any earlier one. The plan stays as reviewed. `detail` is
/// cut on a line boundary so the body stays within `MAX_COMMENT_BYTES`. `None` when `body` is
/// not a tfgate comment.
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
    let mut out = String::with_capacity(fixed + detail.len());
    out.push_str(&marker_line);
    out.push('\n');
    out.push_str(headline);
    out.push('\n');
    out.push_str(STATUS_OPEN);
    out.push('\n');
    out.push_str(&note);
    if !detail.is_empty() {
        out.push('\n');
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

/// The headline, warnings and tables of a summary as markdown, without the marker, the plan text
/// or the footer (`tfgate show --format markdown`).
pub fn render_summary_markdown(
    summary: &Summary,
    root: &str,
    workspace: &str,
    masker: &Masker,
) -> String {
    let mut out = headline(summary, root, workspace, None, masker);
    for section in summary_sections(summary, masker) {
        out.push('\n');
        out.push_str(&section);
    }
    out
}

/// "1 to add, 2 to change, 0 to destroy, 1 to replace, 1 to import" or "no changes".
pub fn counts_phrase(summary: &Summary) -> String {
    let c = &summary.counts;
    if !summary.has_changes {
        return "no changes".to_string();
    }
    if c.total() == 0 {
        let n = summary.outputs.len();
        return format!("{n} output{} to change", plural(n));
    }
    let mut out = format!(
        "{} to add, {} to change, {} to destroy, {} to replace",
        c.create, c.update, c.delete, c.replace
    );
    for (n, what) in [
        (c.import, "import"),
        (c.move_, "move"),
        (c.forget, "forget"),
        (c.read, "read"),
    ] {
        if n > 0 {
            let _ = write!(out, ", {n} to {what}");
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn headline(
    summary: &Summary,
    root: &str,
    workspace: &str,
    status: Option<CommentStatus>,
    masker: &Masker,
) -> String {
    let emoji = match status {
        Some(CommentStatus::Applied) => "🚀",
        Some(CommentStatus::Refused) => "⛔",
        Some(CommentStatus::Failed) => "❌",
        Some(CommentStatus::Superseded) => "⏭️",
        Some(CommentStatus::NotApplied) => "⏸️",
        Some(CommentStatus::Planned) | None => {
            if summary.errored || !summary.checks.errors.is_empty() {
                "❌"
            } else if summary.destructive().next().is_some() || !summary.checks.failed.is_empty() {
                "⚠️"
            } else if summary.has_changes {
                "📝"
            } else {
                "✅"
            }
        }
    };
    let root = masker.mask(root);
    let workspace = masker.mask(workspace);
    format!(
        "### {emoji} Terraform plan for {} ({}): {}\n",
        md::code(&md::clip(&root, ROOT_CHARS)),
        md::escape(&md::clip(&workspace, WORKSPACE_CHARS)),
        counts_phrase(summary)
    )
}

fn status_note(status: CommentStatus) -> Option<String> {
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

/// The sections after the headline, each ending in a newline; joined with blank lines.
fn summary_sections(summary: &Summary, masker: &Masker) -> Vec<String> {
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
fn push_within(
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

/// Masks, clips and shows `text` as a code span (inside a table when `in_table`).
fn code_of(text: &str, max_chars: usize, masker: &Masker, in_table: bool) -> String {
    let masked = masker.mask(text);
    let clipped = md::clip(&masked, max_chars);
    if in_table {
        md::code_in_table(&clipped)
    } else {
        md::code(&clipped)
    }
}

/// Masks, clips and escapes free text.
fn text_of(text: &str, max_chars: usize, masker: &Masker) -> String {
    md::escape(&md::clip(&masker.mask(text), max_chars))
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

fn resource_details(r: &ResourceSummary, masker: &Masker) -> String {
    let mut parts = Vec::new();
    if let Some(reason) = &r.reason {
        parts.push(text_of(reason, REASON_CHARS, masker));
    }
    if let Some(prev) = &r.previous_address {
        parts.push(format!(
            "moved from {}",
            code_of(prev, ADDRESS_CHARS, masker, true)
        ));
    }
    if let Some(id) = &r.import_id {
        if id.is_empty() {
            parts.push("imported".to_string());
        } else {
            parts.push(format!("import id {}", code_of(id, ID_CHARS, masker, true)));
        }
    }
    if let Some(d) = &r.deposed {
        parts.push(format!(
            "deposed object {}",
            code_of(d, ID_CHARS, masker, true)
        ));
    }
    parts.join("; ")
}

fn resource_table(summary: &Summary, masker: &Masker) -> Option<String> {
    let total = summary.resources.len();
    if total == 0 {
        return None;
    }
    let mut out = String::from("| Action | Resource | Details |\n| --- | --- | --- |\n");
    let rows = summary.resources.iter().map(|r| {
        format!(
            "| {} | {} | {} |\n",
            action_label(r),
            code_of(&r.address, ADDRESS_CHARS, masker, true),
            resource_details(r, masker)
        )
    });
    let shown = push_within(
        &mut out,
        rows,
        RESOURCES_BUDGET - MORE_RESERVE,
        RESOURCE_ROWS,
    );
    if shown < total {
        let rest = total - shown;
        let _ = writeln!(
            out,
            "\n… and {rest} more resource{} (see the plan text and `tfgate show`).",
            plural(rest)
        );
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

fn footer(input: &CommentInput<'_>, masker: &Masker) -> String {
    let meta = input.meta;
    let mut parts = vec![format!(
        "tfgate {}",
        md::escape(&md::clip(input.tfgate_version, VERSION_CHARS))
    )];
    if let Some(v) = &input.summary.terraform_version {
        parts.push(format!("Terraform {}", text_of(v, VERSION_CHARS, masker)));
    }
    parts.push(format!(
        "fingerprint {}",
        md::code(&short_fingerprint(&meta.fingerprint))
    ));
    if let Some(url) = &meta.run_url {
        let url = masker.mask(url);
        // A URL cut short is a broken link; a URL this long is not a real run URL.
        if url.chars().count() <= URI_CHARS {
            parts.push(md::link("workflow run", &url));
        }
    }
    if let Some(archive) = &meta.archive {
        parts.push(format!(
            "archive {}",
            code_of(archive, URI_CHARS, masker, false)
        ));
    }
    if let Some(artifact) = &meta.artifact {
        parts.push(format!(
            "artifact {} of run {}",
            code_of(&artifact.name, URI_CHARS, masker, false),
            artifact.run_id
        ));
    }
    let mut out = reach_note(input.reach, meta, masker);
    let _ = writeln!(out, "<sub>{}</sub>", parts.join(" · "));
    out
}

/// The footer's warning when the apply job, on another runner, may not find the plan; it says
/// how to fix that.
fn reach_note(reach: Reach, meta: &CommentMeta, masker: &Masker) -> String {
    match (reach, &meta.artifact) {
        (Reach::Known, _) => String::new(),
        (Reach::ArtifactIfUploaded, Some(artifact)) => {
            let name = code_of(&artifact.name, URI_CHARS, masker, false);
            format!(
                "> [!WARNING]\n> The apply job can find this plan only in the workflow artifact \
                 {name}, and nothing says this workflow uploads it. After `tfgate plan`, upload \
                 the step's `bundle` output folder with `actions/upload-artifact` under the name \
                 {name} and pass that name to `tfgate plan --artifact-name`; or plan with \
                 `--archive s3://BUCKET/PREFIX`.\n\n"
            )
        }
        (Reach::ArtifactIfUploaded | Reach::ThisRunnerOnly, _) => {
            "> [!WARNING]\n> No other runner can reach this plan: its bundle is only on the runner \
             that planned, so the apply job will not find it. Plan with \
             `--archive s3://BUCKET/PREFIX`, or let it travel as a workflow artifact (that needs \
             `GITHUB_RUN_ID`, which GitHub Actions sets).\n\n"
                .to_string()
        }
    }
}

/// `sha256:` and the first 12 hex digits.
fn short_fingerprint(fingerprint: &str) -> String {
    let (prefix, hex) = fingerprint.split_once(':').unwrap_or(("", fingerprint));
    let prefix: String = prefix.chars().take(10).collect();
    let hex: String = hex.chars().take(12).collect();
    if prefix.is_empty() {
        hex
    } else {
        format!("{prefix}:{hex}")
    }
}

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
fn plan_details(plan_text: &str, masker: &Masker, archive: Option<&str>, budget: usize) -> String {
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
pub(crate) mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::plan::redact::{SENSITIVE, secrets_of_plan};
    use crate::plan::summary::{
        CheckSummary, Checks, Counts, Drift, DriftedResource, OutputSummary,
    };

    const VERSION: &str = "0.0.0-test";
    const FINGERPRINT: &str =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn meta(root: &str) -> CommentMeta {
        CommentMeta {
            version: MARKER_VERSION,
            root: root.to_string(),
            workspace: "default".to_string(),
            head_sha: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
            fingerprint: FINGERPRINT.to_string(),
            archive: Some(format!(
                "s3://tfgate-archive/acme/infra/{root}/default/pr-42/20250101T000000Z-1/"
            )),
            artifact: None,
            run_url: Some("https://github.com/acme/infra/actions/runs/1234567890".to_string()),
            status: CommentStatus::Planned,
            created_at: None,
        }
    }

    pub(crate) fn empty_summary() -> Summary {
        Summary {
            format_version: "1.2".to_string(),
            terraform_version: Some("1.11.4".to_string()),
            has_changes: false,
            fingerprint: FINGERPRINT.to_string(),
            counts: Counts::default(),
            resources: Vec::new(),
            drift: Drift::default(),
            outputs: Vec::new(),
            checks: Checks::default(),
            errored: false,
            applyable: Some(false),
            complete: Some(true),
        }
    }

    fn resource(address: &str, action: Action) -> ResourceSummary {
        ResourceSummary {
            address: address.to_string(),
            action,
            reason: None,
            previous_address: None,
            import_id: None,
            deposed: None,
        }
    }

    /// A summary with one of everything, counted the way `Summary::from_plan` counts.
    pub(crate) fn kitchen_sink() -> Summary {
        let mut s = empty_summary();
        s.resources = vec![
            resource("aws_s3_bucket.logs", Action::Create),
            ResourceSummary {
                reason: Some("an attribute forces replacement".to_string()),
                ..resource("aws_instance.web[0]", Action::Replace)
            },
            ResourceSummary {
                reason: Some("no longer in the configuration".to_string()),
                ..resource("aws_iam_role.legacy", Action::Delete)
            },
            ResourceSummary {
                deposed: Some("1a2b3c4d".to_string()),
                ..resource("aws_acm_certificate.tls", Action::Delete)
            },
            ResourceSummary {
                previous_address: Some("aws_sqs_queue.jobs".to_string()),
                ..resource("aws_sqs_queue.jobs_primary", Action::NoOp)
            },
            ResourceSummary {
                import_id: Some("bucket-logs-0001".to_string()),
                ..resource("aws_s3_bucket.imported", Action::Update)
            },
            resource("aws_route53_record.old", Action::Forget),
            resource(
                r#"module.app.aws_ssm_parameter.this["a|b"]"#,
                Action::Update,
            ),
        ];
        s.counts = Counts {
            create: 1,
            update: 2,
            delete: 2,
            replace: 1,
            import: 1,
            move_: 1,
            forget: 1,
            read: 0,
        };
        s.has_changes = true;
        s.applyable = Some(true);
        s.drift = Drift {
            relevant: vec![DriftedResource {
                address: "aws_security_group.web".to_string(),
                action: Action::Update,
                attributes: vec!["ingress".to_string(), "tags.Owner".to_string()],
            }],
            other: 3,
        };
        s.outputs = vec![
            OutputSummary {
                name: "bucket_arn".to_string(),
                action: Action::Create,
                sensitive: false,
            },
            OutputSummary {
                name: "db_password".to_string(),
                action: Action::Update,
                sensitive: true,
            },
        ];
        s.checks = Checks {
            failed: vec![CheckSummary {
                address: "check.health".to_string(),
                messages: vec!["https://app.example.com/health returned 503".to_string()],
            }],
            errors: vec![CheckSummary {
                address: "aws_instance.web[0]".to_string(),
                messages: vec![
                    "precondition could not be evaluated".to_string(),
                    "unknown value".to_string(),
                ],
            }],
        };
        s
    }

    const KITCHEN_PLAN: &str = r#"
Terraform will perform the following actions:

  # aws_instance.web[0] must be replaced
-/+ resource "aws_instance" "web" {
      ~ ami           = "ami-1" -> "ami-2" # forces replacement
      ~ id            = "i-1" -> (known after apply)
        tags          = {}
    }

  # aws_s3_bucket.logs will be created
  + resource "aws_s3_bucket" "logs" {
      + bucket = "logs"
    }

Plan: 1 to add, 2 to change, 2 to destroy.
"#;

    fn render(meta: &CommentMeta, summary: &Summary, plan_text: &str, masker: &Masker) -> String {
        render_comment(
            &CommentInput {
                meta,
                summary,
                plan_text,
                tfgate_version: VERSION,
                reach: Reach::Known,
            },
            masker,
        )
    }

    /// How a CommonMark reader sees the body's block structure, as far as the invariants care.
    #[derive(Debug, Default)]
    struct Structure {
        /// `<details>` / `</details>` outside code fences.
        details_open: usize,
        details_close: usize,
        /// Each fenced block: its fence and how many lines it holds; `None` if never closed.
        fences: Vec<(String, Option<usize>)>,
        lines_outside: usize,
    }

    fn structure(body: &str) -> Structure {
        let mut s = Structure::default();
        let mut open: Option<(String, usize)> = None;
        for line in md::lines(body) {
            let indent = line.len() - line.trim_start_matches(' ').len();
            let t = line.trim_start_matches(' ');
            let run = t.bytes().take_while(|b| *b == b'`').count();
            match open.take() {
                Some((fence, n)) => {
                    if indent <= 3 && run >= fence.len() && t[run..].trim().is_empty() {
                        s.fences.push((fence, Some(n)));
                    } else {
                        open = Some((fence, n + 1));
                    }
                }
                None => {
                    if indent <= 3 && run >= 3 && !t[run..].contains('`') {
                        open = Some((t[..run].to_string(), 0));
                    }
                    // HTML blocks start only at the beginning of a line; elsewhere a tag is
                    // either escaped or inside a code span.
                    if indent <= 3 && t.starts_with('<') {
                        let ours = s.lines_outside == 0 && t.starts_with("<!-- tfgate:")
                            || t.starts_with("<details><summary>")
                            || t == "</details>"
                            || t.starts_with("<sub>");
                        assert!(ours, "a line outside fences starts with markup: {line:?}");
                    }
                    s.details_open += usize::from(t.starts_with("<details>"));
                    s.details_close += usize::from(t.starts_with("</details>"));
                    s.lines_outside += 1;
                }
            }
        }
        if let Some((fence, _)) = open {
            s.fences.push((fence, None));
        }
        s
    }

    /// The invariants every body must keep; returns the number of plan lines shown (if any).
    fn check_invariants(body: &str, meta: &CommentMeta) -> Option<usize> {
        assert!(
            body.len() <= MAX_COMMENT_BYTES,
            "body has {} bytes",
            body.len()
        );
        let first = md::lines(body).next().unwrap_or_default();
        assert!(first.starts_with("<!-- tfgate:") && first.ends_with(" -->"));
        let parsed = parse_marker(body).expect("the marker parses");
        assert_eq!(parsed.status, meta.status);
        assert_eq!(parsed.version, meta.version);
        let s = structure(body);
        assert_eq!(s.details_open, s.details_close, "unbalanced <details>");
        assert!(s.details_open <= 1);
        assert!(
            s.fences.len() <= 1,
            "one fenced block at most: {:?}",
            s.fences
        );
        let shown = s.fences.first().map(|(fence, n)| {
            let n = n.expect("the fence is closed");
            // Exactly two lines are the chosen fence: its opening and its closing.
            let fence_lines = md::lines(body)
                .filter(|l| {
                    l.strip_prefix(fence.as_str())
                        .is_some_and(|r| r.is_empty() || r == "diff")
                })
                .count();
            assert_eq!(fence_lines, 2, "fence {fence}");
            n
        });
        if let Some(n) = shown {
            // The block holds the shown lines; the note says how many of how many.
            let total = plan_total_lines(body);
            if n < total {
                let note = format!("Plan text truncated: showing {n} of {total} lines.");
                assert!(body.contains(&note), "missing {note:?}");
                // The note comes after the fence, inside <details>.
                let after_fence = body.rfind(&format!("\n{}\n", s.fences[0].0)).unwrap_or(0);
                let note_at = body.find(&note).unwrap_or(0);
                let close_at = body.rfind("</details>").unwrap_or(0);
                assert!(after_fence < note_at && note_at < close_at);
            }
        }
        shown
    }

    fn plan_total_lines(body: &str) -> usize {
        let start = body.find("<details><summary>Plan: ").map(|i| i + 24);
        start
            .and_then(|i| body[i..].split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn marker_round_trips() {
        let m = meta("infra/prod");
        let line = marker(&m);
        assert!(!line.contains('\n'));
        assert_eq!(parse_marker(&line), Some(m.clone()));
        assert_eq!(parse_marker(&format!("{line}\n### body")), Some(m.clone()));
        assert_eq!(
            parse_marker(&format!("{line}\r\n### body")),
            Some(m.clone())
        );
        let minimal = CommentMeta {
            head_sha: None,
            archive: None,
            run_url: None,
            status: CommentStatus::Superseded,
            ..m
        };
        assert_eq!(parse_marker(&marker(&minimal)), Some(minimal));
    }

    #[test]
    fn marker_carries_the_plan_time_and_older_markers_still_read() {
        let m = CommentMeta {
            created_at: Some("2025-03-04T05:06:07.089Z".into()),
            ..meta("r")
        };
        let line = marker(&m);
        assert!(line.contains("\"created_at\":"), "{line}");
        let back = parse_marker(&line).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.created().unwrap().to_rfc3339(),
            "2025-03-04T05:06:07.089+00:00"
        );
        // A marker written before the field existed.
        let old = r#"<!-- tfgate:{"version":1,"root":"r","workspace":"default","head_sha":null,"fingerprint":"sha256:00","archive":null,"run_url":null,"status":"applied"} -->"#;
        let read = parse_marker(old).expect("an old marker still reads");
        assert_eq!(
            (read.created_at, read.status),
            (None, CommentStatus::Applied)
        );
        assert!(
            !marker(&meta("r")).contains("created_at"),
            "no field when unknown"
        );
        let garbled = CommentMeta {
            created_at: Some("yesterday".into()),
            ..meta("r")
        };
        assert_eq!(garbled.created(), None);
    }

    #[test]
    fn marker_round_trips_hostile_roots() {
        for root in [
            "--> <script>alert(1)</script>",
            "<!-- -->",
            "a\nb\r\nc\rd",
            "quote\" back\\slash \\u003c",
            "-",
            "----->",
            "tab\tnul\0bell\u{7}",
            "\u{2028}line\u{2029}separators",
            "ünïcödé 日本語 🚀 שלום",
            "",
            " spaces ",
            "}\"}{ -->",
        ] {
            let mut m = meta(root);
            m.workspace = root.to_string();
            m.archive = Some(root.to_string());
            let line = marker(&m);
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            let inner = &line[MARKER_PREFIX.len()..line.len() - MARKER_SUFFIX.len()];
            assert!(!inner.contains("-->") && !inner.contains('<') && !inner.contains('-'));
            assert_eq!(parse_marker(&format!("{line}\nbody")), Some(m), "{root:?}");
        }
    }

    #[test]
    fn with_status_keeps_the_plan_and_replaces_earlier_status() {
        let body = render_comment(
            &CommentInput {
                meta: &meta("terraform/prod"),
                summary: &kitchen_sink(),
                plan_text: "  + resource \"x\" \"y\" {}\n",
                tfgate_version: "0.0.0-test",
                reach: Reach::Known,
            },
            &Masker::default(),
        );
        let refused =
            with_status(&body, CommentStatus::Refused, "| a | b |\n| --- | --- |\n").unwrap();
        assert_eq!(
            parse_marker(&refused).unwrap().status,
            CommentStatus::Refused
        );
        assert!(refused.contains("**Apply refused.**"));
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

    #[test]
    fn marker_statuses_are_lowercase() {
        for (status, word) in [
            (CommentStatus::Planned, "planned"),
            (CommentStatus::Applied, "applied"),
            (CommentStatus::Refused, "refused"),
            (CommentStatus::Failed, "failed"),
            (CommentStatus::Superseded, "superseded"),
            (CommentStatus::NotApplied, "not_applied"),
        ] {
            let m = CommentMeta {
                status,
                ..meta("r")
            };
            assert!(marker(&m).contains(&format!("\"status\":\"{word}\"")));
        }
    }

    #[test]
    fn marker_is_read_from_the_first_line_only() {
        let line = marker(&meta("r"));
        assert_eq!(parse_marker(&format!("someone quoting\n{line}")), None);
        assert_eq!(parse_marker(&format!("\n{line}")), None);
        assert_eq!(parse_marker(""), None);
        assert_eq!(parse_marker("<!-- tfgate:{not json} -->"), None);
        assert_eq!(parse_marker("<!-- tfgate:{\"version\":1} -->"), None);
        assert_eq!(parse_marker("<!-- other:{} -->"), None);
        // Extra fields from a newer tfgate are ignored.
        let newer = line.replacen("{", "{\"future\":[1,2],", 1);
        assert_eq!(parse_marker(&newer), Some(meta("r")));
    }

    #[test]
    fn marker_fields_are_bounded() {
        let m = meta(&"<".repeat(100_000));
        let line = marker(&m);
        assert!(line.len() < 8 * MAX_MARKER_FIELD_BYTES, "{}", line.len());
        let parsed = parse_marker(&line).expect("parses");
        assert!(parsed.root.chars().all(|c| c == '<') && !parsed.root.is_empty());
        let big = CommentMeta {
            root: "r".repeat(MAX_MARKER_FIELD_BYTES * 10),
            workspace: "🚀".repeat(MAX_MARKER_FIELD_BYTES),
            head_sha: Some("-".repeat(MAX_MARKER_FIELD_BYTES)),
            fingerprint: "\u{1}".repeat(MAX_MARKER_FIELD_BYTES),
            archive: Some("\"".repeat(MAX_MARKER_FIELD_BYTES)),
            artifact: Some(ArtifactRef {
                run_id: u64::MAX,
                name: ">".repeat(MAX_MARKER_FIELD_BYTES),
            }),
            run_url: Some("x".repeat(MAX_MARKER_FIELD_BYTES * 10)),
            ..meta("r")
        };
        assert!(marker(&big).len() < 8 * MAX_MARKER_FIELD_BYTES);
        assert!(parse_marker(&marker(&big)).is_some());
    }

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

    #[test]
    fn headline_counts() {
        let s = kitchen_sink();
        assert_eq!(
            counts_phrase(&s),
            "1 to add, 2 to change, 2 to destroy, 1 to replace, 1 to import, 1 to move, 1 to forget"
        );
        assert_eq!(counts_phrase(&empty_summary()), "no changes");
        let mut only_outputs = empty_summary();
        only_outputs.has_changes = true;
        only_outputs.outputs = s.outputs.clone();
        assert_eq!(counts_phrase(&only_outputs), "2 outputs to change");
    }

    #[test]
    fn comment_with_everything() {
        let body = render(
            &meta("infra/prod"),
            &kitchen_sink(),
            KITCHEN_PLAN,
            &Masker::default(),
        );
        check_invariants(&body, &meta("infra/prod"));
        insta::assert_snapshot!(body);
    }

    #[test]
    fn the_footer_names_the_artifact_and_warns_when_no_upload_is_known() {
        let mut m = meta("infra/prod");
        m.archive = None;
        m.artifact = Some(ArtifactRef {
            run_id: 1234567890,
            name: "tfgate-infra.prod-default".into(),
        });
        let with = |reach| {
            render_comment(
                &CommentInput {
                    meta: &m,
                    summary: &kitchen_sink(),
                    plan_text: KITCHEN_PLAN,
                    tfgate_version: VERSION,
                    reach,
                },
                &Masker::default(),
            )
        };
        let footer = |body: &str| {
            let at = body
                .rfind("</details>")
                .map_or(0, |i| i + "</details>".len());
            body[at..].trim_start().to_string()
        };
        let declared = with(Reach::Known);
        check_invariants(&declared, &m);
        assert_eq!(parse_marker(&declared), Some(m.clone()));
        assert!(!declared.contains("[!WARNING]\n> The apply job"));
        let undeclared = with(Reach::ArtifactIfUploaded);
        check_invariants(&undeclared, &m);
        let lost = with(Reach::ThisRunnerOnly);
        check_invariants(&lost, &m);
        insta::assert_snapshot!(format!(
            "declared:\n{}\nundeclared:\n{}\nthis runner only:\n{}",
            footer(&declared),
            footer(&undeclared),
            footer(&lost)
        ));
    }

    #[test]
    fn old_markers_without_an_artifact_are_read() {
        let old = "<!-- tfgate:{\"version\":1,\"root\":\"r\",\"workspace\":\"default\",\"head_sha\":null,\"fingerprint\":\"sha256:00\",\"archive\":\"s3://b/p\",\"run_url\":null,\"status\":\"planned\"} -->";
        let m = parse_marker(old).expect("an old marker parses");
        assert_eq!(m.artifact, None);
        assert_eq!(m.archive.as_deref(), Some("s3://b/p"));
        // No `artifact` key is written when there is none, so older readers see what they knew.
        assert!(!marker(&m).contains("artifact"));
    }

    #[test]
    fn comment_without_changes() {
        let mut m = meta("infra/staging");
        m.archive = None;
        m.run_url = None;
        let body = render(
            &m,
            &empty_summary(),
            "\nNo changes. Your infrastructure matches the configuration.\n",
            &Masker::default(),
        );
        check_invariants(&body, &m);
        insta::assert_snapshot!(body);
    }

    #[test]
    fn comment_statuses() {
        for status in [
            CommentStatus::Applied,
            CommentStatus::Refused,
            CommentStatus::Failed,
            CommentStatus::Superseded,
            CommentStatus::NotApplied,
        ] {
            let m = CommentMeta {
                status,
                ..meta("infra/prod")
            };
            let body = render(&m, &kitchen_sink(), KITCHEN_PLAN, &Masker::default());
            check_invariants(&body, &m);
            let head: Vec<&str> = body.lines().skip(1).take(3).collect();
            insta::assert_snapshot!(format!("status_{status:?}"), head.join("\n"));
        }
    }

    #[test]
    fn summary_markdown_has_no_marker_nor_plan() {
        let md =
            render_summary_markdown(&kitchen_sink(), "infra/prod", "default", &Masker::default());
        assert!(!md.contains("<!--") && !md.contains("<details>"));
        insta::assert_snapshot!(md);
    }

    /// Plan content that tries to break out of everything.
    #[test]
    fn hostile_content_stays_inside() {
        let mut s = kitchen_sink();
        let evil = "</details><!-- x --> <script>alert(1)</script> | # h | `code` ``` [l](u) *_~";
        s.resources.push(ResourceSummary {
            reason: Some(evil.to_string()),
            previous_address: Some(format!("old[\"{evil}\"]")),
            import_id: Some(evil.to_string()),
            deposed: Some("`".to_string()),
            ..resource(&format!("x.y[\"{evil}\"]"), Action::Replace)
        });
        s.drift.relevant[0].attributes.push(evil.to_string());
        s.outputs.push(OutputSummary {
            name: evil.to_string(),
            action: Action::Delete,
            sensitive: false,
        });
        s.checks.failed[0].messages = vec![format!("line one\n# heading\n\n```\n{evil}")];
        let plan = "```\n````\n    `````` \n</details>\n<!--\n-->\n<script>x</script>\n# h\n| a | b |\r``````\n+ ok\n";
        let m = meta("root`with`<b>ticks</b>\n# x");
        let body = render(&m, &s, plan, &Masker::default());
        let shown = check_invariants(&body, &m);
        assert_eq!(shown, Some(11));
        // Outside the fence, no raw tag other than ours.
        let fence_start = body.find("\n```````diff\n").expect("a 7-backtick fence");
        let outside = &body[..fence_start];
        for tag in ["<script", "</details><!--", "<b>"] {
            let hits: Vec<_> = outside.match_indices(tag).collect();
            for (i, _) in hits {
                // Only inside a code span (preceded on its line by an opening backtick run).
                let line_start = outside[..i].rfind('\n').map_or(0, |p| p + 1);
                assert!(outside[line_start..i].contains('`'), "raw {tag} at {i}");
            }
        }
        assert!(
            !outside
                .lines()
                .skip(1)
                .any(|l| l.starts_with('#') && !l.starts_with("###") && !l.starts_with("####"))
        );
        insta::assert_snapshot!(body);
    }

    #[test]
    fn fence_is_never_closed_early() {
        for lead in ["", " ", "   ", "\t"] {
            for n in [3, 4, 7, 20] {
                let fence = "`".repeat(n);
                let plan = format!("before\n{lead}{fence}\n</details>\n{lead}{fence} \nafter\n");
                let body = render(&meta("r"), &empty_summary(), &plan, &Masker::default());
                assert_eq!(check_invariants(&body, &meta("r")), Some(5), "{plan:?}");
            }
        }
    }

    #[test]
    fn long_plan_is_cut_on_a_line_boundary_with_a_note() {
        let line = "      ~ input = \"ünïcödé 🚀 value\" -> \"other\"";
        let plan: String = (0..5000).map(|i| format!("{line} {i}\n")).collect();
        let m = meta("r");
        let body = render(&m, &kitchen_sink(), &plan, &Masker::default());
        let shown = check_invariants(&body, &m).expect("a plan block");
        assert!(shown > 500 && shown < 5000, "{shown}");
        assert!(body.contains(&format!(
            "Plan text truncated: showing {shown} of 5000 lines. The full plan is in the archive: `s3://tfgate-archive/"
        )));
        // The last shown line is whole.
        assert!(body.contains(&format!(
            "~       input = \"ünïcödé 🚀 value\" -> \"other\" {}\n",
            shown - 1
        )));
        assert!(
            body.len() > MAX_COMMENT_BYTES - 500,
            "uses the room it has: {}",
            body.len()
        );

        let mut no_archive = meta("r");
        no_archive.archive = None;
        let body = render(&no_archive, &kitchen_sink(), &plan, &Masker::default());
        check_invariants(&body, &no_archive);
        assert!(body.contains("lines. The full plan is in the run's artifacts/bundle.\n"));
    }

    #[test]
    fn long_lines_are_shortened_and_said_so() {
        // A plan that fits is shown whole, long lines included.
        let plan = format!("short\n{}\nlast\n", "é".repeat(5_000));
        let body = render(&meta("r"), &empty_summary(), &plan, &Masker::default());
        assert_eq!(check_invariants(&body, &meta("r")), Some(3));
        assert!(body.contains(&format!("{}\nlast\n", "é".repeat(5_000))));
        assert!(!body.contains("truncated"));
        // One that does not is shortened before lines are dropped.
        let plan = format!("short\n{}\nlast\n", "é".repeat(50_000));
        let body = render(&meta("r"), &empty_summary(), &plan, &Masker::default());
        assert_eq!(check_invariants(&body, &meta("r")), Some(3));
        assert!(body.contains("é … [98040 more bytes]\nlast\n"));
        assert!(body.contains(
            "Plan text truncated: showing 3 of 3 lines. 1 line longer than 2000 bytes was shortened."
        ));
    }

    #[test]
    fn everything_huge_still_fits() {
        let giant = "🚀<|`*".repeat(20_000);
        let long = "🚀<|`*&".repeat(60);
        let mut s = kitchen_sink();
        s.resources = (0..50_000)
            .map(|i| {
                let field = if i < 20 { &giant } else { &long };
                ResourceSummary {
                    reason: Some(field.clone()),
                    previous_address: Some(field.clone()),
                    import_id: Some(field.clone()),
                    deposed: Some(field.clone()),
                    ..resource(
                        &format!("{field}{i}"),
                        if i % 2 == 0 {
                            Action::Delete
                        } else {
                            Action::Replace
                        },
                    )
                }
            })
            .collect();
        s.counts.delete = 25_000;
        s.counts.replace = 25_000;
        s.drift.relevant = (0..300)
            .map(|i| DriftedResource {
                address: if i < 3 { giant.clone() } else { long.clone() },
                action: Action::Update,
                attributes: vec![if i < 3 { giant.clone() } else { long.clone() }; 100],
            })
            .collect();
        s.drift.other = usize::MAX;
        s.outputs = (0..1000)
            .map(|i| OutputSummary {
                name: if i < 3 { giant.clone() } else { long.clone() },
                action: Action::Update,
                sensitive: true,
            })
            .collect();
        let check = |i: usize| CheckSummary {
            address: if i < 3 { giant.clone() } else { long.clone() },
            messages: vec![if i < 3 { giant.clone() } else { long.clone() }; 50],
        };
        s.checks.failed = (0..500).map(check).collect();
        s.checks.errors = (0..500).map(check).collect();
        s.terraform_version = Some(giant.clone());
        let m = CommentMeta {
            root: giant.clone(),
            workspace: giant.clone(),
            head_sha: Some(giant.clone()),
            fingerprint: giant.clone(),
            archive: Some(giant.clone()),
            artifact: Some(ArtifactRef {
                run_id: u64::MAX,
                name: giant.clone(),
            }),
            run_url: Some(format!("https://{giant}")),
            ..meta("r")
        };
        let plan = format!("{giant}\n").repeat(100);
        let body = render_comment(
            &CommentInput {
                meta: &m,
                summary: &s,
                plan_text: &plan,
                tfgate_version: &giant,
                reach: Reach::ArtifactIfUploaded,
            },
            &Masker::default(),
        );
        let shown = check_invariants(&body, &m);
        assert!(
            shown.is_some_and(|n| n > 0),
            "some plan text is still shown"
        );
        let plan_bytes = body.find("<details>").map_or(0, |i| body.len() - i);
        assert!(plan_bytes > 16_000, "{plan_bytes} {shown:?} {}", body.len());
        assert!(body.contains("more resources (see the plan text and `tfgate show`)."));
        assert!(body.contains("> - … and "));
    }

    #[test]
    fn masking_happens_before_budgeting() {
        // Every "x" becomes "***": the masked text is three times longer than the input.
        let masker = Masker::new(&["x".to_string()]).expect("regex");
        let plan = "x".repeat(100) + "\n";
        let plan = plan.repeat(500);
        let mut s = kitchen_sink();
        s.resources = (0..5000)
            .map(|_| resource(&"x".repeat(250), Action::Delete))
            .collect();
        s.checks.failed[0].messages = vec!["x".repeat(10_000)];
        let m = meta("r");
        let body = render(&m, &s, &plan, &masker);
        check_invariants(&body, &m);
        let after_marker = body.split_once('\n').map_or("", |(_, rest)| rest);
        assert!(!after_marker.contains('x') || !after_marker.contains("xx"));
        assert!(
            after_marker.contains(&"*".repeat(300)) || after_marker.contains(&r"\*".repeat(100))
        );
    }

    #[test]
    fn secrets_are_masked_everywhere() {
        let mut masker = Masker::default();
        masker.add_literals(["hunter22-secret".to_string()]);
        let mut s = kitchen_sink();
        s.resources[0].address = "aws_s3_bucket.hunter22-secret".to_string();
        s.checks.failed[0].messages = vec!["password hunter22-secret rejected".to_string()];
        let body = render(
            &meta("r"),
            &s,
            "  + password = \"hunter22-secret\"\n",
            &masker,
        );
        assert!(!body.contains("hunter22"));
        assert!(body.contains(SENSITIVE));
    }

    #[test]
    fn empty_plan_text_has_no_details() {
        let body = render(&meta("r"), &kitchen_sink(), "", &Masker::default());
        check_invariants(&body, &meta("r"));
        assert!(!body.contains("<details>"));
    }

    /// Plans in tests/data/plans (real Terraform output), skipping the deliberately broken ones.
    #[test]
    fn real_plans() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/plans");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        let mut rendered = 0;
        for path in paths {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 file name")
                .to_string();
            if ["format-", "truncated", "not-json", "empty-object"]
                .iter()
                .any(|p| stem.starts_with(p))
            {
                continue;
            }
            let bytes = std::fs::read(&path).expect("readable plan");
            let plan = crate::terraform::plan_json::parse(&bytes).expect("a valid plan");
            let summary = Summary::from_plan(&plan).expect("a readable plan");
            let secrets = secrets_of_plan(&plan).expect("a readable plan");
            let mut masker = Masker::new(&["AKIA[0-9A-Z]{16}".to_string()]).expect("static regex");
            masker.add_literals(secrets.clone());
            let text = std::fs::read_to_string(path.with_extension("txt")).unwrap_or_default();
            let m = meta(&format!("terraform-fixtures/{stem}"));
            let body = render(&m, &summary, &text, &masker);
            check_invariants(&body, &m);
            for secret in secrets.iter().filter(|s| s.chars().count() >= 4) {
                assert!(
                    !body.contains(secret.as_str()),
                    "{stem}: secret {secret:?} shown"
                );
            }
            insta::assert_snapshot!(format!("plan_{stem}"), body);
            rendered += 1;
        }
        assert!(rendered > 0 || !dir.exists());
    }

    fn plan_line() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ ]{0,12}[-+~] [a-z_]{1,12} = \"[^\"]{0,40}\"",
            "[ ]{0,4}`{1,12}[a-z]{0,4}",
            Just("</details>".to_string()),
            Just("<details><summary>x</summary>".to_string()),
            Just("<!-- -->".to_string()),
            Just("-/+ resource \"a\" \"b\" {".to_string()),
            ".{0,300}",
            "[\\r\\n`]{1,5}",
        ]
    }

    fn arb_summary() -> impl Strategy<Value = Summary> {
        (
            0usize..2500,
            ".{0,80}",
            prop::collection::vec(".{0,200}", 0..5),
            any::<bool>(),
        )
            .prop_map(|(n, name, messages, errored)| {
                let mut s = kitchen_sink();
                s.resources = (0..n)
                    .map(|i| ResourceSummary {
                        reason: Some(name.clone()),
                        ..resource(
                            &format!("{name}[{i}]"),
                            [Action::Create, Action::Delete, Action::Replace][i % 3],
                        )
                    })
                    .collect();
                s.checks.failed[0].messages = messages;
                s.errored = errored;
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn comment_invariants_hold(
            lines in prop::collection::vec(plan_line(), 0..600),
            repeat in 1usize..30,
            summary in arb_summary(),
            root in ".{0,60}",
            mask in any::<bool>(),
            archive in any::<bool>(),
        ) {
            let plan = lines.join("\n").repeat(repeat);
            let mut m = meta(&root);
            if !archive {
                m.archive = None;
            }
            let masker = if mask {
                Masker::new(&["[aeiou]".to_string()]).expect("regex")
            } else {
                Masker::default()
            };
            let body = render(&m, &summary, &plan, &masker);
            let shown = check_invariants(&body, &m);
            prop_assert_eq!(parse_marker(&body), Some(m));
            let total = md::lines(&masker.mask(&plan)).count();
            if total > 0 {
                let shown = shown.expect("a plan block");
                prop_assert!(shown <= total);
                if shown < total {
                    let note = format!("Plan text truncated: showing {shown} of {total} lines.");
                    prop_assert!(body.contains(&note));
                }
            }
        }

        #[test]
        fn marker_round_trips_anything(
            root in any::<String>(),
            workspace in any::<String>(),
            archive in proptest::option::of(any::<String>()),
        ) {
            let m = CommentMeta { root, workspace, archive, ..meta("r") };
            let line = marker(&m);
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            prop_assert_eq!(line.matches("-->").count(), 1);
            prop_assert_eq!(parse_marker(&format!("{line}\nrest")), Some(m));
        }
    }
}

//! The pull-request comment (§5 "PR comment"): the markdown body built from a `Summary` and
//! the plan text, under the hidden marker (`github::marker`), and the same summary as markdown
//! for `show --format markdown`.
//!
//! Two promises hold for any input. Structure: everything taken from a plan is masked, then
//! escaped or fenced, so no address, message or plan line can close a fence or a `<details>`,
//! open HTML or a comment, or split a table. Size: the body never exceeds `MAX_COMMENT_BYTES`;
//! every section has a byte budget, and the plan text gets what is left, cut on a line boundary
//! with a note that says where the full plan is. This module assembles the body (marker,
//! headline, sections, plan, footer); `sections` renders the summary's sections (`resources`
//! its resource table), `findings` the code checkers' findings (`--checks`), `plan_text` the
//! plan text, and `status` gives a posted comment a new status. It renders only: it does
//! not post, read files or decide the status.

mod findings;
mod plan_text;
mod resources;
mod sections;
mod status;

use std::fmt::Write as _;

use crate::github::marker::{CommentMeta, CommentStatus, marker};
use crate::plan::redact::Masker;
use crate::plan::summary::Summary;
use crate::render::markdown as md;

pub use findings::ChecksInput;
pub use status::with_status;

use plan_text::plan_details;
use sections::summary_sections;
use status::status_note;

/// The most bytes a comment body may have, whatever the input. GitHub refuses bodies over 65,536
/// characters; bytes are counted here because they bound characters and are what we can measure
/// exactly.
pub const MAX_COMMENT_BYTES: usize = 60_000;

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
    /// The code checkers' findings (`plan --checks`), when asked for.
    pub checks: Option<ChecksInput<'a>>,
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
    if let Some(checks) = &input.checks {
        sections.push('\n');
        sections.push_str(&findings::checks_section(checks, masker));
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

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::github::marker::tests::{FINGERPRINT, meta};
    use crate::github::marker::{ArtifactRef, parse_marker};
    use crate::plan::redact::{SENSITIVE, secrets_of_plan};
    use crate::plan::summary::{
        Action, ChangedAttribute, CheckSummary, Checks, Counts, Drift, DriftedResource,
        OutputSummary, ResourceSummary,
    };
    use serde_json::json;

    const VERSION: &str = "0.0.0-test";
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

    pub(crate) fn resource(address: &str, action: Action) -> ResourceSummary {
        ResourceSummary {
            address: address.to_string(),
            action,
            reason: None,
            previous_address: None,
            import_id: None,
            deposed: None,
            changed_attributes: Vec::new(),
        }
    }

    /// A changed attribute, known after apply when `after` is `None`.
    pub(crate) fn changed(
        path: &str,
        before: serde_json::Value,
        after: Option<serde_json::Value>,
    ) -> ChangedAttribute {
        ChangedAttribute {
            path: path.to_string(),
            unknown: after.is_none(),
            before: Some(before),
            after,
            sensitive: false,
            forces_replacement: false,
        }
    }

    /// A summary with one of everything, counted the way `Summary::from_plan` counts.
    pub(crate) fn kitchen_sink() -> Summary {
        let mut s = empty_summary();
        s.resources = vec![
            resource("aws_s3_bucket.logs", Action::Create),
            ResourceSummary {
                reason: Some("an attribute forces replacement".to_string()),
                changed_attributes: vec![
                    ChangedAttribute {
                        forces_replacement: true,
                        ..changed("ami", json!("ami-1"), Some(json!("ami-2")))
                    },
                    changed("id", json!("i-1"), None),
                ],
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
            ResourceSummary {
                changed_attributes: vec![
                    ChangedAttribute {
                        sensitive: true,
                        before: None,
                        after: None,
                        ..changed("value", json!(null), Some(json!(null)))
                    },
                    changed("tags.Owner", json!("platform"), Some(json!("payments"))),
                ],
                ..resource(
                    r#"module.app.aws_ssm_parameter.this["a|b"]"#,
                    Action::Update,
                )
            },
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
                checks: None,
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
                    checks: None,
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
                checks: None,
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
        // Every resource is deleted or replaced: none is grouped, and those left out are counted.
        assert!(body.contains("more resources deleted or replaced, left out for room"));
        assert!(!body.contains("📦 group"));
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
    }
}

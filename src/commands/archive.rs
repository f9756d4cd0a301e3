//! `tfgate archive list`: the bundles archived for this root and workspace, newest first.
//!
//! Owns the command's arguments and how a listing is shown (a table, a markdown table, or §10's
//! JSON, a public interface). The listing itself is `archive::store`'s, which answers the same for
//! the local archive and for S3; this module must not read bundles itself, and it shows text from
//! manifests (which anyone with write access to the bucket could craft) only after removing
//! control characters.

use crate::render::table::{self, TableOptions, clean_line};
use serde::Serialize;

use crate::archive::bundle::BundleKind;
use crate::archive::store::{self, BundleStore, ListedBundle, RootAddress, Selection};
use crate::error::{Error, Outcome};
use crate::plan::summary::Counts;
use crate::settings::flags::Format;
use crate::settings::{Common, GithubSettings};
use crate::ui::Ui;

/// Archived plan and apply bundles.
#[derive(Debug, clap::Subcommand)]
pub enum ArchiveCommand {
    List(ListArgs),
}

/// List the archived bundles of this root and workspace, newest first.
///
/// Reads the S3 archive when --archive (TFGATE_ARCHIVE, `archive` in .tfgate.toml) is set, else
/// the local archive under the root's .tfgate/archive/. Only complete bundles are listed (a
/// bundle whose manifest was never written is not trusted) unless --all. --pr N (default: the
/// pull_request event's PR) keeps one pull request's bundles; --repo names the repository whose
/// bundles to list from S3.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only bundles made at this commit: the workflow's commit or the PR head the plan was made
    /// for (a prefix of the SHA is enough)
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,

    /// Also list incomplete bundles (a run or an upload that stopped before the manifest)
    #[arg(long)]
    pub all: bool,
}

pub async fn run(
    ui: &Ui,
    common: &Common,
    github: &GithubSettings,
    cmd: &ArchiveCommand,
) -> Result<Outcome, Error> {
    match cmd {
        ArchiveCommand::List(args) => list(ui, common, github, args).await,
    }
}

async fn list(
    ui: &Ui,
    common: &Common,
    github: &GithubSettings,
    args: &ListArgs,
) -> Result<Outcome, Error> {
    let archive = crate::wire::archive(common).await?;
    let at = RootAddress::new(
        github
            .repository
            .as_ref()
            .map(|(o, r)| (o.as_str(), r.as_str())),
        &common.root.name,
        common.workspace_name(),
    );
    let selection = Selection {
        pr: github.pr,
        commit: args.commit.clone().filter(|c| !c.is_empty()),
        incomplete: args.all,
    };
    ui.status(&format!(
        "tfgate: bundles of root {} workspace {} in {}",
        at.root,
        at.workspace,
        archive.describe()
    ));
    let bundles = store::list(&archive, &at, &selection).await?;
    for b in &bundles {
        if let crate::archive::store::BundleState::Unreadable { reason } = &b.state {
            ui.warning(&format!("{} is not trusted: {reason}", b.uri));
        }
    }
    let rows: Vec<Row> = bundles.iter().map(Row::from).collect();
    let text = match common.format {
        Format::Json => serde_json::to_string_pretty(&Listing { bundles: rows })
            .expect("a listing always serializes"),
        Format::Human => human(&rows, args.all, ui.color()),
        Format::Markdown => markdown(&rows, args.all),
    };
    ui.result(&text);
    Ok(Outcome::Success)
}

/// `archive list --format json` (§10).
#[derive(Debug, Serialize)]
struct Listing {
    bundles: Vec<Row>,
}

/// One bundle as §10 names its fields; more may be added, none renamed.
#[derive(Debug, Serialize)]
struct Row {
    uri: String,
    kind: Option<BundleKind>,
    created_at: Option<String>,
    pr: Option<u64>,
    commit: Option<String>,
    fingerprint: Option<String>,
    complete: bool,
    id: String,
    scope: String,
    pr_head_sha: Option<String>,
    has_changes: Option<bool>,
    counts: Option<Counts>,
}

impl From<&ListedBundle> for Row {
    fn from(b: &ListedBundle) -> Row {
        let m = b.manifest();
        Row {
            uri: b.uri.clone(),
            kind: b.kind(),
            created_at: b.created_at(),
            pr: b.pr(),
            commit: match m {
                Some(m) => m.commit.clone(),
                None => b.scope.strip_prefix("commit-").map(str::to_string),
            },
            fingerprint: m.map(|m| m.fingerprint.clone()),
            complete: b.is_complete(),
            id: b.id.clone(),
            scope: b.scope.clone(),
            pr_head_sha: m.and_then(|m| m.pr_head_sha.clone()),
            has_changes: m.map(|m| m.has_changes),
            counts: m.map(|m| m.counts.clone()),
        }
    }
}

impl Row {
    fn cells(&self, with_status: bool) -> Vec<String> {
        let kind = match self.kind {
            Some(BundleKind::Plan) => "plan",
            Some(BundleKind::Apply) => "apply",
            None => "?",
        };
        // The commit a reviewer saw: the PR head when there is one.
        let commit = self
            .pr_head_sha
            .as_deref()
            .or(self.commit.as_deref())
            .map_or("", |c| c.get(..12).unwrap_or(c));
        let fingerprint = self.fingerprint.as_deref().map_or("", |f| {
            let hex = f.strip_prefix("sha256:").unwrap_or(f);
            hex.get(..12).unwrap_or(hex)
        });
        let mut cells = vec![
            self.created_at.clone().unwrap_or_default(),
            kind.to_string(),
            self.pr.map(|n| format!("#{n}")).unwrap_or_default(),
            commit.to_string(),
            changes(self),
            fingerprint.to_string(),
            self.uri.clone(),
        ];
        if with_status {
            cells.push(
                if self.complete {
                    "complete"
                } else {
                    "INCOMPLETE"
                }
                .into(),
            );
        }
        cells.into_iter().map(|c| clean_line(&c)).collect()
    }
}

fn header(with_status: bool) -> Vec<&'static str> {
    let mut h = vec![
        "Created (UTC)",
        "Kind",
        "PR",
        "Commit",
        "Changes",
        "Fingerprint",
        "Bundle",
    ];
    if with_status {
        h.push("Status");
    }
    h
}

fn changes(row: &Row) -> String {
    match (&row.counts, row.has_changes) {
        (_, Some(false)) => "none".into(),
        (Some(c), Some(true)) => {
            let parts: Vec<String> = [
                (c.create, "+"),
                (c.update, "~"),
                (c.delete, "-"),
                (c.replace, "±"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, sign)| format!("{sign}{n}"))
            .collect();
            if parts.is_empty() {
                "outputs".into()
            } else {
                parts.join(" ")
            }
        }
        _ => String::new(),
    }
}

fn human(rows: &[Row], with_status: bool, color: bool) -> String {
    if rows.is_empty() {
        return "No bundles.\n".into();
    }
    let mut t = table::styled_table(&TableOptions { color, width: None });
    let head = header(with_status);
    table::bold_header(&mut t, head.iter().map(AsRef::as_ref), color);
    for row in rows {
        t.add_row(row.cells(with_status));
    }
    format!("{}\n", t.trim_fmt())
}

fn markdown(rows: &[Row], with_status: bool) -> String {
    if rows.is_empty() {
        return "No bundles.\n".into();
    }
    let h = header(with_status);
    let mut out = format!("| {} |\n|{}\n", h.join(" | "), "---|".repeat(h.len()));
    for row in rows {
        let cells: Vec<String> = row
            .cells(with_status)
            .iter()
            .map(|c| c.replace('|', "\\|").replace('`', "\\`"))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(complete: bool) -> Row {
        Row {
            uri: "s3://b/p/acme/infra/_/default/pr-7/20261122T000000000Z-plan-1".into(),
            kind: Some(BundleKind::Plan),
            created_at: Some("2026-11-22T00:00:00Z".into()),
            pr: Some(7),
            commit: Some("0123456789abcdef0123".into()),
            fingerprint: complete.then(|| "sha256:abcdef0123456789".into()),
            complete,
            id: "20261122T000000000Z-plan-1".into(),
            scope: "pr-7".into(),
            pr_head_sha: None,
            has_changes: complete.then_some(true),
            counts: complete.then(|| Counts {
                create: 2,
                delete: 1,
                ..Counts::default()
            }),
        }
    }

    #[test]
    fn table_cells() {
        assert_eq!(
            row(true).cells(false)[..6],
            [
                "2026-11-22T00:00:00Z",
                "plan",
                "#7",
                "0123456789ab",
                "+2 -1",
                "abcdef012345"
            ]
        );
        let cells = row(false).cells(true);
        assert_eq!(cells[4], "");
        assert_eq!(cells[7], "INCOMPLETE");
        let out = human(&[row(true), row(false)], true, false);
        assert!(
            out.contains("INCOMPLETE") && out.contains("Status"),
            "{out}"
        );
        assert_eq!(human(&[], false, false), "No bundles.\n");
    }

    #[test]
    fn hostile_manifest_text_is_neutralised() {
        let mut r = row(true);
        r.commit = Some("\u{1b}[2Jabc|`x`".into());
        let md = markdown(&[r], false);
        assert!(!md.contains('\u{1b}'), "{md}");
        assert!(md.contains("abc\\|\\`x\\`"), "{md}");
    }
}

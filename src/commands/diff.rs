//! `tfgate diff A B`: what differs between two plans, for post-incident review.
//!
//! Owns the command: recognising each side's source (a plan JSON file, a bundle folder, a binary
//! plan read in the `--chdir` root, or an archive reference `s3://…`, `pr:N`, `commit:SHA`),
//! reading and parsing both plans, the warning about plans of different roots or workspaces, the output format and the exit code
//! (0 identical, 3 different). It does not compare plans (`plan::compare`), read the ignore
//! rules (`settings::resolve_ignore`) nor lay out the report (`render::report`), and it writes
//! only through `Ui`.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::archive::bundle::{self, BundleKind, Manifest};
use crate::archive::store::{self, BundleStore, Files, RootAddress, Selection};
use crate::error::{Error, Outcome};
use crate::ops::read::read_plan_json;
use crate::plan::compare::{self, CompareOptions, Comparison, IgnoreRule};
use crate::plan::redact::{secrets_of_plan, secrets_of_plan_beside};
use crate::render::comment::MAX_COMMENT_BYTES;
use crate::render::report::{self, ReportOptions};
use crate::render::table::TableOptions;
use crate::settings::flags::Format;
use crate::settings::{Common, GithubSettings};
use crate::terraform::plan_file::PlanBytes;
use crate::terraform::plan_json::Plan;
use crate::ui::Ui;

/// Compare two plans for post-incident review.
///
/// Each plan is a plan JSON file (`terraform show -json`), a bundle folder, or a binary plan
/// file (read with `terraform show -json` in the --chdir root, which must be initialised).
/// Archive references (s3://…, pr:N, commit:SHA) need an archive. Prints what differs per
/// resource and output, then a unified diff of the two plans' redacted renderings. Only what
/// the plans do counts: attributes that change in neither plan (ids, timestamps) are ignored.
/// Exit status: 0 identical, 3 different, 1 error.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The first plan (e.g. the reviewed one)
    #[arg(value_name = "A")]
    pub a: String,
    /// The second plan (e.g. the one made at apply time)
    #[arg(value_name = "B")]
    pub b: String,
    /// Lines of context around each change in the unified diff
    #[arg(long, value_name = "N", default_value_t = report::DEFAULT_CONTEXT)]
    pub context: usize,
    #[command(flatten)]
    pub ignore: crate::settings::flags::IgnoreArgs,
}

/// Where a plan comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A plan JSON file, a bundle folder or a binary plan file.
    Local(PathBuf),
    /// A bundle in the configured archive.
    Archive(ArchiveRef),
}

/// A reference to an archived bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveRef {
    /// `s3://BUCKET/KEY…`: that bundle.
    Uri(String),
    /// `pr:N`: the newest complete bundle of pull request N for this root and workspace.
    Pr(u64),
    /// `commit:SHA`: the newest complete bundle of that commit for this root and workspace.
    Commit(String),
}

impl Source {
    /// Recognises archive references by their prefix; anything else is a local path (write
    /// `./pr:1` for a file that happens to be called `pr:1`).
    pub fn parse(text: &str) -> Result<Source, Error> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let bucket = rest.split('/').next().unwrap_or("");
            if bucket.is_empty() {
                return Err(Error::usage(
                    format!("`{text}` names no bucket"),
                    "an archived bundle is s3://BUCKET/PREFIX/…/BUNDLE_ID",
                ));
            }
            return Ok(Source::Archive(ArchiveRef::Uri(text.to_string())));
        }
        if let Some(n) = text.strip_prefix("pr:") {
            return match n.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Source::Archive(ArchiveRef::Pr(n))),
                _ => Err(Error::usage(
                    format!("`{text}` is not a pull request reference"),
                    "write pr:N with the pull request's number, e.g. pr:42",
                )),
            };
        }
        if let Some(sha) = text.strip_prefix("commit:") {
            let hex = sha.chars().all(|c| c.is_ascii_hexdigit());
            return if hex && (4..=40).contains(&sha.len()) {
                Ok(Source::Archive(ArchiveRef::Commit(
                    sha.to_ascii_lowercase(),
                )))
            } else {
                Err(Error::usage(
                    format!("`{text}` is not a commit reference"),
                    "write commit:SHA with 4 to 40 hexadecimal digits of the commit",
                ))
            };
        }
        if text.is_empty() {
            return Err(Error::usage(
                "a plan to compare is empty",
                "pass two plans: JSON files, bundle folders or binary plan files",
            ));
        }
        Ok(Source::Local(PathBuf::from(text)))
    }
}

/// A plan's bytes and what is known about where it came from.
struct Loaded {
    bytes: PlanBytes,
    /// The file the JSON came from, for error messages.
    path: PathBuf,
    /// The bundle's manifest, when the plan came from a bundle.
    manifest: Option<Manifest>,
}

pub async fn run(
    ui: &Ui,
    common: &Common,
    github: &GithubSettings,
    args: &DiffArgs,
    rules: &[IgnoreRule],
) -> Result<Outcome, Error> {
    let (source_a, source_b) = (Source::parse(&args.a)?, Source::parse(&args.b)?);
    let a = load(ui, common, github, &source_a).await?;
    let b = load(ui, common, github, &source_b).await?;
    let ((plan_a, secrets_a), (plan_b, secrets_b)) = parse_both(&a, &b)?;
    ui.add_secrets(secrets_a);
    ui.add_secrets(secrets_b);
    warn_if_unrelated(ui, (&args.a, &a, &plan_a), (&args.b, &b, &plan_b));

    let masker = ui.masker();
    let cmp = compare::compare(
        &plan_a,
        &plan_b,
        &CompareOptions {
            ignore: rules,
            masker: &masker,
        },
    )
    .map_err(|e| Error::PlanJson {
        path: match e.side {
            compare::Side::A => a.path.clone(),
            compare::Side::B => b.path.clone(),
        },
        kind: e.error,
    })?;
    ui.detail(&format!(
        "A: {} resource changes, {}; B: {} resource changes, {}",
        plan_a.resource_changes.len(),
        cmp.fingerprint_a,
        plan_b.resource_changes.len(),
        cmp.fingerprint_b
    ));
    ui.result(&render(ui, common, args, &cmp, &masker));
    Ok(if cmp.identical {
        Outcome::Success
    } else {
        Outcome::Different
    })
}

fn render(
    ui: &Ui,
    common: &Common,
    args: &DiffArgs,
    cmp: &Comparison,
    masker: &crate::plan::redact::Masker,
) -> String {
    let opts = ReportOptions {
        a_label: &args.a,
        b_label: &args.b,
        context: args.context,
        sides: report::Sides::AB,
    };
    match common.format {
        Format::Human => report::human(
            cmp,
            &opts,
            masker,
            &TableOptions {
                color: ui.color(),
                width: None,
            },
        ),
        // Bounded like a comment, so that it can be pasted into a GitHub issue or PR as it is.
        Format::Markdown => report::markdown(cmp, &opts, masker, MAX_COMMENT_BYTES),
        Format::Json => serde_json::to_string_pretty(cmp).expect("a comparison always serializes"),
    }
}

async fn load(
    ui: &Ui,
    common: &Common,
    github: &GithubSettings,
    source: &Source,
) -> Result<Loaded, Error> {
    match source {
        Source::Archive(reference) => {
            let uri = match reference {
                ArchiveRef::Uri(uri) => uri.clone(),
                ArchiveRef::Pr(n) => {
                    newest_plan(
                        common,
                        github,
                        Selection {
                            pr: Some(*n),
                            ..Selection::default()
                        },
                        &format!("pr:{n}"),
                    )
                    .await?
                }
                ArchiveRef::Commit(sha) => {
                    newest_plan(
                        common,
                        github,
                        Selection {
                            commit: Some(sha.clone()),
                            ..Selection::default()
                        },
                        &format!("commit:{sha}"),
                    )
                    .await?
                }
            };
            ui.status(&format!("tfgate: {} is {uri}", reference_text(reference)));
            let files = Files::Only(&[bundle::PLAN_JSON]);
            let fetched = crate::wire::fetch_bundle(std::path::Path::new(&uri), files).await?;
            let path = fetched.dir.join(bundle::PLAN_JSON);
            let bytes =
                PlanBytes::Read(std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?);
            Ok(Loaded {
                bytes,
                path: PathBuf::from(&uri),
                manifest: Some(fetched.manifest),
            })
        }
        Source::Local(path) => {
            let ports = crate::wire::Wired::new(common, None);
            let (bytes, json_path) = read_plan_json(ui, common, &ports, path).await?;
            let manifest = if path.is_dir() {
                Manifest::load(path)?
            } else {
                None
            };
            Ok(Loaded {
                bytes,
                path: json_path,
                manifest,
            })
        }
    }
}

/// The newest complete plan bundle of this root and workspace matching `selection`, in the
/// configured archive (S3 with `--archive`, else the root's local archive).
async fn newest_plan(
    common: &Common,
    github: &GithubSettings,
    selection: Selection,
    what: &str,
) -> Result<String, Error> {
    let archive = crate::wire::archive(common).await?;
    let repository = github
        .repository
        .as_ref()
        .map(|(o, r)| (o.as_str(), r.as_str()));
    let at = RootAddress::new(repository, &common.root.name, common.workspace_name());
    let found = store::list(&archive, &at, &selection)
        .await?
        .into_iter()
        .find(|b| b.kind() == Some(BundleKind::Plan));
    found
        .map(|b| b.uri)
        .ok_or_else(|| Error::ReviewedPlanMissing {
            message: format!(
                "no complete plan bundle for {what} in {} ({} workspace {})",
                archive.describe(),
                common.root.name,
                common.workspace_name()
            ),
        })
}

fn reference_text(reference: &ArchiveRef) -> String {
    match reference {
        ArchiveRef::Uri(uri) => uri.clone(),
        ArchiveRef::Pr(n) => format!("pr:{n}"),
        ArchiveRef::Commit(sha) => format!("commit:{sha}"),
    }
}

type Parsed<'b> = (Plan<'b>, Vec<String>);

/// Parses both plans at once (one thread each), then collects their secrets (B's only where
/// they may differ from A's: the masker gets both). An error is A's before B's, and a plan's
/// JSON error before its secrets'.
fn parse_both<'b>(a: &'b Loaded, b: &'b Loaded) -> Result<(Parsed<'b>, Parsed<'b>), Error> {
    let on = |l: &Loaded| {
        let path = l.path.clone();
        move |kind| Error::PlanJson { path, kind }
    };
    let (plan_a, plan_b) = std::thread::scope(|scope| {
        // Each plan's unread pages are handed back as soon as it is parsed.
        let worker = scope.spawn(|| b.bytes.parse());
        let plan_a = a.bytes.parse();
        let plan_b = worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (plan_a, plan_b)
    });
    let plan_a = plan_a.map_err(on(a))?;
    let secrets_a = secrets_of_plan(&plan_a).map_err(on(a))?;
    let plan_b = plan_b.map_err(on(b))?;
    let secrets_b = secrets_of_plan_beside(&plan_b, Some(&plan_a)).map_err(on(b))?;
    Ok(((plan_a, secrets_a), (plan_b, secrets_b)))
}

/// Plans of different roots or workspaces may be compared, but the user should know: from the
/// bundles' manifests when both have one, else when the plans share no resource at all.
fn warn_if_unrelated(ui: &Ui, a: (&str, &Loaded, &Plan<'_>), b: (&str, &Loaded, &Plan<'_>)) {
    let (label_a, loaded_a, plan_a) = a;
    let (label_b, loaded_b, plan_b) = b;
    if let (Some(ma), Some(mb)) = (&loaded_a.manifest, &loaded_b.manifest) {
        if (&ma.root, &ma.workspace) != (&mb.root, &mb.workspace) {
            ui.warning(&format!(
                "{label_a} is a plan of root {} (workspace {}) and {label_b} of root {} \
                 (workspace {}); comparing them anyway",
                ma.root, ma.workspace, mb.root, mb.workspace
            ));
        }
        return;
    }
    // Usually B's first resource is one of A's: then A needs no index.
    let first_shared = plan_b.resource_changes.first().is_some_and(|rb| {
        plan_a
            .resource_changes
            .iter()
            .any(|ra| ra.address == rb.address)
    });
    if first_shared {
        return;
    }
    let addresses: HashSet<&str> = plan_a
        .resource_changes
        .iter()
        .map(|rc| rc.address.as_ref())
        .collect();
    let shared = plan_b
        .resource_changes
        .iter()
        .any(|rc| addresses.contains(rc.address.as_ref()));
    if !shared && !addresses.is_empty() && !plan_b.resource_changes.is_empty() {
        ui.warning(&format!(
            "{label_a} and {label_b} have no resource in common: they may be plans of different \
             roots or workspaces; comparing them anyway"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn sources_are_recognised() {
        assert_eq!(
            Source::parse("plan.json").unwrap(),
            Source::Local("plan.json".into())
        );
        assert_eq!(
            Source::parse("./pr:1").unwrap(),
            Source::Local("./pr:1".into())
        );
        assert_eq!(
            Source::parse("s3://bucket/p/x").unwrap(),
            Source::Archive(ArchiveRef::Uri("s3://bucket/p/x".into()))
        );
        assert_eq!(
            Source::parse("pr:42").unwrap(),
            Source::Archive(ArchiveRef::Pr(42))
        );
        assert_eq!(
            Source::parse("commit:ABCdef12").unwrap(),
            Source::Archive(ArchiveRef::Commit("abcdef12".into()))
        );
        for bad in [
            "s3://",
            "s3:///key",
            "pr:",
            "pr:x",
            "pr:0",
            "commit:xyz",
            "commit:",
            "",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_are_kept_as_given() {
        let s = Source::parse("bundles/x").unwrap();
        assert!(matches!(s, Source::Local(p) if p == Path::new("bundles/x")));
    }
}

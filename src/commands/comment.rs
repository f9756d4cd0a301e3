//! Posting the PR comment: from `tfgate plan`, and `tfgate comment BUNDLE` for workflows that
//! comment from a separate job.
//!
//! A comment that cannot be posted is a warning, not a failed plan, unless the user asked for
//! `--require-comment`: the plan and its bundle are what matter, and the comment is in the
//! bundle either way.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::archive::bundle::{self, BundleKind, Manifest};
use crate::archive::store::{self, FetchedBundle, Files, Scope};
use crate::aws::s3_archive::S3Location;
use crate::error::{Error, Outcome};
use crate::github::CommentTarget;
use crate::github::marker::{CommentMeta, CommentStatus, MARKER_VERSION, parse_marker};
use crate::ops::comment::{comment_error, publish, resolve_pr};
use crate::render::comment::{CommentInput, Reach, render_comment};
use crate::settings::GithubSettings;
use crate::terraform::plan_file;
use crate::ui::Ui;

/// Post (or update) the PR comment of an existing bundle.
///
/// For workflows that plan with a read-only token (pull requests from forks) and comment from
/// a separate job that may write. The bundle is verified against its manifest (exit 4 when it
/// was altered) and its comment is rendered again from its plan, so pass the same --mask
/// patterns as to `tfgate plan` (or keep them in .tfgate.toml). Makes no write when the
/// comment already says the same.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The plan bundle: a folder, or an archived bundle's s3://… URI
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
}

/// `tfgate comment BUNDLE`: the bundle (a folder or an `s3://` URI) is verified as a whole,
/// then its comment is rendered again from its `plan.json`, `plan.txt` and manifest, so the
/// marker and the body always say what the archived plan says; `comment.md` is only the copy
/// made at plan time (a warning says when it differs).
pub async fn run(ui: &Ui, gh: &GithubSettings, bundle_path: &Path) -> Result<Outcome, Error> {
    let fetched = crate::wire::fetch_bundle(
        bundle_path,
        Files::Only(&[bundle::PLAN_JSON, bundle::PLAN_TEXT, bundle::COMMENT]),
    )
    .await?;
    let manifest = &fetched.manifest;
    if manifest.kind != BundleKind::Plan {
        return Err(Error::usage(
            format!(
                "{} is an apply bundle; its PR comment was updated by the apply",
                fetched.source
            ),
            "pass the plan bundle that `tfgate plan` reported",
        ));
    }
    let body = render_again(ui, &fetched)?;
    // One step: finding the PR's head and posting share one deadline.
    let client = crate::wire::pull_requests(gh)
        .map_err(|e| comment_error(&e, "GitHub"))?
        .map(|c| c.step(gh.timeout));
    let mut gh = gh.clone();
    gh.pr = gh.pr.or(manifest.pr);
    let pr = resolve_pr(ui, &gh, client.as_ref()).await.ok_or_else(|| {
        Error::usage(
            "no pull request to comment on",
            "pass --pr N (and --repo OWNER/REPO outside GitHub Actions)",
        )
    })?;
    let target = CommentTarget {
        owner: pr.owner,
        repo: pr.repo,
        pr: pr.number,
        root: manifest.root.clone(),
        workspace: manifest.workspace.clone(),
    };
    publish(ui, client.as_ref(), &target, &body, true).await?;
    Ok(Outcome::Success)
}

/// The comment of a verified plan bundle, as `tfgate plan` rendered it: the summary and the
/// fingerprint from `plan.json`, the plan text from `plan.txt`, root, workspace, PR head and
/// run from the manifest. A manifest whose fingerprint is not its plan's is an altered bundle.
fn render_again(ui: &Ui, fetched: &FetchedBundle) -> Result<String, Error> {
    let manifest = &fetched.manifest;
    let analysis = verified_analysis(fetched)?;
    let summary = &analysis.summary;
    ui.add_secrets(analysis.secrets.clone());
    let text_path = fetched.dir.join(bundle::PLAN_TEXT);
    let text = std::fs::read(&text_path).map_err(|e| Error::io("read", &text_path, e))?;
    let text = ui.mask(&String::from_utf8_lossy(&text));
    let comment_path = fetched.dir.join(bundle::COMMENT);
    let archived = std::fs::read(&comment_path).map_err(|e| Error::io("read", &comment_path, e))?;
    let archived = String::from_utf8_lossy(&archived);

    let archived_meta = parse_marker(&archived);
    // A plan carried by a workflow artifact: the artifact of the run the manifest names (a
    // marker cannot point the apply at another run's artifact; and whatever it downloads must
    // hold this plan's fingerprint anyway).
    let artifact = archived_meta
        .as_ref()
        .and_then(|m| m.artifact.clone())
        .filter(|a| !fetched.is_download() && same_run(manifest.run_url.as_deref(), a.run_id));
    let archive = match artifact {
        Some(_) => None,
        None => Some(archive_of(ui, fetched, archived_meta)),
    };
    let meta = CommentMeta {
        created_at: Some(plan_time(manifest)),
        version: MARKER_VERSION,
        root: manifest.root.clone(),
        workspace: manifest.workspace.clone(),
        head_sha: manifest.pr_head_sha.clone(),
        fingerprint: summary.fingerprint.clone(),
        archive,
        artifact,
        run_url: manifest.run_url.clone(),
        status: CommentStatus::Planned,
        counts: Some(crate::ops::plan::plan_counts(summary)),
    };
    let masker = ui.masker();
    let render = |reach| {
        render_comment(
            &CommentInput {
                meta: &meta,
                summary,
                plan_text: &text,
                tfgate_version: env!("CARGO_PKG_VERSION"),
                reach,
                // The checkers' SARIF files are not in the bundle.
                checks: None,
            },
            &masker,
        )
    };
    // The footer's note on whether the apply job can reach the plan is what plan said then
    // (it only ever adds a warning); any other difference is reported below.
    let body = [
        Reach::Known,
        Reach::ArtifactIfUploaded,
        Reach::ThisRunnerOnly,
    ]
    .into_iter()
    .map(render)
    .find(|b| *b == archived)
    .unwrap_or_else(|| render(Reach::Known));
    if body != archived {
        ui.warning(&format!(
            "the bundle's comment.md is not the comment its plan renders to (altered, or made with other --mask patterns or another tfgate version); posting the comment rendered from {}",
            bundle::PLAN_JSON
        ));
    }
    Ok(body)
}

/// The bundle's plan, read from its `plan.json`, whose fingerprint must be the manifest's.
fn verified_analysis(fetched: &FetchedBundle) -> Result<crate::plan::Analysis, Error> {
    let manifest = &fetched.manifest;
    let json_path = fetched.dir.join(bundle::PLAN_JSON);
    let json = plan_file::read(&json_path)?;
    let analysis = json.analyze().map_err(|kind| Error::PlanJson {
        path: json_path.clone(),
        kind,
    })?;
    drop(json);
    let fingerprint = &analysis.summary.fingerprint;
    if *fingerprint != manifest.fingerprint {
        return Err(Error::BundleAltered {
            bundle: fetched.source.clone(),
            reason: format!(
                "its manifest records the fingerprint {} but its plan.json has {fingerprint}",
                manifest.fingerprint
            ),
        });
    }
    Ok(analysis)
}

/// Whether a run URL (`…/actions/runs/ID[/attempts/N]`) is that of run `id`.
fn same_run(run_url: Option<&str>, id: u64) -> bool {
    run_url.is_some_and(|u| {
        let mut parts = u.rsplit('/');
        let last = parts.next();
        let run = if parts.next() == Some("attempts") {
            parts.next()
        } else {
            last
        };
        run.and_then(|r| r.parse::<u64>().ok()) == Some(id)
    })
}

/// When the plan was made, for the marker: the manifest's time (to the millisecond since
/// tfgate 0.2), as `tfgate plan` wrote it into its marker.
fn plan_time(manifest: &Manifest) -> String {
    chrono::DateTime::parse_from_rfc3339(&manifest.created_at)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .unwrap_or_else(|_| manifest.created_at.clone())
}

/// Where the marker says the bundle is archived: the `s3://` URI it was fetched from; else the
/// S3 URI `comment.md` named at plan time, when that URI has this bundle's place in the
/// archive's layout (root, workspace, scope, and an id made at the manifest's creation time);
/// else the folder itself.
fn archive_of(ui: &Ui, fetched: &FetchedBundle, archived: Option<CommentMeta>) -> String {
    if fetched.is_download() {
        return fetched.source.clone();
    }
    let folder = std::fs::canonicalize(&fetched.dir)
        .unwrap_or_else(|_| fetched.dir.clone())
        .display()
        .to_string();
    match archived.and_then(|m| m.archive) {
        Some(uri) if uri.starts_with(S3Location::SCHEME) => {
            if names_bundle(&uri, &fetched.manifest) {
                uri
            } else {
                ui.warning(&format!(
                    "the bundle's comment.md names the archive {uri}, which is not this bundle's place; the comment names {folder}"
                ));
                folder
            }
        }
        _ => folder,
    }
}

/// Whether an S3 URI ends in this bundle's place: `…/ROOT/WORKSPACE/SCOPE/ID` (§5).
fn names_bundle(uri: &str, manifest: &Manifest) -> bool {
    let Ok(location) = S3Location::parse(uri) else {
        return false;
    };
    let mut segments: Vec<&str> = location.prefix.split('/').collect();
    let Some(id) = segments.pop() else {
        return false;
    };
    let scope = match (manifest.pr, &manifest.commit) {
        (Some(n), _) => Scope::Pr(n),
        (None, Some(sha)) => Scope::Commit(sha.clone()),
        (None, None) => Scope::Local,
    };
    let mut expected = store::root_segments(&manifest.root);
    expected.push(store::segment(&manifest.workspace));
    expected.push(scope.segment());
    let ends_as_expected = segments.len() >= expected.len()
        && segments[segments.len() - expected.len()..]
            .iter()
            .zip(&expected)
            .all(|(a, b)| a == b);
    ends_as_expected
        && id.contains("-plan-")
        && store::created_from_id(id).as_deref() == Some(manifest.created_at.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifact_belongs_to_the_run_of_the_manifest() {
        let url = "https://github.com/acme/infra/actions/runs/5";
        assert!(same_run(Some(url), 5));
        assert!(same_run(Some(&format!("{url}/attempts/2")), 5));
        assert!(!same_run(Some(url), 6));
        assert!(!same_run(Some(&format!("{url}/attempts/2")), 2));
        assert!(!same_run(None, 5));
    }

    fn manifest(pr: Option<u64>, commit: Option<&str>) -> Manifest {
        serde_json::from_value(serde_json::json!({
            "manifest_version": bundle::MANIFEST_VERSION,
            "tfgate_version": "0.0.0",
            "kind": "plan",
            "created_at": "2026-11-22T10:11:12Z",
            "repository": "acme/infra",
            "pr": pr,
            "commit": commit,
            "pr_head_sha": null,
            "run_url": null,
            "root": "envs/prod",
            "workspace": "default",
            "terraform_version": null,
            "fingerprint": "sha256:00",
            "has_changes": false,
            "counts": crate::plan::summary::Counts::default(),
            "files": {},
        }))
        .unwrap()
    }

    #[test]
    fn an_archive_uri_must_be_this_bundles_place() {
        let pr = manifest(Some(7), Some("abc"));
        let at = "s3://bkt/p/acme/infra/envs/prod/default/pr-7/20261122T101112345Z-plan-42";
        assert!(names_bundle(at, &pr));
        for other in [
            "s3://bkt/p/acme/infra/envs/prod/default/pr-8/20261122T101112345Z-plan-42",
            "s3://bkt/p/acme/infra/envs/dev/default/pr-7/20261122T101112345Z-plan-42",
            "s3://bkt/p/acme/infra/envs/prod/blue/pr-7/20261122T101112345Z-plan-42",
            "s3://bkt/p/acme/infra/envs/prod/default/pr-7/20261122T101113345Z-plan-42",
            "s3://bkt/p/acme/infra/envs/prod/default/pr-7/20261122T101112345Z-apply-42",
            "s3://bkt/pr-7/20261122T101112345Z-plan-42",
            "s3://evil/bundle",
            "not a uri",
        ] {
            assert!(!names_bundle(other, &pr), "{other}");
        }
        let commit = manifest(None, Some("abc"));
        assert!(names_bundle(
            "s3://bkt/local/local/envs/prod/default/commit-abc/20261122T101112000Z-plan-1",
            &commit
        ));
        assert!(names_bundle(
            "s3://bkt/x/envs/prod/default/local/20261122T101112000Z-plan-1",
            &manifest(None, None)
        ));
    }
}

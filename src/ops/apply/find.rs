//! Finding the reviewed plan: `--reviewed`, or the merged pull request's tfgate comment and the
//! place its marker names (an S3 bundle, a folder, or a workflow artifact of the plan's run),
//! verified before it is trusted; then the checks that it is for this root and not stale.

use super::*;

/// The reviewed plan, verified.
pub(super) struct Reviewed {
    /// Where it came from, for messages and the apply manifest.
    pub(super) location: String,
    pub(super) manifest: Manifest,
    pub(super) plan_json: Vec<u8>,
    /// The PR it was reviewed on, when known (for the stale check and the comment).
    pub(super) pr: Option<ReviewedPr>,
    /// The S3 archive the reviewed bundle is in, when the PR comment named one.
    pub(super) archive: Option<S3Location>,
}

/// What the lookup found.
pub(super) enum Found {
    Reviewed(Box<Reviewed>),
    /// The merged PR has no tfgate comment for this root and workspace (with `--comment
    /// changes`, a PR whose plan changed nothing has none): nothing was reviewed.
    Nothing(ReviewedPr),
}

/// Where the PR comment's marker says the reviewed bundle is.
pub(super) enum Source {
    /// An `s3://` URI or a folder.
    Location(String),
    /// A workflow artifact of the plan's run, in the PR's repository.
    Artifact {
        owner: String,
        repo: String,
        at: ArtifactRef,
    },
}

pub(super) struct ReviewedPr {
    pub(super) owner: String,
    pub(super) repo: String,
    pub(super) pull: PullRequest,
    /// The head the plan was made for, from the comment's marker.
    pub(super) planned_head: Option<String>,
}

/// Step 1: the reviewed plan, from `--reviewed` or the comment of the merged PR (`pr`, found
/// with `merged_pr`).
pub(super) async fn find_reviewed<P: PullRequests + Artifacts>(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    ports: &impl Ports,
    client: Option<&P>,
    pr: Option<(String, String, PullRequest)>,
    trace: &RefCell<Trace>,
) -> Result<Found, Error> {
    let gh = opts.github;
    let (source, planned_head, fingerprint) = match (&opts.reviewed, &pr, client) {
        (Some(loc), _, _) => (Source::Location(loc.clone()), None, None),
        (None, Some((owner, repo, pull)), Some(c)) => {
            match source_from_comment(ui, opts, c, (owner, repo, pull), trace).await? {
                Some(found) => found,
                None => {
                    return Ok(Found::Nothing(ReviewedPr {
                        owner: owner.clone(),
                        repo: repo.clone(),
                        pull: pull.clone(),
                        planned_head: None,
                    }));
                }
            }
        }
        (None, _, _) => {
            return Err(missing(if gh.token.is_none() {
                "no reviewed plan: pass --reviewed BUNDLE, or run on a push with GITHUB_TOKEN so tfgate can find the merged PR's plan".to_string()
            } else {
                "no merged pull request is associated with this commit".to_string()
            }));
        }
    };
    let (location, manifest, plan_json) = load_source(ui, opts, ports, client, &source).await?;
    if let Some(fingerprint) = fingerprint
        && manifest.fingerprint != fingerprint
    {
        return Err(missing(format!(
            "{location} holds the plan {}, but the PR comment shows the plan {fingerprint}: it is not the plan that was reviewed",
            manifest.fingerprint
        )));
    }
    let planned_head = planned_head.or_else(|| manifest.pr_head_sha.clone());
    let archive = match &source {
        Source::Location(l) if l.starts_with(S3Location::SCHEME) && opts.reviewed.is_none() => {
            archive_of_bundle(
                l,
                &manifest,
                pr.as_ref().map(|(o, r, _)| (o.as_str(), r.as_str())),
            )
        }
        _ => None,
    };
    Ok(Found::Reviewed(Box::new(Reviewed {
        location,
        manifest,
        plan_json,
        pr: pr.map(|(owner, repo, pull)| ReviewedPr {
            owner,
            repo,
            pull,
            planned_head,
        }),
        archive,
    })))
}

/// The reviewed plan's place as the merged PR's tfgate comment names it, the head it was
/// planned for, and the fingerprint the comment shows; `None` when the PR has no tfgate
/// comment for this root and workspace.
async fn source_from_comment(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    c: &impl PullRequests,
    (owner, repo, pull): (&String, &String, &PullRequest),
    trace: &RefCell<Trace>,
) -> Result<Option<(Source, Option<String>, Option<String>)>, Error> {
    let target = target_of(opts, owner, repo, pull.number);
    let comment = c.find_comment(&target).await;
    pr_comment::warn_identity(ui, Some(c)).await;
    let comment = comment.map_err(|e| {
        lookup_failed(format!(
            "cannot read the comments of {owner}/{repo}#{}: {e}",
            pull.number
        ))
    })?;
    trace.borrow_mut().comment = comment.as_ref().map(|c| c.id);
    let Some(comment) = comment else {
        trace.borrow_mut().no_comment = true;
        return Ok(None);
    };
    check_archive_agrees(opts.common.archive.as_deref(), &comment.meta)?;
    let source = match (&comment.meta.artifact, &comment.meta.archive) {
        (Some(at), _) => Source::Artifact {
            owner: owner.clone(),
            repo: repo.clone(),
            at: at.clone(),
        },
        (None, Some(archive)) => {
            if !archive.starts_with(S3Location::SCHEME) && !std::path::Path::new(archive).exists() {
                return Err(Error::PlanUnreachable {
                    reason: format!(
                        "the plan comment on {owner}/{repo}#{} names the folder {archive} on the runner that planned, and this runner has no such folder",
                        pull.number
                    ),
                    artifact: artifact::artifact_name(&target.root, &target.workspace),
                });
            }
            Source::Location(archive.clone())
        }
        (None, None) => {
            return Err(Error::PlanUnreachable {
                reason: format!(
                    "the plan comment on {owner}/{repo}#{} names no archive and no workflow artifact",
                    pull.number
                ),
                artifact: artifact::artifact_name(&target.root, &target.workspace),
            });
        }
    };
    Ok(Some((
        source,
        comment.meta.head_sha.clone(),
        Some(comment.meta.fingerprint.clone()),
    )))
}

/// Reads the reviewed plan from where the source says: its location, and its manifest and
/// `plan.json` after the whole bundle was verified.
async fn load_source(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    ports: &impl Ports,
    client: Option<&impl Artifacts>,
    source: &Source,
) -> Result<(String, Manifest, Vec<u8>), Error> {
    Ok(match &source {
        Source::Location(location) => {
            let (manifest, json) = load_reviewed(ports, location).await?;
            (location.clone(), manifest, json)
        }
        Source::Artifact { owner, repo, at } => {
            let Some(client) = client else {
                return Err(missing(
                    "the reviewed plan is a workflow artifact, and there is no GitHub token to download it with".into(),
                ));
            };
            let max = opts.max_artifact_size.unwrap_or(artifact::DEFAULT_MAX_SIZE);
            ui.status(&format!(
                "tfgate: downloading the workflow artifact {} of run {}",
                at.name, at.run_id
            ));
            let fetched = artifact::fetch(client, owner, repo, at, max).await?;
            let path = fetched.bundle.dir.join(bundle::PLAN_JSON);
            let json = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let location = format!(
                "workflow artifact {} (id {}) of {owner}/{repo} run {}",
                at.name, fetched.artifact.id, at.run_id
            );
            (location, fetched.bundle.manifest, json)
        }
    })
}

/// `apply --archive`, when given, must be the archive the PR comment names: a plan is looked up
/// where it was reviewed, never somewhere else by the same name.
pub(super) fn check_archive_agrees(given: Option<&str>, meta: &CommentMeta) -> Result<(), Error> {
    let Some(given) = given else {
        return Ok(());
    };
    let given = S3Location::parse(given)?;
    let reviewed = match (&meta.artifact, &meta.archive) {
        (Some(a), _) => format!("the workflow artifact `{}` of run {}", a.name, a.run_id),
        (None, Some(uri)) => {
            let inside = S3Location::parse(uri).is_ok_and(|at| {
                at.bucket == given.bucket
                    && (given.prefix.is_empty()
                        || at.prefix == given.prefix
                        || at.prefix.starts_with(&format!("{}/", given.prefix)))
            });
            if inside {
                return Ok(());
            }
            uri.clone()
        }
        (None, None) => return Ok(()),
    };
    Err(Error::ArchiveDiffers {
        given: given.uri(),
        reviewed,
    })
}

/// The archive (`s3://BUCKET/PREFIX`) an archived bundle's URI lies in, from the layout
/// `PREFIX/OWNER/REPO/ROOT/WORKSPACE/SCOPE/ID` (§5); `None` when the URI does not end the way
/// the layout says for this bundle's repository, root and workspace.
pub(super) fn archive_of_bundle(
    uri: &str,
    manifest: &Manifest,
    repository: Option<(&str, &str)>,
) -> Option<S3Location> {
    let location = S3Location::parse(uri).ok()?;
    let at = RootAddress::new(repository, &manifest.root, &manifest.workspace);
    let expected = at.key_segments();
    let parts: Vec<&str> = location.prefix.split('/').collect();
    let keep = parts.len().checked_sub(expected.len() + 2)?;
    if parts[keep..keep + expected.len()] != expected[..] {
        return None;
    }
    Some(S3Location {
        bucket: location.bucket,
        prefix: parts[..keep].join("/"),
    })
}

/// The PR merged as this commit (`GITHUB_SHA` on a push), or the `--pr` given.
pub(super) async fn merged_pr(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    client: &impl PullRequests,
) -> Result<Option<(String, String, PullRequest)>, Error> {
    let gh = opts.github;
    let Some((owner, repo)) = gh.repository.clone() else {
        return Ok(None);
    };
    if let Some(n) = gh.pr {
        let pull = client.pull_request(&owner, &repo, n).await.map_err(|e| {
            lookup_failed(format!("cannot read pull request {owner}/{repo}#{n}: {e}"))
        })?;
        return Ok(Some((owner, repo, pull)));
    }
    let Some(sha) = opts.ctx.sha.clone() else {
        return Ok(None);
    };
    let pulls = client
        .pulls_for_commit(&owner, &repo, &sha)
        .await
        .map_err(|e| lookup_failed(format!("cannot find the pull request of commit {sha}: {e}")))?;
    let merged = pulls
        .iter()
        .find(|p| p.merged && p.merge_commit_sha.as_deref() == Some(sha.as_str()))
        .or_else(|| pulls.iter().find(|p| p.merged))
        .cloned();
    if merged.is_none() && !pulls.is_empty() {
        ui.warning(&format!(
            "commit {sha} belongs to pull requests that are not merged"
        ));
    }
    Ok(merged.map(|p| (owner, repo, p)))
}

/// Fetches a reviewed bundle (folder or `s3://` URI), verified as a whole (`Ports::fetch`):
/// nothing runs unless every file its manifest lists is there and intact. Only a plan bundle
/// is a reviewed plan.
pub(super) async fn load_reviewed(
    ports: &impl Ports,
    location: &str,
) -> Result<(Manifest, Vec<u8>), Error> {
    let files = Files::Only(&[bundle::PLAN_JSON]);
    let fetched = ports.fetch(std::path::Path::new(location), files).await?;
    if fetched.manifest.kind != BundleKind::Plan {
        return Err(missing(format!(
            "{location} is an apply bundle, not a reviewed plan"
        )));
    }
    let path = fetched.dir.join(bundle::PLAN_JSON);
    let json = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    Ok((fetched.manifest, json))
}

/// A plan reviewed for another root or workspace is no plan for this one.
pub(super) fn check_same_root(opts: &ApplyOptions<'_>, reviewed: &Reviewed) -> Result<(), Error> {
    let root = opts.common.root.name.clone();
    let workspace = opts.common.workspace_name();
    let m = &reviewed.manifest;
    if m.root == root && m.workspace == workspace {
        Ok(())
    } else {
        Err(missing(format!(
            "{} is a plan for {} ({}), not for {root} ({workspace})",
            reviewed.location, m.root, m.workspace
        )))
    }
}

/// Step 2: the PR's head at merge must be the head the plan was made for.
pub(super) fn check_not_stale(reviewed: &Reviewed) -> Result<(), Error> {
    let Some(pr) = &reviewed.pr else {
        return Ok(());
    };
    match &pr.planned_head {
        Some(planned) if *planned == pr.pull.head_sha => Ok(()),
        Some(planned) => Err(Error::StalePlan {
            pr: pr.pull.number,
            planned: planned.clone(),
            merged: pr.pull.head_sha.clone(),
        }),
        None => Err(missing(format!(
            "the reviewed plan for #{} does not record the commit it was made for, so it cannot be checked",
            pr.pull.number
        ))),
    }
}

pub(super) fn missing(message: String) -> Error {
    Error::ReviewedPlanMissing { message }
}

pub(super) fn lookup_failed(message: String) -> Error {
    Error::ReviewedPlanLookup { message }
}

//! Posting the PR comment: from `tfgate plan`, and `tfgate comment BUNDLE` for workflows that
//! comment from a separate job.
//!
//! A comment that cannot be posted is a warning, not a failed plan, unless the user asked for
//! `--require-comment`: the plan and its bundle are what matter, and the comment is in the
//! bundle either way.

use std::path::Path;

use crate::archive::bundle::{self, Manifest};
use crate::error::{Error, Outcome};
use crate::github::octo::{OctoOptions, OctoPullRequests};
use crate::github::retry::RetryPolicy;
use crate::github::{CommentTarget, GithubError, PullRequests, Upsert};
use crate::render::comment::parse_marker;
use crate::settings::GithubSettings;
use crate::ui::Ui;

/// The pull request a run is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrRef {
    pub owner: String,
    pub repo: String,
    pub number: u64,
    /// The PR's head commit the plan is for, when known.
    pub head_sha: Option<String>,
}

/// A GitHub client, when there is a token.
pub fn client(gh: &GithubSettings) -> Result<Option<OctoPullRequests>, GithubError> {
    let Some(token) = gh.token.clone() else {
        return Ok(None);
    };
    OctoPullRequests::new(OctoOptions {
        api_url: gh.api_url.clone(),
        token,
        comment_author: gh.comment_author.clone(),
        policy: RetryPolicy::default(),
    })
    .map(Some)
}

/// The PR this run comments on, with its head SHA (asked of GitHub when neither the event nor
/// `--head-sha` gave it). `None` when there is no PR; problems are warnings.
pub async fn resolve_pr(
    ui: &Ui,
    gh: &GithubSettings,
    client: Option<&OctoPullRequests>,
) -> Option<PrRef> {
    let number = gh.pr?;
    let Some((owner, repo)) = gh.repository.clone() else {
        ui.warning(&format!(
            "pull request #{number} given without a repository: pass --repo OWNER/REPO (or set GITHUB_REPOSITORY)"
        ));
        return None;
    };
    let mut pr = PrRef {
        owner,
        repo,
        number,
        head_sha: gh.head_sha.clone(),
    };
    if pr.head_sha.is_none()
        && let Some(client) = client
    {
        match client.pull_request(&pr.owner, &pr.repo, number).await {
            Ok(p) => pr.head_sha = Some(p.head_sha),
            Err(e) => ui.warning(&format!(
                "cannot read pull request {}/{}#{number} ({e}); the comment will not record its head commit",
                pr.owner, pr.repo
            )),
        }
    }
    Some(pr)
}

/// Creates or updates the comment (with `client` bounded by the step's deadline, see
/// `OctoPullRequests::step`); a failure is a warning unless `require`.
pub async fn publish(
    ui: &Ui,
    client: Option<&OctoPullRequests>,
    target: &CommentTarget,
    body: &str,
    require: bool,
) -> Result<(), Error> {
    let where_ = format!("{}/{}#{}", target.owner, target.repo, target.pr);
    let result = match client {
        None => Err(Error::Comment {
            message: format!("no GitHub token to comment on {where_}"),
            hint: "set GITHUB_TOKEN (in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}` and `permissions: pull-requests: write`) or pass --github-token".into(),
        }),
        Some(c) => c.upsert_comment(target, body).await.map_err(|e| comment_error(&e, &where_)),
    };
    match result {
        Ok(Upsert::Created(id)) => {
            ui.status(&format!("tfgate: commented on {where_} (comment {id})"))
        }
        Ok(Upsert::Updated(id)) => ui.status(&format!(
            "tfgate: updated the comment on {where_} (comment {id})"
        )),
        Ok(Upsert::Unchanged(id)) => ui.status(&format!(
            "tfgate: the comment on {where_} is up to date (comment {id})"
        )),
        Ok(Upsert::Newer(id)) => ui.status(&format!(
            "tfgate: the comment on {where_} shows a newer plan (comment {id}); this one was not posted"
        )),
        Err(e) if require => return Err(e),
        Err(e) => {
            let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
            ui.warning(&format!(
                "{e}{hint}; the plan is unaffected and the comment is in the bundle's comment.md"
            ));
        }
    }
    Ok(())
}

fn comment_error(e: &GithubError, where_: &str) -> Error {
    let hint = match e {
        GithubError::BadCredentials => "the token is wrong or expired",
        GithubError::Forbidden { .. } => {
            "the token may not write comments: grant `pull-requests: write`; pull requests from forks get a read-only token, so comment from a workflow_run job with `tfgate comment BUNDLE`"
        }
        GithubError::NotFound { .. } => {
            "check --repo and --pr, and that the token can see the repository"
        }
        GithubError::Unavailable { .. } => {
            "GitHub is unavailable or rate-limiting; re-run the job later"
        }
        GithubError::TimedOut { .. } => {
            "GitHub is slow or unreachable; re-run the job later, or allow more time with --github-timeout (TFGATE_GITHUB_TIMEOUT)"
        }
        GithubError::Rejected { .. } | GithubError::Protocol { .. } => {
            "this is likely a tfgate bug; please report it"
        }
    };
    Error::Comment {
        message: format!("{e} ({where_})"),
        hint: hint.into(),
    }
}

/// `tfgate comment BUNDLE`.
pub async fn run(ui: &Ui, gh: &GithubSettings, bundle_dir: &Path) -> Result<Outcome, Error> {
    let manifest = Manifest::load(bundle_dir)?.ok_or_else(|| {
        Error::usage(
            format!(
                "{} is not a complete bundle (no manifest.json)",
                bundle_dir.display()
            ),
            "pass the folder `tfgate plan` reported as its bundle",
        )
    })?;
    bundle::verify(bundle_dir, &manifest)?;
    let path = bundle_dir.join(bundle::COMMENT);
    let body = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let meta = parse_marker(&body).ok_or_else(|| {
        Error::usage(
            format!("{} has no tfgate marker", path.display()),
            "the bundle is damaged; plan again",
        )
    })?;
    // One step: finding the PR's head and posting share one deadline.
    let client = client(gh)
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
        root: meta.root,
        workspace: meta.workspace,
    };
    publish(ui, client.as_ref(), &target, &body, true).await?;
    Ok(Outcome::Success)
}

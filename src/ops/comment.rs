//! Posting the PR comment, for `tfgate plan`, `tfgate apply` and `tfgate comment`: finding the
//! pull request a run is for, and writing tfgate's one comment on it.
//!
//! A comment that cannot be posted is a warning, not a failed plan, unless the user asked for
//! `--require-comment`: the plan and its bundle are what matter, and the comment is in the
//! bundle either way.

use crate::error::Error;
use crate::github::{CommentTarget, GithubError, PullRequests, Upsert};
use crate::settings::GithubSettings;
use crate::settings::flags::CommentMode;
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

/// The PR this run comments on, with its head SHA (asked of GitHub when neither the event nor
/// `--head-sha` gave it). `None` when there is no PR; problems are warnings.
pub async fn resolve_pr(
    ui: &Ui,
    gh: &GithubSettings,
    client: Option<&impl PullRequests>,
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
/// `PullRequests::step`); a failure is a warning unless `require`. The comment's id, when
/// there is one.
pub async fn publish(
    ui: &Ui,
    client: Option<&impl PullRequests>,
    target: &CommentTarget,
    body: &str,
    require: bool,
) -> Result<Option<u64>, Error> {
    let where_ = format!("{}/{}#{}", target.owner, target.repo, target.pr);
    let result = match client {
        None => Err(Error::Comment {
            message: format!("no GitHub token to comment on {where_}"),
            hint: "set GITHUB_TOKEN (in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}` and `permissions: pull-requests: write`) or pass --github-token".into(),
        }),
        Some(c) => c.upsert_comment(target, body).await.map_err(|e| comment_error(&e, &where_)),
    };
    // 0: GitHub's answer was lost and the id is not known.
    let id = result.as_ref().ok().map(|u| u.id()).filter(|id| *id != 0);
    warn_identity(ui, client).await;
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
    Ok(id)
}

/// The plan's comment as `--comment` says: `always` posts or updates it; `changes` does so for
/// a plan with changes, and for a plan without only updates the comment an earlier plan
/// posted (so that no comment keeps showing changes that are gone), posting none; `never`
/// touches nothing. The comment's id, when there is one.
pub async fn publish_plan(
    ui: &Ui,
    client: Option<&impl PullRequests>,
    target: &CommentTarget,
    (body, has_changes): (&str, bool),
    mode: CommentMode,
    require: bool,
) -> Result<Option<u64>, Error> {
    let where_ = format!("{}/{}#{}", target.owner, target.repo, target.pr);
    match mode {
        CommentMode::Never => {
            ui.status(&format!(
                "tfgate: --comment never: no comment is read or written on {where_}"
            ));
            Ok(None)
        }
        CommentMode::Changes if !has_changes => {
            let Some(c) = client else {
                ui.status(&format!(
                    "tfgate: no changes and --comment changes: no comment is posted on {where_}"
                ));
                return Ok(None);
            };
            match c.find_comment(target).await {
                Ok(Some(_)) => publish(ui, client, target, body, require).await,
                Ok(None) => {
                    warn_identity(ui, client).await;
                    ui.status(&format!(
                        "tfgate: no changes and --comment changes: {where_} has no tfgate comment to update, and none is posted"
                    ));
                    Ok(None)
                }
                Err(e) => {
                    let e = comment_error(&e, &where_);
                    if require {
                        return Err(e);
                    }
                    let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
                    ui.warning(&format!(
                        "{e}{hint}; an earlier comment may still show changes that are gone"
                    ));
                    Ok(None)
                }
            }
        }
        CommentMode::Always | CommentMode::Changes => {
            publish(ui, client, target, body, require).await
        }
    }
}

/// Says so when tfgate cannot be sure which comments are its own: GitHub would not say who the
/// token is, or `--comment-author` is not who GitHub writes the token's comments as.
pub async fn warn_identity(ui: &Ui, client: Option<&impl PullRequests>) {
    if let Some(c) = client
        && let Some(warning) = c.identity_warning().await
    {
        ui.warning(&warning);
    }
}

pub fn comment_error(e: &GithubError, where_: &str) -> Error {
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

//! `tfgate plan --labels`: after the comment is posted, the pull request's labels are set from
//! all of tfgate's comments on it (`github::labels` decides which), so that a pull request
//! touching several roots carries what any of their plans does. With `--comment never` no
//! comment records the other roots' plans, so the labels say only what this plan proves
//! (`github::labels::relabel_from_one`) and no comment is read.
//!
//! Runs of different roots may label at the same moment, each from the comments it read: a
//! run that changed the labels reads the comments once more and corrects them, so the last to
//! write has seen every comment posted before it. A failure is a warning (with what the token
//! needs), never a failed plan.

use crate::github::labels::{self, Relabel};
use crate::github::marker::{CommentMeta, PlanCounts};
use crate::github::{CommentTarget, GithubError, PullRequests};
use crate::ui::Ui;

/// How many times a run reads the comments and labels, at most.
const ROUNDS: usize = 2;

/// What records the plans of the pull request's roots, for the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// tfgate's comments, one per root and workspace (`--comment always` or `changes`).
    Comments,
    /// Nothing but this plan (`--comment never`): the labels say only what it proves.
    ThisPlanOnly,
}

/// Sets the labels of `target`'s pull request; `mine` is this plan's marker, which counts for
/// its root and workspace when GitHub does not show its comment (it could not be posted).
pub async fn label(
    ui: &Ui,
    client: Option<&impl PullRequests>,
    target: &CommentTarget,
    mine: Option<&CommentMeta>,
    record: Record,
) {
    let where_ = format!("{}/{}#{}", target.owner, target.repo, target.pr);
    let Some(client) = client else {
        ui.warning(&format!(
            "--labels: no GitHub token to label {where_} with; set GITHUB_TOKEN or pass --github-token"
        ));
        return;
    };
    let done = match (record, mine.and_then(|m| m.counts)) {
        (Record::ThisPlanOnly, Some(plan)) => {
            relabel_from_one(ui, client, target, plan, &where_).await
        }
        _ => relabel(ui, client, target, mine, &where_).await,
    };
    if let Err(e) = done {
        ui.warning(&format!(
            "cannot label {where_} ({e}); the plan is unaffected. {}",
            hint(&e)
        ));
    }
}

async fn relabel(
    ui: &Ui,
    client: &impl PullRequests,
    target: &CommentTarget,
    mine: Option<&CommentMeta>,
    where_: &str,
) -> Result<(), GithubError> {
    let (owner, repo, pr) = (target.owner.as_str(), target.repo.as_str(), target.pr);
    for _ in 0..ROUNDS {
        let ours = client.our_comments(owner, repo, pr).await?;
        let mut plans: Vec<_> = ours.iter().filter_map(|c| c.meta.counts).collect();
        if !ours.iter().any(|c| target.matches(&c.meta)) {
            plans.extend(mine.and_then(|m| m.counts));
        }
        let Some(wanted) = labels::wanted(plans) else {
            ui.detail("tfgate: no tfgate comment on the pull request records its plan's counts; labels left as they are");
            return Ok(());
        };
        let current = client.labels(owner, repo, pr).await?;
        let change = labels::relabel(&current, &wanted);
        if change.is_empty() {
            return Ok(());
        }
        write(client, target, &change).await?;
        ui.status(&format!("tfgate: labelled {where_}: {}", said(&change)));
    }
    Ok(())
}

/// `--comment never`: no comment is read; the labels say what this plan proves.
async fn relabel_from_one(
    ui: &Ui,
    client: &impl PullRequests,
    target: &CommentTarget,
    plan: PlanCounts,
    where_: &str,
) -> Result<(), GithubError> {
    let (owner, repo, pr) = (target.owner.as_str(), target.repo.as_str(), target.pr);
    let current = client.labels(owner, repo, pr).await?;
    let change = labels::relabel_from_one(&current, plan);
    if !change.is_empty() {
        write(client, target, &change).await?;
        ui.status(&format!("tfgate: labelled {where_}: {}", said(&change)));
    }
    Ok(())
}

async fn write(
    client: &impl PullRequests,
    target: &CommentTarget,
    change: &Relabel,
) -> Result<(), GithubError> {
    let (owner, repo, pr) = (target.owner.as_str(), target.repo.as_str(), target.pr);
    if !change.add.is_empty() {
        client.add_labels(owner, repo, pr, &change.add).await?;
    }
    for name in &change.remove {
        client.remove_label(owner, repo, pr, name).await?;
    }
    Ok(())
}

/// "+tfgate:destroy −tfgate:no-changes"
fn said(change: &Relabel) -> String {
    let added = change.add.iter().map(|l| format!("+{l}"));
    let removed = change.remove.iter().map(|l| format!("−{l}"));
    added.chain(removed).collect::<Vec<_>>().join(" ")
}

fn hint(e: &GithubError) -> &'static str {
    match e {
        GithubError::Forbidden { .. } | GithubError::NotFound { .. } => {
            "The token needs `pull-requests: write` to label a pull request, and `issues: write` to create a label the repository does not have yet (or create tfgate:changes, tfgate:destroy and tfgate:no-changes once by hand)"
        }
        GithubError::BadCredentials => "The token is wrong or expired",
        _ => "The labels are set again by the next plan",
    }
}

//! The comment requests behind the port's rules: a pull request's comments listed page by page
//! and tfgate's own kept (`ours_for`: written by its identity, with a marker for the target),
//! a comment posted without risking a duplicate when an answer is lost, edits and deletions,
//! and the convergence of the comments racing runs leave (`converge`).

use std::time::Duration;

use http::Method;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use super::{OctoPullRequests, PER_PAGE, RawUser, failure_of, final_error, now_epoch, parse};
use crate::github::marker::parse_marker;
use crate::github::retry::Decision;
use crate::github::{CommentTarget, GithubError, OurComment, Upsert, Wanted, converge};

/// How many times a run looks again at the comments while converging them.
const CONVERGE_ROUNDS: usize = 5;
/// After writing, a run waits at least this long before it looks again, so that a write that
/// another run decided on before seeing this one's has landed, and can be corrected.
const MIN_SETTLE: Duration = Duration::from_millis(250);
const MAX_SETTLE: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
pub(super) struct RawComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub user: Option<RawUser>,
}

impl OctoPullRequests {
    /// Every comment on a PR, following `Link: rel="next"`.
    pub(super) async fn list_comments(
        &self,
        owner: &str,
        repo: &str,
        pr: u64,
    ) -> Result<Vec<RawComment>, GithubError> {
        self.pages(
            format!("/repos/{owner}/{repo}/issues/{pr}/comments?per_page={PER_PAGE}"),
            || format!("pull request {owner}/{repo}#{pr}"),
            parse::<Vec<RawComment>>,
        )
        .await
    }

    /// The target's comments by tfgate's identity, oldest first.
    pub(super) async fn find_ours(
        &self,
        target: &CommentTarget,
    ) -> Result<Vec<OurComment>, GithubError> {
        self.bounded(async {
            let me = self.identity().await?.login;
            let comments = self
                .list_comments(&target.owner, &target.repo, target.pr)
                .await?;
            let mut ours: Vec<OurComment> = comments
                .into_iter()
                .filter_map(|c| ours_for(target, &me, c))
                .collect();
            // GitHub lists by creation and its ids grow with it; sorting makes "oldest" exact.
            ours.sort_by_key(|c| c.id);
            Ok(ours)
        })
        .await
    }

    /// One comment, if it still exists and is the target's and ours.
    async fn get_ours(
        &self,
        target: &CommentTarget,
        id: u64,
    ) -> Result<Option<OurComment>, GithubError> {
        self.bounded(async {
            let me = self.identity().await?.login;
            let path = format!(
                "/repos/{}/{}/issues/comments/{id}",
                target.owner, target.repo
            );
            match self.request(Method::GET, &path, None).await {
                Ok(a) => Ok(ours_for(target, &me, parse::<RawComment>(&a.body)?)),
                Err(GithubError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Posts a new comment: `Some(id)`, or `None` when an answer was lost and a comment of ours
    /// for the target turned up (the post may have happened; the caller converges).
    pub(super) async fn create(
        &self,
        target: &CommentTarget,
        body: &str,
    ) -> Result<Option<u64>, GithubError> {
        self.bounded(async {
            let path = format!(
                "/repos/{}/{}/issues/{}/comments",
                target.owner, target.repo, target.pr
            );
            let payload = json!({ "body": body });
            // Not `request`: a create whose answer was lost may have happened, so before trying
            // again, look for the comment instead of risking a duplicate.
            let mut waited = Duration::ZERO;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let failure = match self.attempt(&Method::POST, &path, Some(&payload)).await {
                    Ok(a) if a.status.is_success() => {
                        let created = parse::<RawComment>(&a.body)?;
                        if let Some(author) = &created.user {
                            self.learn(&author.login).await;
                        }
                        return Ok(Some(created.id));
                    }
                    Ok(a) => failure_of(&a),
                    Err(f) => f,
                };
                match self.policy.decide(&failure, attempt, waited, now_epoch()) {
                    Decision::RetryAfter(wait) => {
                        tokio::time::sleep(wait).await;
                        waited += wait;
                    }
                    Decision::GiveUp => return Err(final_error(&failure, attempt, &path)),
                }
                if let Some(found) = self.find_ours(target).await?.first() {
                    tracing::debug!(
                        id = found.id,
                        "the comment exists after all; not creating it again"
                    );
                    return Ok(None);
                }
            }
        })
        .await
    }

    pub(super) async fn update(
        &self,
        target: &CommentTarget,
        id: u64,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        let path = format!(
            "/repos/{}/{}/issues/comments/{id}",
            target.owner, target.repo
        );
        // An update is idempotent: retrying it is always safe.
        self.bounded(self.request(Method::PATCH, &path, Some(&json!({ "body": body }))))
            .await?;
        Ok(Upsert::Updated(id))
    }

    /// Deletes one of our comments; one that is gone already (another run deleted it) is no
    /// error.
    pub(super) async fn delete(&self, target: &CommentTarget, id: u64) -> Result<(), GithubError> {
        let path = format!(
            "/repos/{}/{}/issues/comments/{id}",
            target.owner, target.repo
        );
        match self
            .bounded(self.request(Method::DELETE, &path, None))
            .await
        {
            Ok(_) | Err(GithubError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Brings the target to one comment showing `wanted` or a newer plan, starting from `ours`
    /// (the comments as last seen, oldest first), and says where the run's own plan stands.
    /// Every run of a race does this: each writes only the newest plan it has seen into the
    /// oldest comment and deletes the others, waits, and looks again until what it sees needs no
    /// write. A run whose comment another deleted does not post again.
    pub(super) async fn converge(
        &self,
        target: &CommentTarget,
        mut ours: Vec<OurComment>,
        mine: &Wanted,
        created: Option<u64>,
    ) -> Result<Upsert, GithubError> {
        let mut wanted = mine.clone();
        let mut wrote_mine = false;
        let mut keep = created;
        for round in 1..=CONVERGE_ROUNDS {
            let Some(step) = converge(&ours, &mut wanted) else {
                // Every comment of ours is gone (removed by hand): nothing to converge, and
                // posting again could fight whoever removed them.
                tracing::debug!("no comment of ours is left; not posting again");
                break;
            };
            keep = Some(step.keep);
            if step.write.is_none() && step.delete.is_empty() {
                break;
            }
            let started = Instant::now();
            if let Some(body) = &step.write {
                self.update(target, step.keep, body).await?;
                wrote_mine |= *body == mine.body;
            }
            for id in &step.delete {
                self.delete(target, *id).await?;
            }
            // Runs that read before this write may still be writing what they read: wait for
            // their writes to land, then look again. A failure to look is no failure of the
            // write: the next run converges what is left.
            let settle = started.elapsed().clamp(MIN_SETTLE, MAX_SETTLE);
            if round == CONVERGE_ROUNDS || self.would_overrun(settle) {
                break;
            }
            tokio::time::sleep(settle).await;
            let looked = if step.delete.is_empty() {
                // Only the kept comment changed: reading it back is enough when it still
                // shows what was written.
                match self.get_ours(target, step.keep).await {
                    Ok(Some(c)) if c.body == wanted.body => break,
                    Ok(_) => self.find_ours(target).await,
                    Err(e) => Err(e),
                }
            } else {
                self.find_ours(target).await
            };
            match looked {
                Ok(now) => ours = now,
                Err(e) => {
                    tracing::debug!("cannot look at the comments again ({e}); leaving them");
                    break;
                }
            }
        }
        let keep = keep.unwrap_or_default();
        Ok(if wanted.body == mine.body {
            match created {
                Some(id) if id == keep => Upsert::Created(id),
                _ if wrote_mine || created.is_some() => Upsert::Updated(keep),
                _ => Upsert::Unchanged(keep),
            }
        } else if wanted.created > mine.created {
            Upsert::Newer(keep)
        } else {
            Upsert::Unchanged(keep)
        })
    }
}

/// A listed comment as one of ours for the target: written by `me`, with a marker for the
/// target's root and workspace.
fn ours_for(target: &CommentTarget, me: &str, c: RawComment) -> Option<OurComment> {
    let author = c.user.as_ref().map(|u| u.login.as_str());
    if author != Some(me) {
        return None;
    }
    let body = c.body?;
    let meta = parse_marker(&body)?;
    target.matches(&meta).then_some(OurComment {
        id: c.id,
        body,
        meta,
    })
}

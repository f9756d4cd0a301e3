//! The `PullRequests` port over REST: the comment rules (upsert, find, edit, set a status) on
//! top of `comments`, each body checked against GitHub's limit before it is sent; and the
//! lookups `apply` makes: a pull request, the pull requests of a commit, and how two commits
//! relate.

use std::time::Duration;

use http::Method;
use serde::Deserialize;

use super::{OctoPullRequests, final_error, parse};
use crate::github::marker::{CommentStatus, parse_marker};
use crate::github::{
    CommentTarget, CommitRelation, GithubError, OurComment, PullRequest, PullRequests, Upsert,
    Wanted, newest, status_body,
};

/// GitHub rejects comment bodies longer than this many characters.
pub const MAX_BODY_CHARS: usize = 65_536;

#[derive(Debug, Deserialize)]
struct RawRef {
    sha: String,
}

#[derive(Debug, Deserialize)]
struct RawPull {
    number: u64,
    head: RawRef,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
}

impl From<RawPull> for PullRequest {
    fn from(p: RawPull) -> PullRequest {
        PullRequest {
            number: p.number,
            head_sha: p.head.sha,
            merged: p.merged_at.is_some(),
            merge_commit_sha: p.merge_commit_sha,
        }
    }
}

/// Of GitHub's comparison of two commits, only how they relate.
#[derive(Debug, Deserialize)]
struct RawComparison {
    status: String,
}

impl PullRequests for OctoPullRequests {
    fn step(&self, limit: Duration) -> OctoPullRequests {
        OctoPullRequests::step(self, limit)
    }

    async fn identity_warning(&self) -> Option<String> {
        OctoPullRequests::identity_warning(self).await
    }

    async fn upsert_comment(
        &self,
        target: &CommentTarget,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        check_length(body)?;
        let mine = Wanted {
            body: body.to_string(),
            created: parse_marker(body).and_then(|m| m.created()),
        };
        let ours = self.find_ours(target).await?;
        if !ours.is_empty() {
            return self.converge(target, ours, &mine, None).await;
        }
        let created = self.create(target, body).await?;
        // Another run may have posted at the same moment: look once more (the only extra
        // request when none did).
        let ours = match self.find_ours(target).await {
            Ok(ours) => ours,
            Err(e) => {
                tracing::debug!("cannot look at the comments after posting ({e})");
                return Ok(Upsert::Created(created.unwrap_or_default()));
            }
        };
        match (created, ours.as_slice()) {
            (Some(id), [only]) if only.id == id => Ok(Upsert::Created(id)),
            _ => self.converge(target, ours, &mine, created).await,
        }
    }

    async fn find_comment(
        &self,
        target: &CommentTarget,
    ) -> Result<Option<OurComment>, GithubError> {
        let ours = self.find_ours(target).await?;
        Ok(newest(&ours).cloned())
    }

    async fn edit_comment(
        &self,
        target: &CommentTarget,
        comment: &OurComment,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        check_length(body)?;
        if comment.body == body {
            return Ok(Upsert::Unchanged(comment.id));
        }
        self.update(target, comment.id, body).await
    }

    async fn set_status(
        &self,
        target: &CommentTarget,
        status: CommentStatus,
        detail: &str,
    ) -> Result<Upsert, GithubError> {
        let ours = self.find_ours(target).await?;
        let (Some(keep), Some(shown)) = (ours.first(), newest(&ours)) else {
            return Err(GithubError::NotFound {
                what: format!(
                    "tfgate's comment for {} ({})",
                    target.root, target.workspace
                ),
            });
        };
        let body = status_body(shown, status, detail)?;
        let done = self.edit_comment(target, keep, &body).await?;
        for other in &ours[1..] {
            self.delete(target, other.id).await?;
        }
        Ok(done)
    }

    async fn pull_request(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, GithubError> {
        let a = self
            .bounded(self.request(
                Method::GET,
                &format!("/repos/{owner}/{repo}/pulls/{number}"),
                None,
            ))
            .await?;
        Ok(parse::<RawPull>(&a.body)?.into())
    }

    async fn pulls_for_commit(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GithubError> {
        let a = self
            .bounded(self.request(
                Method::GET,
                &format!("/repos/{owner}/{repo}/commits/{sha}/pulls"),
                None,
            ))
            .await?;
        Ok(parse::<Vec<RawPull>>(&a.body)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn compare_commits(
        &self,
        owner: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> Result<CommitRelation, GithubError> {
        // The answer also lists the commits between the two (paginated) and the files they
        // change (all on page 1); one commit per page keeps it as small as GitHub allows.
        let path = format!("/repos/{owner}/{repo}/compare/{base}...{head}?per_page=1");
        let lookup = async {
            self.request_or_failure(Method::GET, &path, None)
                .await
                .map_err(|(failure, attempts)| match failure.status {
                    // GitHub answers 404 both for an unknown commit (or repository) and for two
                    // commits with no history in common: "No common ancestor between A and B."
                    Some(404) if failure.message.starts_with("No common ancestor") => {
                        GithubError::NotFound {
                            what: format!(
                                "a common ancestor of {base} and {head} in {owner}/{repo}"
                            ),
                        }
                    }
                    Some(404) => GithubError::NotFound {
                        what: format!("commit {base} or {head} in {owner}/{repo}"),
                    },
                    _ => final_error(&failure, attempts, &path),
                })
        };
        let a = self.bounded(lookup).await?;
        relation(&parse::<RawComparison>(&a.body)?.status)
    }

    async fn our_comments(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<OurComment>, GithubError> {
        self.all_ours(owner, repo, number).await
    }

    async fn labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, GithubError> {
        self.list_labels(owner, repo, number).await
    }

    async fn add_labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        names: &[String],
    ) -> Result<(), GithubError> {
        self.post_labels(owner, repo, number, names).await
    }

    async fn remove_label(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        name: &str,
    ) -> Result<(), GithubError> {
        self.delete_label(owner, repo, number, name).await
    }
}

/// GitHub's comparison `status`; one tfgate does not know is an error, never a guess.
fn relation(status: &str) -> Result<CommitRelation, GithubError> {
    match status {
        "identical" => Ok(CommitRelation::Identical),
        "ahead" => Ok(CommitRelation::Ahead),
        "behind" => Ok(CommitRelation::Behind),
        "diverged" => Ok(CommitRelation::Diverged),
        other => Err(GithubError::Protocol {
            message: format!(
                "the comparison of two commits has status `{other}`; tfgate knows identical, ahead, behind and diverged"
            ),
        }),
    }
}

/// GitHub's limit, checked before sending (tfgate's comments are built to stay far below it).
fn check_length(body: &str) -> Result<(), GithubError> {
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(GithubError::Rejected {
            status: 422,
            message: format!(
                "the comment has {chars} characters; GitHub accepts at most {MAX_BODY_CHARS}"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_statuses_are_read_and_unknown_ones_refused() {
        assert_eq!(relation("identical"), Ok(CommitRelation::Identical));
        assert_eq!(relation("ahead"), Ok(CommitRelation::Ahead));
        assert_eq!(relation("behind"), Ok(CommitRelation::Behind));
        assert_eq!(relation("diverged"), Ok(CommitRelation::Diverged));
        for unknown in ["Ahead", "", "sideways"] {
            assert!(
                matches!(relation(unknown), Err(GithubError::Protocol { .. })),
                "{unknown:?}"
            );
        }
    }
}

//! The GitHub ports: what tfgate needs from pull requests (`PullRequests`) and from workflow
//! artifacts (`Artifacts`), as small traits, and their octocrab adapter (`octo`).
//!
//! Commands talk to `PullRequests`; only `octo` knows HTTP. The comment rules live here:
//! one comment per (repository, PR, root, workspace), found by its hidden marker among the
//! comments written by the identity tfgate authenticates as, edited in place, never a
//! comment by anyone else.

pub mod octo;
pub mod retry;

use std::fmt;

use crate::render::comment::{CommentMeta, CommentStatus, with_status};

/// Which comment: a repository's pull request, and the (root, workspace) the comment is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentTarget {
    pub owner: String,
    pub repo: String,
    pub pr: u64,
    pub root: String,
    pub workspace: String,
}

impl CommentTarget {
    /// Whether a comment's marker belongs to this target.
    pub fn matches(&self, meta: &CommentMeta) -> bool {
        meta.root == self.root && meta.workspace == self.workspace
    }
}

/// A comment tfgate wrote earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurComment {
    pub id: u64,
    pub body: String,
    pub meta: CommentMeta,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(u64),
    Updated(u64),
    /// The comment already said exactly this; nothing was written.
    Unchanged(u64),
}

impl Upsert {
    pub fn id(self) -> u64 {
        match self {
            Upsert::Created(id) | Upsert::Updated(id) | Upsert::Unchanged(id) => id,
        }
    }
}

/// A pull request, as far as tfgate cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub head_sha: String,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
}

/// How `head` relates to `base`, as the `status` of GitHub's "compare two commits" says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitRelation {
    /// `head` and `base` are the same commit.
    Identical,
    /// `head` has commits `base` lacks, and `base` is an ancestor of `head`.
    Ahead,
    /// `head` is an ancestor of `base`: `base` has commits `head` lacks.
    Behind,
    /// Each has commits the other lacks; neither is an ancestor of the other.
    Diverged,
}

impl CommitRelation {
    /// Whether every commit of `base` is in `head`'s history (`base` is `head` or an ancestor
    /// of it).
    pub fn base_is_ancestor_of_head(self) -> bool {
        match self {
            CommitRelation::Identical | CommitRelation::Ahead => true,
            CommitRelation::Behind | CommitRelation::Diverged => false,
        }
    }
}

/// Why a GitHub call failed, after retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GithubError {
    /// 401: the token is wrong or expired.
    BadCredentials,
    /// 403 that is not a rate limit: the token may not do this (e.g. a fork PR's read-only token).
    Forbidden {
        message: String,
    },
    NotFound {
        what: String,
    },
    /// 422 and other 4xx that retrying cannot fix.
    Rejected {
        status: u16,
        message: String,
    },
    /// 5xx, rate limits or the network, still failing when the retry budget ran out.
    Unavailable {
        attempts: u32,
        last: String,
    },
    /// A response tfgate could not read.
    Protocol {
        message: String,
    },
}

impl fmt::Display for GithubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GithubError::BadCredentials => {
                f.write_str("GitHub rejected the token (401 Bad credentials)")
            }
            GithubError::Forbidden { message } => {
                write!(f, "GitHub refused the request (403): {message}")
            }
            GithubError::NotFound { what } => write!(f, "{what} was not found on GitHub (404)"),
            GithubError::Rejected { status, message } => {
                write!(f, "GitHub rejected the request ({status}): {message}")
            }
            GithubError::Unavailable { attempts, last } => {
                write!(
                    f,
                    "GitHub did not answer successfully after {attempts} attempt(s): {last}"
                )
            }
            GithubError::Protocol { message } => {
                write!(f, "unexpected answer from GitHub: {message}")
            }
        }
    }
}

impl std::error::Error for GithubError {}

/// What tfgate needs from GitHub's pull requests.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait PullRequests {
    /// Creates the target's comment, or updates the one tfgate wrote before; writes nothing
    /// when the body is unchanged.
    async fn upsert_comment(
        &self,
        target: &CommentTarget,
        body: &str,
    ) -> Result<Upsert, GithubError>;

    /// The target's comment, if tfgate wrote one.
    async fn find_comment(&self, target: &CommentTarget)
    -> Result<Option<OurComment>, GithubError>;

    async fn pull_request(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, GithubError>;

    /// Pull requests associated with a commit (for a push to the default branch: the merged PR).
    async fn pulls_for_commit(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GithubError>;

    /// How commit `head` relates to commit `base` in `owner/repo` (both SHAs, or refs GitHub
    /// can resolve). An unknown commit, or two commits without a common history, is
    /// `GithubError::NotFound`.
    async fn compare_commits(
        &self,
        owner: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> Result<CommitRelation, GithubError>;

    /// Replaces the body of a comment tfgate wrote (found with `find_comment`); no write when
    /// the body is the same.
    async fn edit_comment(
        &self,
        target: &CommentTarget,
        comment: &OurComment,
        body: &str,
    ) -> Result<Upsert, GithubError>;

    /// Sets the status of the target's comment (applied, refused, failed, superseded) with a
    /// detail section, keeping the reviewed plan in it. The one call `apply` makes.
    async fn set_status(
        &self,
        target: &CommentTarget,
        status: CommentStatus,
        detail: &str,
    ) -> Result<Upsert, GithubError> {
        let comment = self
            .find_comment(target)
            .await?
            .ok_or_else(|| GithubError::NotFound {
                what: format!(
                    "tfgate's comment for {} ({})",
                    target.root, target.workspace
                ),
            })?;
        let body =
            with_status(&comment.body, status, detail).ok_or_else(|| GithubError::Protocol {
                message: "the comment lost its marker".into(),
            })?;
        self.edit_comment(target, &comment, &body).await
    }
}

/// A workflow run's artifact, as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub id: u64,
    pub name: String,
    /// The size of the zip GitHub serves, as GitHub reports it.
    pub size_in_bytes: u64,
    /// GitHub deleted its contents when its retention ran out; only the record is left.
    pub expired: bool,
    /// The workflow run that uploaded it, when GitHub says.
    pub run_id: Option<u64>,
}

/// How a download of an artifact's zip ended, when GitHub answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// The whole zip is in the file: this many bytes.
    Complete { bytes: u64 },
    /// 410 Gone: the artifact expired (or was deleted) since it was listed.
    Expired,
    /// The zip is longer than the limit given; the download was stopped there.
    TooLarge { limit: u64 },
    /// The local file could not be written (a full disk, say); not GitHub's doing.
    WriteFailed { message: String },
}

/// What tfgate needs from GitHub's workflow artifacts: the plan job's bundle travels to the
/// apply job, on another runner, as one.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait Artifacts {
    /// The artifacts of run `run_id` named exactly `name` (GitHub may list one per attempt of
    /// the run), expired ones included.
    async fn run_artifacts(
        &self,
        owner: &str,
        repo: &str,
        run_id: u64,
        name: &str,
    ) -> Result<Vec<Artifact>, GithubError>;

    /// Writes artifact `id`'s zip into `file` (from its start, replacing what a failed attempt
    /// left), stopping past `limit` bytes. GitHub answers with a redirect to short-lived
    /// storage on another host, which is followed without the token.
    async fn download_artifact(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        file: &mut std::fs::File,
        limit: u64,
    ) -> Result<Download, GithubError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_is_an_ancestor_of_head_when_identical_or_ahead() {
        assert!(CommitRelation::Identical.base_is_ancestor_of_head());
        assert!(CommitRelation::Ahead.base_is_ancestor_of_head());
    }

    #[test]
    fn base_is_not_an_ancestor_of_head_when_behind_or_diverged() {
        assert!(!CommitRelation::Behind.base_is_ancestor_of_head());
        assert!(!CommitRelation::Diverged.base_is_ancestor_of_head());
    }
}

//! The GitHub ports: what tfgate needs from pull requests (`PullRequests`) and from workflow
//! artifacts (`Artifacts`), as small traits, and their octocrab adapter (`octo`).
//!
//! Commands talk to `PullRequests`; only `octo` knows HTTP. The comment rules live here:
//! one comment per (repository, PR, root, workspace), found by its hidden marker (`marker`)
//! among the comments written by the identity tfgate authenticates as, edited in place, never a
//! comment by anyone else. When runs race and leave several, they converge (`converge`): the
//! oldest comment is kept, it gets the newest plan (by the marker's plan time), the others are
//! deleted. The pull request's labels (`labels`) are derived from all of tfgate's comments on
//! it.

pub mod labels;
pub mod marker;
pub mod octo;
pub mod retry;
pub mod transport;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::github::marker::{CommentMeta, CommentStatus};
use crate::render::comment::with_status;

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

    /// The web address of comment `id` on this pull request, as GitHub's `html_url` gives it:
    /// `SERVER/OWNER/REPO/pull/N#issuecomment-ID`, `server` being `https://github.com` or a
    /// GitHub Enterprise Server's root.
    pub fn comment_url(&self, server: &str, id: u64) -> String {
        format!(
            "{}/{}/{}/pull/{}#issuecomment-{id}",
            server.trim_end_matches('/'),
            self.owner,
            self.repo,
            self.pr
        )
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
    /// The comment already said exactly this (or showed this plan with a status); nothing was
    /// written.
    Unchanged(u64),
    /// The comment shows a plan made after this one; it was left as it is.
    Newer(u64),
}

impl Upsert {
    pub fn id(self) -> u64 {
        match self {
            Upsert::Created(id)
            | Upsert::Updated(id)
            | Upsert::Unchanged(id)
            | Upsert::Newer(id) => id,
        }
    }
}

/// A plan a comment should show: its body and when the plan was made (the marker's
/// `created_at`; `None` for markers that predate it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub body: String,
    pub created: Option<DateTime<Utc>>,
}

impl Wanted {
    pub fn of(comment: &OurComment) -> Wanted {
        Wanted {
            body: comment.body.clone(),
            created: comment.meta.created(),
        }
    }
}

/// Whether a plan already on GitHub, made at `existing`, takes the place of the plan `wanted`
/// (made at `wanted`): when it is newer, or as new (the same plan, perhaps with a status since).
/// Without times on either side (markers of older versions), the plan at hand wins, as it
/// always did.
fn supersedes(existing: Option<DateTime<Utc>>, wanted: Option<DateTime<Utc>>) -> bool {
    match (existing, wanted) {
        (None, None) => false,
        (existing, wanted) => existing >= wanted,
    }
}

/// Of the target's comments (oldest first), the one showing the newest plan; of comments with
/// plans made at the same time (or without times), the oldest.
pub fn newest(ours: &[OurComment]) -> Option<&OurComment> {
    ours.iter()
        .fold(None, |best: Option<&OurComment>, c| match best {
            Some(b) if c.meta.created() <= b.meta.created() => Some(b),
            _ => Some(c),
        })
}

/// What to write so that the target ends with one comment showing the newest plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convergence {
    /// The comment that stays: the oldest.
    pub keep: u64,
    /// The body to write into it; `None` when it already shows the newest plan.
    pub write: Option<String>,
    /// The others, to delete.
    pub delete: Vec<u64>,
}

/// One step towards one comment: `ours` are the target's comments by tfgate's identity, oldest
/// first (at least one); `wanted` is the newest plan seen so far, and becomes the newest of it
/// and `ours`. Every run that races for the target decides the same from the same comments,
/// and none writes a plan older than one it has seen.
pub fn converge(ours: &[OurComment], wanted: &mut Wanted) -> Option<Convergence> {
    let keep = ours.first()?;
    let shown = newest(ours)?;
    if supersedes(shown.meta.created(), wanted.created) {
        *wanted = Wanted::of(shown);
    }
    Some(Convergence {
        keep: keep.id,
        write: (keep.body != wanted.body).then(|| wanted.body.clone()),
        delete: ours[1..].iter().map(|c| c.id).collect(),
    })
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
    /// The step's deadline (`--github-timeout`) passed before GitHub answered.
    TimedOut {
        limit: Duration,
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
            GithubError::TimedOut { limit } => write!(
                f,
                "GitHub did not answer within {}s (--github-timeout)",
                limit.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for GithubError {}

/// What tfgate needs from GitHub's pull requests.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait PullRequests {
    /// A handle for one step of a command (posting the comment, apply's lookups, its status
    /// update): every call it makes, retries and waits included, ends within `limit` from now,
    /// else fails with `GithubError::TimedOut`.
    fn step(&self, limit: Duration) -> Self
    where
        Self: Sized;

    /// Why tfgate cannot be sure which comments are its own, when it cannot: GitHub would not
    /// say who the token is, or `--comment-author` is not who GitHub writes its comments as.
    async fn identity_warning(&self) -> Option<String>;

    /// Creates the target's comment, or updates the one tfgate wrote before; writes nothing
    /// when the body is unchanged.
    async fn upsert_comment(
        &self,
        target: &CommentTarget,
        body: &str,
    ) -> Result<Upsert, GithubError>;

    /// The target's comment, if tfgate wrote one; of several (left by racing runs), the one
    /// showing the newest plan.
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
    /// detail section, keeping the reviewed plan in it. The one call `apply` makes. Several
    /// comments (left by racing runs) converge as an upsert's do: the oldest is kept and shows
    /// the newest plan with the status, the others are deleted.
    async fn set_status(
        &self,
        target: &CommentTarget,
        status: CommentStatus,
        detail: &str,
    ) -> Result<Upsert, GithubError>;

    /// Every comment tfgate wrote on the pull request (by its identity, with a marker), whatever
    /// its root and workspace, oldest first.
    async fn our_comments(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<OurComment>, GithubError>;

    /// The names of the labels on the pull request.
    async fn labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, GithubError>;

    /// Adds labels to the pull request; GitHub creates those the repository does not have yet.
    async fn add_labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        names: &[String],
    ) -> Result<(), GithubError>;

    /// Takes a label off the pull request; one that is not on it (any more) is no error.
    async fn remove_label(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        name: &str,
    ) -> Result<(), GithubError>;
}

/// The body of `comment` with a new status.
pub fn status_body(
    comment: &OurComment,
    status: CommentStatus,
    detail: &str,
) -> Result<String, GithubError> {
    with_status(&comment.body, status, detail).ok_or_else(|| GithubError::Protocol {
        message: "the comment lost its marker".into(),
    })
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

/// The in-memory pull requests the workflows' tests run on.
#[cfg(test)]
pub mod memory;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_url_is_the_one_github_shows() {
        let t = CommentTarget {
            owner: "acme".into(),
            repo: "infra".into(),
            pr: 7,
            root: "r".into(),
            workspace: "default".into(),
        };
        assert_eq!(
            t.comment_url("https://github.com/", 1234),
            "https://github.com/acme/infra/pull/7#issuecomment-1234"
        );
    }

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

    /// Comment `id` showing the plan made at second `at` (none: an older version's marker).
    fn comment(id: u64, at: Option<u32>) -> OurComment {
        let meta = CommentMeta {
            version: 1,
            root: "r".into(),
            workspace: "default".into(),
            head_sha: None,
            fingerprint: "sha256:00".into(),
            archive: None,
            artifact: None,
            run_url: None,
            status: CommentStatus::Planned,
            created_at: at.map(|s| format!("2025-01-01T00:00:{s:02}.000Z")),
            counts: None,
        };
        OurComment {
            id,
            body: format!("plan of {at:?} in {id}"),
            meta,
        }
    }

    fn wanted(body: &str, at: Option<u32>) -> Wanted {
        Wanted {
            body: body.into(),
            created: at.map(|s| format!("2025-01-01T00:00:{s:02}Z").parse().unwrap()),
        }
    }

    #[test]
    fn the_oldest_comment_is_kept_with_the_newest_plan_and_the_rest_deleted() {
        let ours = [
            comment(1, Some(10)),
            comment(2, Some(30)),
            comment(3, Some(20)),
        ];
        let mut w = wanted("mine", Some(25));
        let step = converge(&ours, &mut w).unwrap();
        assert_eq!(step.keep, 1);
        assert_eq!(step.write.as_deref(), Some("plan of Some(30) in 2"));
        assert_eq!(step.delete, [2, 3]);
        assert_eq!(w, Wanted::of(&ours[1]), "the newest seen is remembered");
        // A plan newer than every comment's goes into the oldest comment.
        let mut w = wanted("mine", Some(40));
        let step = converge(&ours, &mut w).unwrap();
        assert_eq!(step.write.as_deref(), Some("mine"));
        assert_eq!(w.body, "mine");
    }

    #[test]
    fn nothing_is_written_when_the_kept_comment_shows_the_newest_plan() {
        let ours = [comment(1, Some(30))];
        let step = converge(&ours, &mut wanted("older", Some(20))).unwrap();
        assert_eq!((step.write, step.delete), (None, vec![]));
        // The same plan, as new as the comment's (perhaps with a status since): left alone.
        let step = converge(&ours, &mut wanted("same plan, no status", Some(30))).unwrap();
        assert_eq!(step.write, None);
        assert!(converge(&[], &mut wanted("x", None)).is_none());
    }

    #[test]
    fn markers_without_plan_times_are_older_and_the_oldest_of_them_stands() {
        // Duplicates of an older version: later runs updated the oldest.
        let legacy = [comment(1, None), comment(2, None)];
        assert_eq!(newest(&legacy).map(|c| c.id), Some(1));
        // A plan with a time replaces them; one without replaces them as before.
        let step = converge(&legacy, &mut wanted("timed", Some(1))).unwrap();
        assert_eq!(step.write.as_deref(), Some("timed"));
        let step = converge(&legacy, &mut wanted("untimed", None)).unwrap();
        assert_eq!(step.write.as_deref(), Some("untimed"));
        // A comment with a time is newer than a plan without.
        let step = converge(&[comment(1, Some(1))], &mut wanted("untimed", None)).unwrap();
        assert_eq!(step.write, None);
    }

    #[test]
    fn every_run_decides_the_same_from_the_same_comments() {
        let ours = [
            comment(5, Some(3)),
            comment(9, Some(7)),
            comment(12, Some(7)),
        ];
        let steps: Vec<Convergence> = [Some(1), Some(7), None]
            .into_iter()
            .map(|at| converge(&ours, &mut wanted("a run's own older plan", at)).unwrap())
            .collect();
        assert!(steps.windows(2).all(|w| w[0] == w[1]), "{steps:#?}");
        assert_eq!(steps[0].write.as_deref(), Some("plan of Some(7) in 9"));
    }
}

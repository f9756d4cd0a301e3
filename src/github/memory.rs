//! An in-memory `PullRequests` and `Artifacts` for tests: pull requests, how commits relate, and
//! comments, with the port's comment rules (one comment per target, found by its marker; a
//! status keeps the plan it was set on). Every comment it holds counts as tfgate's: who wrote a
//! comment is the adapter's business (`octo`), proved by the end-to-end tests.
//!
//! Clones share one state, as `step` handles share one client; every call yields to the runtime
//! first, as a round trip to GitHub would. A call can be made to fail (`fail`), to see what a
//! workflow does when GitHub does. Workflow artifacts are not held: a lookup finds none.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::github::marker::{CommentStatus, parse_marker};
use crate::github::{
    Artifact, Artifacts, CommentTarget, CommitRelation, Download, GithubError, OurComment,
    PullRequest, PullRequests, Upsert, newest, status_body,
};

/// A comment on a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: u64,
    /// `owner/repo#pr`.
    pub on: String,
    pub body: String,
}

#[derive(Default)]
struct State {
    /// By `owner/repo`.
    pulls: BTreeMap<String, Vec<PullRequest>>,
    /// (base, head) → how head relates to base.
    relations: BTreeMap<(String, String), CommitRelation>,
    comments: Vec<Stored>,
    /// By `owner/repo#pr`, in the order they were added.
    labels: BTreeMap<String, Vec<String>>,
    /// Calls (by the port's method name) whose next use fails.
    failures: BTreeMap<&'static str, GithubError>,
}

#[derive(Clone, Default)]
pub struct MemoryGithub {
    state: Rc<RefCell<State>>,
}

fn where_(owner: &str, repo: &str, pr: u64) -> String {
    format!("{owner}/{repo}#{pr}")
}

impl MemoryGithub {
    pub fn new() -> MemoryGithub {
        MemoryGithub::default()
    }

    /// A pull request of `owner/repo`.
    pub fn add_pull(&self, owner: &str, repo: &str, pull: PullRequest) {
        let mut state = self.state.borrow_mut();
        state
            .pulls
            .entry(format!("{owner}/{repo}"))
            .or_default()
            .push(pull);
    }

    /// What GitHub's compare says of `head` against `base`.
    pub fn relate(&self, base: &str, head: &str, relation: CommitRelation) {
        let key = (base.to_string(), head.to_string());
        self.state.borrow_mut().relations.insert(key, relation);
    }

    /// A comment already on `owner/repo#pr`; its id.
    pub fn add_comment(&self, owner: &str, repo: &str, pr: u64, body: &str) -> u64 {
        let mut state = self.state.borrow_mut();
        let id = 1000 + state.comments.len() as u64;
        state.comments.push(Stored {
            id,
            on: where_(owner, repo, pr),
            body: body.to_string(),
        });
        id
    }

    /// Every comment, oldest first.
    pub fn comments(&self) -> Vec<Stored> {
        self.state.borrow().comments.clone()
    }

    /// The next call of the port's method `call` (`"pull_request"`, `"set_status"`…) fails with
    /// `error`.
    pub fn fail(&self, call: &'static str, error: GithubError) {
        self.state.borrow_mut().failures.insert(call, error);
    }

    async fn call(&self, name: &'static str) -> Result<(), GithubError> {
        tokio::task::yield_now().await;
        match self.state.borrow_mut().failures.remove(name) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every comment with a marker on `owner/repo#pr`, oldest first.
    fn marked(&self, owner: &str, repo: &str, pr: u64) -> Vec<OurComment> {
        let on = where_(owner, repo, pr);
        self.state
            .borrow()
            .comments
            .iter()
            .filter(|c| c.on == on)
            .filter_map(|c| {
                Some(OurComment {
                    id: c.id,
                    body: c.body.clone(),
                    meta: parse_marker(&c.body)?,
                })
            })
            .collect()
    }

    /// The target's comments, oldest first.
    fn ours(&self, target: &CommentTarget) -> Vec<OurComment> {
        let mut ours = self.marked(&target.owner, &target.repo, target.pr);
        ours.retain(|c| target.matches(&c.meta));
        ours
    }

    fn write(&self, id: u64, body: &str) -> Upsert {
        let mut state = self.state.borrow_mut();
        let Some(stored) = state.comments.iter_mut().find(|c| c.id == id) else {
            return Upsert::Unchanged(id);
        };
        if stored.body == body {
            return Upsert::Unchanged(id);
        }
        stored.body = body.to_string();
        Upsert::Updated(id)
    }
}

impl PullRequests for MemoryGithub {
    fn step(&self, _limit: Duration) -> MemoryGithub {
        self.clone()
    }

    async fn identity_warning(&self) -> Option<String> {
        None
    }

    async fn upsert_comment(
        &self,
        target: &CommentTarget,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        self.call("upsert_comment").await?;
        match self.ours(target).first() {
            Some(c) => Ok(self.write(c.id, body)),
            None => Ok(Upsert::Created(self.add_comment(
                &target.owner,
                &target.repo,
                target.pr,
                body,
            ))),
        }
    }

    async fn find_comment(
        &self,
        target: &CommentTarget,
    ) -> Result<Option<OurComment>, GithubError> {
        self.call("find_comment").await?;
        Ok(newest(&self.ours(target)).cloned())
    }

    async fn pull_request(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, GithubError> {
        self.call("pull_request").await?;
        let state = self.state.borrow();
        state
            .pulls
            .get(&format!("{owner}/{repo}"))
            .and_then(|pulls| pulls.iter().find(|p| p.number == number))
            .cloned()
            .ok_or_else(|| GithubError::NotFound {
                what: format!("pull request {}", where_(owner, repo, number)),
            })
    }

    async fn pulls_for_commit(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GithubError> {
        self.call("pulls_for_commit").await?;
        let state = self.state.borrow();
        let pulls = state.pulls.get(&format!("{owner}/{repo}"));
        Ok(pulls
            .into_iter()
            .flatten()
            .filter(|p| p.head_sha == sha || p.merge_commit_sha.as_deref() == Some(sha))
            .cloned()
            .collect())
    }

    async fn compare_commits(
        &self,
        _owner: &str,
        _repo: &str,
        base: &str,
        head: &str,
    ) -> Result<CommitRelation, GithubError> {
        self.call("compare_commits").await?;
        if base == head {
            return Ok(CommitRelation::Identical);
        }
        let key = (base.to_string(), head.to_string());
        self.state
            .borrow()
            .relations
            .get(&key)
            .copied()
            .ok_or_else(|| GithubError::NotFound {
                what: format!("commit {base} or {head}"),
            })
    }

    async fn edit_comment(
        &self,
        _target: &CommentTarget,
        comment: &OurComment,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        self.call("edit_comment").await?;
        Ok(self.write(comment.id, body))
    }

    async fn set_status(
        &self,
        target: &CommentTarget,
        status: CommentStatus,
        detail: &str,
    ) -> Result<Upsert, GithubError> {
        self.call("set_status").await?;
        let ours = self.ours(target);
        let comment = newest(&ours).ok_or_else(|| GithubError::NotFound {
            what: format!(
                "tfgate's comment on {}",
                where_(&target.owner, &target.repo, target.pr)
            ),
        })?;
        let body = status_body(comment, status, detail)?;
        Ok(self.write(comment.id, &body))
    }

    async fn our_comments(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<OurComment>, GithubError> {
        self.call("our_comments").await?;
        Ok(self.marked(owner, repo, number))
    }

    async fn labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, GithubError> {
        self.call("labels").await?;
        let on = where_(owner, repo, number);
        Ok(self
            .state
            .borrow()
            .labels
            .get(&on)
            .cloned()
            .unwrap_or_default())
    }

    async fn add_labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        names: &[String],
    ) -> Result<(), GithubError> {
        self.call("add_labels").await?;
        let mut state = self.state.borrow_mut();
        let on = state.labels.entry(where_(owner, repo, number)).or_default();
        for name in names {
            if !on.iter().any(|l| l.eq_ignore_ascii_case(name)) {
                on.push(name.clone());
            }
        }
        Ok(())
    }

    async fn remove_label(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        name: &str,
    ) -> Result<(), GithubError> {
        self.call("remove_label").await?;
        let mut state = self.state.borrow_mut();
        if let Some(on) = state.labels.get_mut(&where_(owner, repo, number)) {
            on.retain(|l| !l.eq_ignore_ascii_case(name));
        }
        Ok(())
    }
}

impl Artifacts for MemoryGithub {
    async fn run_artifacts(
        &self,
        _owner: &str,
        _repo: &str,
        _run_id: u64,
        _name: &str,
    ) -> Result<Vec<Artifact>, GithubError> {
        self.call("run_artifacts").await?;
        Ok(Vec::new())
    }

    async fn download_artifact(
        &self,
        _owner: &str,
        _repo: &str,
        id: u64,
        _file: &mut std::fs::File,
        _limit: u64,
    ) -> Result<Download, GithubError> {
        self.call("download_artifact").await?;
        Err(GithubError::NotFound {
            what: format!("artifact {id}"),
        })
    }
}

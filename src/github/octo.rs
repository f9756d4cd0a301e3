//! `PullRequests` and `Artifacts` over GitHub's REST API, through octocrab.
//!
//! octocrab carries authentication (the token goes out as a sensitive header and is never
//! logged), the base URL (GitHub Enterprise Server's `/api/v3` prefix included) and timeouts;
//! this adapter adds retries with `RetryPolicy`, pagination by `Link: rel="next"`, a deadline
//! per step (`step`), and the comment rules of the port, including the convergence of comments
//! left by racing runs. Responses are read into small structs of the fields tfgate uses.
//!
//! Comments are tfgate's when their author is the identity the token writes as, never anyone
//! else's (`ours_for`). That identity is `--comment-author` when given, else `GET /user`'s login,
//! else, for an installation token (a GitHub App's, or Actions' `GITHUB_TOKEN`), which may not
//! call `GET /user`, GraphQL's `viewer`. When GitHub says neither, tfgate assumes
//! `github-actions[bot]`, corrects it with the author GitHub gives the comment it creates, and
//! the command warns (`identity_warning`).
//!
//! An artifact's zip is streamed to a file under a size limit. GitHub answers its download with
//! a redirect to storage on another host; the redirect layer follows it and, the origin being
//! another, drops the `Authorization` header, so the token never leaves GitHub. Requests go
//! through the client `transport` builds, which honours the proxy variables.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::context::ProxyVars;
use crate::github::marker::{CommentStatus, parse_marker};
use crate::github::retry::{Decision, Failure, RetryPolicy};
use crate::github::transport;
use crate::github::{
    Artifact, Artifacts, CommentTarget, CommitRelation, Download, GithubError, OurComment,
    PullRequest, PullRequests, Upsert, Wanted, converge, newest, status_body,
};

/// GitHub rejects comment bodies longer than this many characters.
pub const MAX_BODY_CHARS: usize = 65_536;
/// The largest page GitHub serves.
pub const PER_PAGE: u32 = 100;
/// Who authors comments made with the Actions `GITHUB_TOKEN`, which cannot call `GET /user`;
/// assumed when GitHub will not say who the token is.
pub const ACTIONS_BOT: &str = "github-actions[bot]";
/// GraphQL's question for the login the token acts as; installation tokens may ask it.
const VIEWER_QUERY: &str = "query { viewer { login } }";
/// How many times a run looks again at the comments while converging them.
const CONVERGE_ROUNDS: usize = 5;
/// After writing, a run waits at least this long before it looks again, so that a write that
/// another run decided on before seeing this one's has landed, and can be corrected.
const MIN_SETTLE: Duration = Duration::from_millis(250);
const MAX_SETTLE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct OctoPullRequests {
    client: Octocrab,
    /// The same connections, for GraphQL's endpoint (`viewer`).
    graphql: Octocrab,
    policy: RetryPolicy,
    /// Used when GitHub will not say who the token is.
    fallback_author: String,
    /// An author given explicitly wins over what GitHub says.
    explicit_author: Option<String>,
    /// Shared by the handles `step` makes, so the identity is asked once per run.
    identity: Arc<Mutex<Option<Identity>>>,
    /// When the current step must end, and the limit it was given (for the message).
    deadline: Option<(Instant, Duration)>,
}

/// Settings for the adapter.
#[derive(Debug, Clone)]
pub struct OctoOptions {
    /// `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    pub token: String,
    /// `--comment-author`: the login tfgate's comments are written as, when known.
    pub comment_author: Option<String>,
    /// The proxies GitHub's requests go through.
    pub proxy: ProxyVars,
    pub policy: RetryPolicy,
}

/// The login tfgate's comments are written as, and how tfgate knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub login: String,
    pub source: IdentitySource,
    /// The author GitHub gave the comment this run created, when it is not `login` (a
    /// `--comment-author` that is not the token's).
    pub wrote_as: Option<String>,
}

/// Where the identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// `--comment-author` (`TFGATE_COMMENT_AUTHOR`).
    Given,
    /// `GET /user`.
    User,
    /// GraphQL's `viewer`, for a token that may not call `GET /user`.
    Viewer,
    /// GitHub said neither: `github-actions[bot]`, assumed.
    Assumed,
    /// Assumed, then learnt from the author GitHub gave the comment this run created.
    Learnt,
}

#[derive(Debug, Deserialize)]
struct RawUser {
    login: String,
}

#[derive(Debug, Deserialize)]
struct RawComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: Option<RawUser>,
}

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

/// A page of `GET /repos/{o}/{r}/actions/runs/{id}/artifacts`.
#[derive(Debug, Deserialize)]
struct RawArtifactPage {
    artifacts: Vec<RawArtifact>,
}

#[derive(Debug, Deserialize)]
struct RawArtifact {
    id: u64,
    name: String,
    #[serde(default)]
    size_in_bytes: u64,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    workflow_run: Option<RawWorkflowRun>,
}

#[derive(Debug, Deserialize)]
struct RawWorkflowRun {
    #[serde(default)]
    id: Option<u64>,
}

impl From<RawArtifact> for Artifact {
    fn from(a: RawArtifact) -> Artifact {
        Artifact {
            id: a.id,
            name: a.name,
            size_in_bytes: a.size_in_bytes,
            expired: a.expired,
            run_id: a.workflow_run.and_then(|r| r.id),
        }
    }
}

/// One HTTP answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl OctoPullRequests {
    pub fn new(opts: OctoOptions) -> Result<OctoPullRequests, GithubError> {
        let clients = transport::clients(&opts.api_url, &opts.token, &opts.proxy)?;
        Ok(OctoPullRequests {
            client: clients.rest,
            graphql: clients.graphql,
            policy: opts.policy,
            fallback_author: ACTIONS_BOT.to_string(),
            explicit_author: opts.comment_author,
            identity: Arc::new(Mutex::new(None)),
            deadline: None,
        })
    }

    /// A handle for one step of a command (posting the comment, apply's lookups, its status
    /// update): every request it makes, retries and waits included, ends within `limit` from
    /// now, else fails with `GithubError::TimedOut`.
    pub fn step(&self, limit: Duration) -> OctoPullRequests {
        OctoPullRequests {
            deadline: Some((Instant::now() + limit, limit)),
            ..self.clone()
        }
    }

    /// `work`, cut off at the step's deadline.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, GithubError>>,
    ) -> Result<T, GithubError> {
        match self.deadline {
            None => work.await,
            Some((at, limit)) => tokio::time::timeout_at(at, work)
                .await
                .unwrap_or(Err(GithubError::TimedOut { limit })),
        }
    }

    /// Whether waiting `wait` would pass the step's deadline.
    fn would_overrun(&self, wait: Duration) -> bool {
        self.deadline
            .is_some_and(|(at, _)| Instant::now() + wait >= at)
    }

    /// The identity tfgate's comments carry: `--comment-author`, else `GET /user`'s login,
    /// else (for an installation token, which may not call it) GraphQL's `viewer`, else
    /// `github-actions[bot]`, assumed. Asked once per run.
    pub async fn identity(&self) -> Result<Identity, GithubError> {
        let known = async {
            let mut known = self.identity.lock().await;
            if let Some(id) = known.as_ref() {
                return Ok(id.clone());
            }
            let id = self.ask_identity().await?;
            *known = Some(id.clone());
            Ok(id)
        };
        self.bounded(known).await
    }

    async fn ask_identity(&self) -> Result<Identity, GithubError> {
        let found = |login: String, source| Identity {
            login,
            source,
            wrote_as: None,
        };
        if let Some(a) = &self.explicit_author {
            return Ok(found(a.clone(), IdentitySource::Given));
        }
        match self.request(Method::GET, "/user", None).await {
            Ok(a) => {
                return Ok(found(
                    parse::<RawUser>(&a.body)?.login,
                    IdentitySource::User,
                ));
            }
            Err(GithubError::Forbidden { message }) => {
                tracing::debug!(
                    "GET /user is not allowed for this token ({message}); asking GraphQL's viewer"
                );
            }
            Err(e) => return Err(e),
        }
        Ok(match self.viewer().await? {
            Some(login) => found(login, IdentitySource::Viewer),
            None => found(self.fallback_author.clone(), IdentitySource::Assumed),
        })
    }

    /// GraphQL's `viewer`: the login the token acts as; `None` when GitHub will not say (the
    /// query refused, or no GraphQL endpoint there).
    async fn viewer(&self) -> Result<Option<String>, GithubError> {
        #[derive(Deserialize)]
        struct Data {
            viewer: Option<RawUser>,
        }
        #[derive(Deserialize)]
        struct Reply {
            data: Option<Data>,
        }
        let path = "/graphql";
        let payload = json!({ "query": VIEWER_QUERY });
        let asked = self
            .with_retries("POST /graphql", async || {
                match self
                    .attempt_on(&self.graphql, &Method::POST, path, Some(&payload))
                    .await
                {
                    Ok(a) if a.status.is_success() => Ok(a),
                    Ok(a) => Err(failure_of(&a)),
                    Err(f) => Err(f),
                }
            })
            .await;
        match asked {
            // Refusals come as `errors` beside a null `viewer`.
            Ok(a) => match parse::<Reply>(&a.body) {
                Ok(reply) => Ok(reply.data.and_then(|d| d.viewer).map(|v| v.login)),
                Err(e) => {
                    tracing::debug!(
                        "GraphQL's viewer did not answer with a login ({e}): {}",
                        a.body
                    );
                    Ok(None)
                }
            },
            Err((failure, attempts)) => match final_error(&failure, attempts, path) {
                e @ (GithubError::Forbidden { .. }
                | GithubError::NotFound { .. }
                | GithubError::Rejected { .. }) => {
                    tracing::debug!("GraphQL's viewer is not available: {e}");
                    Ok(None)
                }
                e => Err(e),
            },
        }
    }

    /// GitHub wrote the comment this run created as `author`: the token's identity, for sure.
    /// It replaces an assumed identity; one given with `--comment-author` stays, and the
    /// difference is kept for `identity_warning`.
    async fn learn(&self, author: &str) {
        let mut known = self.identity.lock().await;
        let Some(id) = known.as_mut() else {
            return;
        };
        match id.source {
            IdentitySource::Assumed => {
                tracing::debug!("tfgate's comments are written as {author}");
                *id = Identity {
                    login: author.to_string(),
                    source: IdentitySource::Learnt,
                    wrote_as: None,
                };
            }
            _ if id.login != author => id.wrote_as = Some(author.to_string()),
            _ => {}
        }
    }

    /// What the user must hear about the identity, once the run has used it: GitHub did not
    /// say who the token is, or `--comment-author` names someone else than the author of the
    /// comment this run created. Either way a later run would not find the comment (and
    /// `apply` would not find the reviewed plan).
    pub async fn identity_warning(&self) -> Option<String> {
        let known = self.identity.lock().await;
        let id = known.as_ref()?;
        let unsaid = "GitHub would not say who the GitHub token is (GET /user and GraphQL's viewer were both refused)";
        match (id.source, &id.wrote_as) {
            (IdentitySource::Assumed, _) => Some(format!(
                "{unsaid}, so tfgate assumes its comments are written as `{}` and looks for no one else's; if the token is not Actions' GITHUB_TOKEN (a GitHub App's, say), pass --comment-author LOGIN (or set TFGATE_COMMENT_AUTHOR), the author its comments show, e.g. `my-app[bot]`",
                id.login
            )),
            // Assumed rightly: later runs assume the same.
            (IdentitySource::Learnt, _) if id.login == self.fallback_author => None,
            (IdentitySource::Learnt, _) => Some(format!(
                "{unsaid}; the comment tfgate posted is written as `{0}`, and later runs will not find it (apply will report no tfgate plan) unless told: pass --comment-author '{0}' (or set TFGATE_COMMENT_AUTHOR)",
                id.login
            )),
            (_, Some(actual)) => Some(format!(
                "--comment-author says tfgate's comments are written as `{}`, but GitHub wrote the comment it posted as `{actual}`; tfgate looks only for comments by `{}`, so later runs will not find it: pass --comment-author '{actual}' (or set TFGATE_COMMENT_AUTHOR)",
                id.login, id.login
            )),
            _ => None,
        }
    }

    /// One attempt. Network errors and timeouts come back as a `Failure` without status.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, Failure> {
        self.attempt_on(&self.client, method, path, body).await
    }

    /// One attempt with `client` (the REST API's or GraphQL's).
    async fn attempt_on(
        &self,
        client: &Octocrab,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, Failure> {
        let builder = http::Request::builder().method(method.clone()).uri(path);
        let request = client
            .build_request(builder, body)
            .map_err(|e| network_failure(&e))?;
        let response = client
            .execute(request)
            .await
            .map_err(|e| network_failure(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = client
            .body_to_string(response)
            .await
            .map_err(|e| network_failure(&e))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// A request with retries; `Ok` only for a 2xx answer.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GithubError> {
        self.request_or_failure(method, path, body)
            .await
            .map_err(|(failure, attempts)| final_error(&failure, attempts, path))
    }

    /// `request`, but a final failure comes back as its facts and the number of attempts, for
    /// callers that tell failures of the same status apart by GitHub's message.
    async fn request_or_failure(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, (Failure, u32)> {
        let what = format!("{method} {path}");
        self.with_retries(&what, async || {
            match self.attempt(&method, path, body).await {
                Ok(a) if a.status.is_success() => Ok(a),
                Ok(a) => Err(failure_of(&a)),
                Err(f) => Err(f),
            }
        })
        .await
    }

    /// Runs `attempt` until it succeeds or `RetryPolicy` gives up; a final failure comes back
    /// with the number of attempts made.
    async fn with_retries<T>(
        &self,
        what: &str,
        mut attempt: impl AsyncFnMut() -> Result<T, Failure>,
    ) -> Result<T, (Failure, u32)> {
        let mut waited = Duration::ZERO;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match attempt().await {
                Ok(t) => return Ok(t),
                Err(f) => f,
            };
            tracing::debug!(what, attempts, status = ?failure.status, "GitHub request failed");
            match self.policy.decide(&failure, attempts, waited, now_epoch()) {
                Decision::RetryAfter(wait) => {
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                Decision::GiveUp => return Err((failure, attempts)),
            }
        }
    }

    /// Every item of a listing, page by page, following `Link: rel="next"`; a 404 says which
    /// `what` is missing.
    async fn pages<T>(
        &self,
        first: String,
        what: impl Fn() -> String,
        items: impl Fn(&str) -> Result<Vec<T>, GithubError>,
    ) -> Result<Vec<T>, GithubError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(path) = next.take() {
            let answer = self
                .request(Method::GET, &path, None)
                .await
                .map_err(|e| match e {
                    GithubError::NotFound { .. } => GithubError::NotFound { what: what() },
                    e => e,
                })?;
            out.extend(items(&answer.body)?);
            next = next_link(&answer.headers);
        }
        Ok(out)
    }

    /// Every comment on a PR, following `Link: rel="next"`.
    async fn list_comments(
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
    async fn find_ours(&self, target: &CommentTarget) -> Result<Vec<OurComment>, GithubError> {
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
    async fn create(&self, target: &CommentTarget, body: &str) -> Result<Option<u64>, GithubError> {
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

    async fn update(
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
    async fn delete(&self, target: &CommentTarget, id: u64) -> Result<(), GithubError> {
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
    async fn converge(
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

impl OctoPullRequests {
    /// One attempt at streaming an artifact's zip into `file`. `Err` is a failure worth the
    /// retry policy's judgement (an HTTP error or the network).
    async fn download_attempt(
        &self,
        path: &str,
        file: &mut std::fs::File,
        limit: u64,
    ) -> Result<Download, Failure> {
        use http_body_util::BodyExt;
        use std::io::{Seek, Write};
        let unwritable = |e: std::io::Error| Download::WriteFailed {
            message: e.to_string(),
        };
        if let Err(e) = file.set_len(0).and_then(|()| file.rewind()) {
            return Ok(unwritable(e));
        }
        let builder = http::Request::builder().method(Method::GET).uri(path);
        let request = self
            .client
            .build_request::<()>(builder, None)
            .map_err(|e| network_failure(&e))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| network_failure(&e))?;
        let status = response.status();
        if status == StatusCode::GONE {
            return Ok(Download::Expired);
        }
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = self
                .client
                .body_to_string(response)
                .await
                .unwrap_or_default();
            return Err(failure_of(&Answer {
                status,
                headers,
                body,
            }));
        }
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| network_failure(&e))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            bytes += data.len() as u64;
            if bytes > limit {
                return Ok(Download::TooLarge { limit });
            }
            if let Err(e) = file.write_all(&data) {
                return Ok(unwritable(e));
            }
        }
        if let Err(e) = file.flush().and_then(|()| file.sync_all()) {
            return Ok(unwritable(e));
        }
        Ok(Download::Complete { bytes })
    }
}

impl Artifacts for OctoPullRequests {
    async fn run_artifacts(
        &self,
        owner: &str,
        repo: &str,
        run_id: u64,
        name: &str,
    ) -> Result<Vec<Artifact>, GithubError> {
        let name_query =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        let found = self
            .pages(
                format!(
                    "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name={name_query}&per_page={PER_PAGE}"
                ),
                || format!("workflow run {run_id} of {owner}/{repo}"),
                |body| parse::<RawArtifactPage>(body).map(|page| page.artifacts),
            )
            .await?;
        // GitHub filters by name already; a listing is trusted no further than that.
        Ok(found
            .into_iter()
            .filter(|a| a.name == name)
            .map(Artifact::from)
            .collect())
    }

    async fn download_artifact(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        file: &mut std::fs::File,
        limit: u64,
    ) -> Result<Download, GithubError> {
        let path = format!("/repos/{owner}/{repo}/actions/artifacts/{id}/zip");
        self.with_retries(&path, async || {
            self.download_attempt(&path, file, limit).await
        })
        .await
        .map_err(|(failure, attempts)| match failure.status {
            Some(404) => GithubError::NotFound {
                what: format!("artifact {id} of {owner}/{repo}"),
            },
            _ => final_error(&failure, attempts, &path),
        })
    }
}

impl PullRequests for OctoPullRequests {
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

fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, GithubError> {
    serde_json::from_str(body).map_err(|e| GithubError::Protocol {
        message: e.to_string(),
    })
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn network_failure(e: &octocrab::Error) -> Failure {
    Failure {
        status: None,
        message: e.to_string(),
        ..Failure::default()
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn failure_of(a: &Answer) -> Failure {
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    let message = serde_json::from_str::<Message>(&a.body)
        .map(|m| m.message)
        .unwrap_or_else(|_| a.status.canonical_reason().unwrap_or("").to_string());
    Failure {
        status: Some(a.status.as_u16()),
        retry_after: header_u64(&a.headers, "retry-after"),
        ratelimit_remaining: header_u64(&a.headers, "x-ratelimit-remaining"),
        ratelimit_reset: header_u64(&a.headers, "x-ratelimit-reset"),
        message,
    }
}

fn final_error(f: &Failure, attempts: u32, path: &str) -> GithubError {
    match f.status {
        Some(401) => GithubError::BadCredentials,
        Some(403) if !f.is_retryable() => GithubError::Forbidden {
            message: f.message.clone(),
        },
        Some(404) => GithubError::NotFound {
            what: path.split('?').next().unwrap_or(path).to_string(),
        },
        Some(s) if (400..500).contains(&s) && !f.is_retryable() => GithubError::Rejected {
            status: s,
            message: f.message.clone(),
        },
        _ => GithubError::Unavailable {
            attempts,
            last: match f.status {
                Some(s) => format!("{s} {}", f.message),
                None => f.message.clone(),
            },
        },
    }
}

/// The path and query of the `rel="next"` link, if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        if !params.split(';').any(|p| p.trim() == "rel=\"next\"") {
            return None;
        }
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        let uri: http::Uri = url.parse().ok()?;
        uri.path_and_query().map(|pq| pq.as_str().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_the_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            r#"<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=1>; rel="prev", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel="last""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("/repositories/1/issues/2/comments?per_page=100&page=3")
        );
        h.insert(
            "link",
            r#"<https://x/y?page=1>; rel="first""#.parse().unwrap(),
        );
        assert_eq!(next_link(&h), None);
    }

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

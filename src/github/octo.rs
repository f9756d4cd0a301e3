//! `PullRequests` and `Artifacts` over GitHub's REST API, through octocrab.
//!
//! octocrab carries authentication (the token goes out as a sensitive header and is never
//! logged), the base URL (GitHub Enterprise Server's `/api/v3` prefix included) and timeouts;
//! this adapter adds retries with `RetryPolicy`, pagination by `Link: rel="next"`, and the
//! comment rules of the port. Responses are read into small structs of the fields tfgate uses.
//!
//! An artifact's zip is streamed to a file under a size limit. GitHub answers its download with
//! a redirect to storage on another host; octocrab's redirect layer follows it and, the origin
//! being another, drops the `Authorization` header, so the token never leaves GitHub.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::github::retry::{Decision, Failure, RetryPolicy};
use crate::github::{
    Artifact, Artifacts, CommentTarget, CommitRelation, Download, GithubError, OurComment,
    PullRequest, PullRequests, Upsert,
};
use crate::render::comment::parse_marker;

/// GitHub rejects comment bodies longer than this many characters.
pub const MAX_BODY_CHARS: usize = 65_536;
/// The largest page GitHub serves.
pub const PER_PAGE: u32 = 100;
/// Who authors comments made with the Actions `GITHUB_TOKEN`, which cannot call `GET /user`.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

pub struct OctoPullRequests {
    client: Octocrab,
    policy: RetryPolicy,
    /// Used when `GET /user` is not allowed (installation tokens).
    fallback_author: String,
    /// An author given explicitly wins over `GET /user`.
    explicit_author: Option<String>,
    identity: OnceCell<String>,
}

/// Settings for the adapter.
#[derive(Debug, Clone)]
pub struct OctoOptions {
    /// `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    pub token: String,
    /// `--comment-author`: the login tfgate's comments are written as, when known.
    pub comment_author: Option<String>,
    pub policy: RetryPolicy,
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
        let client = Octocrab::builder()
            .base_uri(opts.api_url.trim_end_matches('/'))
            .map_err(|e| GithubError::Protocol {
                message: format!("invalid GitHub API URL `{}`: {e}", opts.api_url),
            })?
            .personal_token(opts.token)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| GithubError::Protocol {
                message: format!("cannot set up the GitHub client: {e}"),
            })?;
        Ok(OctoPullRequests {
            client,
            policy: opts.policy,
            fallback_author: ACTIONS_BOT.to_string(),
            explicit_author: opts.comment_author,
            identity: OnceCell::new(),
        })
    }

    /// The login tfgate's comments carry: `--comment-author`, else `GET /user`, else (for an
    /// installation token, which may not call it) `github-actions[bot]`.
    pub async fn identity(&self) -> Result<String, GithubError> {
        self.identity
            .get_or_try_init(|| async {
                if let Some(a) = &self.explicit_author {
                    return Ok(a.clone());
                }
                match self.request(Method::GET, "/user", None).await {
                    Ok(a) => Ok(parse::<RawUser>(&a.body)?.login),
                    Err(GithubError::Forbidden { .. }) => {
                        tracing::debug!(
                            "GET /user is not allowed for this token; assuming {}",
                            self.fallback_author
                        );
                        Ok(self.fallback_author.clone())
                    }
                    Err(e) => Err(e),
                }
            })
            .await
            .cloned()
    }

    /// One attempt. Network errors and timeouts come back as a `Failure` without status.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, Failure> {
        let builder = http::Request::builder().method(method.clone()).uri(path);
        let request = self
            .client
            .build_request(builder, body)
            .map_err(|e| network_failure(&e))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| network_failure(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self
            .client
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
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.attempt(&method, path, body).await {
                Ok(a) if a.status.is_success() => return Ok(a),
                Ok(a) => failure_of(&a),
                Err(f) => f,
            };
            tracing::debug!(%method, path, attempt, status = ?failure.status, "GitHub request failed");
            match self.policy.decide(&failure, attempt, waited, now_epoch()) {
                Decision::RetryAfter(wait) => {
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                Decision::GiveUp => return Err((failure, attempt)),
            }
        }
    }

    /// Every comment on a PR, following `Link: rel="next"`.
    async fn list_comments(
        &self,
        owner: &str,
        repo: &str,
        pr: u64,
    ) -> Result<Vec<RawComment>, GithubError> {
        let mut out = Vec::new();
        let mut next = Some(format!(
            "/repos/{owner}/{repo}/issues/{pr}/comments?per_page={PER_PAGE}"
        ));
        while let Some(path) = next.take() {
            let answer = self
                .request(Method::GET, &path, None)
                .await
                .map_err(|e| match e {
                    GithubError::NotFound { .. } => GithubError::NotFound {
                        what: format!("pull request {owner}/{repo}#{pr}"),
                    },
                    e => e,
                })?;
            out.extend(parse::<Vec<RawComment>>(&answer.body)?);
            next = next_link(&answer.headers);
        }
        Ok(out)
    }

    async fn find_ours(&self, target: &CommentTarget) -> Result<Option<OurComment>, GithubError> {
        let me = self.identity().await?;
        let comments = self
            .list_comments(&target.owner, &target.repo, target.pr)
            .await?;
        Ok(comments.into_iter().find_map(|c| {
            let author = c.user.as_ref().map(|u| u.login.as_str());
            if author != Some(me.as_str()) {
                return None;
            }
            let body = c.body?;
            let meta = parse_marker(&body)?;
            target.matches(&meta).then_some(OurComment {
                id: c.id,
                body,
                meta,
            })
        }))
    }

    async fn create(&self, target: &CommentTarget, body: &str) -> Result<Upsert, GithubError> {
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
                    return Ok(Upsert::Created(parse::<RawComment>(&a.body)?.id));
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
            if let Some(found) = self.find_ours(target).await? {
                tracing::debug!(
                    id = found.id,
                    "the comment exists after all; not creating it again"
                );
                return if found.body == body {
                    Ok(Upsert::Created(found.id))
                } else {
                    self.update(target, found.id, body).await
                };
            }
        }
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
        self.request(Method::PATCH, &path, Some(&json!({ "body": body })))
            .await?;
        Ok(Upsert::Updated(id))
    }
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
        let mut out = Vec::new();
        let mut next = Some(format!(
            "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name={name_query}&per_page={PER_PAGE}"
        ));
        while let Some(path) = next.take() {
            let answer = self
                .request(Method::GET, &path, None)
                .await
                .map_err(|e| match e {
                    GithubError::NotFound { .. } => GithubError::NotFound {
                        what: format!("workflow run {run_id} of {owner}/{repo}"),
                    },
                    e => e,
                })?;
            let page = parse::<RawArtifactPage>(&answer.body)?;
            // GitHub filters by name already; a listing is trusted no further than that.
            out.extend(
                page.artifacts
                    .into_iter()
                    .filter(|a| a.name == name)
                    .map(Artifact::from),
            );
            next = next_link(&answer.headers);
        }
        Ok(out)
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
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.download_attempt(&path, file, limit).await {
                Ok(done) => return Ok(done),
                Err(f) => f,
            };
            tracing::debug!(path, attempt, status = ?failure.status, "artifact download failed");
            match self.policy.decide(&failure, attempt, waited, now_epoch()) {
                Decision::RetryAfter(wait) => {
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                Decision::GiveUp => {
                    return Err(match failure.status {
                        Some(404) => GithubError::NotFound {
                            what: format!("artifact {id} of {owner}/{repo}"),
                        },
                        _ => final_error(&failure, attempt, &path),
                    });
                }
            }
        }
    }
}

impl PullRequests for OctoPullRequests {
    async fn upsert_comment(
        &self,
        target: &CommentTarget,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        check_length(body)?;
        match self.find_ours(target).await? {
            Some(c) if c.body == body => Ok(Upsert::Unchanged(c.id)),
            Some(c) => self.update(target, c.id, body).await,
            None => self.create(target, body).await,
        }
    }

    async fn find_comment(
        &self,
        target: &CommentTarget,
    ) -> Result<Option<OurComment>, GithubError> {
        self.find_ours(target).await
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

    async fn pull_request(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, GithubError> {
        let a = self
            .request(
                Method::GET,
                &format!("/repos/{owner}/{repo}/pulls/{number}"),
                None,
            )
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
            .request(
                Method::GET,
                &format!("/repos/{owner}/{repo}/commits/{sha}/pulls"),
                None,
            )
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
        let a = self
            .request_or_failure(Method::GET, &path, None)
            .await
            .map_err(|(failure, attempts)| match failure.status {
                // GitHub answers 404 both for an unknown commit (or repository) and for two
                // commits with no history in common: "No common ancestor between A and B."
                Some(404) if failure.message.starts_with("No common ancestor") => {
                    GithubError::NotFound {
                        what: format!("a common ancestor of {base} and {head} in {owner}/{repo}"),
                    }
                }
                Some(404) => GithubError::NotFound {
                    what: format!("commit {base} or {head} in {owner}/{repo}"),
                },
                _ => final_error(&failure, attempts, &path),
            })?;
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

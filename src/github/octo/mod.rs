//! `PullRequests` and `Artifacts` over GitHub's REST API, through octocrab.
//!
//! octocrab carries authentication (the token goes out as a sensitive header and is never
//! logged), the base URL (GitHub Enterprise Server's `/api/v3` prefix included) and timeouts;
//! this adapter adds retries with `RetryPolicy`, pagination by `Link: rel="next"`, a deadline
//! per step (`step`), and the comment rules of the port, including the convergence of comments
//! left by racing runs. Responses are read into small structs of the fields tfgate uses.
//! Requests go through the client `transport` builds, which honours the proxy variables.
//!
//! This module holds the client and how it asks: one attempt, retries, pages, the step's
//! deadline, and GitHub's failures as `GithubError`s. The rest is in parts: `identity` (whose
//! comments are tfgate's), `comments` (listing, posting, editing, deleting and converging
//! them), `pulls` (the `PullRequests` port: the comment rules, and the pull-request and commit
//! lookups), `labels` (a pull request's labels, and all of tfgate's comments on it) and
//! `artifacts` (the `Artifacts` port: a run's artifacts and a zip's download).

mod artifacts;
mod comments;
mod identity;
mod labels;
mod pulls;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::context::ProxyVars;
use crate::github::GithubError;
use crate::github::retry::{Decision, Failure, RetryPolicy};
use crate::github::transport;

pub use identity::{ACTIONS_BOT, Identity, IdentitySource};
pub use pulls::MAX_BODY_CHARS;

/// The largest page GitHub serves.
pub const PER_PAGE: u32 = 100;

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

#[derive(Debug, Deserialize)]
struct RawUser {
    login: String,
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
}

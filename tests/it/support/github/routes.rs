//! How the GitHub fake answers one HTTP request: the axum handler, the `/api/v3` prefix,
//! authentication, fault injection, the endpoints (a pull request's labels in `labels`),
//! pagination with `Link` headers, rate-limit headers and the request log. A request is served whole under the store's lock, so tests see
//! either all of its effects or none.

mod labels;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::shapes::{self, Bases, COMPARE_DOCS, DOCS, PullParts};
use super::store::{self, NoComparison, Pr, Store};
use super::{EditAttempt, Fault, Kind, LoggedRequest};

/// The path prefix of a GitHub Enterprise Server API root.
const GHES_PREFIX: &str = "/api/v3";
/// GitHub Enterprise Server's GraphQL endpoint: beside its REST API, not under it.
const GHES_GRAPHQL: &str = "/api/graphql";
const GRAPHQL_DOCS: &str = "https://docs.github.com/graphql";
/// GitHub's limit on a comment body, in characters (not bytes).
const MAX_BODY_CHARS: usize = 65_536;
/// Far above anything a valid comment needs, so the 422 path is reachable.
const BODY_LIMIT_BYTES: usize = 64 << 20;
const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;
/// Seconds until the rate-limit window resets after a rate-limit fault without `retry-after`.
const RESET_SOON_SECS: i64 = 2;

#[derive(Clone)]
pub(super) struct Shared {
    pub store: Arc<Mutex<Store>>,
    pub addr: SocketAddr,
}

/// A request, reduced to what the fake looks at.
pub(super) struct Incoming<'a> {
    method: String,
    /// Without the `/api/v3` prefix.
    path: &'a str,
    query: &'a str,
    ghes: bool,
    bases: Bases,
    /// `Some("")` for an `Authorization` header in a scheme the fake does not know.
    token: Option<String>,
    body: &'a [u8],
}

pub(super) async fn handle(State(shared): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .unwrap_or_default();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| shared.addr.to_string(), str::to_owned);
    let full_path = parts.uri.path();
    let (ghes, path) = match full_path.strip_prefix(GHES_PREFIX) {
        // Not found, as on GitHub Enterprise Server: its GraphQL is at `/api/graphql`.
        Some("/graphql") => (true, full_path),
        _ if full_path == GHES_GRAPHQL => (true, "/graphql"),
        Some("") => (true, "/"),
        Some(rest) if rest.starts_with('/') => (true, rest),
        _ => (false, full_path),
    };
    let web = format!("http://{host}");
    let api = if ghes {
        format!("{web}{GHES_PREFIX}")
    } else {
        web.clone()
    };
    let incoming = Incoming {
        method: parts.method.as_str().to_ascii_uppercase(),
        path,
        query: parts.uri.query().unwrap_or(""),
        ghes,
        bases: Bases { api, web },
        token: token(&parts.headers),
        body: &body,
    };
    // The delay is waited outside the lock, so other requests are served meanwhile: the
    // requests of concurrent clients interleave as they would over a slow network.
    let delay = shared
        .store
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = shared
        .store
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .serve(&incoming);
    reply.into_response()
}

/// The token of `Authorization: Bearer TOKEN` or `Authorization: token TOKEN`.
fn token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value.to_str().ok().and_then(|v| {
        let (scheme, rest) = v.trim().split_once(' ')?;
        let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
        known.then(|| rest.trim().to_owned())
    });
    Some(parsed.unwrap_or_default())
}

/// An answer before rate-limit headers are added.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
    /// Set by rate-limit faults: `x-ratelimit-remaining: 0`, resetting at this epoch second.
    exhausted_until: Option<i64>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
            exhausted_until: None,
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
            exhausted_until: None,
        }
    }

    fn error(status: u16, message: &str, documentation_url: &str) -> Reply {
        Reply::json(status, shapes::error(status, message, documentation_url))
    }

    fn not_found() -> Reply {
        Reply::error(404, "Not Found", DOCS)
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut builder = Response::builder().status(status);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value.as_str());
        }
        let body = match &self.body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json; charset=utf-8");
                Body::from(serde_json::to_vec(json).expect("JSON serializes"))
            }
            None => Body::empty(),
        };
        builder.body(body).expect("a valid response")
    }
}

/// Who a token stands for, copied out of the store.
struct Caller {
    login: String,
    id: u64,
    kind: Kind,
}

fn reset_soon() -> i64 {
    store::now().timestamp() + RESET_SOON_SECS
}

impl Store {
    fn serve(&mut self, inc: &Incoming<'_>) -> Reply {
        let caller = inc
            .token
            .as_deref()
            .and_then(|t| self.login_for_token(t))
            .map(|u| Caller {
                login: u.login.clone(),
                id: u.id,
                kind: u.kind,
            });
        let fault = self.take_fault(&inc.method, inc.path);
        let mut reply = match &fault {
            None | Some(Fault::LoseResponseAfterWrite) => self.route(inc, caller.as_ref()),
            Some(f) => fault_reply(f, caller.as_ref()),
        };
        if fault == Some(Fault::LoseResponseAfterWrite) {
            reply = Reply::error(502, "Bad Gateway", DOCS);
        }
        let reply = self.with_rate_limit_headers(reply, caller.as_ref());
        self.log.push(LoggedRequest {
            method: inc.method.clone(),
            path: inc.path.to_owned(),
            query: inc.query.to_owned(),
            ghes: inc.ghes,
            login: caller.map(|c| c.login),
            status: reply.status,
            fault,
            body: String::from_utf8_lossy(inc.body).into_owned(),
        });
        reply
    }

    fn with_rate_limit_headers(&mut self, reply: Reply, caller: Option<&Caller>) -> Reply {
        let limit: u64 = match caller.map(|c| c.kind) {
            None => 60,
            Some(Kind::Installation) => 1_000,
            Some(Kind::User | Kind::Bot) => 5_000,
        };
        let used = self
            .used
            .entry(caller.map(|c| c.login.to_ascii_lowercase()))
            .or_default();
        *used += 1;
        let (remaining, used, reset) = match reply.exhausted_until {
            Some(reset) => (0, limit, reset),
            None => (
                limit.saturating_sub(*used),
                *used,
                self.started.timestamp() + 3600,
            ),
        };
        let id = self.log.len() + 1;
        reply
            .header("x-ratelimit-limit", limit.to_string())
            .header("x-ratelimit-remaining", remaining.to_string())
            .header("x-ratelimit-reset", reset.to_string())
            .header("x-ratelimit-used", used.to_string())
            .header("x-ratelimit-resource", "core")
            .header("x-github-api-version-selected", "2022-11-28")
            .header("x-github-request-id", format!("FAKE:{id:08X}"))
    }

    fn route(&mut self, inc: &Incoming<'_>, caller: Option<&Caller>) -> Reply {
        let Some(caller) = caller else {
            return Reply::error(401, "Bad credentials", DOCS);
        };
        let segments: Vec<&str> = inc.path.trim_start_matches('/').split('/').collect();
        let b = &inc.bases;
        match (inc.method.as_str(), segments.as_slice()) {
            ("GET", ["user"]) => self.get_user(b, caller),
            ("POST", ["graphql"]) => self.graphql(inc, caller),
            ("GET", ["repos", owner, name, "pulls", number]) => {
                let Some(number) = number_of(number) else {
                    return Reply::not_found();
                };
                match self.pr(&format!("{owner}/{name}"), number) {
                    Some(pr) => Reply::json(200, self.pull_json(b, pr)),
                    None => Reply::not_found(),
                }
            }
            ("GET", ["repos", owner, name, "commits", sha, "pulls"]) => {
                let repo = format!("{owner}/{name}");
                if !self.repos.contains_key(&repo.to_ascii_lowercase()) {
                    return Reply::not_found();
                }
                let prs: Vec<Value> = self
                    .prs_for_commit(&repo, sha)
                    .into_iter()
                    .map(|pr| self.pull_json(b, pr))
                    .collect();
                Reply::json(200, Value::Array(prs))
            }
            ("GET", ["repos", owner, name, "compare", basehead]) => {
                self.compare(b, &format!("{owner}/{name}"), basehead)
            }
            ("GET", ["repos", owner, name, "issues", number, "comments"]) => {
                match number_of(number) {
                    Some(number) => self.list_comments(inc, &format!("{owner}/{name}"), number),
                    None => Reply::not_found(),
                }
            }
            ("POST", ["repos", owner, name, "issues", number, "comments"]) => {
                match number_of(number) {
                    Some(number) => {
                        self.create_comment(inc, caller, &format!("{owner}/{name}"), number)
                    }
                    None => Reply::not_found(),
                }
            }
            ("GET", ["repos", owner, name, "issues", number, "labels"]) => {
                match number_of(number) {
                    Some(number) => self.list_labels(inc, &format!("{owner}/{name}"), number),
                    None => Reply::not_found(),
                }
            }
            ("POST", ["repos", owner, name, "issues", number, "labels"]) => {
                match number_of(number) {
                    Some(number) => self.add_labels(inc, &format!("{owner}/{name}"), number),
                    None => Reply::not_found(),
                }
            }
            ("DELETE", ["repos", owner, name, "issues", number, "labels", label]) => {
                match number_of(number) {
                    Some(number) => {
                        self.remove_label(inc, &format!("{owner}/{name}"), number, label)
                    }
                    None => Reply::not_found(),
                }
            }
            ("GET", ["repos", owner, name, "actions", "runs", run, "artifacts"]) => {
                match number_of(run) {
                    Some(run) => self.list_artifacts(inc, &format!("{owner}/{name}"), run),
                    None => Reply::not_found(),
                }
            }
            ("GET", ["repos", owner, name, "actions", "artifacts", id, "zip"]) => {
                match number_of(id) {
                    Some(id) => self.download_artifact(&format!("{owner}/{name}"), id),
                    None => Reply::not_found(),
                }
            }
            (method, ["repos", owner, name, "issues", "comments", id]) => {
                let repo = format!("{owner}/{name}");
                let Some(id) = number_of(id).filter(|id| self.comment_in(&repo, *id)) else {
                    return Reply::not_found();
                };
                match method {
                    "GET" => Reply::json(200, self.comment_json(b, id)),
                    "PATCH" | "POST" | "DELETE" => self.change_comment(inc, caller, id),
                    _ => Reply::not_found(),
                }
            }
            _ => Reply::not_found(),
        }
    }

    fn get_user(&self, b: &Bases, caller: &Caller) -> Reply {
        if caller.kind == Kind::Installation {
            return Reply::error(
                403,
                "Resource not accessible by integration",
                "https://docs.github.com/rest/users/users#get-the-authenticated-user",
            );
        }
        let user = self.user(&caller.login);
        Reply::json(200, shapes::authenticated_user(b, user, self.started))
    }

    /// GraphQL, as far as `query { viewer { login } }` (any spacing, with or without
    /// `query`): the token's login, for every kind of token, unless the fake was told to
    /// refuse it (`GitHubFake::refuse_viewer`). Other queries get a GraphQL error.
    fn graphql(&self, inc: &Incoming<'_>, caller: &Caller) -> Reply {
        let query = serde_json::from_slice::<Value>(inc.body)
            .ok()
            .and_then(|v| v.get("query")?.as_str().map(str::to_owned));
        let Some(query) = query else {
            return Reply::error(400, "Problems parsing JSON", GRAPHQL_DOCS);
        };
        let compact: String = query.split_whitespace().collect();
        if !matches!(compact.as_str(), "query{viewer{login}}" | "{viewer{login}}") {
            return Reply::json(
                200,
                serde_json::json!({ "errors": [{
                    "message": format!("the GitHub fake answers only `query {{ viewer {{ login }} }}`, not {query:?}"),
                }] }),
            );
        }
        if self
            .viewer_refused
            .contains(&caller.login.to_ascii_lowercase())
        {
            return Reply::json(
                200,
                serde_json::json!({
                    "data": { "viewer": null },
                    "errors": [{
                        "type": "FORBIDDEN",
                        "path": ["viewer"],
                        "locations": [{ "line": 1, "column": 9 }],
                        "message": "Resource not accessible by integration",
                    }],
                }),
            );
        }
        Reply::json(
            200,
            serde_json::json!({ "data": { "viewer": { "login": caller.login } } }),
        )
    }

    fn pull_json(&self, b: &Bases, pr: &Pr) -> Value {
        let repo = self.repo(&pr.repo);
        shapes::pull(
            b,
            &PullParts {
                pr,
                repo,
                author: self.user(&pr.author),
                owner: self.user(repo.owner()),
                since: self.started,
            },
        )
    }

    /// `GET /repos/{repo}/compare/{base}...{head}` over the repository's commit graph.
    fn compare(&self, b: &Bases, repo: &str, basehead: &str) -> Reply {
        let Some(repo_record) = self.repos.get(&repo.to_ascii_lowercase()) else {
            return Reply::not_found();
        };
        let Some((base, head)) = basehead.split_once("...") else {
            return Reply::not_found();
        };
        match self.compare_commits(repo, base, head) {
            Ok(c) => Reply::json(200, shapes::comparison(b, repo_record, base, head, &c)),
            Err(NoComparison::Unknown) => Reply::not_found(),
            Err(NoComparison::NoCommonAncestor) => Reply::error(
                404,
                &format!("No common ancestor between {base} and {head}."),
                COMPARE_DOCS,
            ),
        }
    }

    fn comment_in(&self, repo: &str, id: u64) -> bool {
        self.comments
            .get(&id)
            .is_some_and(|c| c.repo.eq_ignore_ascii_case(repo))
    }

    fn comment_json(&self, b: &Bases, id: u64) -> Value {
        let c = &self.comments[&id];
        shapes::comment(b, id, c, self.repo(&c.repo), self.user(&c.author))
    }

    fn list_comments(&self, inc: &Incoming<'_>, repo: &str, number: u64) -> Reply {
        if self.pr(repo, number).is_none() {
            return Reply::not_found();
        }
        let ids: Vec<u64> = self
            .comments
            .iter()
            .filter(|(_, c)| c.repo.eq_ignore_ascii_case(repo) && c.pr == number)
            .map(|(id, _)| *id)
            .collect();
        paged(
            inc,
            &ids,
            |id| self.comment_json(&inc.bases, *id),
            Value::Array,
        )
    }

    fn create_comment(
        &mut self,
        inc: &Incoming<'_>,
        caller: &Caller,
        repo: &str,
        number: u64,
    ) -> Reply {
        if self.pr(repo, number).is_none() {
            return Reply::not_found();
        }
        let body = match comment_body(inc.body, "create-an-issue-comment") {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let id = self.add_comment(repo, number, &caller.login, &body);
        let json = self.comment_json(&inc.bases, id);
        let location = json["url"].as_str().unwrap_or_default().to_owned();
        Reply::json(201, json).header("location", location)
    }

    /// PATCH/POST (update) or DELETE of a comment that exists in the repository.
    fn change_comment(&mut self, inc: &Incoming<'_>, caller: &Caller, id: u64) -> Reply {
        let author = self.comments[&id].author.clone();
        let allowed = !self.strict || author.eq_ignore_ascii_case(&caller.login);
        self.edits.push(EditAttempt {
            comment_id: id,
            method: inc.method.clone(),
            by: caller.login.clone(),
            author: author.clone(),
            allowed,
        });
        if !allowed {
            let message = format!(
                "{} may not change comment {id} by {author} (the GitHub fake's strict authorship)",
                caller.login
            );
            return Reply::error(
                403,
                &message,
                "https://docs.github.com/rest/issues/comments#update-an-issue-comment",
            );
        }
        if inc.method == "DELETE" {
            self.comments.remove(&id);
            return Reply::empty(204);
        }
        let body = match comment_body(inc.body, "update-an-issue-comment") {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        self.set_comment_body(id, &body);
        Reply::json(200, self.comment_json(&inc.bases, id))
    }
}

/// Workflow artifacts: "List workflow run artifacts" and "Download an artifact".
impl Store {
    /// `GET /repos/{repo}/actions/runs/{run}/artifacts[?name=…]`, paginated like GitHub.
    fn list_artifacts(&self, inc: &Incoming<'_>, repo: &str, run: u64) -> Reply {
        let Some(repo_record) = self.repos.get(&repo.to_ascii_lowercase()) else {
            return Reply::not_found();
        };
        let name = inc
            .query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "name")
            .map(|(_, v)| {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            });
        let all = self.artifacts.of_run(repo, run, name.as_deref());
        paged(
            inc,
            &all,
            |a| shapes::artifact(&inc.bases, repo_record, a),
            |items| serde_json::json!({ "total_count": all.len(), "artifacts": items }),
        )
    }

    /// `GET /repos/{repo}/actions/artifacts/{id}/zip`: 302 to the storage host, 410 once
    /// expired.
    fn download_artifact(&self, repo: &str, id: u64) -> Reply {
        let repo = repo.to_ascii_lowercase();
        match self.artifacts.records.get(&id) {
            Some(a) if a.repo == repo && (a.expired || a.gone) => Reply::error(
                410,
                "Artifact has expired",
                "https://docs.github.com/rest/actions/artifacts#download-an-artifact",
            ),
            Some(a) if a.repo == repo => match self.artifacts.storage_url(id) {
                Some(url) => Reply::empty(302).header("location", url),
                None => Reply::error(500, "the artifact storage host is not running", DOCS),
            },
            _ => Reply::not_found(),
        }
    }
}

fn fault_reply(fault: &Fault, caller: Option<&Caller>) -> Reply {
    match fault {
        Fault::ServerError(status) => {
            let reason = StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Server Error");
            Reply::error(*status, reason, DOCS)
        }
        Fault::RateLimited { retry_after_secs } => Reply::error(
            429,
            "Too Many Requests",
            "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
        )
        .header("retry-after", retry_after_secs.to_string()),
        Fault::SecondaryRateLimit { retry_after_secs } => {
            let reply = Reply::error(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            match retry_after_secs {
                Some(secs) => reply.header("retry-after", secs.to_string()),
                None => Reply {
                    exhausted_until: Some(reset_soon()),
                    ..reply
                },
            }
        }
        Fault::PrimaryRateLimit => {
            let who =
                caller.map_or_else(|| "127.0.0.1".to_owned(), |c| format!("user ID {}", c.id));
            Reply {
                exhausted_until: Some(reset_soon()),
                ..Reply::error(
                    403,
                    &format!("API rate limit exceeded for {who}."),
                    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-primary-rate-limits",
                )
            }
        }
        Fault::LoseResponseAfterWrite => Reply::error(502, "Bad Gateway", DOCS),
        Fault::ReadOnlyToken => Reply::error(
            403,
            "Resource not accessible by integration",
            "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        ),
    }
}

/// A path segment as a PR number or comment id: digits only.
fn number_of(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

fn query_number(query: &str, name: &str) -> Option<usize> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

/// One page of `all`, as the request's `page` and `per_page` ask (GitHub's default and cap), with
/// the `Link` header GitHub sends; `body` makes the reply's body of the page's items.
fn paged<T>(
    inc: &Incoming<'_>,
    all: &[T],
    item: impl FnMut(&T) -> Value,
    body: impl FnOnce(Vec<Value>) -> Value,
) -> Reply {
    let per_page = query_number(inc.query, "per_page")
        .filter(|n| *n > 0)
        .map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE));
    let page = query_number(inc.query, "page")
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let last = all.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(item)
        .collect();
    let reply = Reply::json(200, body(items));
    match link_header(&inc.bases.api, inc.path, inc.query, page, last) {
        Some(link) => reply.header("link", link),
        None => reply,
    }
}

/// GitHub's `Link` header: `prev`, `next`, `last`, `first` as they apply, each an absolute URL
/// that keeps the request's other query parameters; none when everything fits on page 1.
fn link_header(api: &str, path: &str, query: &str, page: usize, last: usize) -> Option<String> {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("page"))
        .collect();
    let url = |p: usize| {
        let mut params: Vec<String> = kept.iter().map(|s| (*s).to_owned()).collect();
        params.push(format!("page={p}"));
        format!("<{api}{path}?{}>", params.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
    }
    (!links.is_empty()).then(|| links.join(", "))
}

/// The `body` of a comment create/update request, or the error GitHub would answer.
fn comment_body(raw: &[u8], doc_anchor: &str) -> Result<String, Reply> {
    let documentation_url = format!("https://docs.github.com/rest/issues/comments#{doc_anchor}");
    let json: Value = serde_json::from_slice(raw)
        .map_err(|_| Reply::error(400, "Problems parsing JSON", &documentation_url))?;
    match json.get("body") {
        Some(Value::String(body)) if body.chars().count() > MAX_BODY_CHARS => {
            let mut err = shapes::error(422, "Validation Failed", &documentation_url);
            err["errors"] = serde_json::json!([{
                "resource": "IssueComment",
                "code": "custom",
                "field": "body",
                "message": format!("body is too long (maximum is {MAX_BODY_CHARS} characters)"),
            }]);
            Err(Reply::json(422, err))
        }
        Some(Value::String(body)) => Ok(body.clone()),
        Some(other) => Err(Reply::error(
            422,
            &format!("Invalid request.\n\nFor 'properties/body', {other} is not a string."),
            &documentation_url,
        )),
        None => Err(Reply::error(
            422,
            "Invalid request.\n\n\"body\" wasn't supplied.",
            &documentation_url,
        )),
    }
}

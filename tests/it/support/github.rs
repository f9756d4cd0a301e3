//! A stateful fake of GitHub's REST API on loopback, for the PR-comment adapter: tokens and
//! users (and GraphQL's `viewer`, the one query it answers), pull requests and their commits, a commit graph with GitHub's comparison of two
//! commits, issue comments with GitHub's pagination, pull requests' labels (created in the
//! repository on first use), workflow artifacts (listed by run and name,
//! downloaded through a redirect to a second, storage host), the GitHub Enterprise Server
//! `/api/v3` prefix, rate-limit headers, injectable faults and an optional delay. It answers in
//! GitHub's JSON shapes (close enough for octocrab to deserialize), records every request, and
//! lets tests seed and inspect its state. It judges nothing about tfgate: assertions belong to
//! the tests. It serves from its own thread and tokio runtime, so synchronous tests can point
//! the `tfgate` binary at it, and stops when dropped.
//!
//! ```ignore
//! let gh = GitHubFake::start();
//! gh.add_user("t0ken", "tfgate-bot", Kind::Bot);
//! gh.add_pr("acme/infra", 7, "0123abcd…");
//! env.set("GITHUB_API_URL", gh.url());
//! // … run tfgate …
//! assert_eq!(gh.comments("acme/infra", 7).len(), 1);
//! ```

mod artifacts;
mod routes;
mod shapes;
mod store;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};

use store::Store;

pub use artifacts::{FakeArtifact, StorageRequest};

/// What kind of identity a token authenticates as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A person (a personal access token): `GET /user` answers, `type` is `"User"`.
    User,
    /// A bot account whose token may read `/user`: `type` is `"Bot"`.
    Bot,
    /// A GitHub App installation token, like Actions' `GITHUB_TOKEN`: it reads and writes
    /// comments as the bot login given (`github-actions[bot]` for Actions' token, `my-app[bot]`
    /// for an app's; `type` `"Bot"`), and GraphQL's `viewer` answers that login, but
    /// `GET /user` answers 403 "Resource not accessible by integration".
    Installation,
}

/// A failure the fake answers with instead of (or after) serving a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The given 5xx status with a JSON `message`; the request is not performed.
    ServerError(u16),
    /// 429 with `Retry-After`; the request is not performed.
    RateLimited { retry_after_secs: u64 },
    /// 403 "You have exceeded a secondary rate limit…", with `retry-after` when given, else
    /// `x-ratelimit-remaining: 0` and `x-ratelimit-reset` a second or two ahead.
    SecondaryRateLimit { retry_after_secs: Option<u64> },
    /// 403 "API rate limit exceeded…" with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` a
    /// second or two ahead.
    PrimaryRateLimit,
    /// The request is performed (a comment is created, edited or deleted), then the answer is a
    /// 502 as if the response had been lost on the way back.
    LoseResponseAfterWrite,
    /// 403 "Resource not accessible by integration" without rate-limit signs: what a pull
    /// request from a fork gets when its read-only token tries to write.
    ReadOnlyToken,
}

/// One request as the fake saw it. The token is never kept: only the login it stood for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Upper case, as sent: `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: String,
    /// The path without the `/api/v3` prefix and without the query, e.g. `/user`.
    pub path: String,
    /// The raw query string without `?`, empty when there was none.
    pub query: String,
    /// Whether the request came through the GitHub Enterprise Server prefix `/api/v3`.
    pub ghes: bool,
    /// The login the token authenticated as; `None` when it was missing or unknown.
    pub login: Option<String>,
    /// The status the fake answered with.
    pub status: u16,
    /// The injected fault that shaped the answer, if any.
    pub fault: Option<Fault>,
    /// The request body as text (lossy UTF-8), empty for none.
    pub body: String,
}

/// An issue comment as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeComment {
    pub id: u64,
    pub author_login: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An attempt to edit or delete a comment, recorded whether or not it was allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditAttempt {
    pub comment_id: u64,
    /// `PATCH`, `POST` (both update) or `DELETE`.
    pub method: String,
    /// The login that asked.
    pub by: String,
    /// The comment's author.
    pub author: String,
    /// Whether the fake let it through (always, when strict authorship is off).
    pub allowed: bool,
}

impl LoggedRequest {
    /// Whether the request may change something: not a `GET`, and not GraphQL (which the fake
    /// answers only for `viewer`, a read).
    pub fn is_write(&self) -> bool {
        self.method != "GET" && self.path != "/graphql"
    }
}

impl EditAttempt {
    /// Whether someone other than the comment's author asked.
    pub fn is_foreign(&self) -> bool {
        !self.by.eq_ignore_ascii_case(&self.author)
    }
}

/// The running fake. Cheap to query from any thread; stops its server when dropped.
pub struct GitHubFake {
    addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GitHubFake {
    /// Binds 127.0.0.1 on a free port and serves on a thread of its own.
    pub fn start() -> GitHubFake {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the GitHub fake on loopback");
        listener
            .set_nonblocking(true)
            .expect("make the GitHub fake's listener non-blocking");
        let addr = listener.local_addr().expect("the GitHub fake's address");
        let store = Arc::new(Mutex::new(Store::new()));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let shared = routes::Shared {
            store: Arc::clone(&store),
            addr,
        };
        let thread = std::thread::Builder::new()
            .name(format!("github-fake-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the GitHub fake's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("hand the listener to tokio");
                    let app = axum::Router::new()
                        .fallback(routes::handle)
                        .with_state(shared);
                    tokio::select! {
                        served = axum::serve(listener, app).into_future() => {
                            served.expect("the GitHub fake stopped serving");
                        }
                        _ = stop => {}
                    }
                });
                // Dropping the runtime here drops every open connection.
            })
            .expect("spawn the GitHub fake's thread");
        GitHubFake {
            addr,
            store,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, the equivalent of `https://api.github.com`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v3`, the equivalent of a GitHub Enterprise Server API root.
    pub fn ghes_url(&self) -> String {
        format!("{}/api/v3", self.url())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ----- seeding -------------------------------------------------------------------------

    /// Lets `token` (sent as `Authorization: Bearer TOKEN` or `token TOKEN`) act as `login`.
    /// A login may have several tokens; adding a login again updates its kind.
    pub fn add_user(&self, token: &str, login: &str, kind: Kind) {
        self.lock().add_user(token, login, kind);
    }

    /// An open pull request on `repo` ("owner/name") whose head is `head_sha` (branch
    /// `feature-N` into `main`); the head commit is associated with it.
    pub fn add_pr(&self, repo: &str, number: u64, head_sha: &str) {
        self.lock().add_pr(repo, number, head_sha);
    }

    /// Whether `repo#number` exists.
    pub fn has_pr(&self, repo: &str, number: u64) -> bool {
        self.lock().has_pr(repo, number)
    }

    /// A new push to the PR: its head becomes `head_sha`, also associated with it.
    pub fn set_pr_head(&self, repo: &str, number: u64, head_sha: &str) {
        self.lock().set_pr_head(repo, number, head_sha);
    }

    /// Merges the PR: closed, `merged_at` now, `merge_commit_sha` set and associated with it.
    pub fn merge_pr(&self, repo: &str, number: u64, merge_commit_sha: &str) {
        self.lock().merge_pr(repo, number, merge_commit_sha);
    }

    /// Closes the PR without merging it.
    pub fn close_pr(&self, repo: &str, number: u64) {
        self.lock().close_pr(repo, number);
    }

    /// Makes `GET /repos/{repo}/commits/{sha}/pulls` list the PR.
    pub fn associate_commit(&self, repo: &str, sha: &str, number: u64) {
        self.lock().associate_commit(repo, sha, number);
    }

    /// Adds commit `sha` to `repo`'s commit graph, a child of `parents` (added before it; none
    /// for a root commit, two or more for a merge). `GET /repos/{repo}/compare/{base}...{head}`
    /// compares commits of this graph; pull requests' SHAs are not in it unless added here.
    pub fn add_commit(&self, repo: &str, sha: &str, parents: &[&str]) {
        self.lock().add_commit(repo, sha, parents);
    }

    /// Seeds a comment on the PR (which must exist) and returns its id. An author never added
    /// with `add_user` becomes a user, or a bot when the login ends in `[bot]`.
    pub fn add_comment(&self, repo: &str, pr: u64, author_login: &str, body: &str) -> u64 {
        self.lock().add_comment(repo, pr, author_login, body)
    }

    /// Puts a label on the PR (which must exist), creating it in the repository if needed.
    pub fn add_label(&self, repo: &str, pr: u64, name: &str) {
        let mut store = self.lock();
        assert!(
            store.pr(repo, pr).is_some(),
            "GitHub fake: no PR {repo}#{pr}; add_pr it first"
        );
        store.label_issue(repo, pr, name);
    }

    /// Rewrites a comment's body behind tfgate's back (bumps `updated_at`).
    pub fn set_comment_body(&self, id: u64, body: &str) {
        self.lock().set_comment_body(id, body);
    }

    /// Deletes a comment behind tfgate's back, as a person on the pull request may.
    pub fn delete_comment(&self, id: u64) {
        assert!(
            self.lock().comments.remove(&id).is_some(),
            "GitHub fake: no comment {id}"
        );
    }

    /// GraphQL's `viewer` answers the tokens of `login` with a `FORBIDDEN` error instead of
    /// their login: a token GitHub will not describe (with `Kind::Installation`, tfgate can
    /// then learn its identity nowhere).
    pub fn refuse_viewer(&self, login: &str) {
        self.lock()
            .viewer_refused
            .insert(login.to_ascii_lowercase());
    }

    /// Whether only a comment's author may edit or delete it (default on). Real GitHub lets
    /// any repository writer do so; the strict default catches tfgate touching a comment that
    /// is not its own. Attempts are recorded either way (`edit_attempts`).
    pub fn strict_authorship(&self, on: bool) {
        self.lock().strict = on;
    }

    /// Every request from now on waits `delay` before it is served (default none), as over a
    /// slow network: requests of concurrent clients interleave meanwhile, and each is still
    /// served whole at once. Widens the window between a client's read and its next write.
    pub fn delay_requests(&self, delay: std::time::Duration) {
        self.lock().delay = delay;
    }

    // ----- faults --------------------------------------------------------------------------

    /// The next `n` requests (of any kind) answer with `fault`, one request per fault, after
    /// any faults queued earlier.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.lock().queue_faults(n, fault, None, "/");
    }

    /// The next `n` requests with this method whose path (without `/api/v3`) starts with
    /// `path_prefix` answer with `fault`; other requests pass them by.
    pub fn fail_next_on(&self, method: &str, path_prefix: &str, n: usize, fault: Fault) {
        self.lock()
            .queue_faults(n, fault, Some(method.to_ascii_uppercase()), path_prefix);
    }

    /// Faults queued and not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    // ----- inspection ----------------------------------------------------------------------

    /// The PR's comments, oldest first.
    pub fn comments(&self, repo: &str, pr: u64) -> Vec<FakeComment> {
        self.lock().comments_of(repo, pr)
    }

    /// The body of the one comment `author` has on the PR (fails when there is not exactly one).
    #[track_caller]
    pub fn only_comment_by(&self, repo: &str, pr: u64, author: &str) -> String {
        let mine: Vec<_> = self
            .comments(repo, pr)
            .into_iter()
            .filter(|c| c.author_login == author)
            .collect();
        assert_eq!(mine.len(), 1, "{mine:#?}");
        mine[0].body.clone()
    }

    pub fn comment(&self, id: u64) -> Option<FakeComment> {
        self.lock().comment(id)
    }

    /// The names of the pull request's labels, in the order they were added.
    pub fn labels(&self, repo: &str, pr: u64) -> Vec<String> {
        let store = self.lock();
        store
            .issue_label_ids(repo, pr)
            .into_iter()
            .filter_map(|id| store.label(repo, id).map(|l| l.name.clone()))
            .collect()
    }

    /// The names of the repository's labels, in the order they were created.
    pub fn repo_labels(&self, repo: &str) -> Vec<String> {
        self.lock()
            .repo_labels
            .get(&repo.to_ascii_lowercase())
            .map(|ls| ls.iter().map(|l| l.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// How many requests had this method (any case) and a path starting with `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .count()
    }

    /// Forgets the request log (state, faults and edit attempts stay).
    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }

    /// Every attempt to edit or delete a comment, allowed or not.
    pub fn edit_attempts(&self) -> Vec<EditAttempt> {
        self.lock().edits.clone()
    }
}

/// Workflow artifacts: what actions/upload-artifact leaves, and what the storage host saw.
impl GitHubFake {
    /// Stores `zip` as the artifact `name` of run `run_id` of `repo` ("owner/name", which must
    /// exist), as actions/upload-artifact would, and returns its id. The first one starts the
    /// storage host its downloads are redirected to.
    pub fn add_artifact(&self, repo: &str, run_id: u64, name: &str, zip: Vec<u8>) -> u64 {
        let weak = Arc::downgrade(&self.store);
        let mut store = self.lock();
        assert!(
            store.repos.contains_key(&repo.to_ascii_lowercase()),
            "GitHub fake: no repository {repo}; add_pr one first"
        );
        artifacts::start_storage(weak, &mut store.artifacts);
        store.artifacts.add(repo, run_id, name, zip)
    }

    /// The artifact's retention ran out: listed as `expired`, its download answers 410.
    pub fn expire_artifact(&self, id: u64) {
        let mut store = self.lock();
        let a = store
            .artifacts
            .records
            .get_mut(&id)
            .unwrap_or_else(|| panic!("GitHub fake: no artifact {id}"));
        a.expired = true;
    }

    /// The artifact expires between a listing and its download: still listed as live, its
    /// download answers 410.
    pub fn expire_artifact_on_download(&self, id: u64) {
        let mut store = self.lock();
        let a = store
            .artifacts
            .records
            .get_mut(&id)
            .unwrap_or_else(|| panic!("GitHub fake: no artifact {id}"));
        a.gone = true;
    }

    /// Every artifact, in upload order.
    pub fn artifacts(&self) -> Vec<FakeArtifact> {
        self.lock().artifacts.records.values().cloned().collect()
    }

    /// Every request the storage host received, in order.
    pub fn storage_requests(&self) -> Vec<StorageRequest> {
        self.lock().artifacts.storage_log.clone()
    }
}

impl Drop for GitHubFake {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
            && !std::thread::panicking()
        {
            panic!("the GitHub fake's server thread panicked");
        }
    }
}

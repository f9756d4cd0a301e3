//! The GitHub fake's workflow artifacts: their records (by repository, run and name, expired
//! or not) and the storage host their zips come from. GitHub answers
//! `GET /repos/{o}/{r}/actions/artifacts/{id}/zip` with a 302 to a short-lived URL on another
//! host; here that host is a second small server on another loopback address (127.0.0.2), which
//! serves the bytes and records every request, with whether an `Authorization` header arrived
//! (a client must not send GitHub's token there). It answers such a request with 400, as
//! cloud storage does when handed credentials it does not know.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError, Weak};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::store::Store;

/// Artifact ids start here, far from comment and PR numbers.
const FIRST_ARTIFACT_ID: u64 = 3_000_000_001;

/// An artifact as the fake keeps it.
#[derive(Clone, Debug)]
pub struct FakeArtifact {
    pub id: u64,
    /// "owner/name" lower-cased.
    pub repo: String,
    pub run_id: u64,
    pub name: String,
    /// The zip, as actions/upload-artifact would have stored it.
    pub bytes: Vec<u8>,
    pub expired: bool,
    /// Listed as live, but its download answers 410 (it expired between listing and download).
    pub gone: bool,
    pub created_at: DateTime<Utc>,
}

/// One request to the storage host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageRequest {
    /// Path and query, e.g. `/blobs/3000000001?sig=…`.
    pub uri: String,
    /// Whether an `Authorization` header came with it.
    pub authorization: bool,
    pub status: u16,
}

#[derive(Default)]
pub(super) struct ArtifactState {
    /// By id, so in upload order.
    pub records: BTreeMap<u64, FakeArtifact>,
    next_id: u64,
    /// The storage host, once an artifact exists.
    pub storage: Option<SocketAddr>,
    pub storage_log: Vec<StorageRequest>,
    /// Dropped with the store, which stops the storage server.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ArtifactState {
    /// Records an artifact and returns its id.
    pub fn add(&mut self, repo: &str, run_id: u64, name: &str, bytes: Vec<u8>) -> u64 {
        if self.next_id == 0 {
            self.next_id = FIRST_ARTIFACT_ID;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.records.insert(
            id,
            FakeArtifact {
                id,
                repo: repo.to_ascii_lowercase(),
                run_id,
                name: name.to_owned(),
                bytes,
                expired: false,
                gone: false,
                created_at: super::store::now(),
            },
        );
        id
    }

    /// The artifacts of a run of `repo`, named `name` when given, in upload order.
    pub fn of_run(&self, repo: &str, run_id: u64, name: Option<&str>) -> Vec<&FakeArtifact> {
        let repo = repo.to_ascii_lowercase();
        self.records
            .values()
            .filter(|a| a.repo == repo && a.run_id == run_id && name.is_none_or(|n| a.name == n))
            .collect()
    }

    /// The signed, short-lived URL GitHub redirects an artifact's download to.
    pub fn storage_url(&self, id: u64) -> Option<String> {
        let addr = self.storage?;
        Some(format!("http://{addr}/blobs/{id}?sig={}", signature(id)))
    }
}

fn signature(id: u64) -> String {
    format!("fake-sas-{:x}", id.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Starts the storage host on 127.0.0.2 (127.0.0.1 where that cannot be bound), serving the
/// bytes of `store`'s artifacts for as long as the store lives.
pub(super) fn start_storage(store: Weak<Mutex<Store>>, state: &mut ArtifactState) {
    if state.storage.is_some() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.2:0")
        .or_else(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind the artifact storage host on loopback");
    listener
        .set_nonblocking(true)
        .expect("make the storage host's listener non-blocking");
    let addr = listener.local_addr().expect("the storage host's address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(format!("github-fake-storage-{}", addr.port()))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the storage host's runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("hand the listener to tokio");
                let app = axum::Router::new().fallback(serve).with_state(store);
                tokio::select! {
                    served = axum::serve(listener, app).into_future() => {
                        served.expect("the storage host stopped serving");
                    }
                    // Sent, or dropped with the store.
                    _ = stopped => {}
                }
            });
        })
        .expect("spawn the storage host's thread");
    state.storage = Some(addr);
    state.stop = Some(stop);
}

async fn serve(State(store): State<Weak<Mutex<Store>>>, req: Request) -> Response {
    let reply = |status: StatusCode, body: Body| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/xml")
            .body(body)
            .expect("a valid response")
    };
    let Some(store) = store.upgrade() else {
        return reply(StatusCode::SERVICE_UNAVAILABLE, Body::empty());
    };
    let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
    let authorization = req.headers().contains_key(header::AUTHORIZATION);
    let uri = req.uri().to_string();
    let id = req
        .uri()
        .path()
        .strip_prefix("/blobs/")
        .and_then(|id| id.parse::<u64>().ok());
    let signed =
        id.is_some_and(|id| req.uri().query() == Some(format!("sig={}", signature(id)).as_str()));
    let (status, body) = match id.and_then(|id| store.artifacts.records.get(&id)) {
        _ if authorization => (
            StatusCode::BAD_REQUEST,
            Body::from(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidAuthenticationInfo</Code><Message>Authentication information is not given in the correct format.</Message></Error>",
            ),
        ),
        Some(a) if signed && !a.expired && !a.gone => (StatusCode::OK, Body::from(a.bytes.clone())),
        Some(_) if signed => (StatusCode::NOT_FOUND, Body::empty()),
        _ => (
            StatusCode::FORBIDDEN,
            Body::from(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code></Error>",
            ),
        ),
    };
    store.artifacts.storage_log.push(StorageRequest {
        uri,
        authorization,
        status: status.as_u16(),
    });
    let mut response = reply(status, body);
    if status == StatusCode::OK {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/zip"),
        );
    }
    response
}

//! A fault-injecting HTTP proxy for tests of what tfgate and the AWS SDK do when AWS misbehaves:
//! throttling, server errors, and writes that took effect but whose response was lost. It sits
//! in front of moto (or any HTTP/1.1 server on loopback), logs every exchange (method, path,
//! DynamoDB operation, request body, the status the client saw, the fault injected) and answers
//! with AWS-shaped error responses when the test's `Faults` say so.
//!
//! One thread per client connection handles one request at a time, in order: read the request,
//! pick its fault, forward it over that connection's own upstream connection (reopened whenever
//! upstream closes it, as moto does after every response), read the whole response, log the
//! exchange, answer. Nothing is pipelined, and an exchange is logged before the client sees its
//! answer, so a client holding a response always finds its request in the log.
//!
//! It knows HTTP/1.1 framing (Content-Length, chunked, close-delimited and bodiless responses)
//! and nothing of AWS beyond the error responses it forges. It must not panic on its threads: a
//! closed or broken connection quietly ends that connection's thread.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::moto::{REGION, moto};

/// DynamoDB's write operations, for `Filter::operations`.
pub const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];
/// DynamoDB's read operations, for `Filter::operations`.
pub const READS: &[&str] = &[
    "GetItem",
    "BatchGetItem",
    "TransactGetItems",
    "Query",
    "Scan",
];

/// What the proxy does to a request instead of relaying it faithfully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Not forwarded; answered `500` `InternalServerError` (S3: `500` `InternalError`).
    ServerError,
    /// Not forwarded; answered `400` `ThrottlingException` (S3: `503` `SlowDown`), which the
    /// SDK's retry classifier treats as throttling (as it does
    /// `ProvisionedThroughputExceededException`).
    Throttle,
    /// Forwarded, so it takes effect; the real response is then replaced by `ServerError`'s.
    LostResponse,
}

/// Which requests a `Rule` counts and may fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every request, S3's included.
    All,
    /// Every DynamoDB call (a request with an `X-Amz-Target`).
    DynamoDb,
    /// Every S3 call (a request without an `X-Amz-Target`).
    S3,
    /// DynamoDB calls to these operations: `PutItem` or the whole target,
    /// `DynamoDB_20120810.PutItem`.
    Operations(Vec<String>),
    /// DynamoDB calls to these operations whose request body contains this text (an item's
    /// key, say), e.g. tfgate's queue item and not Terraform's lock beside it.
    OperationsOn(Vec<String>, String),
}

impl Filter {
    /// DynamoDB calls to these operations, e.g. `Filter::operations(WRITES)`.
    pub fn operations(names: &[&str]) -> Filter {
        Filter::Operations(names.iter().map(|n| n.to_string()).collect())
    }

    /// Narrows `Operations` to requests whose body contains `text`.
    pub fn containing(self, text: &str) -> Filter {
        match self {
            Filter::Operations(names) | Filter::OperationsOn(names, _) => {
                Filter::OperationsOn(names, text.to_string())
            }
            other => other,
        }
    }

    fn matches(&self, target: Option<&str>, body: &[u8]) -> bool {
        match (self, target) {
            (Filter::All, _) | (Filter::DynamoDb, Some(_)) | (Filter::S3, None) => true,
            (Filter::Operations(names), Some(t)) => {
                let op = operation_name(t);
                names.iter().any(|n| n == t || n == op)
            }
            (Filter::OperationsOn(names, text), Some(t)) => {
                let op = operation_name(t);
                names.iter().any(|n| n == t || n == op)
                    && String::from_utf8_lossy(body).contains(text.as_str())
            }
            _ => false,
        }
    }
}

/// A schedule of faults: `pattern` is cycled over the requests `filter` matches, counted from
/// the `Proxy::set_faults` call that installed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub filter: Filter,
    pub pattern: Vec<Option<Fault>>,
}

impl Rule {
    /// The `n`th, `2n`th, … matching request gets `fault` (`n = 1`: every one). Matches every
    /// request until `on` narrows it.
    pub fn every(n: usize, fault: Fault) -> Rule {
        assert!(n >= 1, "every {n}th request?");
        let mut pattern = vec![None; n - 1];
        pattern.push(Some(fault));
        Rule::pattern(pattern)
    }

    /// Every matching request gets `fault`.
    pub fn always(fault: Fault) -> Rule {
        Rule::every(1, fault)
    }

    /// An explicit pattern, e.g. `[None, Some(Throttle), Some(Throttle)]`.
    pub fn pattern(pattern: impl Into<Vec<Option<Fault>>>) -> Rule {
        Rule {
            filter: Filter::All,
            pattern: pattern.into(),
        }
    }

    /// Roughly one matching request in `one_in` gets `fault`, pseudo-randomly but the same way
    /// for the same `seed` (a fixed 1,000-step pattern drawn from it, then repeated).
    pub fn seeded(seed: u64, one_in: u64, fault: Fault) -> Rule {
        let one_in = one_in.max(1);
        // xorshift64*: deterministic, and good enough to scatter faults.
        let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
        let pattern: Vec<_> = (0..1000)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                let draw = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
                draw.is_multiple_of(one_in).then_some(fault)
            })
            .collect();
        Rule::pattern(pattern)
    }

    /// Narrows the rule to the requests `filter` matches.
    pub fn on(self, filter: Filter) -> Rule {
        Rule { filter, ..self }
    }
}

/// The proxy's fault rules. Every rule whose filter matches a request counts it; the first of
/// those whose pattern says so decides its fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub rules: Vec<Rule>,
}

impl Faults {
    /// No faults: a faithful, logging proxy.
    pub fn none() -> Faults {
        Faults::default()
    }

    pub fn rule(mut self, rule: Rule) -> Faults {
        self.rules.push(rule);
        self
    }
}

impl From<Rule> for Faults {
    fn from(rule: Rule) -> Faults {
        Faults::none().rule(rule)
    }
}

/// One request as read off the wire.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// `X-Amz-Target` (DynamoDB's operation), e.g. `DynamoDB_20120810.PutItem`.
    pub target: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it came chunked.
    pub body: Vec<u8>,
    /// The request exactly as received, to forward.
    wire: Vec<u8>,
    /// The client will send nothing more on this connection after this request.
    last: bool,
}

impl Request {
    /// The first header called `name` (case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// Reads one HTTP/1.1 request (its body by Content-Length or chunked), answering
/// `Expect: 100-continue` first; `None` when the peer closed or sent something unreadable.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let head = read_head(reader).ok()??;
    let mut parts = head.start.split(' ');
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let version = parts.next().unwrap_or("HTTP/1.0");
    if header(&head.headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .ok()?;
    }
    let framing = if is_chunked(&head.headers) {
        Framing::Chunked
    } else {
        Framing::Length(content_length(&head.headers).unwrap_or(0))
    };
    let (raw, body) = read_body(reader, framing).ok()?;
    let mut wire = head.raw;
    wire.extend_from_slice(&raw);
    Some(Request {
        method,
        path,
        target: header(&head.headers, "x-amz-target").map(str::to_string),
        last: !keeps_alive(version, &head.headers),
        headers: head.headers,
        body,
        wire,
    })
}

/// One exchange through the proxy, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    /// `X-Amz-Target`, e.g. `DynamoDB_20120810.PutItem`; `None` for S3.
    pub target: Option<String>,
    /// The request's headers, in order (`Authorization` tells whose credentials signed it).
    pub headers: Vec<(String, String)>,
    /// The request's body.
    pub body: Vec<u8>,
    /// The status the client received (`502` when upstream could not be reached).
    pub status: u16,
    /// The status upstream answered; `None` when the request was not forwarded.
    pub upstream_status: Option<u16>,
    pub fault: Option<Fault>,
}

impl Exchange {
    /// `DynamoDB PutItem` or `S3 GET /bucket/key`.
    pub fn operation(&self) -> String {
        match &self.target {
            Some(t) => format!("DynamoDB {}", operation_name(t)),
            None => format!("S3 {} {}", self.method, self.path),
        }
    }

    /// Whether this is a call to DynamoDB operation `op` (`PutItem`).
    pub fn is(&self, op: &str) -> bool {
        self.target.as_deref().map(operation_name) == Some(op)
    }

    /// The request's first header called `name` (case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The request's body as JSON (DynamoDB's), `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// `PutItem` of `DynamoDB_20120810.PutItem`.
fn operation_name(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or(target)
}

/// A proxy on `127.0.0.1`, serving until it is dropped (connections already open are served
/// until their client closes them).
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
}

struct State {
    upstream: SocketAddr,
    log: Mutex<Vec<Exchange>>,
    schedule: Mutex<Schedule>,
    /// For the request ids of forged responses.
    forged: AtomicU64,
    stopped: AtomicBool,
}

#[derive(Default)]
struct Schedule {
    faults: Faults,
    /// Per rule, how many requests it has matched.
    seen: Vec<usize>,
}

impl Schedule {
    fn next(&mut self, target: Option<&str>, body: &[u8]) -> Option<Fault> {
        let mut chosen = None;
        for (rule, seen) in self.faults.rules.iter().zip(&mut self.seen) {
            if !rule.filter.matches(target, body) {
                continue;
            }
            if !rule.pattern.is_empty() {
                chosen = chosen.or(rule.pattern[*seen % rule.pattern.len()]);
            }
            *seen += 1;
        }
        chosen
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let state = Arc::new(State {
            upstream,
            log: Mutex::new(Vec::new()),
            schedule: Mutex::new(Schedule::default()),
            forged: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let shared = Arc::clone(&state);
        std::thread::Builder::new()
            .name(format!("proxy {addr}"))
            .spawn(move || {
                for conn in listener.incoming() {
                    if shared.stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = Arc::clone(&shared);
                    let _ = std::thread::Builder::new()
                        .name(format!("proxy {addr} client"))
                        .spawn(move || serve(conn, &state));
                }
            })
            .expect("spawn the proxy");
        Proxy { addr, state }
    }

    /// A proxy in front of the shared moto server.
    pub fn for_moto() -> Proxy {
        let endpoint = moto().endpoint();
        let addr = endpoint
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("moto's endpoint {endpoint} is not http://IP:PORT"));
        Proxy::start(addr)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the fault rules; their counts start again from zero.
    pub fn set_faults(&self, faults: impl Into<Faults>) {
        let faults = faults.into();
        let seen = vec![0; faults.rules.len()];
        *lock(&self.state.schedule) = Schedule { faults, seen };
    }

    /// The exchanges so far, emptying the log.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *lock(&self.state.log))
    }

    /// The exchanges so far.
    pub fn requests(&self) -> Vec<Exchange> {
        lock(&self.state.log).clone()
    }

    /// How many exchanges so far satisfy `f`, e.g. `proxy.count(|r| r.is("GetItem"))`.
    pub fn count(&self, f: impl Fn(&Exchange) -> bool) -> usize {
        lock(&self.state.log).iter().filter(|r| f(r)).count()
    }

    /// SDK settings for a client that talks to moto through this proxy: tfgate's own
    /// attempts and timeouts (`tfgate::aws`), but a short backoff, since tests care which
    /// attempts happen, not how they are spaced.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        use aws_config::retry::RetryConfig;
        use aws_config::timeout::TimeoutConfig;
        use tfgate::aws::{ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, MAX_ATTEMPTS, OPERATION_TIMEOUT};
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .http_client(tfgate::aws::http_client(None).unwrap())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                aws_sdk_dynamodb::config::Credentials::new(
                    "testing", "testing", None, None, "proxy",
                ),
            ))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(20)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build()
    }

    /// A DynamoDB client through this proxy. Its retry token bucket is this proxy's own, so
    /// injected faults never drain the bucket other tests' clients share.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        use aws_sdk_dynamodb::config::{Builder, retry::RetryPartition};
        aws_sdk_dynamodb::Client::from_conf(
            Builder::from(&self.sdk_config())
                .retry_partition(RetryPartition::new(format!("proxy-{}", self.addr)))
                .build(),
        )
    }

    /// An S3 client (path-style) through this proxy, with its own retry token bucket.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{Builder, retry::RetryPartition};
        aws_sdk_s3::Client::from_conf(
            Builder::from(&self.sdk_config())
                .force_path_style(true)
                .retry_partition(RetryPartition::new(format!("proxy-{}", self.addr)))
                .build(),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A response, ready to send to the client.
struct Response {
    status: u16,
    wire: Vec<u8>,
    /// The connection may carry another exchange after this one.
    keep_alive: bool,
}

/// Serves one client connection, one exchange at a time, until either side closes it.
fn serve(client: TcpStream, state: &State) {
    let mut client = BufReader::new(client);
    let mut upstream = None;
    while let Some(req) = read_request(&mut client) {
        let fault = lock(&state.schedule).next(req.target.as_deref(), &req.body);
        let (answer, upstream_status) = match fault {
            Some(f @ (Fault::ServerError | Fault::Throttle)) => (forge(f, &req, state), None),
            _ => match forward(&mut upstream, state.upstream, &req) {
                Ok(real) if fault == Some(Fault::LostResponse) => {
                    (forge(Fault::ServerError, &req, state), Some(real.status))
                }
                Ok(real) => {
                    let status = real.status;
                    (real, Some(status))
                }
                Err(e) => (bad_gateway(&e), None),
            },
        };
        lock(&state.log).push(Exchange {
            method: req.method.clone(),
            path: req.path.clone(),
            target: req.target.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            status: answer.status,
            upstream_status,
            fault,
        });
        if client.get_mut().write_all(&answer.wire).is_err() || !answer.keep_alive || req.last {
            break;
        }
    }
    let _ = client.get_mut().shutdown(Shutdown::Both);
}

/// Sends `req` upstream over `conn` (opening it if need be) and reads the whole response. A
/// reused connection that upstream closed while idle is reopened once, as long as no byte of a
/// response came back on it.
fn forward(
    conn: &mut Option<BufReader<TcpStream>>,
    upstream: SocketAddr,
    req: &Request,
) -> io::Result<Response> {
    loop {
        let reused = conn.is_some();
        let c = match conn {
            Some(c) => c,
            None => conn.insert(BufReader::new(TcpStream::connect(upstream)?)),
        };
        let sent = c.get_mut().write_all(&req.wire);
        let read = match sent {
            Ok(()) => read_response(c, &req.method),
            // Upstream closed the idle connection: the request never reached it.
            Err(_) if reused => Ok(None),
            Err(e) => Err(e),
        };
        match read {
            Ok(Some(resp)) => {
                if !resp.keep_alive || req.last {
                    *conn = None;
                }
                return Ok(resp);
            }
            Ok(None) if reused => *conn = None,
            Ok(None) => {
                *conn = None;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream closed the connection without answering",
                ));
            }
            Err(e) => {
                *conn = None;
                return Err(e);
            }
        }
    }
}

/// Reads one response to a `method` request, skipping interim (1xx) responses; `None` when
/// the connection closed before any byte of it.
fn read_response(reader: &mut BufReader<TcpStream>, method: &str) -> io::Result<Option<Response>> {
    let mut first = true;
    loop {
        let head = match read_head(reader)? {
            Some(head) => head,
            None if first => return Ok(None),
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
        };
        first = false;
        let mut parts = head.start.split(' ');
        let version = parts.next().unwrap_or_default().to_string();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, head.start.clone()))?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let framing =
            if method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
                Framing::Length(0)
            } else if is_chunked(&head.headers) {
                Framing::Chunked
            } else if let Some(n) = content_length(&head.headers) {
                Framing::Length(n)
            } else {
                Framing::Close
            };
        let close_delimited = matches!(framing, Framing::Close);
        let (raw, _) = read_body(reader, framing)?;
        let mut wire = head.raw;
        wire.extend_from_slice(&raw);
        return Ok(Some(Response {
            status,
            wire,
            keep_alive: !close_delimited && keeps_alive(&version, &head.headers),
        }));
    }
}

/// The AWS error response `fault` stands for: DynamoDB's JSON for a DynamoDB call, S3's XML
/// otherwise.
fn forge(fault: Fault, req: &Request, state: &State) -> Response {
    let id = format!("PROXY{:016X}", state.forged.fetch_add(1, Ordering::SeqCst));
    let (status, reason, code, message) = match (fault, req.target.is_some()) {
        (Fault::Throttle, true) => (
            400,
            "Bad Request",
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        (Fault::Throttle, false) => (
            503,
            "Slow Down",
            "SlowDown",
            "Please reduce your request rate.",
        ),
        (_, true) => (
            500,
            "Internal Server Error",
            "InternalServerError",
            "injected",
        ),
        (_, false) => (500, "Internal Server Error", "InternalError", "injected"),
    };
    let (content_type, body) = if req.target.is_some() {
        (
            "application/x-amz-json-1.0",
            serde_json::json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                "message": message,
            })
            .to_string(),
        )
    } else {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"
            ),
        )
    };
    // A HEAD response has no body; S3's errors to HEAD carry only the status.
    let body = if req.method == "HEAD" {
        String::new()
    } else {
        body
    };
    let wire = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         x-amzn-RequestId: {id}\r\n\
         x-amz-request-id: {id}\r\n\
         x-amzn-ErrorType: {code}\r\n\
         \r\n\
         {body}",
        body.len()
    );
    Response {
        status,
        wire: wire.into_bytes(),
        keep_alive: true,
    }
}

/// The answer when upstream cannot be reached or answers nonsense.
fn bad_gateway(e: &io::Error) -> Response {
    let body = format!("proxy: upstream failed: {e}\n");
    let wire = format!(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nx-amzn-RequestId: PROXY-502\r\n\r\n{body}",
        body.len()
    );
    Response {
        status: 502,
        wire: wire.into_bytes(),
        keep_alive: true,
    }
}

/// A message's start line and headers, and their bytes as received.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
    raw: Vec<u8>,
}

/// Reads a start line and headers; `None` when the connection closed (or was reset) before
/// any byte of them.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    const LIMIT: usize = 1 << 20;
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = match reader.read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) if raw.is_empty() && is_reset(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if n == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if text.is_empty() && lines.is_empty() {
            // Blank lines before a start line are allowed (RFC 9112 §2.2).
            continue;
        }
        raw.extend_from_slice(&line);
        if raw.len() > LIMIT {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        if text.is_empty() {
            break;
        }
        lines.push(text);
    }
    let start = lines.remove(0);
    let headers = lines
        .iter()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    Ok(Some(Head {
        start,
        headers,
        raw,
    }))
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// How a message's body ends.
enum Framing {
    Length(usize),
    Chunked,
    /// When the connection closes.
    Close,
}

/// Reads a body: its bytes as received (to relay) and decoded (to log).
fn read_body(reader: &mut impl BufRead, framing: Framing) -> io::Result<(Vec<u8>, Vec<u8>)> {
    match framing {
        Framing::Length(n) => {
            let mut body = Vec::new();
            reader.take(n as u64).read_to_end(&mut body)?;
            if body.len() < n {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok((body.clone(), body))
        }
        Framing::Close => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            Ok((body.clone(), body))
        }
        Framing::Chunked => {
            let (mut raw, mut body) = (Vec::new(), Vec::new());
            loop {
                let mut line = Vec::new();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                raw.extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                let size = text.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, text.to_string()))?;
                if size == 0 {
                    // Trailers, up to an empty line.
                    loop {
                        let mut line = Vec::new();
                        if reader.read_until(b'\n', &mut line)? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                        raw.extend_from_slice(&line);
                        if line == b"\r\n" || line == b"\n" {
                            return Ok((raw, body));
                        }
                    }
                }
                let mut chunk = Vec::new();
                reader.take(size as u64 + 2).read_to_end(&mut chunk)?;
                if chunk.len() < size + 2 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                raw.extend_from_slice(&chunk);
                body.extend_from_slice(&chunk[..size]);
            }
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    has_token(headers, "transfer-encoding", "chunked")
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    header(headers, "content-length").and_then(|v| v.parse().ok())
}

/// Whether a message of this HTTP version with these headers leaves its connection open.
fn keeps_alive(version: &str, headers: &[(String, String)]) -> bool {
    if has_token(headers, "connection", "close") {
        false
    } else {
        version != "HTTP/1.0" || has_token(headers, "connection", "keep-alive")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    const GET: Option<&str> = Some("DynamoDB_20120810.GetItem");
    const PUT: Option<&str> = Some("DynamoDB_20120810.PutItem");

    /// A lock-table item through `client`, if there is one.
    fn get(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Option<String> {
        let out = moto()
            .block_on(
                client
                    .get_item()
                    .table_name(table)
                    .key("LockID", AttributeValue::S(id.into()))
                    .consistent_read(true)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("get {id}: {e:?}"));
        out.item()
            .and_then(|i| i.get("Info"))
            .map(|v| v.as_s().unwrap().clone())
    }

    #[test]
    fn a_lost_write_takes_effect_and_its_retry_fails_its_condition() {
        let m = moto();
        let table = m.unique("proxy-lost");
        m.create_lock_table(&table);
        let proxy = Proxy::for_moto();
        proxy.set_faults(Rule::every(2, Fault::LostResponse).on(Filter::operations(&["PutItem"])));
        let client = proxy.dynamodb();
        let put = |id: &str| {
            m.block_on(
                client
                    .put_item()
                    .table_name(&table)
                    .item("LockID", AttributeValue::S(id.into()))
                    .item("Info", AttributeValue::S(format!("{id}'s info")))
                    .condition_expression("attribute_not_exists(LockID)")
                    .send(),
            )
            .map_err(Box::new)
        };

        put("first").expect("the first put goes through untouched");
        let err = put("second").expect_err("the retried put finds the item it wrote");
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()),
            "{err:?}"
        );

        let scan = m
            .block_on(m.dynamodb().scan().table_name(&table).send())
            .unwrap();
        let mut ids: Vec<_> = scan
            .items()
            .iter()
            .map(|i| i["LockID"].as_s().unwrap().as_str())
            .collect();
        ids.sort();
        assert_eq!(ids, ["first", "second"]);
        assert_eq!(
            get(m.dynamodb(), &table, "second").as_deref(),
            Some("second's info")
        );
        let puts: Vec<_> = proxy
            .take()
            .into_iter()
            .filter(|r| r.is("PutItem"))
            .map(|r| {
                let id = r.json()["Item"]["LockID"]["S"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (id, r.status, r.upstream_status, r.fault)
            })
            .collect();
        assert_eq!(
            puts,
            [
                ("first".to_string(), 200, Some(200), None),
                (
                    "second".to_string(),
                    500,
                    Some(200),
                    Some(Fault::LostResponse)
                ),
                ("second".to_string(), 400, Some(400), None),
            ]
        );
    }

    #[test]
    fn throttled_reads_succeed_on_retry() {
        let m = moto();
        let table = m.unique("proxy-throttle");
        m.create_lock_table(&table);
        m.block_on(
            m.dynamodb()
                .put_item()
                .table_name(&table)
                .item("LockID", AttributeValue::S("held".into()))
                .item("Info", AttributeValue::S("alice".into()))
                .send(),
        )
        .unwrap();
        let proxy = Proxy::for_moto();
        proxy.set_faults(Rule::every(2, Fault::Throttle).on(Filter::operations(&["GetItem"])));
        let client = proxy.dynamodb();

        assert_eq!(get(&client, &table, "held").as_deref(), Some("alice"));
        assert_eq!(get(&client, &table, "held").as_deref(), Some("alice"));

        let gets: Vec<_> = proxy
            .requests()
            .into_iter()
            .map(|r| (r.status, r.upstream_status, r.fault))
            .collect();
        assert_eq!(
            gets,
            [
                (200, Some(200), None),
                (400, None, Some(Fault::Throttle)),
                (200, Some(200), None),
            ]
        );
        assert_eq!(proxy.count(|r| r.target.as_deref() == GET), 3);
    }

    #[test]
    fn server_errors_fail_after_the_sdks_attempts() {
        let m = moto();
        let table = m.unique("proxy-500");
        m.create_lock_table(&table);
        let proxy = Proxy::for_moto();
        proxy.set_faults(Rule::always(Fault::ServerError));
        let client = proxy.dynamodb();

        let err = m
            .block_on(
                client
                    .get_item()
                    .table_name(&table)
                    .key("LockID", AttributeValue::S("any".into()))
                    .send(),
            )
            .expect_err("every attempt fails");
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_internal_server_error()),
            "{err:?}"
        );
        let log = proxy.take();
        assert_eq!(log.len(), tfgate::aws::MAX_ATTEMPTS as usize, "{log:#?}");
        assert!(
            log.iter()
                .all(|r| (r.status, r.upstream_status, r.fault)
                    == (500, None, Some(Fault::ServerError))),
            "{log:#?}"
        );

        // Faults change at any time; without them the proxy is faithful.
        proxy.set_faults(Faults::none());
        assert_eq!(get(&client, &table, "any"), None);
        assert_eq!(proxy.count(|r| r.status == 200), 1);
    }

    #[test]
    fn s3_calls_pass_through_and_slow_down_is_retried() {
        let m = moto();
        let bucket = m.unique("proxy-s3");
        m.create_bucket(&bucket);
        let proxy = Proxy::for_moto();
        let s3 = proxy.s3();
        m.block_on(
            s3.put_object()
                .bucket(&bucket)
                .key("state")
                .body(b"hello".to_vec().into())
                .send(),
        )
        .unwrap();
        // HEAD answers carry a Content-Length but no body.
        let head = m
            .block_on(s3.head_object().bucket(&bucket).key("state").send())
            .unwrap();
        assert_eq!(head.content_length(), Some(5));
        let missing = m
            .block_on(s3.head_object().bucket(&bucket).key("missing").send())
            .expect_err("no such key");
        assert!(
            missing.as_service_error().is_some_and(|e| e.is_not_found()),
            "{missing:?}"
        );

        proxy.set_faults(Rule::every(2, Fault::Throttle).on(Filter::S3));
        for _ in 0..2 {
            let got = m
                .block_on(s3.get_object().bucket(&bucket).key("state").send())
                .unwrap();
            let body = m.block_on(got.body.collect()).unwrap().into_bytes();
            assert_eq!(&body[..], b"hello");
        }

        let log: Vec<_> = proxy
            .take()
            .into_iter()
            .map(|r| (r.operation(), r.status, r.fault))
            .collect();
        let path = format!("/{bucket}/state");
        let missing = format!("/{bucket}/missing");
        assert_eq!(
            log,
            [
                (format!("S3 PUT {path}?x-id=PutObject"), 200, None),
                (format!("S3 HEAD {path}"), 200, None),
                (format!("S3 HEAD {missing}"), 404, None),
                (format!("S3 GET {path}?x-id=GetObject"), 200, None),
                (
                    format!("S3 GET {path}?x-id=GetObject"),
                    503,
                    Some(Fault::Throttle)
                ),
                (format!("S3 GET {path}?x-id=GetObject"), 200, None),
            ],
            "{log:#?}"
        );
    }

    /// An upstream whose responses use every framing: a bodiless HEAD answer, chunked, echoed
    /// by length, and close-delimited. Returns its address and how many connections it took.
    fn framing_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn);
                    while let Some(req) = read_request(&mut reader) {
                        let answer = match req.path.as_str() {
                            "/head" => b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n".to_vec(),
                            "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n".to_vec(),
                            "/echo" => {
                                let mut a = format!(
                                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\n\r\n",
                                    req.body.len()
                                )
                                .into_bytes();
                                a.extend_from_slice(&req.body);
                                a
                            }
                            _ => b"HTTP/1.1 200 OK\r\n\r\nuntil close".to_vec(),
                        };
                        if reader.get_mut().write_all(&answer).is_err() || req.path == "/close" {
                            return;
                        }
                    }
                });
            }
        });
        (addr, connections)
    }

    /// The next response on `client`: status, bytes, whether the connection stays open.
    fn answer(client: &mut BufReader<TcpStream>, method: &str) -> (u16, String, bool) {
        let r = read_response(client, method).unwrap().unwrap();
        (r.status, String::from_utf8(r.wire).unwrap(), r.keep_alive)
    }

    #[test]
    fn every_framing_is_relayed_in_order_over_one_upstream_connection() {
        let (upstream, connections) = framing_server();
        let proxy = Proxy::start(upstream);
        let mut client = BufReader::new(TcpStream::connect(proxy.addr()).unwrap());
        // Three requests at once, the last with a chunked body: answered one by one, in order.
        client
            .get_mut()
            .write_all(
                b"HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n\
                  GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n\
                  POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            )
            .unwrap();
        assert_eq!(
            answer(&mut client, "HEAD"),
            (
                200,
                "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n".into(),
                true
            )
        );
        assert_eq!(
            answer(&mut client, "GET"),
            (
                200,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n".into(),
                true
            )
        );
        assert_eq!(
            answer(&mut client, "POST"),
            (
                201,
                "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc".into(),
                true
            )
        );
        client
            .get_mut()
            .write_all(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(
            answer(&mut client, "GET"),
            (200, "HTTP/1.1 200 OK\r\n\r\nuntil close".into(), false)
        );
        // The body ended with the connection, so the proxy closes the client's too.
        assert!(read_response(&mut client, "GET").unwrap().is_none());

        assert_eq!(connections.load(Ordering::SeqCst), 1);
        let log: Vec<_> = proxy
            .take()
            .into_iter()
            .map(|r| (r.method, r.path, r.body, r.status))
            .collect();
        assert_eq!(
            log,
            [
                ("HEAD".into(), "/head".into(), vec![], 200),
                ("GET".into(), "/chunked".into(), vec![], 200),
                ("POST".into(), "/echo".into(), b"abc".to_vec(), 201),
                ("GET".into(), "/close".into(), vec![], 200),
            ]
        );
    }

    #[test]
    fn each_rule_counts_its_own_requests_and_the_first_fault_wins() {
        let mut schedule = Schedule::default();
        let faults = Faults::none()
            .rule(Rule::every(2, Fault::LostResponse).on(Filter::operations(WRITES)))
            .rule(Rule::every(3, Fault::Throttle).on(Filter::DynamoDb));
        schedule.seen = vec![0; faults.rules.len()];
        schedule.faults = faults;
        let got: Vec<_> = [PUT, GET, GET, None, PUT, PUT, PUT, GET]
            .into_iter()
            .map(|t| schedule.next(t, b""))
            .collect();
        use Fault::*;
        assert_eq!(
            got,
            [
                None,               // write 1, call 1
                None,               // call 2
                Some(Throttle),     // call 3
                None,               // S3: neither rule's
                Some(LostResponse), // write 2, call 4
                None,               // write 3, call 5
                Some(LostResponse), // write 4, call 6: both rules' turn, the first wins
                None,               // call 7
            ]
        );
    }

    #[test]
    fn a_seeded_rule_is_the_same_for_the_same_seed() {
        let a = Rule::seeded(7, 4, Fault::Throttle);
        assert_eq!(a, Rule::seeded(7, 4, Fault::Throttle));
        assert_ne!(a, Rule::seeded(8, 4, Fault::Throttle));
        let faults = a.pattern.iter().flatten().count();
        assert!((150..350).contains(&faults), "{faults} in 1000");
    }
}

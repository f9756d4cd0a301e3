//! A web proxy on loopback, as a corporate network puts in front of GitHub: `CONNECT host:port`
//! opens a tunnel (for `https://` URLs), and a request in absolute form (`GET http://host/…`,
//! for `http://` URLs) is forwarded to its host and answered, one request per connection. It
//! logs what it was asked, in order, and judges nothing.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

/// One thing the proxy was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// `CONNECT`, or the forwarded request's method.
    pub method: String,
    /// `host:port` for `CONNECT`, else the absolute URL, e.g. `http://127.0.0.1:8080/user`.
    pub target: String,
    /// The `Proxy-Authorization` header, if one came.
    pub proxy_authorization: Option<String>,
}

/// The proxy; it serves until the test process ends.
pub struct WebProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Asked>>>,
}

impl WebProxy {
    pub fn start() -> WebProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the web proxy");
        let addr = listener.local_addr().expect("the web proxy's address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(conn, &log);
                });
            }
        });
        WebProxy { addr, log }
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY` and `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it was asked so far.
    pub fn asked(&self) -> Vec<Asked> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn serve(client: TcpStream, log: &Mutex<Vec<Asked>>) -> io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut start = String::new();
    reader.read_line(&mut start)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut parts = start.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Asked {
            method: method.to_string(),
            target: target.to_string(),
            proxy_authorization: header("proxy-authorization"),
        });
    if method == "CONNECT" {
        let upstream = TcpStream::connect(target)?;
        (&client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        (&upstream).write_all(reader.buffer())?;
        return relay(reader.into_inner(), upstream);
    }
    let Some(rest) = target.strip_prefix("http://") else {
        (&client).write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut upstream = TcpStream::connect(host)?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "connection" | "proxy-connection" | "keep-alive" | "proxy-authorization"
        ) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("connection: close\r\n\r\n");
    upstream.write_all(request.as_bytes())?;
    upstream.write_all(&body)?;
    // The answer says `connection: close` too: the client opens a new connection for its next
    // request, and every request passes through here.
    io::copy(&mut upstream, &mut &client)?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Copies both ways until either side closes.
fn relay(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    let (mut from_upstream, mut to_client) = (upstream.try_clone()?, client.try_clone()?);
    let back = std::thread::spawn(move || {
        let _ = io::copy(&mut from_upstream, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let (mut from_client, mut to_upstream) = (client, upstream);
    let _ = io::copy(&mut from_client, &mut to_upstream);
    let _ = to_upstream.shutdown(Shutdown::Write);
    let _ = back.join();
    Ok(())
}

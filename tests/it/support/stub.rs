//! A loopback HTTP server that answers every request with what the test's function returns,
//! for what moto cannot produce: AWS's documented error responses (access denied, refused
//! credentials, a bucket in another region). One thread per connection, requests in order.

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

use super::proxy::{Request, read_request};

/// Starts the server; returns its URL (`http://127.0.0.1:PORT`).
pub fn stub(answer: impl Fn(&Request) -> String + Send + Sync + 'static) -> String {
    let answer = Arc::new(answer);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let answer = Arc::clone(&answer);
            std::thread::spawn(move || {
                let mut writer = conn.try_clone().unwrap();
                let mut reader = BufReader::new(conn);
                while let Some(req) = read_request(&mut reader) {
                    if writer.write_all(answer(&req).as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// An HTTP/1.1 response on the wire: `status` ("403 Forbidden"), headers, body.
pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut r = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// S3's XML error response, as it answers every request but HEAD (whose answer has no body).
pub fn s3_error(status: &str, code: &str, message: &str) -> String {
    response(
        status,
        &[("content-type", "application/xml")],
        &format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
        ),
    )
}

//! The AWS credential chain and transport end to end, against moto_server with every request
//! logged by the support proxy: GitHub's OIDC web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and
//! `AWS_ROLE_ARN`), profiles that assume a role (`AWS_PROFILE` and the backend's `profile`), a
//! TLS-intercepting proxy's CA (`AWS_CA_BUNDLE`) and `HTTPS_PROXY`/`NO_PROXY`. Static keys in
//! the environment and in a profile are what the other AWS tests use.
//!
//! The TLS endpoint is this module's own: a CA made by rcgen, a certificate for `localhost`
//! signed by it, tokio-rustls serving it on loopback and relaying each connection in the clear
//! to the logging proxy in front of moto. The `HTTPS_PROXY` is a CONNECT proxy that counts the
//! tunnels it opens.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::moto::{REGION, moto};
use crate::support::proxy::{Exchange, Proxy};
use crate::support::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/tfgate-deploy";

/// An environment with a region and no credentials at all, and an S3 archive bucket.
fn bare_env() -> (TestEnv, String) {
    let m = moto();
    let mut env = TestEnv::new();
    env.set("AWS_EC2_METADATA_DISABLED", "true")
        .set("AWS_REGION", REGION);
    std::fs::create_dir_all(env.path().join("root")).unwrap();
    let bucket = m.unique("chain");
    m.create_bucket(&bucket);
    (env, bucket)
}

/// `archive list` of the bucket: a HeadBucket and a listing, after credentials are resolved.
fn list(env: &TestEnv, bucket: &str) -> Run {
    env.run(&[
        "archive",
        "list",
        "--chdir",
        "root",
        "--archive",
        &format!("s3://{bucket}/plans"),
        "--format",
        "json",
    ])
}

/// The STS calls in `log` whose action is `action`.
fn sts_calls<'a>(log: &'a [Exchange], action: &str) -> Vec<&'a Exchange> {
    let form = format!("Action={action}&");
    log.iter()
        .filter(|e| e.method == "POST" && String::from_utf8_lossy(&e.body).contains(&form))
        .collect()
}

/// The S3 requests in `log` (STS's are form posts of an `Action`).
fn s3_calls(log: &[Exchange]) -> impl Iterator<Item = &Exchange> {
    log.iter()
        .filter(|e| e.target.is_none() && !String::from_utf8_lossy(&e.body).contains("Action="))
}

/// The access key ids that signed the S3 requests in `log` (`Credential=KEY/…`).
fn s3_signers(log: &[Exchange]) -> Vec<String> {
    s3_calls(log)
        .map(|e| {
            let auth = e.header("authorization").unwrap_or_default();
            auth.split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').next())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Asserts that the role was assumed once and that every S3 request was signed with its
/// temporary credentials (moto's, like AWS's, have `ASIA` keys and a session token).
fn assert_signed_by_the_assumed_role(log: &[Exchange], action: &str) {
    let assumed = sts_calls(log, action);
    assert!(!assumed.is_empty(), "no {action}: {log:#?}");
    let body = String::from_utf8_lossy(&assumed[0].body);
    assert!(body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Ftfgate-deploy"));
    let signers = s3_signers(log);
    assert!(!signers.is_empty(), "no S3 request: {log:#?}");
    assert!(
        signers.iter().all(|k| k.starts_with("ASIA")),
        "signed by {signers:?}"
    );
    assert!(s3_calls(log).all(|e| e.header("x-amz-security-token").is_some()));
}

#[test]
fn github_oidc_web_identity_assumes_the_role_through_sts() {
    let proxy = Proxy::for_moto();
    let (mut env, bucket) = bare_env();
    env.set("AWS_ENDPOINT_URL", proxy.endpoint());
    // No token yet: nothing in the chain has credentials.
    let run = list(&env, &bucket);
    run.assert_code(1);
    assert!(run.stderr.contains("no AWS credentials"), "{}", run.stderr);

    let token = env.path().join("oidc-token");
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvaW5mcmEifQ.c2ln",
    )
    .unwrap();
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string())
        .set("AWS_ROLE_ARN", ROLE)
        .set("AWS_ROLE_SESSION_NAME", "tfgate-ci");
    proxy.take();
    let run = list(&env, &bucket);
    run.assert_code(0);
    let log = proxy.take();
    assert_signed_by_the_assumed_role(&log, "AssumeRoleWithWebIdentity");
    let call = &sts_calls(&log, "AssumeRoleWithWebIdentity")[0];
    let body = String::from_utf8_lossy(&call.body);
    assert!(body.contains("RoleSessionName=tfgate-ci"), "{body}");
    assert!(
        body.contains("WebIdentityToken=eyJhbGciOiJSUzI1NiJ9"),
        "{body}"
    );
    // The token is a credential: it reaches STS and nothing the user reads.
    assert!(!run.stdout.contains("eyJ") && !run.stderr.contains("eyJ"));
}

/// `~/.aws/config` and `~/.aws/credentials`: profile `deploy` assumes `ROLE` with the static
/// keys of profile `base`.
fn role_profiles(env: &TestEnv) {
    let aws = env.path().join("home/.aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        format!("[profile deploy]\nrole_arn = {ROLE}\nsource_profile = base\nregion = {REGION}\n"),
    )
    .unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
}

#[test]
fn aws_profile_assumes_its_role_through_sts() {
    let proxy = Proxy::for_moto();
    let (mut env, bucket) = bare_env();
    env.set("AWS_ENDPOINT_URL", proxy.endpoint());
    role_profiles(&env);
    env.set("AWS_PROFILE", "deploy");
    let run = list(&env, &bucket);
    run.assert_code(0);
    assert_signed_by_the_assumed_role(&proxy.take(), "AssumeRole");
}

#[test]
fn the_backends_profile_assumes_its_role_through_sts() {
    let m = moto();
    let proxy = Proxy::for_moto();
    let (env, bucket) = bare_env();
    role_profiles(&env);
    let block = m
        .backend_block(&bucket, "prod/terraform.tfstate", None, true)
        .replace(&m.endpoint(), &proxy.endpoint())
        .replace(
            "  }\n}\n",
            "    profile                     = \"deploy\"\n  }\n}\n",
        );
    std::fs::write(env.path().join("root/backend.tf"), block).unwrap();
    // The STS call goes to AWS_ENDPOINT_URL; S3 to the backend's endpoint.
    let mut env = env;
    env.set("AWS_ENDPOINT_URL", proxy.endpoint());
    let run = env.run(&["lock", "status", "--chdir", "root"]);
    run.assert_code(0);
    assert_signed_by_the_assumed_role(&proxy.take(), "AssumeRole");
}

/// A TLS endpoint for `localhost` on loopback, with a CA of its own, relaying every
/// connection in the clear to `upstream`. Serves until dropped.
pub(crate) struct TlsFront {
    addr: SocketAddr,
    ca_pem: String,
    /// TLS sessions established (handshake completed).
    sessions: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsFront {
    pub(crate) fn start(upstream: SocketAddr) -> TlsFront {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        use tokio_rustls::rustls;

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tfgate test proxy CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let sessions = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&sessions);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, counter) = (acceptor.clone(), Arc::clone(&counter));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        TlsFront {
            addr,
            ca_pem: ca.pem(),
            sessions,
            _runtime: runtime,
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub(crate) fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Writes the CA's certificate to `dir/name` and returns the path.
    pub(crate) fn write_ca(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

/// An HTTP CONNECT proxy on loopback that records the target of every tunnel it opens.
struct ConnectProxy {
    addr: SocketAddr,
    tunnels: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&tunnels);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let _ = tunnel(conn, &log);
                });
            }
        });
        ConnectProxy { addr, tunnels }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().unwrap().clone()
    }
}

/// Reads `CONNECT host:port`, connects there, answers 200 and relays both ways until either
/// side closes.
fn tunnel(client: TcpStream, log: &Mutex<Vec<String>>) -> io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut start = String::new();
    reader.read_line(&mut start)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let mut parts = start.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        (&client).write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    };
    let mut upstream = TcpStream::connect(target)?;
    log.lock().unwrap().push(target.to_string());
    (&client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    upstream.write_all(reader.buffer())?;
    let (mut from_upstream, mut to_client) = (upstream.try_clone()?, client.try_clone()?);
    let back = std::thread::spawn(move || {
        let _ = io::copy(&mut from_upstream, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let mut rest = reader.into_inner();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match rest.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if upstream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = back.join();
    Ok(())
}

#[test]
fn aws_ca_bundle_is_the_trust_store_for_every_aws_call() {
    let proxy = Proxy::for_moto();
    let front = TlsFront::start(proxy.addr());
    let (mut env, bucket) = bare_env();
    // Credentials from web identity, so that the chain's own call (STS) needs the CA as well.
    let token = env.path().join("oidc-token");
    std::fs::write(&token, "header.payload.signature").unwrap();
    env.set("AWS_ENDPOINT_URL", front.endpoint())
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string())
        .set("AWS_ROLE_ARN", ROLE);
    // The system's roots do not know the proxy's CA: the TLS handshake fails.
    let run = list(&env, &bucket);
    run.assert_code(1);
    assert!(
        run.stderr.to_lowercase().contains("certificate"),
        "{}",
        run.stderr
    );
    assert!(proxy.take().is_empty());
    assert_eq!(front.sessions(), 0);

    let ca = front.write_ca(env.path(), "proxy-ca.pem");
    env.set("AWS_CA_BUNDLE", ca.display().to_string());
    let run = list(&env, &bucket);
    run.assert_code(0);
    assert_signed_by_the_assumed_role(&proxy.take(), "AssumeRoleWithWebIdentity");
    assert!(front.sessions() > 0);
}

#[test]
fn a_bad_aws_ca_bundle_is_an_error_with_a_hint() {
    let (mut env, bucket) = bare_env();
    env.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_ENDPOINT_URL", moto().endpoint());
    let missing = env.path().join("no-such-ca.pem");
    env.set("AWS_CA_BUNDLE", missing.display().to_string());
    let run = list(&env, &bucket);
    run.assert_code(1);
    assert!(run.stderr.contains("no-such-ca.pem"), "{}", run.stderr);

    let not_pem = env.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    env.set("AWS_CA_BUNDLE", not_pem.display().to_string());
    let run = list(&env, &bucket);
    run.assert_code(1);
    assert!(
        run.stderr.contains("AWS_CA_BUNDLE") && run.stderr.contains("no certificate"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    std::fs::write(&not_pem, garbage).unwrap();
    let run = list(&env, &bucket);
    run.assert_code(1);
    assert!(run.stderr.contains("AWS_CA_BUNDLE"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn https_proxy_carries_every_aws_call_and_no_proxy_bypasses_it() {
    let proxy = Proxy::for_moto();
    let front = TlsFront::start(proxy.addr());
    let connect = ConnectProxy::start();
    let (mut env, bucket) = bare_env();
    let ca = front.write_ca(env.path(), "proxy-ca.pem");
    let token = env.path().join("oidc-token");
    std::fs::write(&token, "header.payload.signature").unwrap();
    env.set("AWS_ENDPOINT_URL", front.endpoint())
        .set("AWS_CA_BUNDLE", ca.display().to_string())
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string())
        .set("AWS_ROLE_ARN", ROLE)
        .set("HTTPS_PROXY", connect.url());
    let run = list(&env, &bucket);
    run.assert_code(0);
    let tunnels = connect.tunnels();
    assert!(!tunnels.is_empty());
    let target = format!("localhost:{}", front.addr.port());
    assert!(tunnels.iter().all(|t| *t == target), "{tunnels:?}");
    // Every TLS session, STS's included, came through a tunnel.
    assert_eq!(front.sessions(), tunnels.len());
    assert_signed_by_the_assumed_role(&proxy.take(), "AssumeRoleWithWebIdentity");

    env.set("NO_PROXY", "localhost");
    let run = list(&env, &bucket);
    run.assert_code(0);
    assert_eq!(connect.tunnels().len(), tunnels.len(), "no new tunnel");
    assert!(front.sessions() > tunnels.len());
}

//! AWS: the SDK configuration, built once per run, and the stores that use it.
//!
//! Credentials and region come from aws-config's default chain (environment, profile, web
//! identity for GitHub's OIDC), endpoints from the SDK's standard `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_DYNAMODB`, so LocalStack, MinIO and test servers
//! need no flag of tfgate's. Timeouts and retries are bounded so that an on-call engineer never
//! waits a minute on a retry storm.
//!
//! Every AWS call, the credential chain's own (STS for web identity and role profiles, SSO)
//! included, goes through one HTTP client built here: hyper 1 and rustls on ring, the stack
//! octocrab uses, so the binary carries one TLS stack and one crypto provider. It honours
//! `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as the SDK's default client does, and `AWS_CA_BUNDLE`
//! (which the Rust SDK itself ignores) as the AWS CLI and Terraform do: the bundle's
//! certificates replace the system's roots.

pub mod errors;
pub mod lock;
pub mod queue_store;
pub mod s3_archive;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

use crate::error::Error;

/// Connect timeout for every AWS call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of one call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One call, all attempts together.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);
/// Attempts per call (the first plus retries of throttling and transient errors).
pub const MAX_ATTEMPTS: u32 = 3;

/// `AWS_CA_BUNDLE` as the context read it at start-up (`use_ca_bundle`).
static CA_BUNDLE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Sets, once per process, the CA bundle (`AWS_CA_BUNDLE`) that `sdk_config`'s HTTP client
/// trusts. A process-wide setting like the SDK's own environment: the AWS clients are built
/// where a bucket or backend is first needed, far from the context.
pub fn use_ca_bundle(path: Option<PathBuf>) {
    let _ = CA_BUNDLE.set(path);
}

/// The HTTP client for AWS: hyper 1 + rustls on ring, proxies from `HTTPS_PROXY`/`HTTP_PROXY`/
/// `NO_PROXY`, and as trust store `ca_bundle`'s certificates (PEM) if given, else the system's
/// roots. The bundle is read and checked here, so a bad one is an error, not a panic later
/// inside the SDK.
pub fn http_client(ca_bundle: Option<&Path>) -> Result<SharedHttpClient, Error> {
    let trust = match ca_bundle {
        Some(path) => TrustStore::empty().with_pem_certificate(read_ca_bundle(path)?),
        None => TrustStore::default(),
    };
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::usage(format!("cannot set up TLS for AWS: {e}"), CA_BUNDLE_HINT))?;
    // As the SDK's default client (aws-smithy-runtime's `default_https_client`) is built, with
    // ring instead of aws-lc-rs and this trust store: one connector per connector settings
    // (timeouts), each with its pool, and the runtime's sleep for its timeouts.
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut conn = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .tls_context(tls.clone());
            conn.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                conn.set_sleep_impl(components.sleep_impl());
            }
            conn.set_proxy_config(Some(ProxyConfig::from_env()));
            conn.build()
        }),
    )
}

const CA_BUNDLE_HINT: &str = "AWS_CA_BUNDLE names a file of PEM certificates (-----BEGIN CERTIFICATE-----) to trust instead of the system's roots, e.g. a proxy's CA; unset it to trust the system's roots";

/// The PEM bundle at `path`, once every certificate in it is known to be one rustls accepts
/// as a root (the SDK's client panics on one it cannot parse).
fn read_ca_bundle(path: &Path) -> Result<Vec<u8>, Error> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let bad = |what: String| {
        Error::usage(
            format!("AWS_CA_BUNDLE {}: {what}", path.display()),
            CA_BUNDLE_HINT,
        )
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("unreadable PEM ({e})")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("a certificate rustls cannot use ({e})")))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(pem)
}

/// The SDK configuration; `region` overrides the chain's (e.g. the backend's `region`).
pub async fn sdk_config(region: Option<&str>) -> Result<SdkConfig, Error> {
    let ca_bundle = CA_BUNDLE.get().and_then(Option::as_deref);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client(ca_bundle)?)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    Ok(loader.load().await)
}

/// An error and its sources as one line, each message once (the SDK nests "dispatch failure:
/// io error: …" layers that repeat one another).
pub fn one_line_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = one_line(&e.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Whitespace (newlines included) collapsed to single spaces.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

//! AWS: the SDK configuration, built once per run, and the stores that use it.
//!
//! Credentials and region come from aws-config's default chain (environment, profile, web
//! identity for GitHub's OIDC), endpoints from the SDK's standard `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_DYNAMODB`, so LocalStack, MinIO and test servers
//! need no flag of tfgate's. Timeouts and retries are bounded so that an on-call engineer never
//! waits a minute on a retry storm.

pub mod lock;
pub mod queue_store;
pub mod s3_archive;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Connect timeout for every AWS call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of one call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One call, all attempts together.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);
/// Attempts per call (the first plus retries of throttling and transient errors).
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK configuration; `region` overrides the chain's (e.g. the backend's `region`).
pub async fn sdk_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
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
    loader.load().await
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

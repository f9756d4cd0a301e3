//! The S3 archive (§5): bundles as key prefixes
//! `s3://BUCKET/PREFIX/OWNER/REPO/ROOT/WORKSPACE/SCOPE/BUNDLE_ID/`, through aws-sdk-s3.
//!
//! Owns the S3 layout, uploads (every file server-side encrypted, SSE-S3 unless a KMS key is
//! given; `manifest.json` last, and only once every other file is stored, so a bundle whose upload
//! failed has no manifest and is never trusted), downloads (each file checked against the
//! manifest's size while it streams and its sha256 once it is on disk) and listings. It must not
//! decide what a bundle means (that is `archive::bundle`'s and the commands'), print anything, or
//! put credentials in an error: causes come from S3's error code and message and from the
//! transport's error chain, never from the request.
//!
//! This module holds the locations, the connection (credentials, the bucket's region, the
//! client) and S3's errors as tfgate's; `upload`, `download` and `list` hold the three ways
//! bundles move.

mod download;
mod list;
mod upload;

use std::path::Path;

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::archive::store::{
    BundleAddress, BundleStore, FetchedBundle, Files, ListedBundle, RootAddress,
};
use crate::aws::errors::{self, Kind, Service};
use crate::aws::one_line_chain;
use crate::error::Error;

pub use crate::archive::location::S3Location;

/// The region asked when none is configured, to learn the bucket's own region.
const DISCOVERY_REGION: &str = "us-east-1";
/// Whole files move in one request each, and a 100 MB plan on a slow runner needs more than
/// the attempt timeout small calls get (`aws::ATTEMPT_TIMEOUT`); still bounded. A transfer that
/// stalls is stopped earlier by the SDK's stalled-stream protection.
const TRANSFER_ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
const TRANSFER_OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Server-side encryption of every uploaded object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (`AES256`).
    #[default]
    Aes256,
    /// SSE-KMS with this key (id, alias or ARN).
    Kms { key_id: String },
}

/// The S3 archive at one location.
#[derive(Debug, Clone)]
pub struct S3Archive {
    client: Client,
    location: S3Location,
    encryption: Encryption,
    /// Where S3 requests go when not AWS itself, for messages.
    endpoint: Option<String>,
}

impl S3Archive {
    /// A client for `location`'s bucket: credentials from the default chain (resolved now, so
    /// their absence is reported before any work), path-style addressing when an endpoint
    /// override is set. One HeadBucket call checks that the bucket exists and is reachable, and
    /// tells its region, which is used when AWS_REGION is unset (or names another region).
    pub async fn connect(location: S3Location, encryption: Encryption) -> Result<S3Archive, Error> {
        let sdk = crate::aws::sdk_config(None).await?;
        let endpoint = sdk.endpoint_url().map(str::to_string);
        check_credentials(&sdk, &location).await?;
        let region = bucket_region(&sdk, &location, endpoint.as_deref()).await?;
        Ok(S3Archive {
            client: client(&sdk, region, endpoint.is_some()),
            location,
            encryption,
            endpoint,
        })
    }

    /// An archive that uses a client built by the caller (its region, endpoint and
    /// interceptors), with no checks.
    pub fn new(client: Client, location: S3Location, encryption: Encryption) -> S3Archive {
        S3Archive {
            client,
            location,
            encryption,
            endpoint: None,
        }
    }

    /// The archive's root location (`s3://BUCKET/PREFIX`).
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// Where a bundle lives; deterministic, so it can be named (in the PR comment) before the
    /// upload.
    pub fn bundle_location(&self, addr: &BundleAddress) -> S3Location {
        self.location.join(&addr.key_segments())
    }

    pub fn bundle_uri(&self, addr: &BundleAddress) -> String {
        self.bundle_location(addr).uri()
    }

    /// An SDK error as tfgate's: a one-line cause and what to do about it.
    fn error<E>(&self, action: &'static str, uri: &str, err: &SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let failure = Failure::of(err);
        let hint = match failure.kind {
            Kind::NoSuchBucket => missing_bucket_hint(&self.location.bucket),
            Kind::Credentials => credentials_hint(&failure.code),
            Kind::AccessDenied => match (&self.encryption, action) {
                (Encryption::Kms { .. }, "upload") => "the AWS identity in use may not write there: it needs s3:PutObject on the archive prefix and kms:GenerateDataKey on the --kms-key key".into(),
                (_, "upload") => "the AWS identity in use may not write there: it needs s3:PutObject on the archive prefix".into(),
                (_, "list") => "the AWS identity in use may not list the archive: it needs s3:ListBucket on the bucket (and s3:GetObject to read manifests)".into(),
                _ => "the AWS identity in use may not read there: it needs s3:GetObject on the archive prefix (and kms:Decrypt for SSE-KMS objects)".into(),
            },
            Kind::Unreachable => self.unreachable_hint(),
            Kind::WrongRegion | Kind::NoSuchTable | Kind::Other => "check the archive location, AWS_REGION and the permissions of the AWS identity in use".into(),
        };
        Error::Archive {
            action,
            uri: uri.to_string(),
            cause: failure.cause,
            hint,
        }
    }

    fn unreachable_hint(&self) -> String {
        unreachable_hint(self.endpoint.as_deref())
    }
}

fn unreachable_hint(endpoint: Option<&str>) -> String {
    match endpoint {
        Some(e) => format!(
            "tfgate could not talk to S3 at {e} (from AWS_ENDPOINT_URL): check that it is up and reachable"
        ),
        None => "tfgate could not talk to S3: check the network (and a proxy, if the runner needs one); set AWS_ENDPOINT_URL_S3 for S3-compatible storage".into(),
    }
}

/// The timeouts of one file's upload or download.
fn transfer_config() -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::default().timeout_config(
        aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(crate::aws::CONNECT_TIMEOUT)
            .operation_attempt_timeout(TRANSFER_ATTEMPT_TIMEOUT)
            .operation_timeout(TRANSFER_OPERATION_TIMEOUT)
            .build(),
    )
}

fn client(sdk: &SdkConfig, region: Region, path_style: bool) -> Client {
    // Test servers, MinIO and LocalStack behind an endpoint override are addressed by path;
    // AWS itself by virtual host, as the SDK does by default.
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .region(region)
            .force_path_style(path_style)
            .build(),
    )
}

/// Resolves credentials once, so a runner without any fails now with a clear message.
async fn check_credentials(sdk: &SdkConfig, location: &S3Location) -> Result<(), Error> {
    let no_credentials = |cause: String| Error::Archive {
        action: "use",
        uri: location.uri(),
        cause,
        hint: NO_CREDENTIALS_HINT.into(),
    };
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| no_credentials("no AWS credentials provider is configured".into()))?;
    provider
        .provide_credentials()
        .await
        .map(drop)
        .map_err(|e| no_credentials(format!("no AWS credentials: {}", one_line_chain(&e))))
}

/// Asks S3 about the bucket (HeadBucket answers with `x-amz-bucket-region`, even on a redirect
/// or a denial): a missing bucket or an unreachable endpoint is an error now; a denial is not (a
/// role may write objects without being allowed to list the bucket).
async fn bucket_region(
    sdk: &SdkConfig,
    location: &S3Location,
    endpoint: Option<&str>,
) -> Result<Region, Error> {
    let configured = sdk.region().cloned();
    let probe_region = configured
        .clone()
        .unwrap_or_else(|| Region::new(DISCOVERY_REGION));
    let probe = client(sdk, probe_region, endpoint.is_some());
    let result = probe.head_bucket().bucket(&location.bucket).send().await;
    let told = match &result {
        Ok(out) => out.bucket_region().map(str::to_string),
        Err(e) => e
            .raw_response()
            .and_then(|r| r.headers().get("x-amz-bucket-region"))
            .map(str::to_string),
    }
    .filter(|r| !r.is_empty())
    .map(Region::new);
    let failure = result.as_ref().err().map(Failure::of);
    match failure.as_ref().map(|f| f.kind) {
        Some(Kind::NoSuchBucket) => {
            return Err(Error::Archive {
                action: "use",
                uri: location.uri(),
                cause: format!("the bucket {} does not exist", location.bucket),
                hint: missing_bucket_hint(&location.bucket),
            });
        }
        Some(Kind::Unreachable) => {
            return Err(Error::Archive {
                action: "reach",
                uri: location.uri(),
                cause: failure.map(|f| f.cause).unwrap_or_default(),
                hint: unreachable_hint(endpoint),
            });
        }
        _ => {}
    }
    match told.or(configured) {
        Some(region) => Ok(region),
        None => Err(Error::Archive {
            action: "use",
            uri: location.uri(),
            cause: match failure {
                Some(f) => format!(
                    "no AWS region is set, and asking S3 for the bucket's region failed: {}",
                    f.cause
                ),
                None => "no AWS region is set and S3 did not say where the bucket is".into(),
            },
            hint: "set AWS_REGION to the bucket's region (aws-actions/configure-aws-credentials sets it from its aws-region input)".into(),
        }),
    }
}

const NO_CREDENTIALS_HINT: &str = "give tfgate AWS credentials: on GitHub Actions with aws-actions/configure-aws-credentials (OIDC), elsewhere with AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// AWS refused the credentials (`code`), or none were found (no code): the advice `lock` gives
/// for the same code.
fn credentials_hint(code: &str) -> String {
    if code.is_empty() {
        return NO_CREDENTIALS_HINT.into();
    }
    Error::AwsCredentials {
        code: code.to_string(),
        message: String::new(),
    }
    .hint()
    .unwrap_or_default()
}

fn missing_bucket_hint(bucket: &str) -> String {
    format!(
        "create the bucket {bucket}, or fix the archive location (--archive, TFGATE_ARCHIVE or `archive` in .tfgate.toml); if it exists, the AWS identity in use cannot see it"
    )
}

/// What went wrong with an S3 call: its kind (`aws::errors`, as for every store) and a
/// one-line cause.
struct Failure {
    kind: Kind,
    /// AWS's error code ("" when there was none).
    code: String,
    cause: String,
}

impl Failure {
    fn of<E>(err: &SdkError<E>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        // The archive learns its bucket's region, so there is none to compare an answer with.
        let failure = errors::classify(Service::S3, None, err);
        let cause = match (failure.status, failure.code.as_str(), &failure.message) {
            (Some(status), "", _) => format!("S3 answered HTTP {status}"),
            (Some(_), code, Some(message)) => format!("{code}: {message}"),
            (Some(_), code, None) => code.to_string(),
            (None, _, _) if matches!(err, SdkError::TimeoutError(_)) => {
                "the request to S3 timed out".into()
            }
            (None, _, _) => one_line_chain(err),
        };
        Failure {
            kind: failure.kind,
            code: failure.code,
            cause,
        }
    }
}

impl BundleStore for S3Archive {
    fn describe(&self) -> String {
        self.location().uri()
    }

    async fn list_all(
        &self,
        at: &RootAddress,
        scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error> {
        self.list(at, scope).await
    }

    fn bundle_uri(&self, addr: &BundleAddress) -> String {
        S3Archive::bundle_uri(self, addr)
    }

    async fn upload(&self, dir: &Path, addr: &BundleAddress) -> Result<(), Error> {
        self.upload_bundle(dir, addr).await.map(drop)
    }

    /// Downloads the bundle into a private temporary folder (0700: the copy holds the plan's
    /// secrets), removed with the `FetchedBundle`.
    async fn fetch(&self, uri: &str, files: Files<'_>) -> Result<FetchedBundle, Error> {
        let location = S3Location::parse(uri)?;
        let tmp = tempfile::Builder::new()
            .prefix("tfgate-bundle-")
            .tempdir()
            .map_err(|e| Error::io("create", "a temporary folder", e))?;
        let manifest = self.download_bundle(&location, tmp.path(), files).await?;
        Ok(FetchedBundle::downloaded(tmp, manifest, location.uri()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::bundle::MANIFEST;

    #[test]
    fn locations_parse_and_join() {
        let l = S3Location::parse("s3://acme-tfgate/plans/").unwrap();
        assert_eq!(l.bucket, "acme-tfgate");
        assert_eq!(l.prefix, "plans");
        assert_eq!(l.uri(), "s3://acme-tfgate/plans");
        assert_eq!(l.join(&["a", "b"]).uri(), "s3://acme-tfgate/plans/a/b");
        assert_eq!(l.join(&["a"]).key(MANIFEST), "plans/a/manifest.json");
        let top = S3Location::parse("s3://acme-tfgate").unwrap();
        assert_eq!(top.prefix, "");
        assert_eq!(top.key("x"), "x");
        assert_eq!(top.folder(), "");
        assert_eq!(top.join(&["a"]).folder(), "a/");
        assert_eq!(
            S3Location::parse("s3://b-1//deep//x").unwrap().prefix,
            "deep/x"
        );
        for bad in [
            "acme",
            "s3://",
            "s3://a",
            "s3:///x",
            "s3://a b/x",
            "s3://bkt/../x",
            "https://bkt/x",
        ] {
            let err = S3Location::parse(bad).unwrap_err();
            assert!(
                err.hint().unwrap().contains("s3://BUCKET/PREFIX"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn error_chains_are_one_line() {
        let inner = std::io::Error::other("connection refused\n(os error 111)");
        let outer = std::io::Error::other(ErrWithSource(inner));
        assert_eq!(
            one_line_chain(&outer),
            "outer: connection refused (os error 111)"
        );
    }

    #[derive(Debug)]
    struct ErrWithSource(std::io::Error);
    impl std::fmt::Display for ErrWithSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("outer")
        }
    }
    impl std::error::Error for ErrWithSource {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}

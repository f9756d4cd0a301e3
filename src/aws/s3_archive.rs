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

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::archive::bundle::{self, MANIFEST, MAX_MANIFEST_BYTES, Manifest};
use crate::archive::store::{
    self, BundleAddress, BundleState, BundleStore, Files, ListedBundle, RootAddress, segment,
};
use crate::aws::errors::{self, Kind, Service, is_missing_key};
use crate::aws::one_line_chain;
use crate::error::Error;

/// A listed bundle and its manifest's bytes (`None`: gone since the listing).
type ManifestRead = (ListedBundle, Result<Option<Vec<u8>>, Error>);

/// The region asked when none is configured, to learn the bucket's own region.
const DISCOVERY_REGION: &str = "us-east-1";
/// Whole files move in one request each, and a 100 MB plan on a slow runner needs more than
/// the attempt timeout small calls get (`aws::ATTEMPT_TIMEOUT`); still bounded. A transfer that
/// stalls is stopped earlier by the SDK's stalled-stream protection.
const TRANSFER_ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
const TRANSFER_OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// Manifests read at once while listing.
const LIST_CONCURRENCY: usize = 8;

/// A bucket and a key prefix (without leading or trailing `/`; may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub const SCHEME: &'static str = "s3://";

    /// Parses `s3://BUCKET[/PREFIX]` (a trailing `/` is allowed).
    pub fn parse(uri: &str) -> Result<S3Location, Error> {
        let bad = |why: &str| {
            Error::usage(
                format!("`{uri}` is not an S3 location: {why}"),
                "give the archive as s3://BUCKET/PREFIX, e.g. --archive s3://acme-tfgate/plans",
            )
        };
        let rest = uri
            .strip_prefix(Self::SCHEME)
            .ok_or_else(|| bad("it does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=255).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !bucket_ok {
            return Err(bad("the bucket name is missing or invalid"));
        }
        let mut parts = Vec::new();
        for part in prefix.split('/').filter(|p| !p.is_empty()) {
            if part == "." || part == ".." || part.chars().any(char::is_control) {
                return Err(bad("the prefix holds `.`, `..` or control characters"));
            }
            parts.push(part);
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: parts.join("/"),
        })
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn uri(&self) -> String {
        if self.prefix.is_empty() {
            format!("{}{}", Self::SCHEME, self.bucket)
        } else {
            format!("{}{}/{}", Self::SCHEME, self.bucket, self.prefix)
        }
    }

    /// This location with more key segments appended.
    pub fn join<S: AsRef<str>>(&self, segments: &[S]) -> S3Location {
        let mut parts: Vec<&str> = Vec::new();
        if !self.prefix.is_empty() {
            parts.push(&self.prefix);
        }
        parts.extend(segments.iter().map(AsRef::as_ref));
        S3Location {
            bucket: self.bucket.clone(),
            prefix: parts.join("/"),
        }
    }

    /// The key of an object directly under this location.
    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// The prefix as a "folder" for listing: ends with `/` unless empty.
    fn folder(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri())
    }
}

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

    /// Uploads a finished local bundle folder: every file its manifest lists, in parallel,
    /// encrypted; then `manifest.json` (the same bytes as on disk), only if all of them were
    /// stored. Returns the bundle's URI. On failure the uploaded files stay, without a
    /// manifest: an incomplete bundle, listed only by `archive list --all`.
    pub async fn upload_bundle(&self, dir: &Path, addr: &BundleAddress) -> Result<String, Error> {
        let manifest_path = dir.join(MANIFEST);
        let manifest = Manifest::load(dir)?.ok_or_else(|| Error::BundleMissing {
            uri: dir.display().to_string(),
            reason: "it has no manifest.json, so it is not finished".into(),
        })?;
        let manifest_bytes =
            std::fs::read(&manifest_path).map_err(|e| Error::io("read", &manifest_path, e))?;
        let target = self.bundle_location(addr);

        bundle::check_manifest(&dir.display().to_string(), &manifest)?;
        let mut uploads = tokio::task::JoinSet::new();
        for name in manifest.files.keys() {
            let this = self.clone();
            let path = dir.join(name);
            let key = target.key(name);
            let uri = format!("{target}/{name}");
            let name = name.to_string();
            uploads.spawn(async move { this.put_file(&path, &key, &name, &uri).await });
        }
        // Every upload is waited for, so what is in S3 afterwards does not depend on timing.
        let mut first_error = None;
        while let Some(joined) = uploads.join_next().await {
            let result = joined.unwrap_or_else(|e| {
                Err(Error::Archive {
                    action: "upload",
                    uri: target.uri(),
                    cause: format!("an upload task failed: {e}"),
                    hint: "plan again; the bundle in S3 has no manifest and will not be used"
                        .into(),
                })
            });
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        if let Some(mut e) = first_error {
            if let Error::Archive { hint, .. } = &mut e {
                hint.push_str(
                    "; the files uploaded so far have no manifest, so that bundle is never used",
                );
            }
            return Err(e);
        }

        self.put(
            &target.key(MANIFEST),
            MANIFEST,
            ByteStream::from(manifest_bytes),
        )
        .send()
        .await
        .map_err(|e| self.error("upload", &format!("{target}/{MANIFEST}"), &e))?;
        Ok(target.uri())
    }

    async fn put_file(&self, path: &Path, key: &str, name: &str, uri: &str) -> Result<(), Error> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| Error::io("read", path, std::io::Error::other(one_line_chain(&e))))?;
        self.put(key, name, body)
            .customize()
            .config_override(transfer_config())
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("upload", uri, &e))
    }

    fn put(
        &self,
        key: &str,
        name: &str,
        body: ByteStream,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let request = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(key)
            .content_type(content_type(name))
            .body(body);
        match &self.encryption {
            Encryption::Aes256 => request.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms { key_id } => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
        }
    }

    /// Downloads a bundle into `into` (an existing, empty, private folder) and verifies it as
    /// `bundle::verify` does a folder: the manifest first (names in the bundle's layout, the
    /// files of its kind listed), then every listed file against its sha256 and size. Only the
    /// files `files` keeps are written (0600); the others are hashed as they stream by. No
    /// manifest: `Error::BundleMissing`; a missing file or a bad manifest:
    /// `Error::BundleAltered`; a different file: `Error::ChecksumMismatch`.
    pub async fn download_bundle(
        &self,
        bundle: &S3Location,
        into: &Path,
        files: Files<'_>,
    ) -> Result<Manifest, Error> {
        if bundle.bucket != self.location.bucket {
            return Err(Error::usage(
                format!(
                    "{bundle} is not in the archive's bucket {}",
                    self.location.bucket
                ),
                "download it with a store connected to its own bucket (`ops::read::fetch`)",
            ));
        }
        let manifest_uri = format!("{bundle}/{MANIFEST}");
        let manifest_bytes = self
            .get_small(&bundle.key(MANIFEST), &manifest_uri)
            .await?
            .ok_or_else(|| Error::BundleMissing {
                uri: bundle.uri(),
                reason: "there is no manifest.json there: the upload did not finish, or the URI is wrong".into(),
            })?;
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| Error::BadManifest {
                path: PathBuf::from(&manifest_uri),
                message: e.to_string(),
            })?;
        let uri = bundle.uri();
        bundle::check_manifest(&uri, &manifest)?;
        for (name, expected) in &manifest.files {
            let path = files.keeps(name).then(|| into.join(name));
            let found = self
                .download_file(
                    &bundle.key(name),
                    bundle,
                    name,
                    path.as_deref(),
                    expected.size,
                )
                .await?;
            bundle::check_file(&uri, name, expected, found.as_ref())?;
        }
        let local_manifest = into.join(MANIFEST);
        write_private(&local_manifest, &manifest_bytes)
            .map_err(|e| Error::io("write", &local_manifest, e))?;
        Ok(manifest)
    }

    /// Streams one object through sha256, into `path` when given (a new 0600 file). `None` when
    /// the object is missing. An object longer than the manifest says is not the file that was
    /// archived: the download stops there and reports what it saw (which cannot match).
    async fn download_file(
        &self,
        key: &str,
        bundle: &S3Location,
        name: &str,
        path: Option<&Path>,
        size: u64,
    ) -> Result<Option<bundle::FileEntry>, Error> {
        use sha2::Digest;
        let uri = format!("{bundle}/{name}");
        let response = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .customize()
            .config_override(transfer_config())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if is_missing_key(&e) => return Ok(None),
            Err(e) => return Err(self.error("download", &uri, &e)),
        };
        let mut body = response.body;
        let mut file = match path {
            Some(path) => Some(create_private(path).map_err(|e| Error::io("create", path, e))?),
            None => None,
        };
        let mut hasher = sha2::Sha256::new();
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| Error::Archive {
            action: "download",
            uri: uri.clone(),
            cause: one_line_chain(&e),
            hint: self.unreachable_hint(),
        })? {
            written += chunk.len() as u64;
            hasher.update(&chunk);
            if written > size {
                break;
            }
            if let (Some(file), Some(path)) = (file.as_mut(), path) {
                file.write_all(&chunk)
                    .map_err(|e| Error::io("write", path, e))?;
            }
        }
        if let (Some(file), Some(path)) = (file, path) {
            file.sync_all().map_err(|e| Error::io("write", path, e))?;
        }
        Ok(Some(bundle::FileEntry {
            sha256: hex::encode(hasher.finalize()),
            size: written,
        }))
    }

    /// A small object's bytes (a manifest); `None` when there is no such key.
    async fn get_small(&self, key: &str, uri: &str) -> Result<Option<Vec<u8>>, Error> {
        let response = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if is_missing_key(&e) => return Ok(None),
            Err(e) => return Err(self.error("download", uri, &e)),
        };
        if response
            .content_length()
            .is_some_and(|n| u64::try_from(n).unwrap_or(0) > MAX_MANIFEST_BYTES)
        {
            return Err(Error::BadManifest {
                path: PathBuf::from(uri),
                message: format!("it is larger than {MAX_MANIFEST_BYTES} bytes"),
            });
        }
        let bytes = response.body.collect().await.map_err(|e| Error::Archive {
            action: "download",
            uri: uri.to_string(),
            cause: one_line_chain(&e),
            hint: self.unreachable_hint(),
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Every bundle of a root and workspace (of one scope, when given), complete or not, newest
    /// first. Complete bundles carry their manifest.
    pub async fn list(
        &self,
        at: &RootAddress,
        scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error> {
        let mut base = self.location.join(&at.key_segments());
        if let Some(scope) = scope {
            base = base.join(&[segment(scope)]);
        }
        let folder = base.folder();
        // (scope, id) → has a manifest
        let mut found: BTreeMap<(String, String), bool> = BTreeMap::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&folder)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("list", &base.uri(), &e))?;
            for object in page.contents() {
                let Some(rest) = object.key().and_then(|k| k.strip_prefix(&folder)) else {
                    continue;
                };
                let parts: Vec<&str> = rest.split('/').collect();
                // SCOPE/ID/FILE, or ID/FILE under a scope; anything else is not a bundle's
                // file (e.g. another root whose name continues this one's path).
                let (bundle_scope, id, file) = match (scope, parts.as_slice()) {
                    (None, [s, id, file]) => (s.to_string(), *id, *file),
                    (Some(s), [id, file]) => (segment(s), *id, *file),
                    _ => continue,
                };
                let complete = found.entry((bundle_scope, id.to_string())).or_default();
                *complete |= file == MANIFEST;
            }
        }

        let mut out = Vec::with_capacity(found.len());
        let mut reads = tokio::task::JoinSet::new();
        for ((bundle_scope, id), complete) in found {
            let mut segments = at.key_segments();
            segments.extend([bundle_scope.clone(), id.clone()]);
            let location = self.location.join(&segments);
            let listed = ListedBundle {
                uri: location.uri(),
                scope: bundle_scope,
                id,
                state: BundleState::Incomplete,
            };
            if !complete {
                out.push(listed);
                continue;
            }
            while reads.len() >= LIST_CONCURRENCY {
                if let Some(done) = reads.join_next().await {
                    out.push(self.finish_read(done, at)?);
                }
            }
            let this = self.clone();
            reads.spawn(async move {
                let uri = format!("{}/{MANIFEST}", listed.uri);
                let bytes = this.get_small(&location.key(MANIFEST), &uri).await;
                (listed, bytes)
            });
        }
        while let Some(done) = reads.join_next().await {
            out.push(self.finish_read(done, at)?);
        }
        store::sort_newest_first(&mut out);
        Ok(out)
    }

    fn finish_read(
        &self,
        done: Result<ManifestRead, tokio::task::JoinError>,
        at: &RootAddress,
    ) -> Result<ListedBundle, Error> {
        let (mut listed, bytes) = done.map_err(|e| Error::Archive {
            action: "list",
            uri: self.location.uri(),
            cause: format!("reading a manifest failed: {e}"),
            hint: "run the command again".into(),
        })?;
        listed.state = match bytes? {
            // Deleted between the listing and the read.
            None => BundleState::Incomplete,
            Some(bytes) => match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) => BundleState::Complete(Box::new(m)),
                Err(e) => BundleState::Unreadable {
                    reason: format!("its manifest is not valid: {e}"),
                },
            },
        };
        Ok(listed.check_owner(at, true))
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
/// A new file only its owner may read (a downloaded bundle file holds the plan's secrets).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private(path)?.write_all(bytes)
}

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

fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("txt" | "log") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn content_types() {
        assert_eq!(content_type("plan.json"), "application/json");
        assert_eq!(content_type("tfplan"), "application/octet-stream");
        assert_eq!(content_type("apply.log"), "text/plain; charset=utf-8");
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

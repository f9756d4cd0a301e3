//! The S3 backend's lock and digest as AWS holds them: reading the DynamoDB lock item, the S3
//! `.tflock` object, the state object and the `-md5` digest item (concurrently, at most four
//! requests in the common case), and the careful writes `tfgate lock` makes — deleting a lock
//! only while it is exactly the one that was read (DynamoDB condition on the whole `Info`
//! string, S3 `If-Match` on the lock object's ETag), and writing the digest only while it still
//! holds the value that was read.
//!
//! It owns the mapping of SDK errors to tfgate's (missing table or bucket, access denied, wrong
//! region, refused credentials, unreachable endpoint), built from AWS's error codes and status,
//! never from request data, so no credential reaches a message. It decides nothing (whether to
//! release, whether a lock is too young, whether to ask first: that is `commands::lock`) and
//! prints nothing.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use md5::{Digest as _, Md5};

use crate::aws::{one_line, one_line_chain};
use crate::error::Error;
use crate::terraform::backend::{LockInfo, S3Backend, StatePaths};

/// The two kinds of state lock Terraform's S3 backend takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// The item `LockID = BUCKET/STATEPATH` in `dynamodb_table`.
    DynamoDb,
    /// The object `STATEPATH.tflock` (`use_lockfile = true`).
    S3,
}

impl LockKind {
    /// The name in JSON output (§10).
    pub fn as_str(self) -> &'static str {
        match self {
            LockKind::DynamoDb => "dynamodb",
            LockKind::S3 => "s3",
        }
    }

    /// The name for people.
    pub fn label(self) -> &'static str {
        match self {
            LockKind::DynamoDb => "DynamoDB lock",
            LockKind::S3 => "S3 lock file",
        }
    }
}

/// A lock that is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLock {
    pub kind: LockKind,
    /// Terraform's lock info, or why the stored text is not lock info.
    pub info: Result<LockInfo, String>,
    /// The stored text: the DynamoDB delete is conditioned on it being unchanged.
    raw: String,
    /// The `.tflock` object's ETag: the S3 delete is conditioned on it.
    etag: Option<String>,
}

impl HeldLock {
    /// A lock as stored: the `Info` attribute or the `.tflock` object's body, and the object's
    /// ETag (S3 only).
    pub fn from_stored(kind: LockKind, raw: String, etag: Option<String>) -> HeldLock {
        let info = if raw.trim().is_empty() {
            Err("it holds no lock info".to_string())
        } else {
            LockInfo::parse(&raw).map_err(|e| format!("its lock info is not terraform's: {e}"))
        };
        HeldLock {
            kind,
            info,
            raw,
            etag,
        }
    }

    pub fn id(&self) -> Option<&str> {
        self.info.as_ref().ok().map(|i| i.id.as_str())
    }

    /// "ID 1234… (OperationTypeApply by runner@host)", for messages.
    pub fn describe(&self) -> String {
        match &self.info {
            Ok(i) => format!(
                "ID {} ({} by {}, {})",
                i.id,
                i.operation,
                i.who,
                self.kind.label()
            ),
            Err(_) => format!("an unreadable {}", self.kind.label()),
        }
    }
}

/// The state object's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateObject {
    pub size: i64,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub version_id: Option<String>,
    /// `x-amz-server-side-encryption` (`AES256`, `aws:kms`, `aws:kms:dsse`).
    pub encryption: Option<String>,
    /// Encrypted with a customer-provided key (SSE-C).
    pub customer_key: bool,
}

impl StateObject {
    /// The MD5 of the object's bytes when the ETag is one: a single-part upload that is not
    /// encrypted with KMS or a customer key. Multipart ETags end in `-N`.
    pub fn md5_from_etag(&self) -> Option<String> {
        if self.customer_key
            || self
                .encryption
                .as_deref()
                .is_some_and(|e| e.starts_with("aws:kms"))
        {
            return None;
        }
        let etag = self.etag.as_deref()?.trim_matches('"');
        (etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| etag.to_ascii_lowercase())
    }
}

/// The digest item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestItem {
    /// No DynamoDB table: there is no digest.
    NoTable,
    Absent,
    /// The item, and its `Digest` attribute when it has one.
    Present(Option<String>),
}

impl DigestItem {
    /// The stored digest that Terraform checks against (an empty one checks nothing).
    pub fn stored(&self) -> Option<&str> {
        match self {
            DigestItem::Present(Some(d)) if !d.is_empty() => Some(d),
            _ => None,
        }
    }
}

/// Whether the digest item agrees with the state object (§10 `digest.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestStatus {
    Ok,
    /// Every terraform run fails (after ~10 s of retries) until it is fixed.
    Mismatch,
    /// No digest stored: Terraform checks nothing and writes one with the next state.
    Missing,
    /// No DynamoDB table, so no digest.
    NotApplicable,
}

impl DigestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestStatus::Ok => "ok",
            DigestStatus::Mismatch => "mismatch",
            DigestStatus::Missing => "missing",
            DigestStatus::NotApplicable => "not_applicable",
        }
    }

    /// Terraform's own rule: a stored, non-empty digest must equal the MD5 of the state bytes
    /// (of nothing, when the state object is gone).
    pub fn decide(item: &DigestItem, state_exists: bool, actual: Option<&str>) -> DigestStatus {
        match (item, item.stored()) {
            (DigestItem::NoTable, _) => DigestStatus::NotApplicable,
            (_, None) => DigestStatus::Missing,
            (_, Some(_)) if !state_exists => DigestStatus::Mismatch,
            (_, Some(stored)) => match actual {
                Some(a) if a.eq_ignore_ascii_case(stored) => DigestStatus::Ok,
                _ => DigestStatus::Mismatch,
            },
        }
    }
}

/// Everything `lock status` reports, read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Held locks: the DynamoDB one first.
    pub locks: Vec<HeldLock>,
    /// `None`: there is no state object (a new workspace, or a deleted state).
    pub state: Option<StateObject>,
    pub digest: DigestItem,
    /// The MD5 of the state bytes, when known (from the ETag, or downloaded).
    pub actual_md5: Option<String>,
    /// The state was downloaded to compute `actual_md5` (its ETag is not an MD5).
    pub downloaded: bool,
    pub digest_status: DigestStatus,
}

/// What became of a lock `remove` was asked to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// It was already gone when the delete arrived (its holder released it meanwhile).
    AlreadyGone,
}

/// The lock, digest and state of one workspace, with clients for both services. Cloning is
/// cheap (the clients share their connections).
#[derive(Clone)]
pub struct LockStore {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    backend: S3Backend,
    paths: StatePaths,
    region: String,
    s3_endpoint: String,
    dynamodb_endpoint: String,
}

#[derive(Debug, Clone, Copy)]
enum Service {
    S3,
    DynamoDb,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::DynamoDb => "DynamoDB",
        }
    }
}

/// One AWS call, for its error message.
struct Call<'a> {
    service: Service,
    operation: &'static str,
    resource: &'a str,
}

impl LockStore {
    /// Clients for the backend: region from the backend (else the SDK's chain), credentials
    /// from the backend's `profile` (else the chain), endpoints from the backend's `endpoints`
    /// (else the SDK's `AWS_ENDPOINT_URL*`). Makes no request.
    pub async fn connect(backend: S3Backend, paths: StatePaths) -> Result<LockStore, Error> {
        let sdk = crate::aws::sdk_config(backend.region.as_deref()).await?;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or(Error::AwsNoRegion)?;
        let fallback = |service: &str| {
            sdk.endpoint_url()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the AWS {service} endpoint of {region}"))
        };
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk);
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        // The backend's `profile` wins over AWS_PROFILE, as in Terraform. A role it assumes
        // (STS) goes through the same HTTP client as everything else, in the backend's region.
        if let Some(p) = &backend.profile {
            let mut config = aws_config::provider_config::ProviderConfig::without_region()
                .with_region(sdk.region().cloned());
            if let Some(client) = sdk.http_client() {
                config = config.with_http_client(client);
            }
            let provider = aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .configure(&config)
                    .profile_name(p)
                    .build(),
            );
            s3 = s3.credentials_provider(provider.clone());
            dynamodb = dynamodb.credentials_provider(provider);
        }
        if let Some(e) = &backend.s3_endpoint {
            s3 = s3.endpoint_url(e);
        }
        if backend.use_path_style {
            s3 = s3.force_path_style(true);
        }
        if let Some(e) = &backend.dynamodb_endpoint {
            dynamodb = dynamodb.endpoint_url(e);
        }
        Ok(LockStore {
            s3_endpoint: backend
                .s3_endpoint
                .clone()
                .unwrap_or_else(|| fallback("S3")),
            dynamodb_endpoint: backend
                .dynamodb_endpoint
                .clone()
                .unwrap_or_else(|| fallback("DynamoDB")),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            backend,
            paths,
            region,
        })
    }

    /// A store on clients built elsewhere (tests on loopback servers; a caller that already has
    /// clients). `region` is for messages; the clients' own configuration decides.
    pub fn from_clients(
        s3: aws_sdk_s3::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        backend: S3Backend,
        paths: StatePaths,
        region: &str,
    ) -> LockStore {
        LockStore {
            s3,
            dynamodb,
            s3_endpoint: backend.s3_endpoint.clone().unwrap_or_else(|| "S3".into()),
            dynamodb_endpoint: backend
                .dynamodb_endpoint
                .clone()
                .unwrap_or_else(|| "DynamoDB".into()),
            backend,
            paths,
            region: region.to_string(),
        }
    }

    /// The DynamoDB client, for other items in the lock table (the apply queue's).
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    /// A DynamoDB error as tfgate's (see `classify`), for calls made with `dynamodb()`.
    pub fn dynamodb_error<E>(&self, operation: &'static str, table: &str, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let call = Call {
            service: Service::DynamoDb,
            operation,
            resource: table,
        };
        self.classify(&call, err)
    }

    pub fn backend(&self) -> &S3Backend {
        &self.backend
    }

    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    /// The region the clients use.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Reads the locks, the state object and the digest item at once. In the common case that
    /// is one request each (at most four); only a state whose ETag is not an MD5 (multipart or
    /// KMS-encrypted) is downloaded, and only a missing state costs a bucket check.
    pub async fn snapshot(&self) -> Result<Snapshot, Error> {
        let (dynamodb_lock, digest, state, lockfile) = tokio::join!(
            self.dynamodb_lock(),
            self.digest_item(),
            self.head_state(),
            self.lockfile()
        );
        let (dynamodb_lock, digest, state, lockfile) =
            settle(dynamodb_lock, digest, state, lockfile)?;
        if state.is_none() && !self.backend.use_lockfile {
            // HeadObject's 404 has no body, so it cannot tell a missing key from a missing
            // bucket (the lock-file read, when there is one, already did).
            self.check_bucket().await?;
        }
        let mut actual_md5 = state.as_ref().and_then(StateObject::md5_from_etag);
        let mut downloaded = false;
        if actual_md5.is_none() && state.is_some() && digest.stored().is_some() {
            actual_md5 = self.download_state_md5().await?.map(|(md5, _)| md5);
            downloaded = true;
        }
        let digest_status = DigestStatus::decide(&digest, state.is_some(), actual_md5.as_deref());
        Ok(Snapshot {
            locks: dynamodb_lock.into_iter().chain(lockfile).collect(),
            state,
            digest,
            actual_md5,
            downloaded,
            digest_status,
        })
    }

    /// Only the locks (for `release`): one request per configured lock kind, concurrently.
    pub async fn locks(&self) -> Result<Vec<HeldLock>, Error> {
        let (dynamodb_lock, lockfile) = tokio::join!(self.dynamodb_lock(), self.lockfile());
        let (dynamodb_lock, lockfile) = match (dynamodb_lock, lockfile) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(a), Err(b)) => return Err(more_telling(a, b)),
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        Ok(dynamodb_lock.into_iter().chain(lockfile).collect())
    }

    /// The lock of this kind as it is now (after a conditional delete failed).
    async fn current(&self, kind: LockKind) -> Result<Option<HeldLock>, Error> {
        match kind {
            LockKind::DynamoDb => self.dynamodb_lock().await,
            LockKind::S3 => self.lockfile().await,
        }
    }

    /// Deletes `lock` only if it is still exactly what was read: for DynamoDB, on the condition
    /// that `Info` still equals the text that was read (so a lock taken meanwhile, whatever its
    /// ID, survives); for S3, with `If-Match` on the ETag that was read.
    pub async fn remove(&self, lock: &HeldLock) -> Result<Removal, Error> {
        let refused = match lock.kind {
            LockKind::DynamoDb => {
                let table = self.table()?;
                let call = Call {
                    service: Service::DynamoDb,
                    operation: "DeleteItem",
                    resource: table,
                };
                let result = self
                    .dynamodb
                    .delete_item()
                    .table_name(table)
                    .key("LockID", AttributeValue::S(self.paths.lock_id.clone()))
                    .condition_expression("#info = :info")
                    .expression_attribute_names("#info", "Info")
                    .expression_attribute_values(":info", AttributeValue::S(lock.raw.clone()))
                    .send()
                    .await;
                match result {
                    Ok(_) => false,
                    Err(e) if code_of(&e) == Some("ConditionalCheckFailedException") => true,
                    Err(e) => return Err(self.classify(&call, e)),
                }
            }
            LockKind::S3 => {
                let Some(etag) = &lock.etag else {
                    return Err(Error::LockInfoUnreadable {
                        kind: lock.kind.label(),
                        path: self.paths.lockfile_key.clone(),
                        message: "S3 gave no ETag, so it cannot be deleted conditionally".into(),
                    });
                };
                let call = Call {
                    service: Service::S3,
                    operation: "DeleteObject",
                    resource: &self.paths.lockfile_key,
                };
                let result = self
                    .s3
                    .delete_object()
                    .bucket(&self.backend.bucket)
                    .key(&self.paths.lockfile_key)
                    .if_match(etag)
                    .send()
                    .await;
                match result {
                    Ok(_) => false,
                    Err(e) if status_of(&e) == Some(412) => true,
                    Err(e) if status_of(&e) == Some(404) && code_of(&e) != Some("NoSuchBucket") => {
                        return Ok(Removal::AlreadyGone);
                    }
                    Err(e) => return Err(self.classify(&call, e)),
                }
            }
        };
        if !refused {
            return Ok(Removal::Removed);
        }
        match self.current(lock.kind).await? {
            None => Ok(Removal::AlreadyGone),
            Some(now) => Err(Error::LockChanged {
                kind: lock.kind.label(),
                id: lock.id().unwrap_or_default().to_string(),
                now: now.describe(),
            }),
        }
    }

    /// Downloads the state object and returns the MD5 of its bytes with its metadata; `None`
    /// when there is no state object.
    pub async fn download_state_md5(&self) -> Result<Option<(String, StateObject)>, Error> {
        let Some((out, bytes)) = self.get_object(&self.paths.state_key).await? else {
            return Ok(None);
        };
        let meta = StateObject {
            size: out.content_length().unwrap_or_default(),
            etag: out.e_tag().map(str::to_string),
            last_modified: out.last_modified().and_then(to_chrono),
            version_id: out.version_id().map(str::to_string),
            encryption: out.server_side_encryption().map(|e| e.as_str().to_string()),
            customer_key: out.sse_customer_algorithm().is_some(),
        };
        let md5 = hex::encode(Md5::digest(bytes.into_bytes()));
        Ok(Some((md5, meta)))
    }

    /// Writes the digest item, on the condition that it still is `old` (as read); `new = None`
    /// deletes it (the state object is gone, so no digest may be expected).
    pub async fn write_digest(&self, old: &DigestItem, new: Option<&str>) -> Result<(), Error> {
        let table = self.table()?;
        let (condition, old_value) = match old {
            DigestItem::NoTable => return Err(Error::NoDigestTable),
            DigestItem::Absent => ("attribute_not_exists(LockID)", None),
            DigestItem::Present(Some(d)) => ("#digest = :old", Some(d.clone())),
            DigestItem::Present(None) => (
                "attribute_exists(LockID) AND attribute_not_exists(#digest)",
                None,
            ),
        };
        let key = AttributeValue::S(self.paths.digest_id.clone());
        match new {
            Some(digest) => {
                let mut req = self
                    .dynamodb
                    .put_item()
                    .table_name(table)
                    .item("LockID", key)
                    .item("Digest", AttributeValue::S(digest.to_string()))
                    .condition_expression(condition);
                if condition.contains("#digest") {
                    req = req.expression_attribute_names("#digest", "Digest");
                }
                if let Some(o) = old_value {
                    req = req.expression_attribute_values(":old", AttributeValue::S(o));
                }
                req.send()
                    .await
                    .map(drop)
                    .map_err(|e| self.digest_write_error("PutItem", table, e))
            }
            None if *old == DigestItem::Absent => Ok(()),
            None => {
                let mut req = self
                    .dynamodb
                    .delete_item()
                    .table_name(table)
                    .key("LockID", key)
                    .condition_expression(condition)
                    .expression_attribute_names("#digest", "Digest");
                if let Some(o) = old_value {
                    req = req.expression_attribute_values(":old", AttributeValue::S(o));
                }
                req.send()
                    .await
                    .map(drop)
                    .map_err(|e| self.digest_write_error("DeleteItem", table, e))
            }
        }
    }

    fn digest_write_error<E>(&self, operation: &'static str, table: &str, e: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if code_of(&e) == Some("ConditionalCheckFailedException") {
            return Error::DigestChanged {
                lock_id: self.paths.digest_id.clone(),
            };
        }
        let call = Call {
            service: Service::DynamoDb,
            operation,
            resource: table,
        };
        self.classify(&call, e)
    }

    fn table(&self) -> Result<&str, Error> {
        self.backend
            .dynamodb_table
            .as_deref()
            .ok_or(Error::NoDigestTable)
    }

    async fn get_item(&self, lock_id: &str) -> Result<Option<Item>, Error> {
        let Some(table) = self.backend.dynamodb_table.as_deref() else {
            return Ok(None);
        };
        tracing::debug!(table, lock_id, "DynamoDB GetItem");
        let out = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key("LockID", AttributeValue::S(lock_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                let call = Call {
                    service: Service::DynamoDb,
                    operation: "GetItem",
                    resource: table,
                };
                self.classify(&call, e)
            })?;
        Ok(Some(out.item.unwrap_or_default()))
    }

    async fn dynamodb_lock(&self) -> Result<Option<HeldLock>, Error> {
        let Some(item) = self.get_item(&self.paths.lock_id).await? else {
            return Ok(None);
        };
        if item.is_empty() {
            return Ok(None);
        }
        let raw = match item.get("Info") {
            Some(AttributeValue::S(s)) => s.clone(),
            _ => String::new(),
        };
        Ok(Some(HeldLock::from_stored(LockKind::DynamoDb, raw, None)))
    }

    async fn digest_item(&self) -> Result<DigestItem, Error> {
        let Some(item) = self.get_item(&self.paths.digest_id).await? else {
            return Ok(DigestItem::NoTable);
        };
        if item.is_empty() {
            return Ok(DigestItem::Absent);
        }
        let digest = match item.get("Digest") {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        Ok(DigestItem::Present(digest))
    }

    async fn head_state(&self) -> Result<Option<StateObject>, Error> {
        tracing::debug!(key = %self.paths.state_key, "S3 HeadObject");
        let call = Call {
            service: Service::S3,
            operation: "HeadObject",
            resource: &self.paths.state_key,
        };
        let result = self
            .s3
            .head_object()
            .bucket(&self.backend.bucket)
            .key(&self.paths.state_key)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(StateObject {
                size: out.content_length().unwrap_or_default(),
                etag: out.e_tag().map(str::to_string),
                last_modified: out.last_modified().and_then(to_chrono),
                version_id: out.version_id().map(str::to_string),
                encryption: out.server_side_encryption().map(|e| e.as_str().to_string()),
                customer_key: out.sse_customer_algorithm().is_some(),
            })),
            Err(e) if is_missing_key(&e) => Ok(None),
            Err(e) => Err(self.classify(&call, e)),
        }
    }

    async fn lockfile(&self) -> Result<Option<HeldLock>, Error> {
        if !self.backend.use_lockfile {
            return Ok(None);
        }
        let Some((out, bytes)) = self.get_object(&self.paths.lockfile_key).await? else {
            return Ok(None);
        };
        let etag = out.e_tag().map(str::to_string);
        let raw = String::from_utf8_lossy(&bytes.into_bytes()).into_owned();
        Ok(Some(HeldLock::from_stored(LockKind::S3, raw, etag)))
    }

    /// GetObject of a key, its body read whole; `None` when there is no such object.
    async fn get_object(
        &self,
        key: &str,
    ) -> Result<
        Option<(
            aws_sdk_s3::operation::get_object::GetObjectOutput,
            aws_sdk_s3::primitives::AggregatedBytes,
        )>,
        Error,
    > {
        tracing::debug!(key, "S3 GetObject");
        let call = Call {
            service: Service::S3,
            operation: "GetObject",
            resource: key,
        };
        let mut out = match self
            .s3
            .get_object()
            .bucket(&self.backend.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_missing_key(&e) => return Ok(None),
            Err(e) => return Err(self.classify(&call, e)),
        };
        let body = std::mem::take(&mut out.body);
        let bytes = body.collect().await.map_err(|e| Error::Aws {
            service: "S3",
            operation: "GetObject",
            resource: key.to_string(),
            message: one_line_chain(&e),
        })?;
        Ok(Some((out, bytes)))
    }

    async fn check_bucket(&self) -> Result<(), Error> {
        tracing::debug!(bucket = %self.backend.bucket, "S3 HeadBucket");
        let call = Call {
            service: Service::S3,
            operation: "HeadBucket",
            resource: &self.backend.bucket,
        };
        match self
            .s3
            .head_bucket()
            .bucket(&self.backend.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Err(Error::BucketNotFound {
                bucket: self.backend.bucket.clone(),
            }),
            Err(e) => Err(self.classify(&call, e)),
        }
    }

    /// An SDK error as tfgate's. Only AWS's error code, status, message and the transport's
    /// error chain are used: nothing from the request (where the credentials are).
    fn classify<E>(&self, call: &Call<'_>, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let endpoint = match call.service {
            Service::S3 => &self.s3_endpoint,
            Service::DynamoDb => &self.dynamodb_endpoint,
        };
        let service = call.service.name();
        match &err {
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let code = ctx.err().code().unwrap_or_default().to_string();
                let message = match ctx.err().message() {
                    Some(m) if !m.is_empty() => one_line(m),
                    _ => format!("HTTP {status}"),
                };
                let bucket_region = ctx
                    .raw()
                    .headers()
                    .get("x-amz-bucket-region")
                    .map(str::to_string)
                    .filter(|r| !r.is_empty());
                if CREDENTIAL_CODES.contains(&code.as_str()) {
                    return Error::AwsCredentials { code, message };
                }
                let wrong_region = matches!(
                    code.as_str(),
                    "PermanentRedirect"
                        | "AuthorizationHeaderMalformed"
                        | "IllegalLocationConstraintException"
                ) || status == 301
                    || bucket_region
                        .as_deref()
                        .is_some_and(|r| r != self.region && status >= 300);
                if matches!(call.service, Service::S3) && wrong_region {
                    return Error::AwsWrongRegion {
                        bucket: self.backend.bucket.clone(),
                        region: self.region.clone(),
                        actual: bucket_region,
                    };
                }
                match (call.service, code.as_str(), status) {
                    (_, "AccessDenied" | "AccessDeniedException" | "AllAccessDisabled", _)
                    | (Service::S3, "", 403) => Error::AwsAccessDenied {
                        operation: call.operation,
                        resource: call.resource.to_string(),
                        message,
                    },
                    (Service::DynamoDb, "ResourceNotFoundException", _) => {
                        Error::LockTableNotFound {
                            table: call.resource.to_string(),
                            region: self.region.clone(),
                        }
                    }
                    (Service::S3, "NoSuchBucket", _) => Error::BucketNotFound {
                        bucket: self.backend.bucket.clone(),
                    },
                    _ => Error::Aws {
                        service,
                        operation: call.operation,
                        resource: call.resource.to_string(),
                        message: if code.is_empty() {
                            message
                        } else {
                            format!("{code}: {message}")
                        },
                    },
                }
            }
            SdkError::TimeoutError(_) => Error::AwsUnreachable {
                service,
                endpoint: endpoint.clone(),
                message: format!(
                    "no answer within {} s",
                    crate::aws::OPERATION_TIMEOUT.as_secs()
                ),
            },
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Error::AwsUnreachable {
                service,
                endpoint: endpoint.clone(),
                message: root_cause(&err),
            },
            _ => {
                let chain = one_line_chain(&err);
                if chain.contains("credentials") || chain.contains("identity") {
                    Error::AwsCredentials {
                        code: "NoCredentials".into(),
                        message: root_cause(&err),
                    }
                } else {
                    Error::Aws {
                        service,
                        operation: call.operation,
                        resource: call.resource.to_string(),
                        message: chain,
                    }
                }
            }
        }
    }
}

/// AWS error codes that mean the credentials (not the permissions) are the problem.
const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "InvalidToken",
];

type Item = std::collections::HashMap<String, AttributeValue>;

/// The four reads of `snapshot`, or the most telling of their errors (when the credentials
/// are bad every call fails, and that is what the user must hear about, not a missing table).
fn settle<A, B, C, D>(
    a: Result<A, Error>,
    b: Result<B, Error>,
    c: Result<C, Error>,
    d: Result<D, Error>,
) -> Result<(A, B, C, D), Error> {
    match (a, b, c, d) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => Ok((a, b, c, d)),
        (a, b, c, d) => Err([a.err(), b.err(), c.err(), d.err()]
            .into_iter()
            .flatten()
            .reduce(more_telling)
            .expect("at least one read failed")),
    }
}

fn rank(e: &Error) -> u8 {
    match e {
        Error::AwsCredentials { .. } => 0,
        Error::AwsUnreachable { .. } => 1,
        Error::AwsWrongRegion { .. } => 2,
        Error::AwsAccessDenied { .. } => 3,
        Error::BucketNotFound { .. } => 4,
        Error::LockTableNotFound { .. } => 5,
        _ => 6,
    }
}

fn more_telling(a: Error, b: Error) -> Error {
    if rank(&b) < rank(&a) { b } else { a }
}

fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

fn status_of<E>(err: &SdkError<E>) -> Option<u16> {
    match err {
        SdkError::ServiceError(ctx) => Some(ctx.raw().status().as_u16()),
        _ => None,
    }
}

/// 404 for a key, not for the bucket (HEAD responses have no body, so no code: a missing
/// bucket is found by `check_bucket`).
fn is_missing_key<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    code_of(err) != Some("NoSuchBucket")
        && (code_of(err) == Some("NoSuchKey") || status_of(err) == Some(404))
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The innermost error's message ("Connection refused (os error 111)"), without the layers
/// of "dispatch failure: io error: client error (Connect)" around it.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    one_line(&last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(etag: &str, encryption: Option<&str>) -> StateObject {
        StateObject {
            size: 10,
            etag: Some(etag.to_string()),
            last_modified: None,
            version_id: None,
            encryption: encryption.map(str::to_string),
            customer_key: false,
        }
    }

    #[test]
    fn etags_that_are_md5s() {
        let md5 = "\"9A23AB7ED4808CD5E523F74D81283908\"";
        assert_eq!(
            state(md5, None).md5_from_etag().as_deref(),
            Some("9a23ab7ed4808cd5e523f74d81283908")
        );
        assert!(state(md5, Some("AES256")).md5_from_etag().is_some());
        assert_eq!(state(md5, Some("aws:kms")).md5_from_etag(), None);
        assert_eq!(state(md5, Some("aws:kms:dsse")).md5_from_etag(), None);
        assert_eq!(
            state("\"9a23ab7ed4808cd5e523f74d81283908-3\"", None).md5_from_etag(),
            None
        );
        let mut sse_c = state(md5, None);
        sse_c.customer_key = true;
        assert_eq!(sse_c.md5_from_etag(), None);
    }

    #[test]
    fn digest_rules() {
        use DigestStatus::*;
        let stored = DigestItem::Present(Some("abc".into()));
        assert_eq!(DigestStatus::decide(&stored, true, Some("ABC")), Ok);
        assert_eq!(DigestStatus::decide(&stored, true, Some("abd")), Mismatch);
        assert_eq!(DigestStatus::decide(&stored, false, None), Mismatch);
        assert_eq!(
            DigestStatus::decide(&DigestItem::Absent, true, Some("x")),
            Missing
        );
        assert_eq!(
            DigestStatus::decide(&DigestItem::Present(Some(String::new())), true, Some("x")),
            Missing,
            "terraform checks nothing against an empty digest"
        );
        assert_eq!(
            DigestStatus::decide(&DigestItem::Present(None), true, Some("x")),
            Missing
        );
        assert_eq!(
            DigestStatus::decide(&DigestItem::NoTable, true, Some("x")),
            NotApplicable
        );
    }

    #[test]
    fn the_most_telling_error_wins() {
        let table = Error::LockTableNotFound {
            table: "t".into(),
            region: "r".into(),
        };
        let creds = Error::AwsCredentials {
            code: "ExpiredToken".into(),
            message: "m".into(),
        };
        assert!(matches!(
            more_telling(table, creds),
            Error::AwsCredentials { .. }
        ));
    }
}

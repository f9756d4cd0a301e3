//! The reads of `lock status` and `lock release`: the DynamoDB lock and digest items, the state
//! object's metadata (its bytes only when its ETag is not an MD5) and the S3 `.tflock` object,
//! concurrently, and the most telling error when several fail.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use md5::{Digest as _, Md5};

use super::{Call, LockStore};
use crate::aws::errors::{Service, is_missing_key, status_of};
use crate::aws::one_line_chain;
use crate::error::Error;
use crate::state_lock::{DigestItem, DigestStatus, HeldLock, LockKind, Snapshot, StateObject};

type Item = std::collections::HashMap<String, AttributeValue>;

impl LockStore {
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
    pub(super) async fn current(&self, kind: LockKind) -> Result<Option<HeldLock>, Error> {
        match kind {
            LockKind::DynamoDb => self.dynamodb_lock().await,
            LockKind::S3 => self.lockfile().await,
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
}

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

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

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

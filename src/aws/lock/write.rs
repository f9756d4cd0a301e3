//! The writes `tfgate lock` makes, each on a condition that protects what was read: deleting a
//! lock only while it is exactly the one that was read (DynamoDB condition on the whole `Info`
//! string, S3 `If-Match` on the lock object's ETag), and writing the digest only while it still
//! holds the value that was read.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Call, LockStore, Removal};
use crate::aws::errors::{Service, code_of, status_of};
use crate::error::Error;
use crate::state_lock::{DigestItem, HeldLock, LockKind};

impl LockStore {
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
                    .expression_attribute_values(
                        ":info",
                        AttributeValue::S(lock.stored_text().to_string()),
                    )
                    .send()
                    .await;
                match result {
                    Ok(_) => false,
                    Err(e) if code_of(&e) == Some("ConditionalCheckFailedException") => true,
                    Err(e) => return Err(self.classify(&call, e)),
                }
            }
            LockKind::S3 => {
                let Some(etag) = lock.etag() else {
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
}

//! The DynamoDB store of the apply queue: one item per state in the lock table Terraform
//! already uses (or the table `--queue-table` names).
//!
//! The item's `LockID` is `tfgate/queue/BUCKET/STATEPATH`, so it never collides with
//! Terraform's own items (`BUCKET/STATEPATH` and `BUCKET/STATEPATH-md5`), and the table needs
//! no other key. It holds `Version` (a number) and `Queue` (the document as JSON). A write is
//! a `PutItem` on the condition that `Version` is still the one read, or that the item does not
//! exist yet; every read is strongly consistent. Throttling and server errors are retried by
//! the SDK (bounded, see `aws`); what is left after that is reported as transient
//! (`aws::errors::is_transient`).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::errors;
use crate::aws::lock::LockStore;
use crate::error::Error;
use crate::queue::doc::QueueDoc;
use crate::queue::store::{QueueStore, StoreError, Versioned, Written, parse_doc};

/// The prefix of every item tfgate writes to a lock table.
pub const KEY_PREFIX: &str = "tfgate/queue/";

pub struct DynamoStore {
    aws: LockStore,
    table: String,
    key: String,
}

impl DynamoStore {
    /// The queue of the state `lock_id` (`BUCKET/STATEPATH`) in `table`.
    pub fn new(aws: LockStore, table: &str) -> DynamoStore {
        let key = format!("{KEY_PREFIX}{}", aws.paths().lock_id);
        DynamoStore {
            aws,
            table: table.to_string(),
            key,
        }
    }

    fn error<E>(&self, operation: &'static str, err: SdkError<E>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = errors::is_transient(&err);
        StoreError {
            transient,
            error: self.aws.dynamodb_error(operation, &self.table, err),
        }
    }
}

impl QueueStore for DynamoStore {
    fn describe(&self) -> String {
        format!("DynamoDB table {}, item {}", self.table, self.key)
    }

    async fn read(&self) -> Result<Versioned, StoreError> {
        tracing::debug!(table = %self.table, key = %self.key, "DynamoDB GetItem (queue)");
        let out = self
            .aws
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .key("LockID", AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(Versioned {
                doc: QueueDoc::new(),
                version: None,
            });
        };
        let origin = format!("DynamoDB item {} in {}", self.key, self.table);
        let bad = |message: &str| {
            StoreError::permanent(Error::QueueDocument {
                origin: origin.clone(),
                message: message.to_string(),
            })
        };
        let version = match item.get("Version") {
            Some(AttributeValue::N(n)) => n
                .parse::<u64>()
                .map_err(|_| bad("Version is not a number"))?,
            _ => return Err(bad("it has no numeric Version")),
        };
        let json = match item.get("Queue") {
            Some(AttributeValue::S(s)) => s,
            _ => return Err(bad("it has no Queue string")),
        };
        Ok(Versioned {
            doc: parse_doc(json, &origin).map_err(StoreError::permanent)?,
            version: Some(version),
        })
    }

    async fn write(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, StoreError> {
        let json = serde_json::to_string(doc).map_err(|e| {
            StoreError::permanent(Error::QueueDocument {
                origin: self.key.clone(),
                message: e.to_string(),
            })
        })?;
        let next = expected.map_or(1, |v| v + 1);
        tracing::debug!(table = %self.table, key = %self.key, version = next, "DynamoDB PutItem (queue)");
        let put = self
            .aws
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .item("LockID", AttributeValue::S(self.key.clone()))
            .item("Version", AttributeValue::N(next.to_string()))
            .item("Queue", AttributeValue::S(json));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(LockID)"),
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "Version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(Written::Done),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(Written::Conflict),
            Err(e) => Err(self.error("PutItem", e)),
        }
    }
}

//! Where a queue document lives: the `QueueStore` port. Its adapters are a file in the root
//! (the embedded default, `queue/file.rs`) and a DynamoDB item beside Terraform's lock for
//! shared state (`aws/queue_store.rs`); `wire.rs` picks one.
//!
//! A store reads the whole document with a version and replaces it only if the version is
//! still the one read (compare-and-swap); it knows nothing of tickets or leases. Errors say
//! whether trying again may help (throttling, a 5xx, a timeout) or not (access denied).

use crate::error::Error;
use crate::queue::doc::{DOC_VERSION, QueueDoc};

/// A document and the version it was read at (`None`: no document stored yet).
#[derive(Debug, Clone)]
pub struct Versioned {
    pub doc: QueueDoc,
    pub version: Option<u64>,
}

/// What became of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// Someone replaced the document since it was read; nothing was written.
    Conflict,
}

#[derive(Debug)]
pub struct StoreError {
    /// Throttling, a server error, a timeout: the same call may succeed later.
    pub transient: bool,
    pub error: Error,
}

impl StoreError {
    pub fn permanent(error: Error) -> StoreError {
        StoreError {
            transient: false,
            error,
        }
    }
}

#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait QueueStore {
    /// Where the queue lives, for messages ("DynamoDB table tf-locks, item tfgate/queue/…").
    fn describe(&self) -> String;

    async fn read(&self) -> Result<Versioned, StoreError>;

    /// Replaces the document if its version is still `expected`.
    async fn write(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, StoreError>;
}

/// Parses a stored document, refusing one written by a newer tfgate.
pub fn parse_doc(json: &str, origin: &str) -> Result<QueueDoc, Error> {
    let doc: QueueDoc = serde_json::from_str(json).map_err(|e| Error::QueueDocument {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    if doc.doc_version > DOC_VERSION {
        return Err(Error::QueueDocument {
            origin: origin.to_string(),
            message: format!(
                "it was written by a newer tfgate (format {}, this one reads {DOC_VERSION})",
                doc.doc_version
            ),
        });
    }
    Ok(doc)
}

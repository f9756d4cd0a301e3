//! The state lock's facts, as `lock status` reports them and `lock release` and `fix-digest`
//! decide on them: the locks Terraform's S3 backend takes (a DynamoDB item, a `.tflock` object)
//! and the lock info inside them, the state object's metadata, the `-md5` digest item, and
//! Terraform's rule for whether that digest agrees with the state.
//!
//! Plain data and pure rules: the store that reads these from AWS is `aws::lock`, the backend
//! settings they come from are `terraform::backend`'s, and this module names neither. It reads
//! no clock (ages are measured against a `now` the caller passes), no environment, no network.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The workspace whose state lives at the backend's `key` itself.
pub const DEFAULT_WORKSPACE: &str = "default";

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

/// The lock info Terraform writes into the DynamoDB lock item's `Info` attribute and into the
/// `.tflock` object (`statemgr.LockInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Operation", default)]
    pub operation: String,
    #[serde(rename = "Info", default)]
    pub info: String,
    #[serde(rename = "Who", default)]
    pub who: String,
    #[serde(rename = "Version", default)]
    pub version: String,
    #[serde(rename = "Created", default)]
    pub created: String,
    #[serde(rename = "Path", default)]
    pub path: String,
}

impl LockInfo {
    pub fn parse(json: &str) -> Result<LockInfo, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// `Created` as a time, when it is one (Terraform writes RFC 3339 with nanoseconds).
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.created)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// How long the lock has been held at `now` (zero when the holder's clock is ahead).
    pub fn age(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.created_at()
            .map(|c| (now - c).max(chrono::Duration::zero()))
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

    /// The text as stored, which a delete must find unchanged.
    pub fn stored_text(&self) -> &str {
        &self.raw
    }

    /// The `.tflock` object's ETag as read, which a delete must find unchanged.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// Where one workspace's state, locks and digest live, and the backend settings that put them
/// there, as a lock report names them. The caller builds it from the backend it resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendFacts {
    pub bucket: String,
    /// The backend's `key` (the default workspace's state key).
    pub key: String,
    /// The region the requests went to.
    pub region: String,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: bool,
    pub workspace_key_prefix: String,
    /// Where the settings came from: a file, or `the command line`.
    pub source: String,
    pub workspace: String,
    /// The state object's key in the bucket ("STATEPATH").
    pub state_key: String,
    /// Key of the S3 lock object: `STATEPATH.tflock`.
    pub lockfile_key: String,
    /// `LockID` of the DynamoDB digest item: `BUCKET/STATEPATH-md5`.
    pub digest_id: String,
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
    fn lock_info_and_ages() {
        use crate::duration::age_words;
        let info = LockInfo::parse(
            r#"{"ID":"a233b1dc","Operation":"OperationTypeApply","Info":"","Who":"root@vm","Version":"1.11.4","Created":"2026-01-02T03:04:05.649030353Z","Path":"b/k"}"#,
        )
        .unwrap();
        assert_eq!(info.id, "a233b1dc");
        let now = DateTime::parse_from_rfc3339("2026-01-02T05:18:10Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age_words(info.age(now).unwrap()), "2h 14m");
        assert_eq!(age_words(chrono::Duration::seconds(45)), "45s");
        assert_eq!(age_words(chrono::Duration::seconds(200)), "3m 20s");
        assert_eq!(
            age_words(chrono::Duration::seconds(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
        // A holder whose clock runs ahead is not "negative" old.
        let early = DateTime::parse_from_rfc3339("2026-01-02T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(info.age(early), Some(chrono::Duration::zero()));
        assert!(
            LockInfo::parse(r#"{"Who":"x"}"#).is_err(),
            "an ID is required"
        );
    }

    #[test]
    fn held_locks_keep_what_a_conditional_delete_needs() {
        let lock = HeldLock::from_stored(LockKind::S3, "not json".into(), Some("\"e1\"".into()));
        assert_eq!(lock.stored_text(), "not json");
        assert_eq!(lock.etag(), Some("\"e1\""));
        assert_eq!(lock.id(), None);
        assert_eq!(lock.describe(), "an unreadable S3 lock file");
        let empty = HeldLock::from_stored(LockKind::DynamoDb, " ".into(), None);
        assert_eq!(empty.info, Err("it holds no lock info".to_string()));
    }
}

//! `lock status` for people (a headline and a comfy-table) and for scripts (the §10 JSON).
//!
//! Data in, `String` out: the caller passes the lock's facts (`state_lock`) and the time to
//! measure ages against; nothing here reads the clock, the environment or the network, or prints. Everything
//! that came from AWS (a lock's holder, operation, info, an ETag) is written by someone else, so
//! control characters are replaced before it reaches a terminal.

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{Cell, Color};
use serde::Serialize;

use crate::duration::age_words;
use crate::render::table::clean_line;
use crate::state_lock::{
    BackendFacts, DEFAULT_WORKSPACE, DigestItem, DigestStatus, HeldLock, LockKind, Snapshot,
};

/// The head of the apply queue (§7), shown beside the lock when a run holds the queue; `None`
/// (nobody holds it, or the state has no DynamoDB queue) and neither output mentions it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueHead {
    pub ticket: String,
    pub commit: Option<String>,
    pub pr: Option<u64>,
    pub run_url: Option<String>,
    /// RFC 3339.
    pub since: String,
    /// RFC 3339.
    pub lease_expires: Option<String>,
}

/// What `lock status` shows.
#[derive(Debug, Clone, Copy)]
pub struct StatusReport<'a> {
    pub backend: &'a BackendFacts,
    pub snapshot: &'a Snapshot,
    pub queue: Option<&'a QueueHead>,
    /// Ages are measured against this.
    pub now: DateTime<Utc>,
}

/// The one-line answer: "Locked for 2h 14m by runner@fv-az123, OperationTypeApply, terraform
/// 1.11.4." or "Not locked."
pub fn headline(r: &StatusReport<'_>) -> String {
    let Some(lock) = r.snapshot.locks.first() else {
        return "Not locked.".to_string();
    };
    match &lock.info {
        Ok(i) => {
            let age = i
                .age(r.now)
                .map(|a| format!(" for {}", age_words(a)))
                .unwrap_or_default();
            format!(
                "Locked{age} by {}, {}, terraform {}.",
                clean_line(&i.who),
                clean_line(&i.operation),
                clean_line(&i.version)
            )
        }
        Err(_) => format!(
            "Locked: the {} holds no lock info tfgate can read.",
            lock.kind.label()
        ),
    }
}

/// The human report, ending in a newline: the headline, what the digest means, and a table.
pub fn status_text(r: &StatusReport<'_>, color: bool) -> String {
    let mut out = headline(r);
    out.push('\n');
    out.push_str(&digest_sentences(r.snapshot));
    let mut t = crate::render::table::styled_table(&crate::render::table::TableOptions {
        color,
        width: None,
    });
    let mut rows = where_rows(r);
    rows.extend(lock_rows(r, LockKind::DynamoDb, color));
    rows.extend(lock_rows(r, LockKind::S3, color));
    rows.push(("Digest", digest_cell(r.snapshot, color)));
    if let Some(q) = r.queue {
        rows.push(("Apply queue", Cell::new(queue_line(q))));
    }
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), v]);
    }
    out.push('\n');
    out.push_str(&t.trim_fmt());
    out.push('\n');
    out
}

/// What the digest status means for the next terraform run ("" when there is no digest).
fn digest_sentences(s: &Snapshot) -> String {
    match s.digest_status {
        DigestStatus::Ok => "The digest matches the state.\n".into(),
        DigestStatus::Mismatch => {
            let mut text = String::from(
                "The digest does NOT match the state: every terraform run fails to read it \
                 (after ~10 s of retries) until `tfgate lock fix-digest` repairs it.\n",
            );
            if !s.locks.is_empty() {
                text.push_str(
                    "While a lock is held this may be a state write in progress: check again \
                     once the lock is gone.\n",
                );
            }
            text
        }
        DigestStatus::Missing => {
            "No digest is stored; terraform checks nothing and writes one with the next state.\n"
                .into()
        }
        DigestStatus::NotApplicable => String::new(),
    }
}

/// A cell, coloured when colour is on.
fn paint(text: String, c: Color, color: bool) -> Cell {
    let cell = Cell::new(text);
    if color { cell.fg(c) } else { cell }
}

/// Where the state is and what it looks like: bucket and key, workspace, backend, and the
/// state object's metadata.
fn where_rows(r: &StatusReport<'_>) -> Vec<(&'static str, Cell)> {
    let b = r.backend;
    let ws = if b.workspace == DEFAULT_WORKSPACE {
        b.workspace.clone()
    } else {
        format!(
            "{} (key prefix {})",
            clean_line(&b.workspace),
            clean_line(&b.workspace_key_prefix)
        )
    };
    let mut rows = vec![
        (
            "State",
            Cell::new(format!(
                "s3://{}/{}",
                clean_line(&b.bucket),
                clean_line(&b.state_key)
            )),
        ),
        ("Workspace", Cell::new(ws)),
        (
            "Backend",
            Cell::new(format!("{}, region {}", b.source, b.region)),
        ),
    ];
    let Some(st) = &r.snapshot.state else {
        rows.push(("Size", Cell::new("no state object yet")));
        return rows;
    };
    rows.push(("Size", Cell::new(format!("{} bytes", st.size))));
    if let Some(t) = st.last_modified {
        rows.push(("Last modified", Cell::new(when(t, r.now))));
    }
    let version = st
        .version_id
        .as_deref()
        .filter(|v| *v != "null")
        .map(clean_line)
        .unwrap_or_else(|| "none (versioning is off)".into());
    rows.push(("Version ID", Cell::new(version)));
    if let Some(e) = &st.etag {
        rows.push(("ETag", Cell::new(clean_line(e))));
    }
    rows
}

/// The rows of one kind of lock: not used, not held, or held and by whom.
fn lock_rows(r: &StatusReport<'_>, kind: LockKind, color: bool) -> Vec<(&'static str, Cell)> {
    let b = r.backend;
    let (configured, not_configured) = match kind {
        LockKind::DynamoDb => (
            b.dynamodb_table
                .as_deref()
                .map(|t| format!("table {}", clean_line(t))),
            "not used (no dynamodb_table)",
        ),
        LockKind::S3 => (
            b.use_lockfile.then(|| {
                format!(
                    "s3://{}/{}",
                    clean_line(&b.bucket),
                    clean_line(&b.lockfile_key)
                )
            }),
            "not used (use_lockfile is off)",
        ),
    };
    let held = r.snapshot.locks.iter().find(|l| l.kind == kind);
    match (configured, held) {
        (None, _) => vec![(kind.label(), Cell::new(not_configured))],
        (Some(place), None) => vec![(
            kind.label(),
            paint(format!("not held ({place})"), Color::Green, color),
        )],
        (Some(place), Some(l)) => {
            let mut rows = vec![(
                kind.label(),
                paint(format!("HELD ({place})"), Color::Red, color),
            )];
            rows.extend(
                lock_fields(l, r.now)
                    .into_iter()
                    .map(|(k, v)| (k, Cell::new(v))),
            );
            rows
        }
    }
}

/// The digest's row: ok, a mismatch and both values, missing, or not applicable.
fn digest_cell(s: &Snapshot, color: bool) -> Cell {
    let stored = s.digest.stored().map(clean_line);
    let actual = s.actual_md5.as_deref().map(clean_line);
    let how = if s.downloaded {
        " (state downloaded: its ETag is not an MD5)"
    } else {
        ""
    };
    match s.digest_status {
        DigestStatus::Ok => paint(
            format!("ok: {}{how}", stored.unwrap_or_default()),
            Color::Green,
            color,
        ),
        DigestStatus::Mismatch => paint(
            format!(
                "MISMATCH: stored {}, state {}{how}",
                stored.unwrap_or_default(),
                actual.unwrap_or_else(|| "(no state object)".into())
            ),
            Color::Red,
            color,
        ),
        DigestStatus::Missing => Cell::new(match &s.digest {
            DigestItem::Present(_) => "missing (the item holds no digest)",
            _ => "missing (no digest item)",
        }),
        DigestStatus::NotApplicable => Cell::new("not applicable (no DynamoDB table)"),
    }
}

fn lock_fields(l: &HeldLock, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
    let i = match &l.info {
        Ok(i) => i,
        Err(e) => return vec![("  Problem", clean_line(e))],
    };
    let mut v = vec![
        ("  ID", clean_line(&i.id)),
        ("  Operation", clean_line(&i.operation)),
        ("  Who", clean_line(&i.who)),
        ("  Terraform", clean_line(&i.version)),
    ];
    v.push((
        "  Created",
        match i.created_at() {
            Some(t) => when(t, now),
            None => clean_line(&i.created),
        },
    ));
    if !i.info.is_empty() {
        v.push(("  Info", clean_line(&i.info)));
    }
    v
}

fn queue_line(q: &QueueHead) -> String {
    let mut parts = vec![format!("ticket {}", clean_line(&q.ticket))];
    if let Some(pr) = q.pr {
        parts.push(format!("PR #{pr}"));
    }
    if let Some(c) = &q.commit {
        parts.push(format!("commit {}", clean_line(c)));
    }
    parts.push(format!("since {}", clean_line(&q.since)));
    if let Some(l) = &q.lease_expires {
        parts.push(format!("lease until {}", clean_line(l)));
    }
    if let Some(u) = &q.run_url {
        parts.push(clean_line(u));
    }
    parts.join(", ")
}

/// "2026-01-02T03:04:05Z (2h 14m ago)".
fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({} ago)",
        t.to_rfc3339_opts(SecondsFormat::Secs, true),
        age_words((now - t).max(chrono::Duration::zero()))
    )
}

/// The §10 JSON object.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub locked: bool,
    pub locks: Vec<LockJson>,
    pub state: StateJson,
    pub digest: DigestJson,
    pub workspace: String,
    pub backend: BackendJson,
    /// The apply queue's head, when the queue is in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueHead>,
}

#[derive(Debug, Serialize)]
pub struct LockJson {
    pub kind: &'static str,
    pub id: Option<String>,
    pub operation: Option<String>,
    pub who: Option<String>,
    pub version: Option<String>,
    pub created: Option<String>,
    pub age_seconds: Option<i64>,
    pub path: Option<String>,
    pub info: Option<String>,
    /// Why the lock info could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StateJson {
    pub bucket: String,
    pub key: String,
    pub exists: bool,
    pub size: Option<i64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub version_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DigestJson {
    pub status: DigestStatus,
    pub stored: Option<String>,
    pub actual: Option<String>,
    /// The digest item's `LockID`, when there is a table.
    pub lock_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BackendJson {
    pub bucket: String,
    pub key: String,
    pub region: String,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: bool,
    pub workspace_key_prefix: String,
    /// Where the settings came from: a file, or `the command line`.
    pub source: String,
}

pub fn status_json(r: &StatusReport<'_>) -> StatusJson {
    let s = r.snapshot;
    let locks = s
        .locks
        .iter()
        .map(|l| match &l.info {
            Ok(i) => LockJson {
                kind: l.kind.as_str(),
                id: Some(i.id.clone()),
                operation: Some(i.operation.clone()),
                who: Some(i.who.clone()),
                version: Some(i.version.clone()),
                created: Some(i.created.clone()),
                age_seconds: i.age(r.now).map(|a| a.num_seconds()),
                path: Some(i.path.clone()),
                info: Some(i.info.clone()),
                error: None,
            },
            Err(e) => LockJson {
                kind: l.kind.as_str(),
                id: None,
                operation: None,
                who: None,
                version: None,
                created: None,
                age_seconds: None,
                path: None,
                info: None,
                error: Some(e.clone()),
            },
        })
        .collect();
    let st = s.state.as_ref();
    StatusJson {
        locked: !s.locks.is_empty(),
        locks,
        state: StateJson {
            bucket: r.backend.bucket.clone(),
            key: r.backend.state_key.clone(),
            exists: st.is_some(),
            size: st.map(|o| o.size),
            etag: st.and_then(|o| o.etag.clone()),
            last_modified: st
                .and_then(|o| o.last_modified)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            version_id: st.and_then(|o| o.version_id.clone()),
        },
        digest: DigestJson {
            status: s.digest_status,
            stored: s.digest.stored().map(str::to_string),
            actual: s.actual_md5.clone(),
            lock_id: r
                .backend
                .dynamodb_table
                .as_ref()
                .map(|_| r.backend.digest_id.clone()),
        },
        workspace: r.backend.workspace.clone(),
        backend: BackendJson {
            bucket: r.backend.bucket.clone(),
            key: r.backend.key.clone(),
            region: r.backend.region.clone(),
            dynamodb_table: r.backend.dynamodb_table.clone(),
            use_lockfile: r.backend.use_lockfile,
            workspace_key_prefix: r.backend.workspace_key_prefix.clone(),
            source: r.backend.source.clone(),
        },
        queue: r.queue.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_lock::StateObject;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn backend() -> BackendFacts {
        BackendFacts {
            bucket: "acme-state".into(),
            key: "prod/terraform.tfstate".into(),
            region: "eu-west-1".into(),
            dynamodb_table: Some("tf-locks".into()),
            use_lockfile: true,
            workspace_key_prefix: "env:".into(),
            source: "the command line".into(),
            workspace: "default".into(),
            state_key: "prod/terraform.tfstate".into(),
            lockfile_key: "prod/terraform.tfstate.tflock".into(),
            digest_id: "acme-state/prod/terraform.tfstate-md5".into(),
        }
    }

    fn snapshot(who: &str, digest: DigestStatus) -> Snapshot {
        let info = format!(
            r#"{{"ID":"f3c1","Operation":"OperationTypeApply","Info":"","Who":"{who}","Version":"1.11.4","Created":"2026-01-02T03:04:05.5Z","Path":"acme-state/prod/terraform.tfstate"}}"#
        );
        Snapshot {
            locks: vec![HeldLock::from_stored(LockKind::DynamoDb, info, None)],
            state: Some(StateObject {
                size: 1234,
                etag: Some("\"9a23ab7ed4808cd5e523f74d81283908\"".into()),
                last_modified: Some(at("2026-01-02T03:00:00Z")),
                version_id: Some("3HL4kqtJlcpXroDTDmJ".into()),
                encryption: None,
                customer_key: false,
            }),
            digest: DigestItem::Present(Some("9a23ab7ed4808cd5e523f74d81283908".into())),
            actual_md5: Some("9a23ab7ed4808cd5e523f74d81283908".into()),
            downloaded: false,
            digest_status: digest,
        }
    }

    #[test]
    fn the_headline_says_who_and_for_how_long() {
        let b = backend();
        let s = snapshot("runner@fv-az123", DigestStatus::Ok);
        let r = StatusReport {
            backend: &b,
            snapshot: &s,
            queue: None,
            now: at("2026-01-02T05:18:10Z"),
        };
        assert_eq!(
            headline(&r),
            "Locked for 2h 14m by runner@fv-az123, OperationTypeApply, terraform 1.11.4."
        );
        let text = status_text(&r, false);
        assert!(
            text.contains("│ Digest        ┆ ok: 9a23ab7ed4808cd5e523f74d81283908"),
            "{text}"
        );
        assert!(!text.contains("Apply queue"));
        let json = serde_json::to_value(status_json(&r)).unwrap();
        assert_eq!(json["locks"][0]["age_seconds"], 8044);
        assert_eq!(json["locks"][0]["kind"], "dynamodb");
        assert!(json.get("queue").is_none());
    }

    #[test]
    fn lock_holders_cannot_drive_the_terminal() {
        let b = backend();
        let s = snapshot("evil\\u001b[2J\\u202e", DigestStatus::Mismatch);
        let r = StatusReport {
            backend: &b,
            snapshot: &s,
            queue: None,
            now: at("2026-01-02T05:18:10Z"),
        };
        let text = status_text(&r, false);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(text.contains("may be a state write in progress"));
    }

    #[test]
    fn the_queue_head_has_its_line_when_known() {
        let b = backend();
        let s = snapshot("a@b", DigestStatus::Ok);
        let q = QueueHead {
            ticket: "t-1".into(),
            commit: Some("abc123".into()),
            pr: Some(42),
            run_url: None,
            since: "2026-01-02T05:00:00Z".into(),
            lease_expires: None,
        };
        let r = StatusReport {
            backend: &b,
            snapshot: &s,
            queue: Some(&q),
            now: at("2026-01-02T05:18:10Z"),
        };
        assert!(status_text(&r, false).contains("ticket t-1, PR #42, commit abc123"));
        let json = serde_json::to_value(status_json(&r)).unwrap();
        assert_eq!(json["queue"]["pr"], 42);
    }
}

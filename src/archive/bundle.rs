//! The archive bundle format (§5): a folder of files plus `manifest.json`, written last.
//!
//! A bundle without a manifest is incomplete (a run died while writing it) and is never
//! trusted. The manifest lists every file's sha256 and size, so a reader can tell a bundle that
//! was altered after the fact.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::plan::summary::Counts;

pub const MANIFEST: &str = "manifest.json";
pub const PLAN_BINARY: &str = "tfplan";
pub const PLAN_JSON: &str = "plan.json";
pub const PLAN_TEXT: &str = "plan.txt";
pub const SUMMARY: &str = "summary.json";
pub const COMMENT: &str = "comment.md";
pub const APPLY_LOG: &str = "apply.log";
/// In an apply bundle: the reviewed plan's JSON the fresh plan was compared with.
pub const REVIEWED_PLAN_JSON: &str = "reviewed-plan.json";
/// In an apply bundle: the comparison report (markdown).
pub const REPORT: &str = "report.md";

/// Manifest schema version; bumped only for incompatible changes.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    Plan,
    Apply,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub tfgate_version: String,
    pub kind: BundleKind,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub repository: Option<String>,
    pub pr: Option<u64>,
    pub commit: Option<String>,
    pub pr_head_sha: Option<String>,
    pub run_url: Option<String>,
    pub root: String,
    pub workspace: String,
    pub terraform_version: Option<String>,
    pub fingerprint: String,
    pub has_changes: bool,
    pub counts: Counts,
    pub files: BTreeMap<String, FileEntry>,
    /// Apply bundles: what happened (`applied`, `refused`, `failed`, `applied_despite_drift`,
    /// `not_applied` when the run lost the apply queue right before applying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// Apply bundles: where the reviewed plan came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<String>,
}

impl Manifest {
    /// Reads a bundle's manifest; `None` when the bundle is incomplete (no manifest).
    pub fn load(bundle: &Path) -> Result<Option<Manifest>, Error> {
        let path = bundle.join(MANIFEST);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::BadManifest {
                path,
                message: e.to_string(),
            })
    }
}

/// sha256 and size of a file, streamed.
pub fn file_entry(path: &Path) -> Result<FileEntry, Error> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(FileEntry {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

pub fn bytes_entry(bytes: &[u8]) -> FileEntry {
    FileEntry {
        sha256: hex::encode(Sha256::digest(bytes)),
        size: bytes.len() as u64,
    }
}

/// Checks every file the manifest lists against its recorded sha256 and size.
pub fn verify(bundle: &Path, manifest: &Manifest) -> Result<(), Error> {
    for (name, expected) in &manifest.files {
        let actual = file_entry(&bundle.join(name)).map_err(|_| Error::ChecksumMismatch {
            bundle: bundle.to_path_buf(),
            file: name.clone(),
        })?;
        if &actual != expected {
            return Err(Error::ChecksumMismatch {
                bundle: bundle.to_path_buf(),
                file: name.clone(),
            });
        }
    }
    Ok(())
}

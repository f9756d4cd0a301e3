//! The archive bundle format (§5): a folder of files plus `manifest.json`, written last.
//!
//! A bundle without a manifest is incomplete (a run died while writing it) and is never
//! trusted. The manifest lists every file's sha256 and size, so a reader can tell a bundle that
//! was altered after the fact. `verify` is the one check every reader goes through (`show`,
//! `diff`, `comment`, `apply`, through `BundleStore::fetch`): the manifest names only files
//! of the bundle's layout, lists at least the files of its kind, and every file it lists is
//! there, a regular file, with its recorded sha256 and size. Files in the folder that the
//! manifest does not list are never read, so they cannot matter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::plan::summary::{Counts, Summary};

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

/// Every name a bundle file may have: the bundle's layout. A manifest that names anything else
/// (`../x`, `/etc/hostname`, `a/../b`, `manifest.json`) is refused before any file is read.
pub const LAYOUT: [&str; 8] = [
    PLAN_BINARY,
    PLAN_JSON,
    PLAN_TEXT,
    SUMMARY,
    COMMENT,
    APPLY_LOG,
    REVIEWED_PLAN_JSON,
    REPORT,
];

/// A manifest is small; anything larger is not one of ours.
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// Manifest schema version; bumped only for incompatible changes.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    Plan,
    Apply,
}

impl BundleKind {
    /// The files every complete bundle of this kind holds, besides the manifest. An apply
    /// bundle also holds `report.md` when the plans differed and `apply.log` when terraform
    /// applied, so those two are checked only when listed.
    pub fn required_files(self) -> &'static [&'static str] {
        match self {
            BundleKind::Plan => &[PLAN_BINARY, PLAN_JSON, PLAN_TEXT, SUMMARY, COMMENT],
            BundleKind::Apply => &[
                REVIEWED_PLAN_JSON,
                PLAN_BINARY,
                PLAN_JSON,
                PLAN_TEXT,
                COMMENT,
            ],
        }
    }
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

/// What a manifest records of the run that made a bundle, besides its plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub repository: Option<String>,
    pub pr: Option<u64>,
    pub commit: Option<String>,
    pub pr_head_sha: Option<String>,
    pub run_url: Option<String>,
    pub root: String,
    pub workspace: String,
}

impl Manifest {
    /// The manifest of a bundle of `kind` made at `created` by `origin`, for the plan
    /// `summary` describes; its files are listed when the bundle is finished. An apply bundle
    /// sets `verdict` and `reviewed` too.
    pub fn new(
        kind: BundleKind,
        created: chrono::DateTime<chrono::Utc>,
        origin: Origin,
        summary: &Summary,
    ) -> Manifest {
        Manifest {
            manifest_version: MANIFEST_VERSION,
            tfgate_version: env!("CARGO_PKG_VERSION").to_string(),
            kind,
            created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            repository: origin.repository,
            pr: origin.pr,
            commit: origin.commit,
            pr_head_sha: origin.pr_head_sha,
            run_url: origin.run_url,
            root: origin.root,
            workspace: origin.workspace,
            terraform_version: summary.terraform_version.clone(),
            fingerprint: summary.fingerprint.clone(),
            has_changes: summary.has_changes,
            counts: summary.counts.clone(),
            files: BTreeMap::new(),
            verdict: None,
            reviewed: None,
        }
    }

    /// Reads a bundle's manifest; `None` when the bundle is incomplete (no manifest).
    pub fn load(bundle: &Path) -> Result<Option<Manifest>, Error> {
        let path = bundle.join(MANIFEST);
        let bad = |message: &str| Error::BadManifest {
            path: path.clone(),
            message: message.to_string(),
        };
        // Checked first, so a manifest that is a link (to a device, say) is never opened.
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if !meta.is_file() => return Err(bad("it is not a regular file")),
            Ok(meta) if meta.len() > MAX_MANIFEST_BYTES => {
                return Err(bad(&format!(
                    "it is larger than {MAX_MANIFEST_BYTES} bytes"
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
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

/// Whether `name` is a file of the bundle layout (a plain name tfgate writes, nothing that
/// could be a path).
pub fn in_layout(name: &str) -> bool {
    LAYOUT.contains(&name)
}

/// The bundle as a whole before any of its files is read: every name the manifest lists is a
/// file of the layout, and the files of its kind are all listed. `bundle` names the bundle in
/// errors (a folder or an `s3://` URI). Both failures are `Error::BundleAltered` (exit 4).
pub fn check_manifest(bundle: &str, manifest: &Manifest) -> Result<(), Error> {
    let altered = |reason: String| Error::BundleAltered {
        bundle: bundle.to_string(),
        reason,
    };
    if let Some(name) = manifest.files.keys().find(|n| !in_layout(n)) {
        return Err(altered(format!(
            "its manifest lists {name:?}, which is not a file of a tfgate bundle (those are {})",
            LAYOUT.join(", ")
        )));
    }
    let missing: Vec<&str> = manifest
        .kind
        .required_files()
        .iter()
        .copied()
        .filter(|f| !manifest.files.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        return Err(altered(format!(
            "its manifest does not list {}, which every {} bundle holds",
            missing.join(", "),
            kind_word(manifest.kind)
        )));
    }
    Ok(())
}

fn kind_word(kind: BundleKind) -> &'static str {
    match kind {
        BundleKind::Plan => "plan",
        BundleKind::Apply => "apply",
    }
}

/// One listed file as found (`None`: not there) against the manifest's entry for it.
pub fn check_file(
    bundle: &str,
    name: &str,
    expected: &FileEntry,
    found: Option<&FileEntry>,
) -> Result<(), Error> {
    match found {
        None => Err(Error::BundleAltered {
            bundle: bundle.to_string(),
            reason: format!("its manifest lists {name}, which is missing"),
        }),
        Some(actual) if actual == expected => Ok(()),
        Some(_) => Err(Error::ChecksumMismatch {
            bundle: PathBuf::from(bundle),
            file: name.to_string(),
        }),
    }
}

/// Verifies a bundle folder against its manifest: `check_manifest`, then every listed file
/// (a regular file, not a link, with its recorded sha256 and size). Nothing is read that the
/// manifest does not list, and nothing outside the folder.
pub fn verify(dir: &Path, manifest: &Manifest) -> Result<(), Error> {
    let bundle = dir.display().to_string();
    check_manifest(&bundle, manifest)?;
    for (name, expected) in &manifest.files {
        let path = dir.join(name);
        let found = match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Some(file_entry(&path)?),
            Ok(_) => {
                return Err(Error::BundleAltered {
                    bundle,
                    reason: format!("{name} is not a regular file"),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        check_file(&bundle, name, expected, found.as_ref())?;
    }
    Ok(())
}

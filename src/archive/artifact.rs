//! Workflow artifacts as a way across runners (§4): the name a plan's bundle is uploaded under
//! (`artifact_name`), and fetching it back on another runner (`fetch`).
//!
//! Fetching finds the artifact of the plan's workflow run through the `Artifacts` port,
//! downloads its zip under a size cap into a private temporary folder, unpacks it there
//! (`unpack`: plain file names only, so nothing lands outside the folder; no links, no folders,
//! no duplicates; every entry's size checked while it is written, never taken from the zip's
//! headers on trust), then verifies every file with `local::fetch_dir`, as for any other bundle,
//! and refuses files the manifest does not list. It must not print, or hand out a byte of the
//! artifact before all of that passed.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::archive::bundle::MANIFEST;
use crate::archive::local;
use crate::archive::store::{FetchedBundle, root_segments, segment};
use crate::error::{ArtifactProblem, Error};
use crate::github::marker::ArtifactRef;
use crate::github::{Artifact, Artifacts, Download};

/// How large an artifact may be, unpacked, unless `--max-artifact-size` says otherwise. A plan
/// of 50,000 resources makes a bundle of a few hundred MB; this leaves room and still stops a
/// zip bomb long before the disk fills.
pub const DEFAULT_MAX_SIZE: u64 = 2 << 30;
/// Room for the zip's own headers on top of its contents, when capping the download.
const ZIP_OVERHEAD: u64 = 1 << 20;
/// A bundle holds fewer than a dozen files.
const MAX_ENTRIES: usize = 64;
/// Longer names are cut and given a hash of the whole, so they stay distinct.
const MAX_NAME_CHARS: usize = 200;
/// The characters GitHub refuses in an artifact's name.
const FORBIDDEN: &[char] = &['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];

/// The artifact a plan's bundle is uploaded as when there is no S3 archive:
/// `tfgate-ROOT-WORKSPACE`, where ROOT is the root's path in the repository with its folders
/// joined by `.` (`_` for the repository's top level) and every part cleaned as in the
/// archive's layout (characters other than letters, digits, `-`, `_` and `.` become `_`).
/// So `terraform/production` in workspace `default` is `tfgate-terraform.production-default`.
pub fn artifact_name(root: &str, workspace: &str) -> String {
    let name = format!(
        "tfgate-{}-{}",
        root_segments(root).join("."),
        segment(workspace)
    );
    if name.chars().count() <= MAX_NAME_CHARS {
        return name;
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let head: String = name.chars().take(MAX_NAME_CHARS - 13).collect();
    format!("{head}-{}", &hash[..12])
}

/// Why `name` cannot be an artifact's name (`--artifact-name`), if it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(format!(
            "it holds {c:?}, which GitHub does not allow in artifact names"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("it holds control characters".into());
    }
    if name.chars().count() > 255 {
        return Err("it is longer than 255 characters".into());
    }
    Ok(())
}

/// Reads a size for `--max-artifact-size`: bytes, or a number with a unit, `KiB`, `MiB`,
/// `GiB` (powers of 1024) or `KB`, `MB`, `GB` (powers of 1000); `K`, `M`, `G` alone are 1024's.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size (e.g. 2GiB, 500MiB, 1048576)");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(bad()),
    };
    match n.checked_mul(unit) {
        Some(0) | None => Err(bad()),
        Some(v) => Ok(v),
    }
}

/// A reviewed bundle fetched from a workflow artifact and verified.
#[derive(Debug)]
pub struct FetchedArtifact {
    pub bundle: FetchedBundle,
    pub artifact: Artifact,
    /// The private folder the zip was downloaded and unpacked into; removed when dropped.
    _dir: tempfile::TempDir,
}

/// Finds, downloads, unpacks and verifies the artifact `at` of `owner/repo`. `max_size` bounds
/// both the download and what is unpacked.
pub async fn fetch<A: Artifacts>(
    github: &A,
    owner: &str,
    repo: &str,
    at: &ArtifactRef,
    max_size: u64,
) -> Result<FetchedArtifact, Error> {
    let fail = |problem| artifact_error(at, problem);
    let listed = github
        .run_artifacts(owner, repo, at.run_id, &at.name)
        .await
        .map_err(|e| fail(ArtifactProblem::Lookup(e)))?;
    let artifact = choose(listed, at).map_err(fail)?;
    if artifact.size_in_bytes > max_size.saturating_add(ZIP_OVERHEAD) {
        return Err(fail(ArtifactProblem::TooLarge {
            size: artifact.size_in_bytes,
            limit: max_size,
        }));
    }

    let dir = private_dir()?;
    let zip_path = dir.path().join("artifact.zip");
    let mut zip = private_file(&zip_path)?;
    let download = github
        .download_artifact(
            owner,
            repo,
            artifact.id,
            &mut zip,
            max_size.saturating_add(ZIP_OVERHEAD),
        )
        .await
        .map_err(|e| fail(ArtifactProblem::Lookup(e)))?;
    match download {
        Download::Complete { .. } => {}
        Download::Expired => return Err(fail(ArtifactProblem::Expired)),
        Download::TooLarge { limit } => {
            return Err(fail(ArtifactProblem::TooLarge {
                size: artifact.size_in_bytes.max(limit + 1),
                limit: max_size,
            }));
        }
        Download::WriteFailed { message } => {
            return Err(Error::io(
                "write",
                &zip_path,
                std::io::Error::other(message),
            ));
        }
    }
    drop(zip);

    let bundle_dir = dir.path().join("bundle");
    create_private_dir(&bundle_dir)?;
    let names = unpack(&zip_path, &bundle_dir, max_size).map_err(fail)?;
    let _ = std::fs::remove_file(&zip_path);
    let bundle = match local::fetch_dir(&bundle_dir) {
        Ok(b) => b,
        Err(Error::BundleMissing { .. }) => {
            return Err(fail(ArtifactProblem::NotABundle {
                reason: format!("it holds no {MANIFEST}"),
            }));
        }
        Err(e) => return Err(e),
    };
    if let Some(extra) = names
        .iter()
        .find(|n| n.as_str() != MANIFEST && !bundle.manifest.files.contains_key(n.as_str()))
    {
        return Err(fail(ArtifactProblem::Unsafe {
            reason: format!("it holds {extra:?}, which its manifest does not list"),
        }));
    }
    Ok(FetchedArtifact {
        bundle,
        artifact,
        _dir: dir,
    })
}

fn artifact_error(at: &ArtifactRef, problem: ArtifactProblem) -> Error {
    Error::Artifact {
        name: at.name.clone(),
        run_id: at.run_id,
        problem,
    }
}

/// The artifact to download among those GitHub listed: named exactly so, made by that run (a
/// listing that says otherwise is not trusted), not expired; the newest when a re-run of the
/// plan job uploaded it again.
fn choose(listed: Vec<Artifact>, at: &ArtifactRef) -> Result<Artifact, ArtifactProblem> {
    let ours: Vec<Artifact> = listed
        .into_iter()
        .filter(|a| a.name == at.name && a.run_id.is_none_or(|r| r == at.run_id))
        .collect();
    if ours.is_empty() {
        return Err(ArtifactProblem::Missing);
    }
    ours.into_iter()
        .filter(|a| !a.expired)
        .max_by_key(|a| a.id)
        .ok_or(ArtifactProblem::Expired)
}

/// A folder only this user may enter (0700), removed when dropped.
fn private_dir() -> Result<tempfile::TempDir, Error> {
    let dir = tempfile::Builder::new()
        .prefix("tfgate-artifact-")
        .tempdir()
        .map_err(|e| Error::io("create", "a temporary folder", e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("restrict", dir.path(), e))?;
    Ok(dir)
}

fn create_private_dir(path: &Path) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io("create", path, e))
}

/// A new file only this user may read (0600); never an existing file or a link.
fn private_file(path: &Path) -> Result<std::fs::File, Error> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("create", path, e))
}

/// Unpacks a bundle's zip into the empty folder `dest` and returns the names written. Refused,
/// before anything is written: entries that are not plain files at the top level (absolute
/// paths, `..`, folders, symbolic links by their flags or their unix mode), names used twice,
/// headers that disagree, more than `MAX_ENTRIES` entries, and declared sizes adding up to more
/// than `max_size`. While writing, an entry that holds more than it declared, or more than
/// `max_size` in all, stops the unpacking. On an error, what was written stays inside `dest`.
pub fn unpack(zip_path: &Path, dest: &Path, max_size: u64) -> Result<Vec<String>, ArtifactProblem> {
    let file = std::fs::File::open(zip_path).map_err(|e| unreadable(&e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| unreadable(&e))?;
    if zip.has_duplicate_names() {
        return Err(unsafe_("it holds the same name twice".into()));
    }
    if zip.len() > MAX_ENTRIES {
        return Err(unsafe_(format!(
            "it holds {} entries; a bundle has fewer than {MAX_ENTRIES}",
            zip.len()
        )));
    }
    zip.validate_header_consistency()
        .map_err(|e| unsafe_(format!("its headers disagree ({e})")))?;

    // Every entry is judged before any is written.
    let names = judge_entries(&mut zip, max_size)?;

    let mut written = 0u64;
    for (i, name) in names.iter().enumerate() {
        let mut entry = zip.by_index(i).map_err(|e| unreadable(&e))?;
        let declared = entry.size();
        let path = dest.join(name);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| unsafe_(format!("{name:?} cannot be written ({e})")))?;
        // One byte more than declared is read, to tell an entry that lies about its size.
        let mut limited = (&mut entry).take(declared.saturating_add(1));
        let copied = copy_bounded(&mut limited, &mut out, max_size - written)
            .map_err(|e| unsafe_(format!("{name:?} cannot be unpacked ({e})")))?;
        match copied {
            Copied::All(n) if n <= declared => written += n,
            Copied::All(_) => {
                return Err(unsafe_(format!(
                    "{name:?} holds more than the {declared} bytes its header declares"
                )));
            }
            Copied::Over => {
                return Err(ArtifactProblem::TooLarge {
                    size: max_size.saturating_add(1),
                    limit: max_size,
                });
            }
        }
        out.sync_all()
            .map_err(|e| unsafe_(format!("{name:?} cannot be written ({e})")))?;
    }
    Ok(names)
}

/// The names of the zip's entries, once every entry passed: a plain file (no link, no folder,
/// not encrypted) with a safe name, no name twice, and declared sizes adding up to at most
/// `max_size`.
fn judge_entries(
    zip: &mut zip::ZipArchive<std::fs::File>,
    max_size: u64,
) -> Result<Vec<String>, ArtifactProblem> {
    let mut names = Vec::with_capacity(zip.len());
    let mut seen = BTreeSet::new();
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| unreadable(&e))?;
        let raw = String::from_utf8_lossy(entry.name_raw()).into_owned();
        judge_name(&raw)?;
        let mode = entry.external_attributes() >> 16;
        if entry.is_symlink() || mode & 0o170000 == 0o120000 {
            return Err(unsafe_(format!("{raw:?} is a symbolic link")));
        }
        if entry.is_dir() || mode & 0o170000 == 0o040000 {
            return Err(ArtifactProblem::NotABundle {
                reason: format!("it holds the folder {raw:?}; a bundle is one folder of files"),
            });
        }
        if entry.encrypted() {
            return Err(unsafe_(format!("{raw:?} is encrypted")));
        }
        if !seen.insert(raw.clone()) {
            return Err(unsafe_(format!("it holds {raw:?} twice")));
        }
        declared = declared.saturating_add(entry.size());
        if declared > max_size {
            return Err(ArtifactProblem::TooLarge {
                size: declared,
                limit: max_size,
            });
        }
        names.push(raw);
    }
    Ok(names)
}

fn unreadable(e: &dyn std::fmt::Display) -> ArtifactProblem {
    ArtifactProblem::NotABundle {
        reason: format!("it cannot be read as a zip file ({e})"),
    }
}

fn unsafe_(reason: String) -> ArtifactProblem {
    ArtifactProblem::Unsafe { reason }
}

enum Copied {
    All(u64),
    /// More than the room left.
    Over,
}

fn copy_bounded(from: &mut impl Read, to: &mut impl Write, room: u64) -> std::io::Result<Copied> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(Copied::All(total)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > room {
            return Ok(Copied::Over);
        }
        to.write_all(&buf[..n])?;
    }
}

/// An entry's name must be a plain file name: not absolute, no `..`, no folders.
fn judge_name(raw: &str) -> Result<(), ArtifactProblem> {
    let unsafe_ = |why: &str| ArtifactProblem::Unsafe {
        reason: format!("{raw:?} {why}"),
    };
    if raw.is_empty() || raw.contains('\0') {
        return Err(unsafe_("is not a file name"));
    }
    let bytes = raw.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if raw.starts_with(['/', '\\']) || drive {
        return Err(unsafe_("is an absolute path"));
    }
    if raw.split(['/', '\\']).any(|part| part == "..") {
        return Err(unsafe_("leads out of the folder"));
    }
    if raw.ends_with(['/', '\\']) {
        return Err(ArtifactProblem::NotABundle {
            reason: format!("it holds the folder {raw:?}; a bundle is one folder of files"),
        });
    }
    if raw.contains(['/', '\\']) || raw == "." {
        return Err(ArtifactProblem::NotABundle {
            reason: format!("it holds {raw:?}, inside a folder; a bundle is one folder of files"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::GithubError;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    fn at() -> ArtifactRef {
        ArtifactRef {
            run_id: 42,
            name: "tfgate-_-default".into(),
        }
    }

    fn artifact(id: u64, run: Option<u64>, expired: bool) -> Artifact {
        Artifact {
            id,
            name: "tfgate-_-default".into(),
            size_in_bytes: 10,
            expired,
            run_id: run,
        }
    }

    #[test]
    fn names_are_derived_from_root_and_workspace_and_safe() {
        assert_eq!(artifact_name(".", "default"), "tfgate-_-default");
        assert_eq!(
            artifact_name("terraform/production", "default"),
            "tfgate-terraform.production-default"
        );
        assert_eq!(
            artifact_name("a:b/c*d", "blue green"),
            "tfgate-a_b.c_d-blue_green"
        );
        let long = artifact_name(&"x".repeat(500), "default");
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
        assert_ne!(long, artifact_name(&"x".repeat(501), "default"));
        for root in ["../x", "\"<>|*?\\/", "a\nb", "日本語/🚀"] {
            let name = artifact_name(root, root);
            assert_eq!(check_name(&name), Ok(()), "{name:?}");
        }
        assert!(check_name("a/b").is_err());
        assert!(check_name("a:b").is_err());
        assert!(check_name(" ").is_err());
        assert!(check_name("plan of prod").is_ok());
    }

    #[test]
    fn sizes_read_with_their_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("2 gib"), Ok(2 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        for bad in ["", "0", "GiB", "1.5GiB", "2TB", "-1", "99999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_newest_live_artifact_of_the_run_is_chosen() {
        let pick = |listed| choose(listed, &at());
        assert_eq!(pick(vec![]), Err(ArtifactProblem::Missing));
        assert_eq!(
            pick(vec![artifact(1, Some(7), false)]),
            Err(ArtifactProblem::Missing),
            "another run's artifact is not ours"
        );
        assert_eq!(
            pick(vec![artifact(1, Some(42), true)]),
            Err(ArtifactProblem::Expired)
        );
        assert_eq!(
            pick(vec![
                artifact(3, Some(42), true),
                artifact(2, Some(42), false),
                artifact(1, None, false),
            ])
            .map(|a| a.id),
            Ok(2)
        );
    }

    /// A zip of (name, bytes, unix mode) entries.
    fn zip_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes, mode) in entries {
            let opts = SimpleFileOptions::default().unix_permissions(*mode);
            if mode & 0o170000 == 0o120000 {
                w.add_symlink(*name, std::str::from_utf8(bytes).unwrap(), opts)
                    .unwrap();
            } else {
                w.start_file(*name, opts).unwrap();
                w.write_all(bytes).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn unpack_bytes(
        zip: &[u8],
        max: u64,
    ) -> (tempfile::TempDir, Result<Vec<String>, ArtifactProblem>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        std::fs::write(&path, zip).unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let r = unpack(&path, &dest, max);
        (dir, r)
    }

    #[test]
    fn a_flat_bundle_is_unpacked_private() {
        let zip = zip_of(&[("plan.json", b"{}", 0o644), ("manifest.json", b"{}", 0o644)]);
        let (dir, r) = unpack_bytes(&zip, 1 << 20);
        assert_eq!(r, Ok(vec!["plan.json".into(), "manifest.json".into()]));
        let meta = std::fs::metadata(dir.path().join("out/plan.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn hostile_entries_are_refused_before_anything_is_written() {
        for (name, mode, expect) in [
            ("../evil", 0o100644, "leads out of the folder"),
            ("a/../../evil", 0o100644, "leads out of the folder"),
            ("/tmp/evil", 0o100644, "is an absolute path"),
            ("C:\\evil", 0o100644, "is an absolute path"),
            ("link", 0o120777, "is a symbolic link"),
            ("sub/plan.json", 0o100644, "inside a folder"),
        ] {
            let zip = zip_of(&[("plan.json", b"{}", 0o644), (name, b"/etc/passwd", mode)]);
            let (dir, r) = unpack_bytes(&zip, 1 << 20);
            let problem = r.expect_err(name);
            assert!(problem.to_string().contains(expect), "{name}: {problem}");
            assert!(
                !dir.path().join("out/plan.json").exists(),
                "{name}: nothing is written"
            );
        }
    }

    #[test]
    fn sizes_are_capped_declared_and_actual() {
        let big = vec![0u8; 4096];
        let zip = zip_of(&[("plan.json", &big, 0o644)]);
        let (_d, r) = unpack_bytes(&zip, 1000);
        assert!(
            matches!(r, Err(ArtifactProblem::TooLarge { limit: 1000, .. })),
            "{r:?}"
        );
        // An entry that declares 100 bytes and inflates to 64 KiB.
        let zip = lying_zip(64 * 1024, 100);
        let (dir, r) = unpack_bytes(&zip, 1 << 20);
        let problem = r.unwrap_err();
        assert!(
            matches!(problem, ArtifactProblem::Unsafe { .. })
                && problem.to_string().contains("declared"),
            "{problem}"
        );
        let written = std::fs::metadata(dir.path().join("out/plan.json"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(written <= 101, "{written}");
    }

    /// A zip whose one deflated entry `plan.json` holds `actual` zero bytes but whose headers
    /// (local and central) declare `declared`.
    pub(crate) fn lying_zip(actual: usize, declared: u32) -> Vec<u8> {
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644);
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file("plan.json", opts).unwrap();
        w.write_all(&vec![0u8; actual]).unwrap();
        let mut bytes = w.finish().unwrap().into_inner();
        let actual = actual as u32;
        // Local header: uncompressed size at offset 22; central header: at offset 24.
        let patch = |bytes: &mut Vec<u8>, sig: &[u8; 4], at: usize| {
            let pos = bytes.windows(4).position(|w| w == sig).unwrap();
            let field = &mut bytes[pos + at..pos + at + 4];
            assert_eq!(u32::from_le_bytes(field.try_into().unwrap()), actual);
            field.copy_from_slice(&declared.to_le_bytes());
        };
        patch(&mut bytes, b"PK\x03\x04", 22);
        patch(&mut bytes, b"PK\x01\x02", 24);
        bytes
    }

    #[test]
    fn duplicates_and_non_zips_are_refused() {
        // The writer refuses a name twice: write two names of one length, then rename one.
        let zip = zip_of(&[("plan.json", b"{}", 0o644), ("plan.jsoo", b"[]", 0o644)]);
        let twice = String::from_utf8_lossy(&zip)
            .contains("plan.jsoo")
            .then(|| {
                let mut bytes = zip.clone();
                while let Some(at) = bytes.windows(9).position(|w| w == b"plan.jsoo") {
                    bytes[at + 8] = b'n';
                }
                bytes
            })
            .unwrap();
        let (dir, r) = unpack_bytes(&twice, 1 << 20);
        let problem = r.unwrap_err();
        assert!(problem.to_string().contains("twice"), "{problem}");
        assert!(!dir.path().join("out/plan.json").exists());
        let (_d, r) = unpack_bytes(b"not a zip", 1 << 20);
        assert!(
            matches!(r, Err(ArtifactProblem::NotABundle { .. })),
            "{r:?}"
        );
    }

    #[test]
    fn lookup_failures_keep_githubs_word() {
        let e = artifact_error(
            &at(),
            ArtifactProblem::Lookup(GithubError::Forbidden {
                message: "Resource not accessible by integration".into(),
            }),
        );
        assert_eq!(e.exit_code(), crate::error::code::ERROR);
        assert!(
            e.hint().unwrap().contains("actions: read"),
            "{:?}",
            e.hint()
        );
        let e = artifact_error(&at(), ArtifactProblem::Expired);
        assert_eq!(e.exit_code(), crate::error::code::REVIEWED_PLAN_MISSING);
    }
}

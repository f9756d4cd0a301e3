//! The local archive: bundles as folders under `<root>/.tfgate/archive/`.
//!
//! Layout: `WORKSPACE/SCOPE/BUNDLE_ID/` where SCOPE is `pr-N`, `commit-SHA` or `local`. Every
//! file is written to a temporary name in the bundle folder and renamed into place; the
//! manifest is written last the same way, after the files' data reached the disk, so a bundle
//! that has a manifest is complete whatever moment the process was killed at.
//!
//! Bundles hold the plan's secrets in clear text (`tfplan`, `plan.json`), so every bundle file
//! is 0600 and every folder from `.tfgate/` down to the bundle is 0700, whoever wrote the file
//! (terraform writes `tfplan` itself).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::archive::bundle::{self, FileEntry, MANIFEST, Manifest};
use crate::archive::store::{
    BundleAddress, BundleState, BundleStore, FetchedBundle, Files, ListedBundle, RootAddress,
    segment, sort_newest_first,
};
use crate::error::Error;

/// Where bundles of a root are kept by default.
pub fn default_archive_dir(root: &Path) -> PathBuf {
    root.join(".tfgate").join("archive")
}

/// A bundle being written.
#[derive(Debug)]
pub struct BundleWriter {
    dir: PathBuf,
    files: BTreeMap<String, FileEntry>,
}

impl BundleWriter {
    /// Creates the bundle folder `archive_dir/WORKSPACE/SCOPE/ID`.
    pub fn create(
        archive_dir: &Path,
        workspace: &str,
        scope: &str,
        id: &str,
    ) -> Result<BundleWriter, Error> {
        let dir = archive_dir
            .join(segment(workspace))
            .join(segment(scope))
            .join(segment(id));
        // tfgate's own folders: `.tfgate/` (when the archive is the default one), the archive,
        // the workspace, the scope and the bundle.
        let top = match archive_dir.parent() {
            Some(parent) if parent.file_name() == Some(std::ffi::OsStr::new(".tfgate")) => parent,
            _ => archive_dir,
        };
        private_dirs(top, &dir)?;
        Ok(BundleWriter {
            dir,
            files: BTreeMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a file of the bundle lives, for a process that writes it itself (terraform's
    /// `-out`); register it afterwards with `add_existing`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Records a file already written into the bundle folder, and makes it 0600 (a process
    /// such as terraform creates its files with its own mode).
    pub fn add_existing(&mut self, name: &str) -> Result<(), Error> {
        let path = self.path(name);
        make_private(&path, 0o600)?;
        let entry = bundle::file_entry(&path)?;
        sync_file(&path)?;
        self.files.insert(name.to_string(), entry);
        Ok(())
    }

    /// Writes a file of the bundle atomically.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        write_atomic(&self.path(name), bytes)?;
        self.files
            .insert(name.to_string(), bundle::bytes_entry(bytes));
        Ok(())
    }

    /// Writes the manifest, completing the bundle. `manifest.files` is filled in here.
    pub fn finish(self, mut manifest: Manifest) -> Result<PathBuf, Error> {
        manifest.files = self.files;
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
        write_atomic(&self.dir.join(MANIFEST), &json)?;
        Ok(self.dir)
    }

    /// Removes a bundle that will not be completed (e.g. terraform failed).
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates `dir` and its missing parents, and makes every folder from `top` down to `dir` 0700,
/// those that existed included (a bundle folder's parents written by an older tfgate were
/// 0755). `top` must be an ancestor of `dir`.
fn private_dirs(top: &Path, dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create", dir, e))?;
    let mut at = top.to_path_buf();
    make_private(&at, 0o700)?;
    for part in dir.strip_prefix(top).unwrap_or(Path::new("")).components() {
        at.push(part);
        make_private(&at, 0o700)?;
    }
    make_private(dir, 0o700)
}

/// Sets a file's or folder's mode exactly (the umask may have left it wider or narrower).
fn make_private(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set the permissions of", path, e))
}

/// Temp file in the same folder, fsync, rename over the target, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("rename into", path, e.error))?;
    sync_dir(dir);
    Ok(())
}

fn sync_file(path: &Path) -> Result<(), Error> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("sync", path, e))
}

fn sync_dir(dir: &Path) {
    // Best effort: some filesystems do not support syncing a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A complete or incomplete bundle found on disk.
#[derive(Debug)]
pub struct FoundBundle {
    pub dir: PathBuf,
    pub manifest: Option<Manifest>,
}

/// All bundles under an archive folder, newest first (by folder name, which starts with the
/// creation time).
pub fn list(archive_dir: &Path) -> Result<Vec<FoundBundle>, Error> {
    let mut out = Vec::new();
    for ws in read_dirs(archive_dir)? {
        for scope in read_dirs(&ws)? {
            for dir in read_dirs(&scope)? {
                let manifest = Manifest::load(&dir).ok().flatten();
                out.push(FoundBundle { dir, manifest });
            }
        }
    }
    out.sort_by(|a, b| b.dir.file_name().cmp(&a.dir.file_name()));
    Ok(out)
}

fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io("read", dir, e)),
    }
}

/// The local archive of one root: `<root>/.tfgate/archive/WORKSPACE/SCOPE/ID/`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    pub archive_dir: PathBuf,
}

impl LocalStore {
    pub fn for_root(root: &Path) -> LocalStore {
        LocalStore {
            archive_dir: default_archive_dir(root),
        }
    }

    /// Every bundle of a workspace, complete or not, newest first. The root is the one whose
    /// archive this is, so only the workspace is checked against manifests.
    pub fn list_local(&self, at: &RootAddress) -> Result<Vec<ListedBundle>, Error> {
        let workspace = segment(&at.workspace);
        let mut out = Vec::new();
        for found in list(&self.archive_dir)? {
            let name = |p: Option<&Path>| {
                p.and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
            };
            let scope_dir = found.dir.parent();
            if name(scope_dir.and_then(Path::parent)).as_deref() != Some(workspace.as_str()) {
                continue;
            }
            let (Some(scope), Some(id)) = (name(scope_dir), name(Some(&found.dir))) else {
                continue;
            };
            let state = match found.manifest {
                Some(m) => BundleState::Complete(Box::new(m)),
                None => BundleState::Incomplete,
            };
            let listed = ListedBundle {
                uri: found.dir.display().to_string(),
                scope,
                id,
                state,
            };
            out.push(listed.check_owner(at, false));
        }
        sort_newest_first(&mut out);
        Ok(out)
    }
}

impl BundleStore for LocalStore {
    fn describe(&self) -> String {
        self.archive_dir.display().to_string()
    }

    async fn list_all(
        &self,
        at: &RootAddress,
        _scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error> {
        self.list_local(at)
    }

    fn bundle_uri(&self, addr: &BundleAddress) -> String {
        self.archive_dir
            .join(segment(&addr.root.workspace))
            .join(segment(&addr.scope))
            .join(segment(&addr.id))
            .display()
            .to_string()
    }

    /// A copy of the bundle folder, checked first; nothing to do when it is already there.
    async fn upload(&self, dir: &Path, addr: &BundleAddress) -> Result<(), Error> {
        let target = PathBuf::from(self.bundle_uri(addr));
        if target == dir {
            return Ok(());
        }
        let fetched = fetch_dir(dir)?;
        let (ws, scope, id) = (&addr.root.workspace, &addr.scope, &addr.id);
        let mut copy = BundleWriter::create(&self.archive_dir, ws, scope, id)?;
        for name in fetched.manifest.files.keys() {
            let path = dir.join(name);
            copy.write(
                name,
                &std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?,
            )?;
        }
        copy.finish(fetched.manifest)?;
        Ok(())
    }

    async fn fetch(&self, uri: &str, _files: Files<'_>) -> Result<FetchedBundle, Error> {
        fetch_dir(Path::new(uri))
    }
}

/// A bundle folder, verified as a whole (see `bundle::verify`) before anything reads it. No
/// manifest: `Error::BundleMissing`; a listed file missing, a kind's file not listed or a name
/// outside the bundle's layout: `Error::BundleAltered`; a file that differs:
/// `Error::ChecksumMismatch` (exit 4 all).
pub fn fetch_dir(source: &Path) -> Result<FetchedBundle, Error> {
    let dir = source.to_path_buf();
    let manifest = Manifest::load(&dir)?.ok_or_else(|| Error::BundleMissing {
        uri: dir.display().to_string(),
        reason: "it has no manifest.json".into(),
    })?;
    bundle::verify(&dir, &manifest)?;
    Ok(FetchedBundle::in_place(
        dir,
        manifest,
        source.display().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::bundle::BundleKind;

    fn manifest() -> Manifest {
        Manifest {
            manifest_version: bundle::MANIFEST_VERSION,
            tfgate_version: "0.0.0".into(),
            kind: BundleKind::Plan,
            created_at: "2026-11-22T00:00:00Z".into(),
            repository: None,
            pr: None,
            commit: None,
            pr_head_sha: None,
            run_url: None,
            root: ".".into(),
            workspace: "default".into(),
            terraform_version: None,
            fingerprint: "sha256:00".into(),
            has_changes: false,
            counts: Default::default(),
            files: BTreeMap::new(),
            verdict: None,
            reviewed: None,
        }
    }

    #[test]
    fn a_bundle_is_complete_only_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let mut w =
            BundleWriter::create(dir.path(), "default", "local", "20261122T000000Z-plan").unwrap();
        w.write("plan.txt", b"hello").unwrap();
        std::fs::write(w.path("tfplan"), b"binary").unwrap();
        w.add_existing("tfplan").unwrap();
        let found = list(dir.path()).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].manifest.is_none(), "no manifest yet: incomplete");
        let bundle_dir = w.finish(manifest()).unwrap();
        let m = Manifest::load(&bundle_dir).unwrap().unwrap();
        assert_eq!(m.files["plan.txt"].size, 5);
        assert_eq!(m.files["tfplan"], bundle::bytes_entry(b"binary"));
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(&bundle_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with(".tmp-")), "{names:?}");
    }

    #[test]
    fn bundle_files_are_0600_and_folders_0700() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tfgate = root.join(".tfgate");
        // A folder an older tfgate made world-readable is made private too.
        std::fs::create_dir_all(tfgate.join("archive")).unwrap();
        std::fs::set_permissions(&tfgate, std::fs::Permissions::from_mode(0o755)).unwrap();
        let archive = tfgate.join("archive");
        let mut w = BundleWriter::create(&archive, "default", "pr-1", "x-plan-1").unwrap();
        w.write("plan.txt", b"hello").unwrap();
        // A file another process wrote with its own mode.
        std::fs::write(w.path("tfplan"), b"binary").unwrap();
        std::fs::set_permissions(w.path("tfplan"), std::fs::Permissions::from_mode(0o644)).unwrap();
        w.add_existing("tfplan").unwrap();
        let bundle_dir = w.finish(manifest()).unwrap();
        for name in ["plan.txt", "tfplan", "manifest.json"] {
            assert_eq!(mode(&bundle_dir.join(name)), 0o600, "{name}");
        }
        for d in [
            bundle_dir.clone(),
            archive.join("default/pr-1"),
            archive.join("default"),
            archive.clone(),
            tfgate,
        ] {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
        }
        assert_eq!(mode(&root), 0o755, "the root is the user's, not tfgate's");
    }

    #[test]
    fn hostile_names_stay_inside_the_archive() {
        assert_eq!(segment("../../etc"), ".._.._etc");
        assert_eq!(segment(".."), "_");
        assert_eq!(segment("env/prod"), "env_prod");
    }
}

//! The archive as a store of bundles that can be listed and fetched: the `BundleStore` port,
//! which the local archive under the root's `.tfgate/archive/` (`archive::local`) and the S3
//! archive (`aws::s3_archive`) implement.
//!
//! Owns the vocabulary both stores share: where a root's bundles live (`RootAddress`), one
//! bundle's place (`BundleAddress`), what a listing returns (`ListedBundle`, complete or not),
//! which bundles a question is about (`Selection`), and what a fetch returns (`FetchedBundle`, a
//! local folder whose files were all checked against the manifest; `ops::read` fetches). It
//! must not trust a bundle without a manifest, write bundles, or print anything.

use std::path::{Path, PathBuf};

use crate::archive::bundle::{BundleKind, Manifest};
use crate::error::Error;

/// OWNER/REPO for bundles made outside any repository GitHub told tfgate about.
pub const LOCAL_REPOSITORY: (&str, &str) = ("local", "local");

/// Where one root's bundles live in an archive: `OWNER/REPO/ROOT/WORKSPACE` (§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootAddress {
    pub owner: String,
    pub repo: String,
    /// The root's name as `settings::Root` gives it (its path inside the repository).
    pub root: String,
    pub workspace: String,
}

impl RootAddress {
    /// `repository` is (owner, repo) when GitHub's context names one, else `local/local`.
    pub fn new(repository: Option<(&str, &str)>, root: &str, workspace: &str) -> RootAddress {
        let (owner, repo) = repository.unwrap_or(LOCAL_REPOSITORY);
        RootAddress {
            owner: owner.to_string(),
            repo: repo.to_string(),
            root: root.to_string(),
            workspace: workspace.to_string(),
        }
    }

    /// The key segments `OWNER/REPO/ROOT/WORKSPACE`, each cleaned (see `segment`); the root
    /// keeps its folders (`envs/prod`), and the repository's top level (`.`) becomes `_`.
    pub fn key_segments(&self) -> Vec<String> {
        let mut out = vec![segment(&self.owner), segment(&self.repo)];
        out.extend(root_segments(&self.root));
        out.push(segment(&self.workspace));
        out
    }
}

/// One bundle's place: a root's address, the scope (`pr-N`, `commit-SHA` or `local`) and the
/// bundle's id (which starts with its UTC creation time, so ids sort by age).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleAddress {
    pub root: RootAddress,
    pub scope: String,
    pub id: String,
}

impl BundleAddress {
    pub fn new(root: RootAddress, scope: &str, id: &str) -> BundleAddress {
        BundleAddress {
            root,
            scope: scope.to_string(),
            id: id.to_string(),
        }
    }

    /// `OWNER/REPO/ROOT/WORKSPACE/SCOPE/ID`.
    pub fn key_segments(&self) -> Vec<String> {
        let mut out = self.root.key_segments();
        out.push(segment(&self.scope));
        out.push(segment(&self.id));
        out
    }
}

/// The scope a bundle was made in (§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Pr(u64),
    Commit(String),
    Local,
}

impl Scope {
    /// The scope as a path segment: `pr-N`, `commit-SHA` or `local`.
    pub fn segment(&self) -> String {
        match self {
            Scope::Pr(n) => format!("pr-{n}"),
            Scope::Commit(sha) => segment(&format!("commit-{sha}")),
            Scope::Local => "local".to_string(),
        }
    }
}

/// Which bundles of a root a listing is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only bundles made for this pull request.
    pub pr: Option<u64>,
    /// Only bundles made at this commit: the workflow's commit or the PR head the plan was made
    /// for (a prefix of the SHA is enough), or, for a bundle without a manifest, its scope.
    pub commit: Option<String>,
    /// Include incomplete bundles (no manifest, or one that cannot be read).
    pub incomplete: bool,
}

impl Selection {
    fn matches(&self, b: &ListedBundle) -> bool {
        if !self.incomplete && !b.is_complete() {
            return false;
        }
        if let Some(pr) = self.pr
            && b.pr() != Some(pr)
        {
            return false;
        }
        if let Some(sha) = self.commit.as_deref() {
            let sha = sha.to_ascii_lowercase();
            let hit = |s: Option<&str>| s.is_some_and(|s| s.to_ascii_lowercase().starts_with(&sha));
            let found = match b.manifest() {
                Some(m) => hit(m.commit.as_deref()) || hit(m.pr_head_sha.as_deref()),
                None => hit(b.scope.strip_prefix("commit-")),
            };
            if !found {
                return false;
            }
        }
        true
    }

    /// The one scope every selected bundle is in, when the selection implies it (so an S3
    /// listing can ask for that scope's keys only).
    fn scope_segment(&self) -> Option<String> {
        self.pr.map(|n| Scope::Pr(n).segment())
    }
}

/// A bundle found in an archive, complete or not.
#[derive(Debug, Clone)]
pub struct ListedBundle {
    /// `s3://…` for S3, the folder's path for the local archive.
    pub uri: String,
    pub scope: String,
    pub id: String,
    pub state: BundleState,
}

#[derive(Debug, Clone)]
pub enum BundleState {
    Complete(Box<Manifest>),
    /// No manifest: a run or an upload stopped before it finished.
    Incomplete,
    /// A manifest that cannot be read, or that names another root or workspace.
    Unreadable {
        reason: String,
    },
}

impl ListedBundle {
    pub fn manifest(&self) -> Option<&Manifest> {
        match &self.state {
            BundleState::Complete(m) => Some(m),
            BundleState::Incomplete | BundleState::Unreadable { .. } => None,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.manifest().is_some()
    }

    /// The PR, from the manifest, else from the scope.
    pub fn pr(&self) -> Option<u64> {
        match self.manifest() {
            Some(m) => m.pr,
            None => self.scope.strip_prefix("pr-")?.parse().ok(),
        }
    }

    /// RFC 3339 creation time: the manifest's, else the one the id starts with.
    pub fn created_at(&self) -> Option<String> {
        match self.manifest() {
            Some(m) => Some(m.created_at.clone()),
            None => created_from_id(&self.id),
        }
    }

    /// Plan or apply: the manifest's, else what the id says.
    pub fn kind(&self) -> Option<BundleKind> {
        match self.manifest() {
            Some(m) => Some(m.kind),
            None if self.id.contains("-plan") => Some(BundleKind::Plan),
            None if self.id.contains("-apply") => Some(BundleKind::Apply),
            None => None,
        }
    }

    /// Checks that a manifest belongs to the root and workspace listed; otherwise the bundle is
    /// shown as unreadable rather than trusted.
    pub(crate) fn check_owner(mut self, at: &RootAddress, check_root: bool) -> ListedBundle {
        if let Some(m) = self.manifest() {
            // Compared as the archive lays them out, so `./envs/prod` is `envs/prod`.
            let wrong_root = check_root && root_segments(&m.root) != root_segments(&at.root);
            if wrong_root || segment(&m.workspace) != segment(&at.workspace) {
                self.state = BundleState::Unreadable {
                    reason: format!(
                        "its manifest is for root {} workspace {}, not root {} workspace {}",
                        m.root, m.workspace, at.root, at.workspace
                    ),
                };
            }
        }
        self
    }
}

/// Bundle ids start with `YYYYmmddTHHMMSSmmmZ` (see `plan::plan_and_archive`).
pub fn created_from_id(id: &str) -> Option<String> {
    let stamp = id.get(..19)?;
    let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%3fZ").ok()?;
    Some(
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// Which files of a bundle the caller will read. Every file the manifest lists is verified
/// whatever is chosen (`bundle::verify`); for an S3 bundle only these are kept in the local
/// copy, the others are checked as they stream by and dropped.
#[derive(Debug, Clone, Copy)]
pub enum Files<'a> {
    All,
    Only(&'a [&'a str]),
}

impl Files<'_> {
    /// Whether a listed file is kept in the local copy.
    pub(crate) fn keeps(&self, name: &str) -> bool {
        match self {
            Files::All => true,
            Files::Only(wanted) => wanted.contains(&name),
        }
    }
}

/// A bundle fetched into a local folder, every file its manifest lists checked.
#[derive(Debug)]
pub struct FetchedBundle {
    /// Where the files are: the bundle folder itself, or a temporary copy of an S3 bundle.
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// The bundle as the user named it (folder path or `s3://` URI), for messages and comments.
    pub source: String,
    /// Keeps a downloaded copy alive; removed when the `FetchedBundle` is dropped.
    _download: Option<tempfile::TempDir>,
}

impl FetchedBundle {
    /// A bundle folder read where it is.
    pub fn in_place(dir: PathBuf, manifest: Manifest, source: String) -> FetchedBundle {
        FetchedBundle {
            dir,
            manifest,
            source,
            _download: None,
        }
    }

    /// A copy downloaded into `tmp`, removed with the `FetchedBundle`.
    pub fn downloaded(tmp: tempfile::TempDir, manifest: Manifest, source: String) -> FetchedBundle {
        FetchedBundle {
            dir: tmp.path().to_path_buf(),
            manifest,
            source,
            _download: Some(tmp),
        }
    }

    /// Whether this is a copy of an S3 bundle.
    pub fn is_download(&self) -> bool {
        self._download.is_some()
    }
}

/// The port every archive implements: the local one under the root (`archive::local`) and S3
/// (`aws::s3_archive`); `wire` picks one.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait BundleStore {
    /// The archive's location, for messages.
    fn describe(&self) -> String;

    /// Every bundle of a root and workspace, complete or not, newest first; only those of
    /// `scope` (a scope segment) when the store can narrow its listing so.
    async fn list_all(
        &self,
        at: &RootAddress,
        scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error>;

    /// Where the bundle at `addr` is in this archive (an `s3://` URI, or a folder): known
    /// before it is written, so a PR comment can name it first.
    fn bundle_uri(&self, addr: &BundleAddress) -> String;

    /// Puts a finished bundle folder (one with its manifest) into the archive at `addr`, the
    /// manifest last, so a copy that stops half-way is no bundle anyone trusts.
    async fn upload(&self, dir: &Path, addr: &BundleAddress) -> Result<(), Error>;

    /// The bundle at `uri` (as `bundle_uri` or `list_all` gave it) in a local folder, verified
    /// as a whole before anything reads it (`bundle::verify`); `files` says which files the
    /// caller will read, the others may be checked and dropped. No manifest:
    /// `Error::BundleMissing`; a listed file missing, a kind's file not listed or a name outside
    /// the bundle's layout: `Error::BundleAltered`; a file that differs:
    /// `Error::ChecksumMismatch` (exit 4 all).
    async fn fetch(&self, uri: &str, files: Files<'_>) -> Result<FetchedBundle, Error>;
}

/// The selected bundles of a root and workspace, newest first.
pub async fn list(
    store: &impl BundleStore,
    at: &RootAddress,
    selection: &Selection,
) -> Result<Vec<ListedBundle>, Error> {
    let all = store
        .list_all(at, selection.scope_segment().as_deref())
        .await?;
    Ok(all.into_iter().filter(|b| selection.matches(b)).collect())
}

/// Ids start with the creation time, so a reverse sort by id is newest first.
pub(crate) fn sort_newest_first(bundles: &mut [ListedBundle]) {
    bundles.sort_by(|a, b| b.id.cmp(&a.id).then_with(|| b.scope.cmp(&a.scope)));
}

/// Keeps a name (an owner, a workspace, a scope) to one key or path segment: characters other
/// than ASCII letters, digits, `-`, `_` and `.` become `_`, and an empty, `.` or `..` segment
/// becomes `_`. The same rule as the local archive's folders.
pub fn segment(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "_".to_string(),
        _ => cleaned,
    }
}

/// A root's name as key segments: its folders kept (`envs/prod`), empty and `.` folders
/// dropped, each folder cleaned by `segment`; the top level of the repository is `_`.
pub fn root_segments(root: &str) -> Vec<String> {
    let out: Vec<String> = root
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .map(segment)
        .collect();
    if out.is_empty() {
        vec!["_".to_string()]
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::bundle;
    use crate::archive::local::{self, LocalStore};
    use std::path::Path;

    /// Built from JSON, so fields added to the manifest later need no change here.
    fn manifest(workspace: &str, pr: Option<u64>, commit: &str) -> Manifest {
        serde_json::from_value(serde_json::json!({
            "manifest_version": bundle::MANIFEST_VERSION,
            "tfgate_version": "0.0.0",
            "kind": "plan",
            "created_at": "2026-11-22T00:00:00Z",
            "repository": null,
            "pr": pr,
            "commit": commit,
            "pr_head_sha": null,
            "run_url": null,
            "root": ".",
            "workspace": workspace,
            "terraform_version": null,
            "fingerprint": "sha256:00",
            "has_changes": false,
            "counts": crate::plan::summary::Counts::default(),
            "files": {},
        }))
        .unwrap()
    }

    fn write_bundle(archive: &Path, ws: &str, scope: &str, id: &str, m: Option<Manifest>) {
        let mut w = local::BundleWriter::create(archive, ws, scope, id).unwrap();
        for name in BundleKind::Plan.required_files() {
            w.write(name, b"{}").unwrap();
        }
        match m {
            Some(m) => {
                w.finish(m).unwrap();
            }
            None => drop(w),
        }
    }

    #[test]
    fn layout_segments_are_clean() {
        let at = RootAddress::new(Some(("acme", "infra")), "envs/prod", "default");
        assert_eq!(
            at.key_segments(),
            ["acme", "infra", "envs", "prod", "default"]
        );
        let at = RootAddress::new(None, ".", "blue green");
        assert_eq!(at.key_segments(), ["local", "local", "_", "blue_green"]);
        assert_eq!(root_segments("/tmp/x/../r"), ["tmp", "x", "_", "r"]);
        assert_eq!(Scope::Commit("abc/..".into()).segment(), "commit-abc_..");
        assert_eq!(Scope::Pr(7).segment(), "pr-7");
    }

    #[test]
    fn ids_tell_the_creation_time() {
        assert_eq!(
            created_from_id("20261122T101112345Z-plan-42").as_deref(),
            Some("2026-11-22T10:11:12Z")
        );
        assert_eq!(created_from_id("garbage"), None);
        assert_eq!(created_from_id("ñññññññññññññññññññññ"), None);
    }

    #[test]
    fn manifests_name_only_files_of_the_layout_and_list_their_kind() {
        let entry = bundle::bytes_entry(b"{}");
        let mut m = manifest("default", None, "a");
        for name in BundleKind::Plan.required_files() {
            m.files.insert(name.to_string(), entry.clone());
        }
        assert!(bundle::check_manifest("b", &m).is_ok());
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "a/../b",
            "/etc/hostname",
            "manifest.json",
            "Plan.json",
            "notes.txt",
        ] {
            let mut m = m.clone();
            m.files.insert(bad.to_string(), entry.clone());
            let err = bundle::check_manifest("b", &m).unwrap_err();
            assert!(matches!(err, Error::BundleAltered { .. }), "{bad:?}: {err}");
            assert_eq!(err.exit_code(), crate::error::code::REVIEWED_PLAN_MISSING);
        }
        let mut m = m.clone();
        m.files.remove(bundle::PLAN_TEXT);
        let err = bundle::check_manifest("b", &m).unwrap_err().to_string();
        assert!(err.contains("does not list plan.txt"), "{err}");
        m.kind = BundleKind::Apply;
        let err = bundle::check_manifest("b", &m).unwrap_err().to_string();
        assert!(
            err.contains("plan.txt") && err.contains("reviewed-plan.json"),
            "{err}"
        );
    }

    #[test]
    fn the_local_archive_lists_newest_first_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path();
        write_bundle(
            archive,
            "default",
            "pr-1",
            "20261122T000001000Z-plan-1",
            Some(manifest("default", Some(1), "aaa111")),
        );
        write_bundle(
            archive,
            "default",
            "pr-2",
            "20261122T000002000Z-plan-1",
            Some(manifest("default", Some(2), "bbb222")),
        );
        write_bundle(
            archive,
            "default",
            "commit-ccc333",
            "20261122T000003000Z-plan-1",
            None,
        );
        write_bundle(
            archive,
            "prod",
            "pr-1",
            "20261122T000004000Z-plan-1",
            Some(manifest("prod", Some(1), "ddd")),
        );
        // A manifest that claims another workspace is not trusted.
        write_bundle(
            archive,
            "default",
            "pr-1",
            "20261122T000005000Z-plan-1",
            Some(manifest("prod", Some(1), "eee")),
        );
        let store = LocalStore {
            archive_dir: archive.to_path_buf(),
        };
        let at = RootAddress::new(None, ".", "default");
        let all = store.list_local(&at).unwrap();
        let ids: Vec<&str> = all.iter().map(|b| &b.id[..18]).collect();
        assert_eq!(
            ids,
            [
                "20261122T000005000",
                "20261122T000003000",
                "20261122T000002000",
                "20261122T000001000"
            ]
        );
        assert!(matches!(all[0].state, BundleState::Unreadable { .. }));

        let pick = |sel: Selection| -> Vec<String> {
            all.iter()
                .filter(|b| sel.matches(b))
                .map(|b| b.scope.clone())
                .collect()
        };
        assert_eq!(pick(Selection::default()), ["pr-2", "pr-1"]);
        assert_eq!(
            pick(Selection {
                pr: Some(1),
                ..Default::default()
            }),
            ["pr-1"]
        );
        assert_eq!(
            pick(Selection {
                commit: Some("BBB".into()),
                ..Default::default()
            }),
            ["pr-2"]
        );
        let everything = Selection {
            incomplete: true,
            ..Default::default()
        };
        assert_eq!(
            pick(everything.clone()),
            ["pr-1", "commit-ccc333", "pr-2", "pr-1"]
        );
        assert_eq!(
            pick(Selection {
                commit: Some("ccc".into()),
                ..everything
            }),
            ["commit-ccc333"]
        );
    }

    #[tokio::test]
    async fn fetching_a_local_bundle_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        write_bundle(
            dir.path(),
            "default",
            "local",
            "20261122T000001000Z-plan-1",
            Some(manifest("default", None, "a")),
        );
        let bundle_dir = dir.path().join("default/local/20261122T000001000Z-plan-1");
        let store = LocalStore {
            archive_dir: dir.path().to_path_buf(),
        };
        let source = bundle_dir.display().to_string();
        let fetched = store.fetch(&source, Files::All).await.unwrap();
        assert_eq!(fetched.manifest.files.len(), 5);
        // A file the manifest does not list is never read.
        std::fs::write(bundle_dir.join("notes.txt"), b"x").unwrap();
        store
            .fetch(&source, Files::Only(&[bundle::PLAN_JSON]))
            .await
            .unwrap();
        // Any listed file counts, not only the one the caller reads.
        std::fs::write(bundle_dir.join(bundle::SUMMARY), b"{ }").unwrap();
        let err = store
            .fetch(&source, Files::Only(&[bundle::PLAN_JSON]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ChecksumMismatch { ref file, .. } if file == "summary.json"),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::error::code::REVIEWED_PLAN_MISSING);
        std::fs::remove_file(bundle_dir.join(bundle::SUMMARY)).unwrap();
        let err = store.fetch(&source, Files::All).await.unwrap_err();
        assert!(matches!(err, Error::BundleAltered { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("lists summary.json, which is missing"),
            "{err}"
        );
        // A listed file that is a link is refused, even to a file with the right bytes.
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, b"{}").unwrap();
        std::os::unix::fs::symlink(&elsewhere, bundle_dir.join(bundle::SUMMARY)).unwrap();
        let err = store.fetch(&source, Files::All).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("summary.json is not a regular file"),
            "{err}"
        );
        std::fs::remove_file(bundle_dir.join(bundle::MANIFEST)).unwrap();
        let err = store.fetch(&source, Files::All).await.unwrap_err();
        assert!(matches!(err, Error::BundleMissing { .. }), "{err}");
        assert_eq!(err.exit_code(), crate::error::code::REVIEWED_PLAN_MISSING);
    }
}

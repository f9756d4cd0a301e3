//! An in-memory `BundleStore` for tests: an archive at `s3://BUCKET/PREFIX` whose bundles are
//! files in memory, laid out as the S3 archive lays them out (§5). A fetch checks the bundle as
//! the S3 archive checks a download (the manifest, then every listed file against its sha256
//! and size), so a file changed behind the manifest's back (`tamper`) is caught the same way,
//! then writes it into a temporary folder.
//!
//! Clones share one archive, so a test keeps a handle on what a workflow wrote.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use crate::archive::bundle::{self, MANIFEST, Manifest};
use crate::archive::location::S3Location;
use crate::archive::store::{
    BundleAddress, BundleState, BundleStore, FetchedBundle, Files, ListedBundle, RootAddress,
    sort_newest_first,
};
use crate::error::Error;

/// A bundle's files by name, its manifest among them.
pub type BundleFiles = BTreeMap<String, Vec<u8>>;

#[derive(Clone)]
pub struct MemoryArchive {
    location: S3Location,
    /// By bundle URI.
    bundles: Rc<RefCell<BTreeMap<String, BundleFiles>>>,
}

impl MemoryArchive {
    /// An empty archive at `uri` (`s3://BUCKET[/PREFIX]`).
    pub fn new(uri: &str) -> MemoryArchive {
        MemoryArchive {
            location: S3Location::parse(uri).expect("an s3:// URI"),
            bundles: Rc::default(),
        }
    }

    /// A bundle put at `addr` as it is: `files` with `manifest`, which lists them (its sizes and
    /// digests computed here). Its URI.
    pub fn put(&self, addr: &BundleAddress, files: BundleFiles, mut manifest: Manifest) -> String {
        manifest.files = files
            .iter()
            .map(|(name, bytes)| (name.clone(), bundle::bytes_entry(bytes)))
            .collect();
        let mut files = files;
        files.insert(
            MANIFEST.to_string(),
            serde_json::to_vec_pretty(&manifest).expect("a manifest serializes"),
        );
        let uri = self.bundle_uri(addr);
        self.bundles.borrow_mut().insert(uri.clone(), files);
        uri
    }

    /// The bundle at `uri`, as stored.
    pub fn files(&self, uri: &str) -> Option<BundleFiles> {
        self.bundles.borrow().get(uri).cloned()
    }

    /// Every bundle's URI, in order.
    pub fn uris(&self) -> Vec<String> {
        self.bundles.borrow().keys().cloned().collect()
    }

    /// Changes one file of a stored bundle, not its manifest: what a tampered archive holds.
    pub fn tamper(&self, uri: &str, name: &str, bytes: &[u8]) {
        let mut bundles = self.bundles.borrow_mut();
        let files = bundles.get_mut(uri).expect("a stored bundle");
        files.insert(name.to_string(), bytes.to_vec());
    }

    fn manifest_of(uri: &str, files: &BundleFiles) -> Result<Option<Manifest>, Error> {
        let Some(bytes) = files.get(MANIFEST) else {
            return Ok(None);
        };
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| Error::BadManifest {
                path: format!("{uri}/{MANIFEST}").into(),
                message: e.to_string(),
            })
    }
}

impl BundleStore for MemoryArchive {
    fn describe(&self) -> String {
        self.location.uri()
    }

    async fn list_all(
        &self,
        at: &RootAddress,
        _scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error> {
        tokio::task::yield_now().await;
        let base = format!("{}/", self.location.join(&at.key_segments()).uri());
        let mut out = Vec::new();
        for (uri, files) in self.bundles.borrow().iter() {
            let Some((scope, id)) = uri.strip_prefix(&base).and_then(|r| r.split_once('/')) else {
                continue;
            };
            let state = match Self::manifest_of(uri, files) {
                Ok(Some(m)) => BundleState::Complete(Box::new(m)),
                Ok(None) => BundleState::Incomplete,
                Err(e) => BundleState::Unreadable {
                    reason: e.to_string(),
                },
            };
            let listed = ListedBundle {
                uri: uri.clone(),
                scope: scope.to_string(),
                id: id.to_string(),
                state,
            };
            out.push(listed.check_owner(at, true));
        }
        sort_newest_first(&mut out);
        Ok(out)
    }

    fn bundle_uri(&self, addr: &BundleAddress) -> String {
        self.location.join(&addr.key_segments()).uri()
    }

    async fn upload(&self, dir: &Path, addr: &BundleAddress) -> Result<(), Error> {
        tokio::task::yield_now().await;
        let manifest = Manifest::load(dir)?.ok_or_else(|| Error::BundleMissing {
            uri: dir.display().to_string(),
            reason: "it has no manifest.json, so it is not finished".into(),
        })?;
        bundle::verify(dir, &manifest)?;
        let mut files = BundleFiles::new();
        for name in manifest.files.keys().map(String::as_str).chain([MANIFEST]) {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            files.insert(name.to_string(), bytes);
        }
        let uri = self.bundle_uri(addr);
        self.bundles.borrow_mut().insert(uri, files);
        Ok(())
    }

    async fn fetch(&self, uri: &str, _files: Files<'_>) -> Result<FetchedBundle, Error> {
        tokio::task::yield_now().await;
        let files = self.files(uri).unwrap_or_default();
        let manifest = Self::manifest_of(uri, &files)?.ok_or_else(|| Error::BundleMissing {
            uri: uri.to_string(),
            reason: "there is no manifest.json there".into(),
        })?;
        // Checked as the S3 archive checks a download: the manifest, then each listed file.
        bundle::check_manifest(uri, &manifest)?;
        for (name, expected) in &manifest.files {
            let found = files.get(name).map(|bytes| bundle::bytes_entry(bytes));
            bundle::check_file(uri, name, expected, found.as_ref())?;
        }
        let tmp = tempfile::Builder::new()
            .prefix("tfgate-bundle-")
            .tempdir()
            .map_err(|e| Error::io("create", "a temporary folder", e))?;
        for name in manifest.files.keys() {
            let path = tmp.path().join(name);
            std::fs::write(&path, &files[name]).map_err(|e| Error::io("write", &path, e))?;
        }
        Ok(FetchedBundle::downloaded(tmp, manifest, uri.to_string()))
    }
}

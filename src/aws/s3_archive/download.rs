//! Downloads: a bundle's manifest first, checked for the bundle's layout, then every file it
//! lists, each checked against the manifest's size while it streams and its sha256 once it is
//! on disk, and written only into new files that only their owner may read (a bundle holds the
//! plan's secrets).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{S3Archive, S3Location, transfer_config};
use crate::archive::bundle::{self, MANIFEST, MAX_MANIFEST_BYTES, Manifest};
use crate::archive::store::Files;
use crate::aws::errors::is_missing_key;
use crate::aws::one_line_chain;
use crate::error::Error;

impl S3Archive {
    /// Downloads a bundle into `into` (an existing, empty, private folder) and verifies it as
    /// `bundle::verify` does a folder: the manifest first (names in the bundle's layout, the
    /// files of its kind listed), then every listed file against its sha256 and size. Only the
    /// files `files` keeps are written (0600); the others are hashed as they stream by. No
    /// manifest: `Error::BundleMissing`; a missing file or a bad manifest:
    /// `Error::BundleAltered`; a different file: `Error::ChecksumMismatch`.
    pub async fn download_bundle(
        &self,
        bundle: &S3Location,
        into: &Path,
        files: Files<'_>,
    ) -> Result<Manifest, Error> {
        if bundle.bucket != self.location.bucket {
            return Err(Error::usage(
                format!(
                    "{bundle} is not in the archive's bucket {}",
                    self.location.bucket
                ),
                "download it with a store connected to its own bucket (`wire::fetch_bundle`)",
            ));
        }
        let manifest_uri = format!("{bundle}/{MANIFEST}");
        let manifest_bytes = self
            .get_small(&bundle.key(MANIFEST), &manifest_uri)
            .await?
            .ok_or_else(|| Error::BundleMissing {
                uri: bundle.uri(),
                reason: "there is no manifest.json there: the upload did not finish, or the URI is wrong".into(),
            })?;
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| Error::BadManifest {
                path: PathBuf::from(&manifest_uri),
                message: e.to_string(),
            })?;
        let uri = bundle.uri();
        bundle::check_manifest(&uri, &manifest)?;
        for (name, expected) in &manifest.files {
            let path = files.keeps(name).then(|| into.join(name));
            let found = self
                .download_file(
                    &bundle.key(name),
                    bundle,
                    name,
                    path.as_deref(),
                    expected.size,
                )
                .await?;
            bundle::check_file(&uri, name, expected, found.as_ref())?;
        }
        let local_manifest = into.join(MANIFEST);
        write_private(&local_manifest, &manifest_bytes)
            .map_err(|e| Error::io("write", &local_manifest, e))?;
        Ok(manifest)
    }

    /// Streams one object through sha256, into `path` when given (a new 0600 file). `None` when
    /// the object is missing. An object longer than the manifest says is not the file that was
    /// archived: the download stops there and reports what it saw (which cannot match).
    async fn download_file(
        &self,
        key: &str,
        bundle: &S3Location,
        name: &str,
        path: Option<&Path>,
        size: u64,
    ) -> Result<Option<bundle::FileEntry>, Error> {
        use sha2::Digest;
        let uri = format!("{bundle}/{name}");
        let response = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .customize()
            .config_override(transfer_config())
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if is_missing_key(&e) => return Ok(None),
            Err(e) => return Err(self.error("download", &uri, &e)),
        };
        let mut body = response.body;
        let mut file = match path {
            Some(path) => Some(create_private(path).map_err(|e| Error::io("create", path, e))?),
            None => None,
        };
        let mut hasher = sha2::Sha256::new();
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| Error::Archive {
            action: "download",
            uri: uri.clone(),
            cause: one_line_chain(&e),
            hint: self.unreachable_hint(),
        })? {
            written += chunk.len() as u64;
            hasher.update(&chunk);
            if written > size {
                break;
            }
            if let (Some(file), Some(path)) = (file.as_mut(), path) {
                file.write_all(&chunk)
                    .map_err(|e| Error::io("write", path, e))?;
            }
        }
        if let (Some(file), Some(path)) = (file, path) {
            file.sync_all().map_err(|e| Error::io("write", path, e))?;
        }
        Ok(Some(bundle::FileEntry {
            sha256: hex::encode(hasher.finalize()),
            size: written,
        }))
    }

    /// A small object's bytes (a manifest); `None` when there is no such key.
    pub(super) async fn get_small(&self, key: &str, uri: &str) -> Result<Option<Vec<u8>>, Error> {
        let response = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if is_missing_key(&e) => return Ok(None),
            Err(e) => return Err(self.error("download", uri, &e)),
        };
        if response
            .content_length()
            .is_some_and(|n| u64::try_from(n).unwrap_or(0) > MAX_MANIFEST_BYTES)
        {
            return Err(Error::BadManifest {
                path: PathBuf::from(uri),
                message: format!("it is larger than {MAX_MANIFEST_BYTES} bytes"),
            });
        }
        let bytes = response.body.collect().await.map_err(|e| Error::Archive {
            action: "download",
            uri: uri.to_string(),
            cause: one_line_chain(&e),
            hint: self.unreachable_hint(),
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}

/// A new file only its owner may read (a downloaded bundle file holds the plan's secrets).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private(path)?.write_all(bytes)
}

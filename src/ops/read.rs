//! Reading a bundle from wherever it is: a bundle folder or an archived bundle's `s3://` URI,
//! fetched into a local folder and verified against its manifest before anything reads it.

use std::path::{Path, PathBuf};

use crate::archive::bundle;
use crate::archive::local;
use crate::archive::store::{FetchedBundle, Files};
use crate::aws::s3_archive::{Encryption, S3Archive, S3Location};
use crate::error::Error;
use crate::terraform::plan_file::{self, PlanBytes};

/// Fetches a bundle by folder path or `s3://` URI and verifies it as a whole (the one check
/// `show`, `diff`, `comment` and `apply` share, see `bundle::verify`), before anything reads
/// it. No manifest: `Error::BundleMissing`; a listed file missing, a kind's file not listed or a
/// name outside the bundle's layout: `Error::BundleAltered`; a file that differs:
/// `Error::ChecksumMismatch` (exit 4 all).
pub async fn fetch(source: &str, files: Files<'_>) -> Result<FetchedBundle, Error> {
    fetch_path(Path::new(source), files).await
}

/// `fetch` for a source given as a path (a folder, or an `s3://` URI spelled as a path).
pub async fn fetch_path(source: &Path, files: Files<'_>) -> Result<FetchedBundle, Error> {
    if let Some(uri) = source
        .to_str()
        .filter(|s| s.starts_with(S3Location::SCHEME))
    {
        let location = S3Location::parse(uri)?;
        let s3 = S3Archive::connect(location.clone(), Encryption::default()).await?;
        // A private folder (0700): the copy holds the plan's secrets.
        let tmp = tempfile::Builder::new()
            .prefix("tfgate-bundle-")
            .tempdir()
            .map_err(|e| Error::io("create", "a temporary folder", e))?;
        let manifest = s3.download_bundle(&location, tmp.path(), files).await?;
        return Ok(FetchedBundle::downloaded(tmp, manifest, location.uri()));
    }
    local::fetch_dir(source)
}

/// `plan.json` of a bundle (folder or `s3://` URI), after the whole bundle was verified, and
/// the name to show for it; for `tfgate show` and `tfgate diff`.
pub async fn fetch_plan_json(source: &Path) -> Result<(PlanBytes, PathBuf), Error> {
    let fetched = fetch_path(source, Files::Only(&[bundle::PLAN_JSON])).await?;
    let bytes = plan_file::read(&fetched.dir.join(bundle::PLAN_JSON))?;
    // The bytes stay readable after the temporary copy is removed (a mapped file lives on
    // until it is unmapped).
    let shown = if fetched.is_download() {
        PathBuf::from(format!(
            "{}/{}",
            fetched.source.trim_end_matches('/'),
            bundle::PLAN_JSON
        ))
    } else {
        fetched.dir.join(bundle::PLAN_JSON)
    };
    Ok((bytes, shown))
}

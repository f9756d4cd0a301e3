//! Reading a plan from any source, for `show`, `diff`, `comment` and `apply`: a plan JSON
//! file, a binary plan (through `terraform show -json`), a bundle folder or an archived
//! bundle's `s3://` URI. Bundles are fetched into a local folder and verified against their
//! manifest before anything reads them.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::archive::bundle;
use crate::archive::local;
use crate::archive::store::{FetchedBundle, Files};
use crate::aws::s3_archive::{Encryption, S3Archive, S3Location};
use crate::error::Error;
use crate::ops::plan::prepare_terraform;
use crate::plan::{self, Analysis};
use crate::settings::Common;
use crate::terraform::Stdout;
use crate::terraform::backend::data_dir;
use crate::terraform::plan_file::{self, PlanBytes};
use crate::ui::Ui;

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

/// Reads and analyzes a plan from any source `show` accepts.
pub async fn load(ui: &Ui, common: &Common, source: &Path) -> Result<Analysis, Error> {
    let (json, json_path) = read_plan_json(ui, common, source).await?;
    plan::analyze(&json).map_err(|kind| Error::PlanJson {
        path: json_path,
        kind,
    })
}

/// The plan JSON of any source `show` accepts, and the file it came from (`diff` reads both of
/// its plans through this too).
pub async fn read_plan_json(
    ui: &Ui,
    common: &Common,
    source: &Path,
) -> Result<(PlanBytes, PathBuf), Error> {
    // An archived bundle in S3: downloaded and verified as a whole.
    if source.to_str().is_some_and(|s| s.starts_with("s3://")) {
        return crate::ops::read::fetch_plan_json(source).await;
    }
    let meta = std::fs::metadata(source).map_err(|e| Error::io("read", source, e))?;
    if meta.is_dir() {
        return read_bundle(ui, source).await;
    }
    if is_zip(source)? {
        return binary_plan_json(ui, common, source).await;
    }
    Ok((plan_file::read(source)?, source.to_path_buf()))
}

/// A bundle folder: its `plan.json`, after verifying the whole bundle (`ops::read::fetch`). A
/// folder without a manifest is no bundle, only a folder holding a plan: read with a warning.
async fn read_bundle(ui: &Ui, dir: &Path) -> Result<(PlanBytes, PathBuf), Error> {
    let has_manifest = std::fs::symlink_metadata(dir.join(bundle::MANIFEST)).is_ok();
    if has_manifest {
        return crate::ops::read::fetch_plan_json(dir).await;
    }
    let json_path = dir.join(bundle::PLAN_JSON);
    if !json_path.is_file() {
        return Err(Error::UnknownPlanSource {
            path: dir.to_path_buf(),
        });
    }
    ui.warning(&format!(
        "{} has no manifest: the bundle is incomplete and its files are unchecked",
        dir.display()
    ));
    Ok((plan_file::read(&json_path)?, json_path))
}

/// A binary plan file (a zip archive), read with `terraform show -json` in the root.
async fn binary_plan_json(
    ui: &Ui,
    common: &Common,
    plan: &Path,
) -> Result<(PlanBytes, PathBuf), Error> {
    let root = common.root.dir()?;
    let plan_abs = std::fs::canonicalize(plan).map_err(|e| Error::io("resolve", plan, e))?;
    // terraform reads a saved plan only in an initialised root: a fresh checkout is
    // initialised first, with the same --init-arg values as plan and apply.
    let initialised = data_dir(&root, common.tf_data_dir.as_deref()).is_dir();
    let tf = prepare_terraform(ui, common, &root, !initialised).await?;
    let tmp =
        tempfile::NamedTempFile::new().map_err(|e| Error::io("create", "a temporary file", e))?;
    let args = vec![
        "show".to_string(),
        "-json".to_string(),
        plan_abs.display().to_string(),
    ];
    tf.run_ok(&args, Stdout::File(tmp.path().to_path_buf()), ui)
        .await?;
    let bytes = std::fs::read(tmp.path()).map_err(|e| Error::io("read", tmp.path(), e))?;
    Ok((PlanBytes::Read(bytes), plan.to_path_buf()))
}

fn is_zip(path: &Path) -> Result<bool, Error> {
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let n = f.read(&mut magic).map_err(|e| Error::io("read", path, e))?;
    Ok(n == 4 && magic == *b"PK\x03\x04")
}

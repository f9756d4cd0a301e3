//! Reading a plan from any source, for `show`, `diff`, `comment` and `apply`: a plan JSON
//! file, a binary plan (through `terraform show -json`), a bundle folder or an archived
//! bundle's `s3://` URI. Bundles are fetched into a local folder and verified against their
//! manifest before anything reads them (`Ports::fetch`).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::archive::bundle;
use crate::archive::store::Files;
use crate::error::Error;
use crate::ops::ports::Ports;
use crate::plan::Analysis;
use crate::settings::Common;
use crate::terraform::backend::data_dir;
use crate::terraform::plan_file::{self, PlanBytes};
use crate::terraform::{RunTerraform, Stdout};
use crate::ui::Ui;

/// `plan.json` of a bundle (folder or `s3://` URI), after the whole bundle was verified, and
/// the name to show for it; for `tfgate show` and `tfgate diff`.
pub async fn fetch_plan_json(
    ports: &impl Ports,
    source: &Path,
) -> Result<(PlanBytes, PathBuf), Error> {
    let fetched = ports
        .fetch(source, Files::Only(&[bundle::PLAN_JSON]))
        .await?;
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
pub async fn load(
    ui: &Ui,
    common: &Common,
    ports: &impl Ports,
    source: &Path,
) -> Result<Analysis, Error> {
    let (json, json_path) = read_plan_json(ui, common, ports, source).await?;
    json.analyze().map_err(|kind| Error::PlanJson {
        path: json_path,
        kind,
    })
}

/// The plan JSON of any source `show` accepts, and the file it came from (`diff` reads both of
/// its plans through this too).
pub async fn read_plan_json(
    ui: &Ui,
    common: &Common,
    ports: &impl Ports,
    source: &Path,
) -> Result<(PlanBytes, PathBuf), Error> {
    // An archived bundle in S3: downloaded and verified as a whole.
    if source.to_str().is_some_and(|s| s.starts_with("s3://")) {
        return fetch_plan_json(ports, source).await;
    }
    let meta = std::fs::metadata(source).map_err(|e| Error::io("read", source, e))?;
    if meta.is_dir() {
        return read_bundle(ui, ports, source).await;
    }
    if is_zip(source)? {
        return binary_plan_json(ui, common, ports, source).await;
    }
    Ok((plan_file::read(source)?, source.to_path_buf()))
}

/// A bundle folder: its `plan.json`, after verifying the whole bundle (`Ports::fetch`). A
/// folder without a manifest is no bundle, only a folder holding a plan: read with a warning.
async fn read_bundle(
    ui: &Ui,
    ports: &impl Ports,
    dir: &Path,
) -> Result<(PlanBytes, PathBuf), Error> {
    let has_manifest = std::fs::symlink_metadata(dir.join(bundle::MANIFEST)).is_ok();
    if has_manifest {
        return fetch_plan_json(ports, dir).await;
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
    ports: &impl Ports,
    plan: &Path,
) -> Result<(PlanBytes, PathBuf), Error> {
    let root = common.root.dir()?;
    let plan_abs = std::fs::canonicalize(plan).map_err(|e| Error::io("resolve", plan, e))?;
    // terraform reads a saved plan only in an initialised root: a fresh checkout is
    // initialised first, with the same --init-arg values as plan and apply.
    let initialised = data_dir(&root, common.tf_data_dir.as_deref()).is_dir();
    let tf = ports.terraform(ui, &root, !initialised).await?;
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

//! `tfgate show PLAN`: summarize a plan JSON file, a bundle folder or a binary plan.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::archive::bundle;
use crate::commands::plan::prepare_terraform;
use crate::error::{Error, Outcome};
use crate::plan::{self, Analysis};
use crate::render::comment::render_summary_markdown;
use crate::render::table::{self, TableOptions};
use crate::settings::Common;
use crate::settings::flags::Format;
use crate::terraform::Stdout;
use crate::terraform::backend::data_dir;
use crate::terraform::plan_file::{self, PlanBytes};
use crate::ui::Ui;

/// Summarize a plan: a plan JSON file, a bundle directory, or a binary plan file (read with
/// `terraform show -json` in the --chdir root, which must be initialised).
///
/// An archived bundle's s3://… URI (as `archive list` shows it) is downloaded and checked
/// against its manifest first.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan to summarize
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
}

pub async fn run(ui: &Ui, common: &Common, plan: &Path) -> Result<Outcome, Error> {
    let analysis = load(ui, common, plan).await?;
    ui.add_secrets(analysis.secrets.clone());
    let masker = ui.masker();
    let summary = &analysis.summary;
    let text = match common.format {
        Format::Human => table::summary_table(
            summary,
            &masker,
            &TableOptions {
                color: ui.color(),
                width: None,
            },
        ),
        Format::Markdown => {
            render_summary_markdown(summary, &common.root.name, common.workspace_name(), &masker)
        }
        Format::Json => serde_json::to_string_pretty(summary).expect("a summary always serializes"),
    };
    ui.result(&text);
    Ok(Outcome::Success)
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

//! `tfgate show PLAN`: summarize a plan JSON file, a bundle folder or a binary plan.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{Error, Outcome};
use crate::ops::read::load;
use crate::render::comment::render_summary_markdown;
use crate::render::table::{self, TableOptions};
use crate::settings::Common;
use crate::settings::flags::Format;
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
    let analysis = load(ui, common, &crate::wire::Wired::new(common, None), plan).await?;
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
        Format::Json => {
            // A large plan's JSON is some 20 MB: masked on the threads that write it, and
            // written without being joined into one string.
            ui.result_pieces(|each| crate::render::json::summary_pieces(summary, each));
            exit_without_freeing(analysis);
            return Ok(Outcome::Success);
        }
    };
    ui.result(&text);
    exit_without_freeing(analysis);
    Ok(Outcome::Success)
}

/// The summary is not freed: the process ends once it is written, and for a large plan its
/// hundreds of thousands of allocations would be freed one at a time first.
fn exit_without_freeing(analysis: crate::plan::Analysis) {
    std::mem::forget(analysis);
}

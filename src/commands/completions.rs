//! `tfgate completions SHELL` and `tfgate man`: generated from the clap definition, so they
//! always match `--help`.
//!
//! `man` prints the root page, or with `--dir` writes one page per command there: roff man
//! pages, or with `--markdown` the reference pages checked in under docs/reference/.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{Error, Outcome};
use crate::render::manual::{self, Page};
use crate::ui::Ui;

/// Print shell completions.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff), or write one page per command to a folder.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (tfgate.1, tfgate-plan.1, tfgate-lock-status.1, …) to DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Markdown reference pages (docs/reference/) instead of roff; needs --dir
    #[arg(long, requires = "dir")]
    pub markdown: bool,
}

/// `cli` is the whole command line's definition, which `cli.rs` assembles.
pub fn completions(
    ui: &Ui,
    mut cli: clap::Command,
    shell: clap_complete::Shell,
) -> Result<Outcome, Error> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli, "tfgate", &mut buf);
    ui.result(&String::from_utf8_lossy(&buf));
    Ok(Outcome::Success)
}

pub fn man(ui: &Ui, cli: clap::Command, args: &ManArgs) -> Result<Outcome, Error> {
    let pages = if args.markdown {
        manual::reference_pages(cli)
    } else {
        manual::man_pages(cli).map_err(|e| Error::io("render", "the man page", e))?
    };
    match &args.dir {
        None => ui.result(&pages[0].contents),
        Some(dir) => {
            write_pages(dir, &pages)?;
            ui.status(&format!("wrote {} pages to {}", pages.len(), dir.display()));
        }
    }
    Ok(Outcome::Success)
}

/// Writes the pages and removes pages of commands that no longer exist, so the folder is
/// exactly what the CLI generates.
fn write_pages(dir: &Path, pages: &[Page]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let generated_kind = name.starts_with("tfgate")
            && pages
                .iter()
                .any(|p| Path::new(&p.file_name).extension() == Path::new(&name).extension());
        if generated_kind && !pages.iter().any(|p| p.file_name == name) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", path, e))?;
        }
    }
    for page in pages {
        let path = dir.join(&page.file_name);
        std::fs::write(&path, &page.contents).map_err(|e| Error::io("write", path, e))?;
    }
    Ok(())
}

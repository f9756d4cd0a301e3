//! `tfgate completions SHELL` and `tfgate man`: generated from the clap definition, so they
//! always match `--help`.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Outcome};
use crate::ui::Ui;

pub fn completions(ui: &Ui, shell: clap_complete::Shell) -> Result<Outcome, Error> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tfgate", &mut buf);
    ui.result(&String::from_utf8_lossy(&buf));
    Ok(Outcome::Success)
}

pub fn man(ui: &Ui) -> Result<Outcome, Error> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::io("render", "the man page", e))?;
    ui.result(&String::from_utf8_lossy(&buf));
    Ok(Outcome::Success)
}

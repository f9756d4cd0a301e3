//! The command line, assembled: the global options (`settings::flags`) and one subcommand per
//! `commands/` module, each bringing its own `Args`. Nothing else lives here.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::settings::flags::GlobalArgs;

/// Plan, archive, review and apply Terraform from GitHub Actions, so that what reaches
/// production is exactly what was reviewed.
#[derive(Debug, Parser)]
#[command(
    name = "tfgate",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Plan(commands::plan::PlanArgs),
    Show(commands::show::ShowArgs),
    Apply(commands::apply::ApplyArgs),
    Diff(commands::diff::DiffArgs),
    Comment(commands::comment::CommentArgs),
    #[command(subcommand)]
    Queue(commands::queue::QueueCommand),
    #[command(subcommand)]
    Lock(commands::lock::LockCommand),
    #[command(subcommand)]
    Archive(commands::archive::ArchiveCommand),
    Completions(commands::completions::CompletionsArgs),
    Man(commands::completions::ManArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn passthrough_args_after_double_dash() {
        let cli = Cli::try_parse_from([
            "tfgate",
            "plan",
            "--chdir",
            "x",
            "--",
            "-var-file=prod.tfvars",
            "-refresh=false",
        ])
        .unwrap();
        let Command::Plan(p) = cli.command else {
            panic!("not plan")
        };
        assert_eq!(
            p.terraform_args,
            ["-var-file=prod.tfvars", "-refresh=false"]
        );
        assert_eq!(cli.global.chdir, Some(std::path::PathBuf::from("x")));
    }
}

//! The command line: global options and one `Args` struct per command (clap derive).
//!
//! Every option a workflow would set also reads a `TFGATE_*` variable. Options that
//! `.tfgate.toml` may also set are `Option`s here, so `settings` can tell "not given" from a
//! value and apply flag > env > file > default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ui::ColorChoice;

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

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The Terraform root: the directory holding its .tf files [default: .]
    #[arg(long, global = true, env = "TFGATE_CHDIR", value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// The terraform binary; OpenTofu's `tofu` works the same [default: terraform]
    #[arg(long, global = true, env = "TFGATE_TERRAFORM", value_name = "BIN")]
    pub terraform: Option<String>,

    /// Terraform workspace (passed to terraform as TF_WORKSPACE) [default: TF_WORKSPACE, else default]
    #[arg(long, global = true, env = "TFGATE_WORKSPACE", value_name = "NAME")]
    pub workspace: Option<String>,

    /// Output format where the output is data
    #[arg(long, global = true, env = "TFGATE_FORMAT", value_enum)]
    pub format: Option<Format>,

    /// An argument for `terraform init` (repeatable), e.g.
    /// --init-arg=-backend-config=prod.s3.tfbackend; `lock` reads its -backend-config values
    /// too. In TFGATE_INIT_ARGS, one argument per line
    #[arg(
        long = "init-arg",
        global = true,
        env = "TFGATE_INIT_ARGS",
        value_name = "ARG",
        value_delimiter = '\n',
        allow_hyphen_values = true,
        hide_env_values = true
    )]
    pub init_args: Vec<String>,

    /// Mask text matching this regular expression in all output (repeatable; adds to the
    /// values Terraform marks sensitive). In TFGATE_MASK, one pattern per line.
    #[arg(
        long = "mask",
        global = true,
        env = "TFGATE_MASK",
        value_name = "REGEX",
        value_delimiter = '\n',
        hide_env_values = true
    )]
    pub masks: Vec<String>,

    /// More detail on stderr (-vv: debug logs)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors and the result
    #[arg(short, long, global = true, env = "TFGATE_QUIET")]
    pub quiet: bool,

    /// Colour (honours NO_COLOR)
    #[arg(long, global = true, env = "TFGATE_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(flatten)]
    pub github: GithubArgs,

    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Where bundles are archived besides the root's .tfgate/archive/.
#[derive(Debug, Args)]
#[command(next_help_heading = "Archive")]
pub struct ArchiveArgs {
    /// Also upload every bundle to S3, under s3://BUCKET/PREFIX/OWNER/REPO/ROOT/WORKSPACE/…; `archive list` then lists S3
    #[arg(
        long,
        global = true,
        env = "TFGATE_ARCHIVE",
        value_name = "s3://BUCKET/PREFIX"
    )]
    pub archive: Option<String>,

    /// Encrypt archived objects with this KMS key (SSE-KMS) instead of SSE-S3
    #[arg(long, global = true, env = "TFGATE_KMS_KEY", value_name = "KEY_ARN")]
    pub kms_key: Option<String>,
}

/// Where the PR comment goes. Under GitHub Actions all of this comes from the workflow's
/// environment and event; the flags override it, or supply it anywhere else.
#[derive(Debug, Args)]
#[command(next_help_heading = "GitHub")]
pub struct GithubArgs {
    /// Repository [default: GITHUB_REPOSITORY]
    #[arg(long, global = true, env = "TFGATE_REPO", value_name = "OWNER/REPO")]
    pub repo: Option<String>,

    /// Pull request number [default: from the pull_request event]
    #[arg(long, global = true, env = "TFGATE_PR", value_name = "N")]
    pub pr: Option<u64>,

    /// The PR's head commit the plan is for [default: from the event, else asked of GitHub]
    #[arg(long, global = true, env = "TFGATE_HEAD_SHA", value_name = "SHA")]
    pub head_sha: Option<String>,

    /// Token for the GitHub API [default: GITHUB_TOKEN]
    #[arg(
        long,
        global = true,
        env = "TFGATE_GITHUB_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub github_token: Option<String>,

    /// GitHub API URL; for GitHub Enterprise Server https://HOST/api/v3 [default: GITHUB_API_URL, else https://api.github.com]
    #[arg(long, global = true, env = "TFGATE_GITHUB_API_URL", value_name = "URL")]
    pub github_api_url: Option<String>,

    /// The login tfgate's comments are written as, when GitHub will not tell (e.g. `my-app[bot]`
    /// for a GitHub App's token) [default: GET /user, else GraphQL's viewer, else
    /// github-actions[bot]]
    #[arg(
        long,
        global = true,
        env = "TFGATE_COMMENT_AUTHOR",
        value_name = "LOGIN"
    )]
    pub comment_author: Option<String>,

    /// How long each step that talks to GitHub may take in all, retries included (posting the
    /// comment; apply's lookups and its status update) [default: 60s]
    #[arg(
        long,
        global = true,
        env = "TFGATE_GITHUB_TIMEOUT",
        value_name = "DURATION",
        value_parser = crate::duration::parse_duration
    )]
    pub github_timeout: Option<std::time::Duration>,
}

/// `--ignore`, for the commands that compare two plans (`apply`, `diff`).
#[derive(Debug, Clone, Default, Args)]
pub struct IgnoreArgs {
    /// Drop expected differences: ADDRESS_GLOB[:ATTRIBUTE_PATH], e.g.
    /// 'module.app.aws_instance.*:tags.LastSeen' (repeatable; adds to `ignore` in
    /// .tfgate.toml). In TFGATE_IGNORE, one rule per line.
    #[arg(
        long = "ignore",
        env = "TFGATE_IGNORE",
        value_name = "RULE",
        value_delimiter = '\n'
    )]
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Human,
    Markdown,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Plan(PlanArgs),
    Show(ShowArgs),
    Apply(crate::commands::apply::ApplyArgs),
    Diff(crate::commands::diff::DiffArgs),
    Comment(CommentArgs),
    #[command(subcommand)]
    Queue(crate::commands::queue::QueueCommand),
    #[command(subcommand)]
    Lock(crate::commands::lock::LockCommand),
    #[command(subcommand)]
    Archive(crate::commands::archive::ArchiveCommand),
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// Plan the root, archive the plan, and render the PR comment.
///
/// Runs `terraform init` (unless --no-init), `terraform plan -out`, `show -json` and `show`,
/// streaming terraform's output. Prints a summary, writes a bundle (binary plan, JSON, text,
/// summary, comment, manifest) under .tfgate/archive/ in the root, and under GitHub Actions
/// writes the step summary and step outputs.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Skip `terraform init`
    #[arg(long, env = "TFGATE_NO_INIT")]
    pub no_init: bool,

    /// Exit 2 when the plan has changes (like terraform's own flag)
    #[arg(long, env = "TFGATE_DETAILED_EXITCODE")]
    pub detailed_exitcode: bool,

    /// How long terraform waits for the state lock [default: 5m]
    #[arg(long, env = "TFGATE_LOCK_TIMEOUT", value_name = "DURATION")]
    pub lock_timeout: Option<String>,

    /// Fail (exit 1) when the PR comment cannot be posted, instead of warning
    #[arg(long, env = "TFGATE_REQUIRE_COMMENT")]
    pub require_comment: bool,

    /// Under GitHub Actions without an S3 archive: the workflow uploads the bundle folder (step
    /// output `bundle`) with actions/upload-artifact under this name, and the apply job
    /// downloads it from there [default: tfgate-ROOT-WORKSPACE, with a warning that the upload
    /// step is needed]
    #[arg(long, env = "TFGATE_ARTIFACT_NAME", value_name = "NAME")]
    pub artifact_name: Option<String>,

    /// Arguments passed to `terraform plan`, after `--` (e.g. -- -var-file=prod.tfvars)
    #[arg(last = true, value_name = "TERRAFORM_ARGS")]
    pub terraform_args: Vec<String>,
}

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

/// Post (or update) the PR comment of an existing bundle.
///
/// For workflows that plan with a read-only token (pull requests from forks) and comment from
/// a separate job that may write. The bundle is verified against its manifest (exit 4 when it
/// was altered) and its comment is rendered again from its plan, so pass the same --mask
/// patterns as to `tfgate plan` (or keep them in .tfgate.toml). Makes no write when the
/// comment already says the same.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The plan bundle: a folder, or an archived bundle's s3://… URI
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
}

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
        assert_eq!(cli.global.chdir, Some(PathBuf::from("x")));
    }
}

//! The options every command shares (global flags), and `--ignore`, which two commands share.
//!
//! Every option a workflow would set also reads a `TFGATE_*` variable. Options that
//! `.tfgate.toml` may also set are `Option`s here, so `settings` can tell "not given" from a
//! value and apply flag > env > file > default.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::ui::ColorChoice;

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

/// `--comment` (`comment` in `.tfgate.toml`): when `plan` writes the PR comment, and whether
/// `apply` looks for the reviewed plan through it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentMode {
    /// Every plan updates (or posts) the comment.
    #[default]
    Always,
    /// Only a plan with changes posts a comment; a plan without changes updates the comment
    /// posted earlier, if there is one, and posts none.
    Changes,
    /// No comment is read or written; `apply` needs `--reviewed`.
    Never,
}

impl CommentMode {
    /// The words `--comment` takes.
    pub const WORDS: [&str; 3] = ["always", "changes", "never"];

    pub fn parse(text: &str) -> Option<CommentMode> {
        match text.trim() {
            "always" => Some(CommentMode::Always),
            "changes" => Some(CommentMode::Changes),
            "never" => Some(CommentMode::Never),
            _ => None,
        }
    }
}

/// Where the queue lives, when not in the backend's own lock table.
#[derive(Debug, Clone, Default, Args)]
pub struct QueueTableArg {
    /// The DynamoDB table of the apply queue (its key must be the string `LockID`, as in a
    /// Terraform lock table) [default: the s3 backend's dynamodb_table, else a file in the root]
    #[arg(long, env = "TFGATE_QUEUE_TABLE", value_name = "TABLE")]
    pub queue_table: Option<String>,
}

/// `apply --on-drift`: what to do when the fresh plan differs from the reviewed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDrift {
    Fail,
    Warn,
}

//! `tfgate plan`: its arguments, resolved into the plan's settings, and one call to
//! `ops::plan::run`.

use std::path::PathBuf;

use clap::Args;

use crate::context::{Context, Env};
use crate::error::{Error, Outcome};
use crate::ops::plan::PlanOptions;
use crate::settings::{
    CheckLevel, Common, DEFAULT_LOCK_TIMEOUT, FileSettings, GithubSettings, PlanSettings,
};
use crate::ui::Ui;

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

    /// When to comment on the PR: always; changes (only a plan with changes posts a comment, a
    /// plan without updates the comment an earlier plan posted, if any, to say so); never (no
    /// comment is read or written: apply then needs --reviewed) [default: always]
    #[arg(long, env = "TFGATE_COMMENT", value_name = "always|changes|never")]
    pub comment: Option<String>,

    /// Under GitHub Actions without an S3 archive: the workflow uploads the bundle folder (step
    /// output `bundle`) with actions/upload-artifact under this name, and the apply job
    /// downloads it from there [default: tfgate-ROOT-WORKSPACE, with a warning that the upload
    /// step is needed]
    #[arg(long, env = "TFGATE_ARTIFACT_NAME", value_name = "NAME")]
    pub artifact_name: Option<String>,

    /// A code checker's SARIF 2.1.0 file (tflint, checkov, …; repeatable): the PR comment and
    /// the step summary show its findings in a "Checks" section. A file that is missing or not
    /// SARIF is a warning. In TFGATE_CHECKS, one file per line
    #[arg(
        long = "checks",
        env = "TFGATE_CHECKS",
        value_name = "FILE",
        value_delimiter = '\n'
    )]
    pub checks: Vec<String>,

    /// Fail the plan (exit 1, after the comment is posted and the bundle archived) when a
    /// --checks finding that is not suppressed is at or above this level; otherwise findings
    /// never change the exit code
    #[arg(long, env = "TFGATE_FAIL_ON_CHECKS", value_name = "LEVEL")]
    pub fail_on_checks: Option<CheckLevel>,

    /// Label the pull request tfgate:changes (and tfgate:destroy when something is deleted or
    /// replaced) or tfgate:no-changes, from the plans of all its roots, and remove those labels
    /// when they no longer hold. Needs `pull-requests: write` (and `issues: write` to create
    /// the labels on first use)
    #[arg(long, env = "TFGATE_LABELS")]
    pub labels: bool,

    /// Arguments passed to `terraform plan`, after `--` (e.g. -- -var-file=prod.tfvars)
    #[arg(last = true, value_name = "TERRAFORM_ARGS")]
    pub terraform_args: Vec<String>,
}

impl PlanArgs {
    /// The plan's settings: these flags > `TFGATE_*` > `.tfgate.toml` > default.
    pub fn settings(&self, file: &FileSettings, env: &Env) -> Result<PlanSettings, Error> {
        let args = self;
        // clap folds flag and env into one bool; an env var that is set decides even when false.
        let bool_setting = |flag: bool, var: &str, from_file: Option<bool>| {
            if flag || env.get(var).is_some() {
                flag
            } else {
                from_file.unwrap_or(false)
            }
        };
        Ok(PlanSettings {
            require_comment: args.require_comment,
            comment: crate::settings::resolve_comment(args.comment.as_deref(), file)?,
            init: !bool_setting(args.no_init, "TFGATE_NO_INIT", file.init.map(|i| !i)),
            detailed_exitcode: bool_setting(
                args.detailed_exitcode,
                "TFGATE_DETAILED_EXITCODE",
                file.detailed_exitcode,
            ),
            lock_timeout: args
                .lock_timeout
                .clone()
                .or_else(|| file.lock_timeout.clone())
                .unwrap_or_else(|| DEFAULT_LOCK_TIMEOUT.to_string()),
            terraform_args: args.terraform_args.clone(),
            artifact_name: args.artifact_name.clone().filter(|n| !n.trim().is_empty()),
            checks: checks(&args.checks, file),
            fail_on_checks: args.fail_on_checks.or(file.fail_on_checks),
            labels: bool_setting(args.labels, "TFGATE_LABELS", file.labels),
        })
    }
}

/// The command line's SARIF files replace the file's (an empty `TFGATE_CHECKS` line is no
/// file); the file's are relative to the folder it is in.
fn checks(given: &[String], file: &FileSettings) -> Vec<PathBuf> {
    let given: Vec<PathBuf> = given
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from)
        .collect();
    if !given.is_empty() {
        return given;
    }
    let dir = file.dir.clone().unwrap_or_default();
    file.checks
        .iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .map(|p| dir.join(p))
        .collect()
}

/// What the command needs besides its arguments.
pub struct Inputs<'a> {
    pub common: &'a Common,
    pub file: &'a FileSettings,
    pub ctx: &'a Context,
    pub env: &'a Env,
    pub github: &'a GithubSettings,
}

pub async fn run(ui: &Ui, args: &PlanArgs, inputs: &Inputs<'_>) -> Result<Outcome, Error> {
    let plan = args.settings(inputs.file, inputs.env)?;
    let opts = PlanOptions {
        common: inputs.common,
        plan: &plan,
        ctx: inputs.ctx,
        github: inputs.github,
    };
    let ports = crate::wire::Wired::new(inputs.common, Some(inputs.github));
    crate::ops::plan::run(ui, &opts, &ports).await
}

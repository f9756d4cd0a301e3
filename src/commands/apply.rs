//! `tfgate apply`: its arguments, resolved into the apply's options, and one call to
//! `ops::apply::run`.

use std::time::Duration;

use crate::archive::artifact;
use crate::context::Context;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome};
use crate::ops::apply::ApplyOptions;
use crate::settings::flags::OnDrift;
use crate::settings::{self, Common, FileSettings, GithubSettings};
use crate::ui::Ui;

/// Apply exactly what was reviewed on the pull request.
///
/// Finds the reviewed plan (--reviewed, or through the merged PR's tfgate comment), checks
/// that the PR did not move after it was planned, re-plans now, compares the two plans, and
/// applies the fresh saved plan only if they match. Otherwise it refuses (exit 3) and reports
/// exactly what changed, on the terminal, in the step summary and on the PR.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The reviewed plan: a bundle folder [default: found through the merged PR's comment]
    #[arg(long, env = "TFGATE_REVIEWED", value_name = "BUNDLE")]
    pub reviewed: Option<String>,

    /// The plan's comment setting: with never, the PR comment is neither read nor written, so
    /// --reviewed is needed; with always or changes, the reviewed plan is found through it
    /// [default: always]
    #[arg(long, env = "TFGATE_COMMENT", value_name = "always|changes|never")]
    pub comment: Option<String>,

    #[command(flatten)]
    pub ignore: crate::settings::flags::IgnoreArgs,

    /// When the fresh plan differs from the reviewed one: refuse (fail), or apply anyway and
    /// say so loudly (warn)
    #[arg(long, env = "TFGATE_ON_DRIFT", value_enum, default_value_t = OnDrift::Fail)]
    pub on_drift: OnDrift,

    /// Skip `terraform init`
    #[arg(long, env = "TFGATE_NO_INIT")]
    pub no_init: bool,

    /// How long terraform waits for the state lock [default: 5m]
    #[arg(long, env = "TFGATE_LOCK_TIMEOUT", value_name = "DURATION")]
    pub lock_timeout: Option<String>,

    #[command(flatten)]
    pub queue: crate::settings::flags::QueueTableArg,

    /// Give up waiting in the apply queue after this long (e.g. 30m, 2h), exit 5 [default:
    /// wait as long as it takes]
    #[arg(long, env = "TFGATE_QUEUE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub queue_timeout: Option<Duration>,

    /// How long a run that stops renewing its place in the queue (a dead runner) blocks the
    /// others at most; renewed every third of it [default: 3m]
    #[arg(long, env = "TFGATE_QUEUE_LEASE", value_name = "DURATION", value_parser = parse_duration)]
    pub queue_lease: Option<Duration>,

    /// The largest reviewed plan accepted from a workflow artifact, unpacked (e.g. 4GiB, 500MiB)
    /// [default: 2GiB]
    #[arg(long, env = "TFGATE_MAX_ARTIFACT_SIZE", value_name = "SIZE", value_parser = artifact::parse_size)]
    pub max_artifact_size: Option<u64>,

    /// Arguments passed to `terraform plan`, after `--` (the same as on the PR)
    #[arg(last = true, value_name = "TERRAFORM_ARGS")]
    pub terraform_args: Vec<String>,
}

impl ApplyArgs {
    /// The settings `.tfgate.toml` may also hold, as given here.
    pub fn flags(&self) -> crate::settings::ApplyFlags<'_> {
        crate::settings::ApplyFlags {
            ignore: &self.ignore.rules,
            lock_timeout: self.lock_timeout.as_deref(),
            queue_lease: self.queue_lease,
            queue_timeout: self.queue_timeout,
        }
    }
}

/// `tfgate apply`: flags > `TFGATE_*` > `.tfgate.toml` > defaults, then the workflow.
pub async fn run(
    ui: &Ui,
    args: &ApplyArgs,
    common: &Common,
    file: &FileSettings,
    ctx: &Context,
    github: &GithubSettings,
) -> Result<Outcome, Error> {
    let resolved = settings::resolve_apply(args.flags(), file, common.file.as_deref())?;
    let opts = ApplyOptions {
        common,
        ctx,
        github,
        reviewed: args.reviewed.clone(),
        comment: settings::resolve_comment(args.comment.as_deref(), file)?,
        on_drift: args.on_drift,
        init: !args.no_init,
        queue_table: args.queue.queue_table.clone(),
        max_artifact_size: args.max_artifact_size,
        terraform_args: args.terraform_args.clone(),
        ignore: resolved.ignore,
        lock_timeout: resolved.lock_timeout,
        queue_lease: resolved.queue_lease,
        queue_timeout: resolved.queue_timeout,
    };
    let ports = crate::wire::Wired::new(common, Some(github));
    crate::ops::apply::run(ui, &opts, &ports).await
}

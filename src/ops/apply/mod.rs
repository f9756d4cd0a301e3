//! Applying the reviewed plan, the workflow of `tfgate apply`: find the reviewed plan, re-plan
//! now, compare, and apply only what was reviewed.
//!
//! - The reviewed plan: `--reviewed BUNDLE`, or, on a push to the default branch, the merged
//!   PR's tfgate comment for this root and workspace → the place its marker names: an S3
//!   bundle (whose archive then also takes the apply bundle, with no `--archive` needed), or a
//!   workflow artifact of the plan's run, downloaded through GitHub's API. Its checksums are
//!   verified before it is trusted, and its fingerprint must be the one the comment shows.
//! - Stale check: the PR's head at merge must be the head the plan was made for.
//! - Re-plan, compare, then apply the fresh saved plan (never an unsaved apply) or refuse. The
//!   apply queue wraps exactly these steps (`decide_and_apply`).
//! - The PR comment's status and an apply bundle (both plans, the report, `apply.log`).
//! - Every way out, errors included, leaves a trace (`conclude`): the step outputs `verdict`,
//!   `failure_reason`, `comment_url`, `bundle` and `archive`, and for a run that stopped before
//!   a verdict (a stale or missing plan, a failed lookup), the step summary and, when tfgate's
//!   comment is known, its status, with the reason and the run's link.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};

use crate::actions;
use crate::archive::artifact;
use crate::archive::bundle::{self, BundleKind, Manifest, Origin};
use crate::archive::local::{self, BundleWriter};
use crate::archive::location::S3Location;
use crate::archive::store::{BundleAddress, BundleStore, Files, RootAddress};
use crate::context::Context;
use crate::duration::seconds_words as duration_words;
use crate::error::{ArtifactProblem, Error, Outcome};
use crate::github::marker::{ArtifactRef, CommentMeta, CommentStatus};
use crate::github::{Artifacts, CommentTarget, PullRequest, PullRequests};
use crate::ops::comment::{self as pr_comment};
use crate::ops::plan::{FreshPlan, args, bundle_id, mask_known_variables, plan_into_bundle};
use crate::ops::ports::Ports;
use crate::ops::queue::Holding;
use crate::plan::compare::{self, CompareOptions, Comparison, IgnoreRule};
use crate::queue::doc::Applied;
use crate::queue::store::QueueStore;
use crate::queue::{self, QueueOptions, TicketInfo, ancestry};
use crate::render::markdown as md;
use crate::render::report::{self, ReportOptions};
use crate::render::table::TableOptions;
use crate::settings::flags::{CommentMode, OnDrift};
use crate::settings::{Common, GithubSettings};
use crate::terraform::{RunTerraform, Stdout};
use crate::ui::Ui;

mod conclude;
mod find;
mod replan;
mod unreviewed;

use conclude::*;
use find::*;
use replan::*;

/// Room for the comparison report in the PR comment (which is capped at 60,000 bytes).
const REPORT_BYTES: usize = 30_000;

/// Everything `apply` needs, resolved.
pub struct ApplyOptions<'a> {
    pub common: &'a Common,
    pub ctx: &'a Context,
    pub github: &'a GithubSettings,
    /// `--reviewed`: the reviewed bundle, instead of the merged PR's comment.
    pub reviewed: Option<String>,
    /// `--comment`: with `never`, the PR comment is neither read nor written.
    pub comment: CommentMode,
    pub on_drift: OnDrift,
    /// Run `terraform init` first (no `--no-init`).
    pub init: bool,
    /// `--queue-table`.
    pub queue_table: Option<String>,
    /// `--max-artifact-size`.
    pub max_artifact_size: Option<u64>,
    /// Arguments for `terraform plan`, after `--`.
    pub terraform_args: Vec<String>,
    /// `.tfgate.toml`'s rules, then `--ignore`'s.
    pub ignore: Vec<IgnoreRule>,
    pub lock_timeout: String,
    pub queue_lease: Duration,
    pub queue_timeout: Option<Duration>,
}

/// What happened, for the comment, the manifest and the exit code.
enum Verdict {
    Applied {
        seconds: u64,
        despite_drift: bool,
    },
    Refused,
    Failed {
        tail: String,
    },
    /// Right before `terraform apply`, this run turned out not to hold the apply queue (any
    /// more, or not for certain): nothing was applied.
    QueueLost(Error),
}

pub async fn run(ui: &Ui, opts: &ApplyOptions<'_>, ports: &impl Ports) -> Result<Outcome, Error> {
    let trace = RefCell::new(Trace::default());
    let (client, result) = match ports.pull_requests() {
        Ok(client) => {
            let result = apply(ui, opts, ports, client, &trace).await;
            (client, result)
        }
        Err(e) => (
            None,
            Err(Error::usage(e.to_string(), "check --github-api-url")),
        ),
    };
    let concluded = conclude(ui, opts, client, trace.into_inner(), &result).await;
    match (result, concluded) {
        (Ok(outcome), Ok(())) => Ok(outcome),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(also)) => {
            ui.warning(&format!("could not report the outcome: {also}"));
            Err(e)
        }
    }
}

/// Everything from the reviewed plan to the end of the apply; `trace` keeps what `conclude`
/// needs to report any way out of it.
async fn apply<W: Ports>(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    ports: &W,
    client: Option<&W::Pulls>,
    trace: &RefCell<Trace>,
) -> Result<Outcome, Error> {
    check_settings(opts)?;
    // Checked before anything runs: a bad archive setting should not surface after an apply.
    let s3 = ports.archive().await?;
    // Each step that talks to GitHub has its own deadline (--github-timeout).
    let step = |c: &W::Pulls| c.step(opts.github.timeout);
    trace.borrow_mut().phase = Phase::Lookup;
    let lookup = client.map(step);
    let pr = match &lookup {
        Some(c) => merged_pr(ui, opts, c).await?,
        None => None,
    };
    trace.borrow_mut().target = pr
        .as_ref()
        .filter(|_| opts.comment != CommentMode::Never)
        .map(|(owner, repo, pull)| target_of(opts, owner, repo, pull.number));
    let reviewed = match find_reviewed(ui, opts, ports, lookup.as_ref(), pr, trace).await? {
        Found::Reviewed(reviewed) => *reviewed,
        Found::Nothing(pr) => return unreviewed::replan_only(ui, opts, ports, pr, trace).await,
    };
    check_same_root(opts, &reviewed)?;
    check_not_stale(&reviewed)?;
    trace.borrow_mut().phase = Phase::Work;
    ui.status(&format!("tfgate: reviewed plan {}", reviewed.location));
    let s3 = archive_of_reviewed(ports, s3, &reviewed).await?;

    // The apply queue wraps everything from the re-plan to the end of the apply.
    let (root, tf, store) = prepare(ui, opts, ports).await?;
    let pr_number = reviewed.pr.as_ref().map(|p| p.pull.number);
    let holding = join_queue(ui, opts, &store, pr_number).await?;
    let lookup = client.map(step);
    let outcome = match superseded_by(opts, lookup.as_ref(), &root, &holding).await {
        Err(e) => Err(e),
        Ok(Some(last)) => report_superseded(ui, opts, client, &reviewed, &last, trace).await,
        Ok(None) => {
            let work = Work::<W> {
                opts,
                client,
                s3: s3.as_ref(),
                reviewed: &reviewed,
                rules: &opts.ignore,
                root: &root,
                tf: &tf,
                holding: &holding,
                trace,
            };
            tokio::select! {
                r = decide_and_apply(ui, &work) => r,
                never = holding.heartbeat() => match never {},
            }
        }
    };
    // Only an apply records its commit as the last applied (a refusal, a failure or a skip
    // does not).
    let applied = match (&outcome, &opts.ctx.sha) {
        (Ok(Finished::Applied), Some(sha)) => Some(sha.as_str()),
        _ => None,
    };
    holding.release(applied).await;
    outcome.map(Finished::outcome)
}

/// The root, terraform ready to plan in it (with the values of the root's sensitive variables
/// masked before it runs) and the apply queue of its state: what every way into the queue,
/// with a reviewed plan or without, starts from.
async fn prepare<W: Ports>(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    ports: &W,
) -> Result<(PathBuf, W::Terraform, W::Queue), Error> {
    let common = opts.common;
    let root = common.root.dir()?;
    mask_known_variables(ui, &root, &opts.terraform_args, opts.ctx);
    let tf = ports.terraform(ui, &root, opts.init).await?;
    let table = opts
        .queue_table
        .as_deref()
        .or(common.queue_table.as_deref());
    let store = ports.queue(ui, &root, table, true).await?;
    Ok((root, tf, store))
}

/// Settings that cannot work, refused before anything runs: `--comment never` without
/// `--reviewed` (no comment names the reviewed plan), a lease too short to hold.
fn check_settings(opts: &ApplyOptions<'_>) -> Result<(), Error> {
    if opts.comment == CommentMode::Never && opts.reviewed.is_none() {
        return Err(missing(
            "no reviewed plan: with --comment never (TFGATE_COMMENT, or comment in .tfgate.toml) no PR comment names it, so apply needs --reviewed BUNDLE".into(),
        ));
    }
    if opts.queue_lease < queue::MIN_LEASE {
        return Err(Error::usage(
            format!(
                "--queue-lease {}s is too short",
                opts.queue_lease.as_secs_f64()
            ),
            format!(
                "a lease must outlast a few polls of the queue (one a second): give at least {}s; the default is 3m",
                queue::MIN_LEASE.as_secs()
            ),
        ));
    }
    Ok(())
}

/// `--archive` on the plan is enough: the apply bundle goes where the reviewed one is.
async fn archive_of_reviewed<W: Ports>(
    ports: &W,
    s3: Option<W::Archive>,
    reviewed: &Reviewed,
) -> Result<Option<W::Archive>, Error> {
    Ok(match (s3, &reviewed.archive) {
        (None, Some(location)) => Some(ports.archive_at(location).await?),
        (s3, _) => s3,
    })
}

/// Takes a ticket in the apply queue and waits for this run's turn.
async fn join_queue<'s, Q: QueueStore>(
    ui: &'s Ui,
    opts: &ApplyOptions<'_>,
    store: &'s Q,
    pr: Option<u64>,
) -> Result<Holding<'s, Q>, Error> {
    let info = TicketInfo {
        commit: opts.ctx.sha.clone(),
        pr,
        run_url: opts.ctx.run_url.clone(),
        who: crate::context::runner_identity(),
    };
    let queue_opts = QueueOptions {
        lease: opts.queue_lease,
        timeout: opts.queue_timeout,
    };
    crate::ops::queue::wait_turn(ui, store, &info, &queue_opts).await
}

/// How a run inside the queue ended.
enum Finished {
    Applied,
    /// Refused, or skipped as superseded.
    Other(Outcome),
}

impl Finished {
    fn outcome(self) -> Outcome {
        match self {
            Finished::Applied => Outcome::Success,
            Finished::Other(o) => o,
        }
    }
}

/// The last applied commit, when it already contains this run's commit.
async fn superseded_by(
    opts: &ApplyOptions<'_>,
    client: Option<&impl PullRequests>,
    root: &std::path::Path,
    holding: &Holding<'_, impl QueueStore>,
) -> Result<Option<Applied>, Error> {
    let (Some(commit), Some(last)) = (&opts.ctx.sha, &holding.last_applied) else {
        return Ok(None);
    };
    let github = match (client, &opts.github.repository) {
        (Some(client), Some((owner, repo))) => Some(ancestry::GitHubRepo {
            client,
            owner,
            repo,
        }),
        _ => None,
    };
    let (ancestor, _) = ancestry::is_ancestor(root, commit, &last.commit, github).await?;
    Ok(ancestor.then(|| last.clone()))
}

/// Skips an apply whose commit is already in production: says so on the terminal, in the step
/// summary and on the PR. Applying it would roll production back.
async fn report_superseded(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    client: Option<&impl PullRequests>,
    reviewed: &Reviewed,
    last: &Applied,
    trace: &RefCell<Trace>,
) -> Result<Finished, Error> {
    let commit = opts.ctx.sha.as_deref().unwrap_or_default();
    let pr = last.pr.map(|p| format!(" (#{p})")).unwrap_or_default();
    let at = last.at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let run = opts
        .ctx
        .run_url
        .as_deref()
        .map(|u| format!(" ([run]({u}))"))
        .unwrap_or_default();
    if last.commit == commit {
        // A re-run of an apply that succeeded: the PR comment already says "applied".
        let line = format!("{commit} was applied at {at}{pr}; already applied, nothing to do");
        ui.status(&format!("tfgate: {line}"));
        if let Some(path) = &opts.ctx.step_summary {
            actions::append_step_summary(
                path,
                &format!(
                    "### tfgate apply: already applied\n\n`{commit}` was applied at {at}{run}; nothing was applied again.\n"
                ),
            )?;
        }
        trace.borrow_mut().reported = Some((StepVerdict::AlreadyApplied, String::new()));
        return Ok(Finished::Other(Outcome::Success));
    }
    let detail = format!(
        "Superseded by `{}`{pr}, applied at {at}, which already contains this commit; nothing was applied{run}.\n",
        last.commit
    );
    ui.status(&format!(
        "tfgate: not applying {commit}: superseded by {}{pr}, applied at {at}, which already contains it",
        last.commit
    ));
    if let Some(path) = &opts.ctx.step_summary {
        actions::append_step_summary(path, &format!("### tfgate apply: superseded\n\n{detail}"))?;
    }
    if let (Some(target), Some(client)) = (comment_target(opts, reviewed), client) {
        match client
            .step(opts.github.timeout)
            .set_status(&target, CommentStatus::Superseded, &detail)
            .await
        {
            Ok(done) => trace.borrow_mut().comment = Some(done.id()),
            Err(e) => ui.warning(&format!("could not update the PR comment's status: {e}")),
        }
    }
    trace.borrow_mut().reported = Some((StepVerdict::Superseded, String::new()));
    Ok(Finished::Other(Outcome::Success))
}

/// The reviewed PR's comment to write the status into; none with `--comment never`.
fn comment_target(opts: &ApplyOptions<'_>, reviewed: &Reviewed) -> Option<CommentTarget> {
    let pr = reviewed.pr.as_ref()?;
    (opts.comment != CommentMode::Never)
        .then(|| target_of(opts, &pr.owner, &pr.repo, pr.pull.number))
}

/// tfgate's comment for this root and workspace on pull request `owner/repo#pr`.
fn target_of(opts: &ApplyOptions<'_>, owner: &str, repo: &str, pr: u64) -> CommentTarget {
    CommentTarget {
        owner: owner.to_string(),
        repo: repo.to_string(),
        pr,
        root: opts.common.root.name.clone(),
        workspace: opts.common.workspace_name().to_string(),
    }
}

/// What the steps inside the queue work on.
struct Work<'a, W: Ports> {
    opts: &'a ApplyOptions<'a>,
    client: Option<&'a W::Pulls>,
    s3: Option<&'a W::Archive>,
    reviewed: &'a Reviewed,
    rules: &'a [IgnoreRule],
    root: &'a std::path::Path,
    tf: &'a W::Terraform,
    holding: &'a Holding<'a, W::Queue>,
    trace: &'a RefCell<Trace>,
}

/// Re-plan, compare, apply or refuse, report, archive.
async fn decide_and_apply<W: Ports>(ui: &Ui, w: &Work<'_, W>) -> Result<Finished, Error> {
    let (opts, reviewed) = (w.opts, w.reviewed);
    let common = opts.common;
    let created = Utc::now();
    let id = bundle_id(created, BundleKind::Apply);
    let scope = match (&reviewed.pr, &opts.ctx.sha) {
        (Some(pr), _) => format!("pr-{}", pr.pull.number),
        (None, Some(sha)) => format!("commit-{sha}"),
        (None, None) => "local".to_string(),
    };
    let mut bundle = BundleWriter::create(
        &local::default_archive_dir(w.root),
        common.workspace_name(),
        &scope,
        &id,
    )?;
    let result = apply_into_bundle(ui, w, &mut bundle, created).await;
    match result {
        Ok((outcome, manifest)) => {
            let dir = bundle.finish(manifest)?;
            ui.status(&format!(
                "tfgate: apply bundle written to {}",
                dir.display()
            ));
            w.trace.borrow_mut().bundle = Some(dir.clone());
            if let Some(s3) = w.s3 {
                let repository = reviewed
                    .pr
                    .as_ref()
                    .map(|p| (p.owner.as_str(), p.repo.as_str()))
                    .or(opts
                        .github
                        .repository
                        .as_ref()
                        .map(|(o, r)| (o.as_str(), r.as_str())));
                let at = RootAddress::new(repository, &common.root.name, common.workspace_name());
                let addr = BundleAddress::new(at, &scope, &id);
                ui.status(&format!(
                    "tfgate: uploading the apply bundle to {}",
                    s3.bundle_uri(&addr)
                ));
                s3.upload(&dir, &addr).await?;
                w.trace.borrow_mut().archive = Some(s3.bundle_uri(&addr));
            }
            outcome
        }
        Err(e) => {
            bundle.abandon();
            Err(e)
        }
    }
}

async fn apply_into_bundle<W: Ports>(
    ui: &Ui,
    w: &Work<'_, W>,
    bundle: &mut BundleWriter,
    created: chrono::DateTime<Utc>,
) -> Result<(Result<Finished, Error>, Manifest), Error> {
    let (opts, tf) = (w.opts, w.tf);
    let compared = compare_with_reviewed(ui, w, bundle).await?;
    let drifted = !compared.comparison.identical;
    let verdict = if drifted && opts.on_drift == OnDrift::Fail {
        // The reason in words, then the report's own count.
        ui.error_text(&format!(
            "not applied: {} {} Re-plan and review the pull request again, or add --ignore rules for expected differences",
            compared.reason(ui, Style::Plain).unwrap_or_default(),
            report::headline(&compared.comparison)
        ));
        Verdict::Refused
    } else {
        if drifted {
            ui.warning(&format!(
                "APPLYING A PLAN THAT DIFFERS FROM THE REVIEWED ONE (--on-drift warn): {} See the report above",
                compared.reason(ui, Style::Plain).unwrap_or_default()
            ));
        }
        // The last moment to find out that another run took over the queue.
        match w.holding.confirm().await {
            Ok(()) => {
                w.trace.borrow_mut().phase = Phase::Applying;
                run_apply(ui, tf, bundle, &opts.lock_timeout, drifted).await?
            }
            Err(e) => Verdict::QueueLost(e),
        }
    };
    let reason = compared.reason(ui, Style::Markdown).filter(|_| drifted);
    let report_md = &compared.report_md;
    report_verdict(ui, w, bundle, &verdict, report_md, reason.as_deref()).await?;
    let summary = &compared.analysis.summary;
    let manifest = apply_manifest(w, created, summary, &verdict);
    let (step_verdict, mut reason) = match &verdict {
        Verdict::Applied { .. } if !summary.has_changes => (StepVerdict::NoChanges, String::new()),
        Verdict::Applied { .. } => (StepVerdict::Applied, String::new()),
        Verdict::Refused => (
            StepVerdict::Refused,
            format!("plan_changed: {}", report::headline(&compared.comparison)),
        ),
        Verdict::Failed { .. } => (StepVerdict::Failed, String::new()),
        Verdict::QueueLost(e) => (StepVerdict::NotApplied, format!("queue_lost: {e}")),
    };
    let outcome = match verdict {
        Verdict::Applied { .. } => Ok(Finished::Applied),
        Verdict::Refused => Ok(Finished::Other(Outcome::Different)),
        Verdict::Failed { tail } => Err(Error::TerraformFailed {
            binary: tf.binary().to_string(),
            args: vec!["apply".into()],
            status: None,
            stderr_tail: tail,
        }),
        Verdict::QueueLost(e) => Err(e),
    };
    if let (StepVerdict::Failed, Err(e)) = (step_verdict, &outcome) {
        reason = format!("apply_failed: {e}");
    }
    w.trace.borrow_mut().reported = Some((step_verdict, reason));
    Ok((outcome, manifest))
}

/// The verdict in the step summary, the bundle's comment copy and the PR comment's status.
async fn report_verdict<W: Ports>(
    ui: &Ui,
    w: &Work<'_, W>,
    bundle: &mut BundleWriter,
    verdict: &Verdict,
    report_md: &str,
    reason: Option<&str>,
) -> Result<(), Error> {
    let opts = w.opts;
    let detail = status_detail(verdict, report_md, reason, opts.ctx.run_url.as_deref());
    if let Some(path) = &opts.ctx.step_summary {
        actions::append_step_summary(
            path,
            &format!("### tfgate apply: {}\n\n{detail}", verdict_word(verdict)),
        )?;
    }
    bundle.write(bundle::COMMENT, detail.as_bytes())?;
    if let (Some(target), Some(client)) = (comment_target(opts, w.reviewed), w.client) {
        match client
            .step(opts.github.timeout)
            .set_status(&target, comment_status(verdict), &detail)
            .await
        {
            Ok(done) => w.trace.borrow_mut().comment = Some(done.id()),
            Err(e) => ui.warning(&format!("could not update the PR comment's status: {e}")),
        }
    }
    Ok(())
}

/// The apply bundle's manifest.
fn apply_manifest<W: Ports>(
    w: &Work<'_, W>,
    created: chrono::DateTime<Utc>,
    summary: &crate::plan::summary::Summary,
    verdict: &Verdict,
) -> Manifest {
    let (opts, reviewed) = (w.opts, w.reviewed);
    let origin = Origin {
        repository: opts.ctx.repository.clone(),
        pr: reviewed.pr.as_ref().map(|p| p.pull.number),
        commit: opts.ctx.sha.clone(),
        pr_head_sha: reviewed.pr.as_ref().map(|p| p.pull.head_sha.clone()),
        run_url: opts.ctx.run_url.clone(),
        root: opts.common.root.name.clone(),
        workspace: opts.common.workspace_name().to_string(),
    };
    Manifest {
        verdict: Some(verdict_word(verdict).to_string()),
        reviewed: Some(reviewed.location.clone()),
        ..Manifest::new(BundleKind::Apply, created, origin, summary)
    }
}

/// `terraform apply` of the fresh saved plan, streamed (masked) and kept in `apply.log`.
async fn run_apply(
    ui: &Ui,
    tf: &impl RunTerraform,
    bundle: &mut BundleWriter,
    lock_timeout: &str,
    despite_drift: bool,
) -> Result<Verdict, Error> {
    let plan_file = bundle.path(bundle::PLAN_BINARY).display().to_string();
    let mut apply_args = args(&["apply", "-input=false", "-no-color", "-auto-approve"]);
    apply_args.push(format!("-lock-timeout={lock_timeout}"));
    apply_args.push(plan_file);
    ui.status("tfgate: terraform apply (the fresh saved plan)");
    let _group = ui.group("terraform apply");
    let started = Instant::now();
    let log = LogSink {
        ui,
        lines: std::cell::RefCell::new(String::new()),
    };
    let out = tf.run(&apply_args, Stdout::Stream, &log).await?;
    bundle.write(bundle::APPLY_LOG, log.lines.borrow().as_bytes())?;
    if out.status.success() {
        Ok(Verdict::Applied {
            seconds: started.elapsed().as_secs(),
            despite_drift,
        })
    } else {
        Ok(Verdict::Failed {
            tail: ui.mask(&out.stderr_tail),
        })
    }
}

/// Streams terraform's output through the Ui and keeps a masked copy for `apply.log`.
struct LogSink<'u> {
    ui: &'u Ui,
    lines: std::cell::RefCell<String>,
}

impl crate::terraform::LineSink for LogSink<'_> {
    fn line(&self, _stream: crate::terraform::Stream, line: &str) {
        let masked = self.ui.mask(line);
        self.ui.terraform_line(&masked);
        let mut lines = self.lines.borrow_mut();
        lines.push_str(&masked);
        lines.push('\n');
    }
}

#[cfg(test)]
mod decision_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(archive: Option<&str>, artifact: Option<ArtifactRef>) -> CommentMeta {
        CommentMeta {
            version: 1,
            root: "envs/prod".into(),
            workspace: "default".into(),
            head_sha: None,
            fingerprint: "sha256:00".into(),
            archive: archive.map(str::to_string),
            artifact,
            run_url: None,
            status: CommentStatus::Planned,
            created_at: None,
            counts: None,
        }
    }

    #[test]
    fn apply_archive_must_be_the_plans() {
        let bundle = "s3://acme/plans/acme/infra/envs/prod/default/pr-7/20260101T000000000Z-plan-1";
        let m = meta(Some(bundle), None);
        assert!(check_archive_agrees(None, &m).is_ok());
        for same in ["s3://acme/plans", "s3://acme/plans/", "s3://acme"] {
            assert!(check_archive_agrees(Some(same), &m).is_ok(), "{same}");
        }
        for other in ["s3://acme/plan", "s3://acme/other", "s3://elsewhere/plans"] {
            let e = check_archive_agrees(Some(other), &m).unwrap_err();
            assert!(matches!(e, Error::ArchiveDiffers { .. }), "{other}: {e}");
            assert_eq!(e.exit_code(), crate::error::code::REVIEWED_PLAN_MISSING);
        }
        let artifact = meta(
            None,
            Some(ArtifactRef {
                run_id: 5,
                name: "tfgate-x".into(),
            }),
        );
        let e = check_archive_agrees(Some("s3://acme/plans"), &artifact).unwrap_err();
        assert!(
            e.to_string()
                .contains("the workflow artifact `tfgate-x` of run 5"),
            "{e}"
        );
    }

    #[test]
    fn the_archive_of_a_bundle_is_its_uri_less_the_layout() {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "manifest_version": 1, "tfgate_version": "0", "kind": "plan",
            "created_at": "2026-01-01T00:00:00Z", "repository": null, "pr": 7, "commit": null,
            "pr_head_sha": null, "run_url": null, "root": "envs/prod", "workspace": "default",
            "terraform_version": null, "fingerprint": "sha256:00", "has_changes": true,
            "counts": crate::plan::summary::Counts::default(), "files": {},
        }))
        .unwrap();
        let repo = Some(("acme", "infra"));
        let uri =
            "s3://bkt/team/plans/acme/infra/envs/prod/default/pr-7/20260101T000000000Z-plan-1";
        assert_eq!(
            archive_of_bundle(uri, &manifest, repo).map(|l| l.uri()),
            Some("s3://bkt/team/plans".to_string())
        );
        let top = "s3://bkt/acme/infra/envs/prod/default/pr-7/20260101T000000000Z-plan-1";
        assert_eq!(
            archive_of_bundle(top, &manifest, repo).map(|l| l.uri()),
            Some("s3://bkt".to_string())
        );
        // A URI laid out for another root is not guessed at.
        let other = "s3://bkt/p/acme/infra/envs/dev/default/pr-7/20260101T000000000Z-plan-1";
        assert_eq!(archive_of_bundle(other, &manifest, repo), None);
        assert_eq!(archive_of_bundle("s3://bkt/short", &manifest, repo), None);
    }

    #[test]
    fn a_lost_queue_reads_as_not_applied_with_what_to_do() {
        let v = Verdict::QueueLost(Error::LeaseLost {
            ticket: "t1".into(),
            holder: Some("abc of #9".into()),
        });
        let d = status_detail(&v, "", None, Some("https://x/runs/1"));
        assert!(
            d.starts_with("Not applied: this run no longer holds the apply queue (ticket t1); abc of \\#9 holds it now ([run](https://x/runs/1)).\n\n"),
            "{d}"
        );
        assert!(d.contains("run the apply again"), "{d}");
        assert_eq!(verdict_word(&v), "not_applied");
        assert_eq!(comment_status(&v), CommentStatus::NotApplied);
    }

    #[test]
    fn every_way_out_has_a_verdict_and_a_reason() {
        use crate::github::GithubError;
        let artifact = |problem| Error::Artifact {
            name: "tfgate-x".into(),
            run_id: 5,
            problem,
        };
        let cases = [
            (
                Error::StalePlan {
                    pr: 7,
                    planned: "a".into(),
                    merged: "b".into(),
                },
                Phase::Lookup,
                "stale",
                "stale_plan",
            ),
            (
                artifact(ArtifactProblem::Missing),
                Phase::Lookup,
                "not_applied",
                "bundle_missing",
            ),
            (
                artifact(ArtifactProblem::Expired),
                Phase::Lookup,
                "not_applied",
                "bundle_expired",
            ),
            (
                artifact(ArtifactProblem::Lookup(GithubError::BadCredentials)),
                Phase::Lookup,
                "not_applied",
                "lookup_failed",
            ),
            (
                lookup_failed("cannot read pull request acme/infra#7".into()),
                Phase::Lookup,
                "not_applied",
                "lookup_failed",
            ),
            (
                Error::BundleMissing {
                    uri: "s3://b/p".into(),
                    reason: "no manifest".into(),
                },
                Phase::Lookup,
                "not_applied",
                "bundle_missing",
            ),
            (
                Error::Aws {
                    service: "S3",
                    operation: "GetObject",
                    resource: "s3://b/p".into(),
                    message: "slow down".into(),
                },
                Phase::Lookup,
                "not_applied",
                "lookup_failed",
            ),
            (
                Error::Interrupted {
                    signal: 15,
                    signal_name: "SIGTERM".into(),
                },
                Phase::Work,
                "not_applied",
                "interrupted",
            ),
            (
                Error::Interrupted {
                    signal: 15,
                    signal_name: "SIGTERM".into(),
                },
                Phase::Applying,
                "failed",
                "interrupted",
            ),
            (
                Error::TerraformFailed {
                    binary: "terraform".into(),
                    args: vec!["plan".into()],
                    status: Some(1),
                    stderr_tail: String::new(),
                },
                Phase::Work,
                "failed",
                "error",
            ),
            (
                Error::usage("--queue-lease 1s is too short", "give more"),
                Phase::Setup,
                "failed",
                "error",
            ),
        ];
        for (e, phase, verdict, slug) in cases {
            let (v, s) = classify(&e, phase);
            assert_eq!((v.as_str(), s), (verdict, slug), "{e}");
        }
    }

    #[test]
    fn an_error_reads_as_a_sentence_with_the_run_and_what_to_do() {
        let stale = Error::StalePlan {
            pr: 7,
            planned: "1111".into(),
            merged: "2222".into(),
        };
        assert_eq!(
            error_detail(&stale, Some("https://github.com/acme/infra/actions/runs/9")),
            "The reviewed plan is stale: pull request \\#7 was planned at 1111 but merged at 2222 ([run](https://github.com/acme/infra/actions/runs/9)).\n\nNothing was applied: commits were pushed after the last plan, so what was reviewed is not what was merged. Re-run the plan on the pull request's last commit, review it, and apply again.\n"
        );
        // Text from elsewhere mentions nobody and opens no markup; terraform's stderr is fenced.
        let failed = Error::TerraformFailed {
            binary: "terraform".into(),
            args: vec!["init".into()],
            status: Some(1),
            stderr_tail: "Error: @org/team </details>\n```".into(),
        };
        let d = error_detail(&failed, None);
        assert!(
            d.starts_with("\\`terraform init\\` failed (exit status 1).\n\n````text\n"),
            "{d}"
        );
        assert!(d.ends_with("\n````\n"), "{d}");
        let missing = missing("no plan for <b>@org/team</b>".into());
        let d = error_detail(&missing, None);
        assert!(
            d.starts_with("No plan for &lt;b&gt;@\u{200B}org/team&lt;/b&gt;.\n"),
            "{d}"
        );
    }
}

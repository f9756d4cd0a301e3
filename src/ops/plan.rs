//! Plan and archive, the workflow of `tfgate plan`: init, plan, show; summarize; archive the
//! bundle; render the comment; report to the terminal and to GitHub Actions; post the comment.
//! `tfgate apply` re-plans with the same steps (`plan_into_bundle`).
//!
//! The comment's marker says where the apply job, on another runner, finds the bundle: the S3
//! archive when there is one; under GitHub Actions without one, the workflow artifact of this
//! run (`archive::artifact::artifact_name`, or `--artifact-name`), which the workflow must
//! upload; elsewhere the local folder. A PR plan that no other runner may reach says so loudly.

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};

use crate::actions;
use crate::archive::artifact;
use crate::archive::bundle::{self, BundleKind, Manifest, Origin};
use crate::archive::local::{self, BundleWriter};
use crate::archive::store::{BundleAddress, BundleStore, RootAddress};
use crate::context::{Context, Event};
use crate::error::{Error, Outcome};
use crate::github::marker::{
    ArtifactRef, CommentMeta, CommentStatus, MARKER_VERSION, PlanCounts, parse_marker,
};
use crate::github::{CommentTarget, PullRequests};
use crate::ops::checks::{self, Checks};
use crate::ops::comment::{self as pr_comment, PrRef};
use crate::ops::labels;
use crate::ops::ports::Ports;
use crate::plan::Analysis;
use crate::plan::summary::Summary;
use crate::render::comment::{self, CommentInput, Reach};
use crate::render::table::{self, TableOptions};
use crate::settings::flags::{CommentMode, Format};
use crate::settings::{Common, GithubSettings, PlanSettings};
use crate::terraform::{RunTerraform, Stdout};
use crate::ui::Ui;

/// Everything `tfgate plan` needs, resolved.
#[derive(Debug)]
pub struct PlanOptions<'a> {
    pub common: &'a Common,
    pub plan: &'a PlanSettings,
    pub ctx: &'a Context,
    pub github: &'a GithubSettings,
}

/// What a finished plan produced (for later steps such as posting the comment).
#[derive(Debug)]
pub struct PlanResult {
    pub analysis: Analysis,
    pub bundle: PathBuf,
    pub comment: String,
    /// Where the marker says the bundle is for the apply job.
    pub place: Placement,
    /// The bundle's `s3://` URI, when it was archived to S3.
    pub archive: Option<String>,
}

/// Where the apply job, on another runner, is told to find the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The S3 bundle URI, or the local folder when no other runner is involved or none can be.
    pub archive: Option<String>,
    /// The workflow artifact the bundle must be uploaded as.
    pub artifact: Option<ArtifactRef>,
    /// What the comment and the annotations must say about it.
    pub reach: Reach,
}

/// The rule: an S3 archive wins; under GitHub Actions without one, this run's artifact (known
/// to be uploaded only when `--artifact-name` says so); a plan outside Actions keeps its local
/// folder. `for_pr`: whether a comment will name it (only then does the apply job look).
fn placement(
    opts: &PlanOptions<'_>,
    s3_uri: Option<String>,
    local: &Path,
    for_pr: bool,
) -> Placement {
    let ctx = opts.ctx;
    let local = local.display().to_string();
    let gate = |reach| if for_pr { reach } else { Reach::Known };
    match (s3_uri, ctx.github_actions, ctx.run_id) {
        (Some(uri), _, _) => Placement {
            archive: Some(uri),
            artifact: None,
            reach: Reach::Known,
        },
        (None, true, Some(run_id)) => {
            let declared = opts.plan.artifact_name.clone();
            let reach = if declared.is_some() {
                Reach::Known
            } else {
                Reach::ArtifactIfUploaded
            };
            let name = declared.unwrap_or_else(|| {
                artifact::artifact_name(&opts.common.root.name, opts.common.workspace_name())
            });
            Placement {
                archive: None,
                artifact: Some(ArtifactRef { run_id, name }),
                reach: gate(reach),
            }
        }
        (None, true, None) => Placement {
            archive: Some(local),
            artifact: None,
            reach: gate(Reach::ThisRunnerOnly),
        },
        (None, false, _) => Placement {
            archive: Some(local),
            artifact: None,
            reach: Reach::Known,
        },
    }
}

/// The annotation for a plan the apply job may not find, with the fix.
fn warn_reach(ui: &Ui, place: &Placement) {
    match (place.reach, &place.artifact) {
        (Reach::Known, _) => {}
        (Reach::ArtifactIfUploaded, Some(a)) => ui.warning(&format!(
            "the apply job, on another runner, will look for this plan in the workflow artifact `{}` of run {}, and nothing says this workflow uploads it: after this step, upload the folder in the step output `bundle` with actions/upload-artifact (name: {}) and pass --artifact-name {} to tfgate plan (TFGATE_ARTIFACT_NAME), or plan with --archive s3://BUCKET/PREFIX",
            a.name, a.run_id, a.name, a.name
        )),
        (Reach::ArtifactIfUploaded | Reach::ThisRunnerOnly, _) => ui.warning(
            "no other runner can reach this plan: there is no S3 archive, and no GITHUB_RUN_ID to name a workflow artifact by, so the apply job will not find it; plan with --archive s3://BUCKET/PREFIX",
        ),
    }
}

pub async fn run(ui: &Ui, opts: &PlanOptions<'_>, ports: &impl Ports) -> Result<Outcome, Error> {
    let client = match ports.pull_requests() {
        Ok(c) => c,
        Err(e) => {
            ui.warning(&format!("cannot set up the GitHub client: {e}"));
            None
        }
    };
    let step = |c| PullRequests::step(c, opts.github.timeout);
    let lookup = client.map(step);
    let pr = pr_comment::resolve_pr(ui, opts.github, lookup.as_ref()).await;
    if pr.is_none() {
        explain_no_pr(ui, opts.ctx);
    }
    let checks = checks::read(ui, opts.plan, &opts.common.root, opts.ctx, pr.as_ref());
    let result = plan_and_archive(ui, opts, ports, pr.as_ref(), checks.as_ref()).await?;
    report(ui, opts, &result)?;
    warn_reach(ui, &result.place);
    if let Some(pr) = &pr {
        let target = CommentTarget {
            owner: pr.owner.clone(),
            repo: pr.repo.clone(),
            pr: pr.number,
            root: opts.common.root.name.clone(),
            workspace: opts.common.workspace_name().to_string(),
        };
        let posted = pr_comment::publish_plan(
            ui,
            client.map(step).as_ref(),
            &target,
            (&result.comment, result.analysis.summary.has_changes),
            opts.plan.comment,
            opts.plan.require_comment,
        )
        .await?;
        if let (Some(id), Some(path), Some(server)) =
            (posted, &opts.ctx.github_output, &opts.ctx.server_url)
        {
            actions::write_outputs(path, &[("comment_url", target.comment_url(server, id))])?;
        }
        if opts.plan.labels {
            let mine = parse_marker(&result.comment);
            let record = match opts.plan.comment {
                CommentMode::Never => labels::Record::ThisPlanOnly,
                CommentMode::Always | CommentMode::Changes => labels::Record::Comments,
            };
            labels::label(
                ui,
                client.map(step).as_ref(),
                &target,
                mine.as_ref(),
                record,
            )
            .await;
        }
    }
    checks::verdict(ui, checks.as_ref(), opts.ctx)?;
    let summary = &result.analysis.summary;
    Ok(if opts.plan.detailed_exitcode && summary.has_changes {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}

/// Masks, from the start, the values of the root's sensitive variables that are known before
/// terraform runs (defaults, variable files, `-var`, `TF_VAR_*`): a precondition or validation
/// that fails prints them before any plan exists to learn them from.
pub fn mask_known_variables(ui: &Ui, root: &Path, terraform_args: &[String], ctx: &Context) {
    let known = crate::terraform::variables::sensitive_values(root, terraform_args, &ctx.tf_vars.0);
    for (path, why) in &known.unreadable {
        ui.detail(&format!(
            "tfgate: cannot read {} ({why}); values it gives sensitive variables are masked only once the plan is read",
            path.display()
        ));
    }
    ui.add_secrets(known.secrets);
}

/// A bundle's id: its creation time first (archives sort and date bundles by it), then its
/// kind and this process, so two runs in the same millisecond do not collide.
pub fn bundle_id(created: chrono::DateTime<Utc>, kind: BundleKind) -> String {
    let kind = match kind {
        BundleKind::Plan => "plan",
        BundleKind::Apply => "apply",
    };
    format!(
        "{}-{kind}-{}",
        created.format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id()
    )
}

/// Says why no comment is posted, when the user may have expected one.
fn explain_no_pr(ui: &Ui, ctx: &Context) {
    match &ctx.event {
        Event::Unsupported { name } => ui.status(&format!(
            "tfgate: the `{name}` event names no pull request, so no comment is posted (pass --pr N to comment)"
        )),
        Event::Unreadable { name, reason } => ui.warning(&format!(
            "cannot read the `{name}` event payload ({reason}); no comment is posted (pass --pr N to comment)"
        )),
        Event::Push { .. } | Event::WorkflowDispatch { .. } | Event::None | Event::PullRequest { .. } => {}
    }
}

/// Runs terraform and writes the bundle. On any failure the unfinished bundle is removed.
pub async fn plan_and_archive(
    ui: &Ui,
    opts: &PlanOptions<'_>,
    ports: &impl Ports,
    pr: Option<&PrRef>,
    checks: Option<&Checks>,
) -> Result<PlanResult, Error> {
    let common = opts.common;
    let root = common.root.dir()?;
    if let Some(name) = &opts.plan.artifact_name {
        artifact::check_name(name).map_err(|why| {
            Error::usage(
                format!("--artifact-name {name:?} cannot name an artifact: {why}"),
                "give the name the workflow's actions/upload-artifact step uploads the bundle as, e.g. --artifact-name tfgate-production",
            )
        })?;
    }
    // The S3 archive, when configured: credentials and region are checked before terraform runs.
    let s3 = ports.archive().await?;
    if let Some(name) = &opts.plan.artifact_name {
        if s3.is_some() {
            ui.detail(&format!(
                "tfgate: the plan is in the S3 archive; the artifact name {name} is not recorded"
            ));
        } else if opts.ctx.run_id.is_none() {
            ui.warning(&format!(
                "--artifact-name {name} is ignored: there is no workflow run (GITHUB_RUN_ID) for an artifact to belong to"
            ));
        }
    }
    mask_known_variables(ui, &root, &opts.plan.terraform_args, opts.ctx);
    let tf = ports.terraform(ui, &root, opts.plan.init).await?;
    let created = Utc::now();
    let id = bundle_id(created, BundleKind::Plan);
    let scope = scope(opts.ctx, pr);
    let archive_dir = local::default_archive_dir(&root);
    let mut bundle = BundleWriter::create(&archive_dir, common.workspace_name(), &scope, &id)?;
    // The comment names the bundle before it is finished: its S3 URI is known from the layout.
    let s3_bundle = s3.map(|s3| (s3, s3_address(opts, pr, &scope, &id)));
    let place = placement(
        opts,
        s3_bundle.as_ref().map(|(s3, addr)| s3.bundle_uri(addr)),
        bundle.dir(),
        pr.is_some() && opts.plan.comment != CommentMode::Never,
    );
    let stamp = Stamp {
        created,
        place: &place,
        checks,
    };
    match fill_bundle(ui, opts, pr, &tf, &mut bundle, &stamp).await {
        Ok((analysis, comment, manifest)) => {
            let dir = bundle.finish(manifest)?;
            let mut archive = None;
            if let Some((s3, addr)) = &s3_bundle {
                let uri = s3.bundle_uri(addr);
                ui.status(&format!("tfgate: uploading the bundle to {uri}"));
                s3.upload(&dir, addr).await?;
                archive = Some(uri);
            }
            Ok(PlanResult {
                analysis,
                bundle: dir,
                comment,
                place,
                archive,
            })
        }
        Err(e) => {
            bundle.abandon();
            Err(e)
        }
    }
}

/// A plan terraform just made, written into a bundle (`tfplan`, `plan.json`, `plan.txt`).
pub struct FreshPlan {
    pub analysis: Analysis,
    /// `terraform show -no-color`, masked.
    pub text: String,
}

/// Runs `terraform plan -out` into the bundle, then `show -json` and `show -no-color`. The
/// plan's stdout is held and shown, masked, once the plan is read: terraform prints values it
/// does not know to be secret (a computed copy of a sensitive input, say), and which values
/// are secret is known only from the plan. Its stderr streams live.
pub async fn plan_into_bundle(
    ui: &Ui,
    tf: &impl RunTerraform,
    bundle: &mut BundleWriter,
    lock_timeout: &str,
    terraform_args: &[String],
) -> Result<FreshPlan, Error> {
    let plan_file = bundle.path(bundle::PLAN_BINARY);
    let plan_file_arg = plan_file.display().to_string();

    ui.status("tfgate: terraform plan (its output is shown once the plan is read, masked)");
    // terraform's output, here and in the replay, folded under Actions.
    let _group = ui.group("terraform plan");
    let mut plan_args = args(&["plan", "-input=false", "-no-color"]);
    plan_args.push(format!("-lock-timeout={lock_timeout}"));
    plan_args.push(format!("-out={plan_file_arg}"));
    plan_args.extend(terraform_args.iter().cloned());
    let planned = tf.run(&plan_args, Stdout::Capture, ui).await?;
    if !planned.status.success() {
        // No plan to learn secrets from: show what terraform said through the known masks.
        replay(ui, &planned.stdout);
        return Err(tf.failed(&plan_args, &planned));
    }
    bundle.add_existing(bundle::PLAN_BINARY)?;

    let json_path = bundle.path(bundle::PLAN_JSON);
    tf.run_ok(
        &args(&["show", "-json", &plan_file_arg]),
        Stdout::File(json_path.clone()),
        ui,
    )
    .await?;
    bundle.add_existing(bundle::PLAN_JSON)?;
    let json = crate::terraform::plan_file::read(&json_path)?;
    let analysis = json.analyze().map_err(|kind| Error::PlanJson {
        path: json_path.clone(),
        kind,
    })?;
    drop(json);
    ui.add_secrets(analysis.secrets.clone());
    replay(ui, &planned.stdout);
    ui.detail(&format!(
        "tfgate: {} sensitive value(s) will be masked",
        ui.masker().literal_count()
    ));

    let text = tf
        .run_ok(
            &args(&["show", "-no-color", &plan_file_arg]),
            Stdout::Capture,
            ui,
        )
        .await?
        .stdout;
    let text = ui.mask(&text);
    bundle.write(bundle::PLAN_TEXT, text.as_bytes())?;
    Ok(FreshPlan { analysis, text })
}

/// What the comment says besides the plan: when it was made, where the apply job finds it, and
/// the code checkers' findings.
struct Stamp<'a> {
    created: chrono::DateTime<Utc>,
    place: &'a Placement,
    checks: Option<&'a Checks>,
}

/// The marker's counts of a plan.
pub fn plan_counts(summary: &Summary) -> PlanCounts {
    let c = &summary.counts;
    PlanCounts {
        has_changes: summary.has_changes,
        add: c.create,
        change: c.update,
        destroy: c.delete,
        replace: c.replace,
    }
}

async fn fill_bundle(
    ui: &Ui,
    opts: &PlanOptions<'_>,
    pr: Option<&PrRef>,
    tf: &impl RunTerraform,
    bundle: &mut BundleWriter,
    stamp: &Stamp<'_>,
) -> Result<(Analysis, String, Manifest), Error> {
    let (created, place) = (stamp.created, stamp.place);
    let common = opts.common;
    let FreshPlan { analysis, text } = plan_into_bundle(
        ui,
        tf,
        bundle,
        &opts.plan.lock_timeout,
        &opts.plan.terraform_args,
    )
    .await?;
    let masker = ui.masker();
    let summary = &analysis.summary;
    let summary_json = crate::render::json::summary(summary);
    bundle.write(bundle::SUMMARY, masker.mask(&summary_json).as_bytes())?;

    let meta = CommentMeta {
        version: MARKER_VERSION,
        root: common.root.name.clone(),
        workspace: common.workspace_name().to_string(),
        head_sha: pr.and_then(|p| p.head_sha.clone()),
        fingerprint: summary.fingerprint.clone(),
        archive: place.archive.clone(),
        artifact: place.artifact.clone(),
        run_url: opts.ctx.run_url.clone(),
        status: CommentStatus::Planned,
        created_at: Some(created.to_rfc3339_opts(SecondsFormat::Millis, true)),
        counts: Some(plan_counts(summary)),
    };
    let body = comment::render_comment(
        &CommentInput {
            meta: &meta,
            summary,
            plan_text: &text,
            tfgate_version: env!("CARGO_PKG_VERSION"),
            reach: place.reach,
            checks: stamp.checks.map(Checks::input),
        },
        &masker,
    );
    bundle.write(bundle::COMMENT, body.as_bytes())?;

    let origin = Origin {
        repository: opts.ctx.repository.clone(),
        pr: pr.map(|p| p.number),
        commit: opts.ctx.sha.clone(),
        pr_head_sha: pr.and_then(|p| p.head_sha.clone()),
        run_url: opts.ctx.run_url.clone(),
        root: meta.root.clone(),
        workspace: meta.workspace.clone(),
    };
    let manifest = Manifest::new(BundleKind::Plan, created, origin, summary);
    Ok((analysis, body, manifest))
}

/// Terminal, step summary, step outputs and annotations.
fn report(ui: &Ui, opts: &PlanOptions<'_>, result: &PlanResult) -> Result<(), Error> {
    let summary = &result.analysis.summary;
    let masker = ui.masker();
    let destructive: Vec<&str> = summary.destructive().map(|r| r.address.as_str()).collect();
    if !destructive.is_empty() {
        ui.warning(&format!(
            "this plan deletes or replaces {} resource(s): {}",
            destructive.len(),
            abbreviate(&destructive, 10)
        ));
    }
    for check in summary.checks.failed.iter().chain(&summary.checks.errors) {
        ui.warning(&format!(
            "check {} failed: {}",
            check.address,
            check.messages.join("; ")
        ));
    }

    match opts.common.format {
        Format::Human => ui.result(&table::summary_table(
            summary,
            &masker,
            &TableOptions {
                color: ui.color(),
                width: None,
            },
        )),
        Format::Markdown => ui.result(&result.comment),
        Format::Json => ui.result_pieces(|each| crate::render::json::summary_pieces(summary, each)),
    }
    ui.status(&format!(
        "tfgate: bundle written to {}",
        result.bundle.display()
    ));

    let ctx = opts.ctx;
    if let Some(path) = &ctx.step_summary {
        // The marker line is for the PR comment only.
        let body = result.comment.split_once('\n').map_or("", |(_, rest)| rest);
        actions::append_step_summary(path, body)?;
    }
    if let Some(path) = &ctx.github_output {
        let c = &summary.counts;
        // The name to upload the bundle under: the one the marker records, else (an S3
        // archive carries the plan across) the same name, for the pipeline's own retention.
        let artifact_name = match &result.place.artifact {
            Some(a) => a.name.clone(),
            None => opts.plan.artifact_name.clone().unwrap_or_else(|| {
                artifact::artifact_name(&opts.common.root.name, opts.common.workspace_name())
            }),
        };
        actions::write_outputs(path, &[("artifact_name", artifact_name)])?;
        actions::write_outputs(
            path,
            &[
                ("has_changes", summary.has_changes.to_string()),
                ("add", c.create.to_string()),
                ("change", c.update.to_string()),
                ("destroy", c.delete.to_string()),
                ("replace", c.replace.to_string()),
                ("import", c.import.to_string()),
                ("move", c.move_.to_string()),
                ("forget", c.forget.to_string()),
                ("fingerprint", summary.fingerprint.clone()),
                ("bundle", result.bundle.display().to_string()),
                ("archive", result.archive.clone().unwrap_or_default()),
            ],
        )?;
    }
    Ok(())
}

/// Shows held terraform output, line by line, through the current masks.
fn replay(ui: &Ui, output: &str) {
    for line in output.lines() {
        ui.terraform_line(line);
    }
}

fn abbreviate(items: &[&str], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Where the bundle goes in the S3 archive (§5): OWNER/REPO of the PR or the workflow's
/// repository, else `local/local`.
fn s3_address(opts: &PlanOptions<'_>, pr: Option<&PrRef>, scope: &str, id: &str) -> BundleAddress {
    let repository = match pr {
        Some(p) => Some((p.owner.as_str(), p.repo.as_str())),
        None => opts
            .github
            .repository
            .as_ref()
            .map(|(o, r)| (o.as_str(), r.as_str())),
    };
    let root = RootAddress::new(
        repository,
        &opts.common.root.name,
        opts.common.workspace_name(),
    );
    BundleAddress::new(root, scope, id)
}

/// The archive scope (§5): the PR, else the commit, else `local`.
fn scope(ctx: &Context, pr: Option<&PrRef>) -> String {
    match (pr, &ctx.sha) {
        (Some(pr), _) => format!("pr-{}", pr.number),
        (None, Some(sha)) => format!("commit-{sha}"),
        (None, None) => "local".to_string(),
    }
}

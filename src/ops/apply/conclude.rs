//! How an apply ends, whatever happened: the verdict and failure reason as step outputs, and
//! for a run that stopped before a verdict, the step summary and the PR comment's status with
//! the reason and the run's link.

use super::*;

/// The verdict a workflow reads in the step output `verdict` (§10). Every way out of `apply`
/// sets one, errors included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StepVerdict {
    /// terraform applied the fresh plan, the same as the reviewed one (or, with
    /// `--on-drift warn`, not the same).
    Applied,
    /// The fresh plan differs from the reviewed one: nothing was applied (exit 3).
    Refused,
    /// Commits were pushed to the PR after its plan: nothing was applied (exit 4).
    Stale,
    /// Production already holds a newer commit that contains this one: skipped.
    Superseded,
    /// This very commit was applied before (a re-run): skipped.
    AlreadyApplied,
    /// Nothing was applied, and tfgate did what it should: the reviewed plan is missing,
    /// expired, untrusted or could not be looked up, or the run lost its place in the queue,
    /// timed out waiting or was interrupted before terraform apply. `failure_reason` says which.
    NotApplied,
    /// terraform apply failed, or tfgate met an error it does not expect.
    Failed,
    /// The plans are the same and change nothing; terraform apply had nothing to do.
    NoChanges,
}

impl StepVerdict {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            StepVerdict::Applied => "applied",
            StepVerdict::Refused => "refused",
            StepVerdict::Stale => "stale",
            StepVerdict::Superseded => "superseded",
            StepVerdict::AlreadyApplied => "already_applied",
            StepVerdict::NotApplied => "not_applied",
            StepVerdict::Failed => "failed",
            StepVerdict::NoChanges => "no_changes",
        }
    }
}

/// How far a run got, which decides what an error on the way out means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Phase {
    /// Checking settings.
    #[default]
    Setup,
    /// Looking for the reviewed plan (GitHub, the archive, the workflow artifact).
    Lookup,
    /// From `terraform init` to right before `terraform apply`: nothing applied yet.
    Work,
    /// `terraform apply` has started.
    Applying,
}

/// What a run learnt on its way, for the report it leaves on every way out (`conclude`).
#[derive(Debug, Default)]
pub(super) struct Trace {
    pub(super) phase: Phase,
    /// tfgate's comment for this root and workspace on the merged PR, once the PR is known.
    pub(super) target: Option<CommentTarget>,
    /// That comment's id, once seen or written.
    pub(super) comment: Option<u64>,
    /// The PR was searched and holds no tfgate comment for this root and workspace.
    pub(super) no_comment: bool,
    /// The apply bundle's folder, once written, and its `s3://` URI, once uploaded.
    pub(super) bundle: Option<PathBuf>,
    pub(super) archive: Option<String>,
    /// The verdict and failure reason, once the step summary and the comment say them.
    pub(super) reported: Option<(StepVerdict, String)>,
}

/// The report every way out of `apply` leaves: for an outcome not reported yet (an error), the
/// step summary and the PR comment's status say what happened, with the run's link; then the
/// step outputs `verdict`, `failure_reason`, `comment_url`, `bundle` and `archive`.
pub(super) async fn conclude(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    client: Option<&impl PullRequests>,
    mut trace: Trace,
    result: &Result<Outcome, Error>,
) -> Result<(), Error> {
    let (verdict, reason) = match (trace.reported.take(), result) {
        (Some((verdict, reason)), Err(e)) if reason.is_empty() => {
            // Reported, then something failed on the way out (archiving the apply bundle, say).
            (verdict, format!("error: {e}"))
        }
        (Some(reported), _) => reported,
        (None, Ok(_)) => (
            StepVerdict::Failed,
            "error: no verdict was reached".to_string(),
        ),
        (None, Err(e)) => {
            let (verdict, slug) = classify(e, trace.phase);
            let detail = ui.mask(&error_detail(e, opts.ctx.run_url.as_deref()));
            if let Some(path) = &opts.ctx.step_summary {
                actions::append_step_summary(
                    path,
                    &format!("### tfgate apply: {}\n\n{detail}", verdict.as_str()),
                )?;
            }
            // A run being cancelled must end quickly; a failed lookup would only fail again;
            // a PR without tfgate's comment has nothing to update.
            let interrupted = matches!(e, Error::Interrupted { .. } | Error::QueueCancelled { .. });
            if let (Some(target), Some(client)) = (&trace.target, client)
                && !interrupted
                && slug != LOOKUP_FAILED
                && !trace.no_comment
            {
                let status = match verdict {
                    StepVerdict::Failed => CommentStatus::Failed,
                    _ => CommentStatus::NotApplied,
                };
                match client
                    .step(opts.github.timeout)
                    .set_status(target, status, &detail)
                    .await
                {
                    Ok(done) => trace.comment = Some(done.id()),
                    Err(e) => ui.warning(&format!("could not update the PR comment's status: {e}")),
                }
            }
            (verdict, format!("{slug}: {e}"))
        }
    };
    let Some(path) = &opts.ctx.github_output else {
        return Ok(());
    };
    let comment_url = match (&trace.target, trace.comment, &opts.ctx.server_url) {
        (Some(target), Some(id), Some(server)) => target.comment_url(server, id),
        _ => String::new(),
    };
    actions::write_outputs(
        path,
        &[
            ("verdict", verdict.as_str().to_string()),
            ("failure_reason", ui.mask(&reason)),
            ("comment_url", comment_url),
            (
                "bundle",
                trace
                    .bundle
                    .map(|b| b.display().to_string())
                    .unwrap_or_default(),
            ),
            ("archive", trace.archive.unwrap_or_default()),
        ],
    )
}

/// `failure_reason`'s first word for a failed lookup of the reviewed plan.
pub(super) const LOOKUP_FAILED: &str = "lookup_failed";

/// The verdict of a run that ended with `e` in `phase`, and the first word of its
/// `failure_reason` (documented in docs/configuration.md).
pub(super) fn classify(e: &Error, phase: Phase) -> (StepVerdict, &'static str) {
    use StepVerdict::{Failed, NotApplied, Stale};
    match e {
        Error::StalePlan { .. } => (Stale, "stale_plan"),
        Error::ReviewedPlanMissing { .. } => (NotApplied, "reviewed_plan_missing"),
        Error::ReviewedPlanLookup { .. }
        | Error::Artifact {
            problem: ArtifactProblem::Lookup(_),
            ..
        } => (NotApplied, LOOKUP_FAILED),
        Error::BundleMissing { .. }
        | Error::PlanUnreachable { .. }
        | Error::Artifact {
            problem: ArtifactProblem::Missing,
            ..
        } => (NotApplied, "bundle_missing"),
        Error::Artifact {
            problem: ArtifactProblem::Expired,
            ..
        } => (NotApplied, "bundle_expired"),
        Error::ChecksumMismatch { .. }
        | Error::BundleAltered { .. }
        | Error::BadManifest { .. }
        | Error::Artifact { .. } => (NotApplied, "bundle_untrusted"),
        Error::ArchiveDiffers { .. } => (NotApplied, "archive_differs"),
        Error::LeaseLost { .. } | Error::LeaseUnconfirmed { .. } => (NotApplied, "queue_lost"),
        Error::QueueTimeout { .. } => (NotApplied, "queue_timeout"),
        Error::AncestryUnknown { .. } => (NotApplied, "ancestry_unknown"),
        Error::Interrupted { .. } if phase == Phase::Applying => (Failed, "interrupted"),
        Error::Interrupted { .. } | Error::QueueCancelled { .. } => (NotApplied, "interrupted"),
        // Anything else while looking for the reviewed plan: S3 or the network failed.
        _ if phase == Phase::Lookup => (NotApplied, LOOKUP_FAILED),
        Error::TerraformFailed { .. } if phase == Phase::Applying => (Failed, "apply_failed"),
        _ => (Failed, "error"),
    }
}

/// A run that stopped with `e`, in words for the PR comment and the step summary: what
/// happened, the run's link, and what to do. Text from outside tfgate (paths, GitHub's or AWS's
/// messages, terraform's stderr) is escaped or fenced, so it cannot break the markdown or
/// mention anyone.
pub(super) fn error_detail(e: &Error, run_url: Option<&str>) -> String {
    let run = run_url
        .map(|u| format!(" ({})", md::link("run", u)))
        .unwrap_or_default();
    let mut out = format!("{}{run}.\n", md::escape(&capitalised(&e.to_string())));
    match e {
        Error::TerraformFailed { stderr_tail, .. } if !stderr_tail.trim().is_empty() => {
            out.push('\n');
            out.push_str(&md::fenced(stderr_tail, "text"));
        }
        _ => {
            if let Some(hint) = e.hint() {
                out.push('\n');
                out.push_str(&md::escape(&capitalised(&hint)));
                if !hint.ends_with(['.', ')']) {
                    out.push('.');
                }
                out.push('\n');
            }
        }
    }
    out
}

pub(super) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(super) fn verdict_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Applied {
            despite_drift: false,
            ..
        } => "applied",
        Verdict::Applied {
            despite_drift: true,
            ..
        } => "applied_despite_drift",
        Verdict::Refused => "refused",
        Verdict::Failed { .. } => "failed",
        Verdict::QueueLost(_) => "not_applied",
    }
}

pub(super) fn comment_status(v: &Verdict) -> CommentStatus {
    match v {
        Verdict::Applied { .. } => CommentStatus::Applied,
        Verdict::Refused => CommentStatus::Refused,
        Verdict::Failed { .. } => CommentStatus::Failed,
        Verdict::QueueLost(_) => CommentStatus::NotApplied,
    }
}

/// The markdown under the comment's headline: what happened, and when the plans differ, why
/// in one sentence (`reason`, outside any fold) and the report in a fold.
pub(super) fn status_detail(
    v: &Verdict,
    report_md: &str,
    reason: Option<&str>,
    run_url: Option<&str>,
) -> String {
    let drifted = reason.is_some();
    let reason = reason.unwrap_or_default();
    let run = run_url
        .map(|u| format!(" ([run]({u}))"))
        .unwrap_or_default();
    let mut out = match v {
        Verdict::Applied {
            seconds,
            despite_drift: false,
        } => format!("Applied in {}{run}.\n", duration_words(*seconds)),
        Verdict::Applied {
            seconds,
            despite_drift: true,
        } => format!(
            "> [!WARNING]\n> Applied in {} **although the plan changed since review** (`--on-drift warn`){run}: {reason}\n",
            duration_words(*seconds)
        ),
        // The reason first: the comment's status block reads "Apply refused: REASON".
        Verdict::Refused => format!("{reason} Nothing was applied{run}.\n"),
        Verdict::Failed { tail } => {
            let fence = crate::render::markdown::fence_for(tail);
            format!("terraform apply failed{run}:\n\n{fence}\n{tail}\n{fence}\n")
        }
        Verdict::QueueLost(e) => error_detail(e, run_url),
    };
    if drifted {
        out.push_str("\n<details><summary>What changed since review</summary>\n\n");
        out.push_str(report_md);
        if !report_md.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("\n</details>\n");
    }
    out
}

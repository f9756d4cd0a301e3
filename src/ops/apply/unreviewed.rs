//! A merged pull request without tfgate's comment for this root and workspace. With
//! `--comment changes` a pull request whose plan changed nothing has none; a pull request that
//! was never planned for this root has none either. Nothing was reviewed, so nothing may be
//! applied: tfgate re-plans, in the apply queue like any apply (an apply running before it
//! may still be changing the state), and when the plan now changes nothing the verdict is
//! `no_changes` (exit 0). When it changes something, nothing is applied (exit 4), and the
//! reason says that nothing was reviewed and what the plan would do.

use super::*;

/// Re-plans without a reviewed plan, and ends with `no_changes` or a missing reviewed plan.
pub(super) async fn replan_only<W: Ports>(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    ports: &W,
    pr: ReviewedPr,
    trace: &RefCell<Trace>,
) -> Result<Outcome, Error> {
    let common = opts.common;
    let what = format!(
        "pull request {}/{}#{} has no tfgate plan for {} ({})",
        pr.owner,
        pr.repo,
        pr.pull.number,
        common.root.name,
        common.workspace_name()
    );
    trace.borrow_mut().phase = Phase::Work;
    ui.status(&format!(
        "tfgate: {what}; planning now to check that there is nothing to apply"
    ));
    let (root, tf, store) = prepare(ui, opts, ports).await?;
    let holding = join_queue(ui, opts, &store, Some(pr.pull.number)).await?;
    let summary = tokio::select! {
        r = plan_now(ui, opts, &root, &tf, pr.pull.number) => r,
        never = holding.heartbeat() => match never {},
    };
    // Nothing is applied here: the commit is not recorded as applied.
    holding.release(None).await;
    let summary = summary?;
    if summary.has_changes {
        return Err(missing(format!(
            "{what}, and the plan now has changes ({}): nothing was reviewed, so nothing is applied",
            crate::render::comment::counts_phrase(&summary)
        )));
    }
    ui.status(&format!(
        "tfgate: {what}, and the plan now changes nothing: nothing to apply"
    ));
    if let Some(path) = &opts.ctx.step_summary {
        let run = opts
            .ctx
            .run_url
            .as_deref()
            .map(|u| format!(" ({})", md::link("run", u)))
            .unwrap_or_default();
        actions::append_step_summary(
            path,
            &format!(
                "### tfgate apply: no changes\n\n{}, and the plan now changes nothing; nothing was applied{run}.\n",
                md::escape(&capitalised(&what))
            ),
        )?;
    }
    trace.borrow_mut().reported = Some((StepVerdict::NoChanges, String::new()));
    Ok(Outcome::Success)
}

/// `terraform plan` into a bundle that is not kept: its summary is all that is needed.
async fn plan_now(
    ui: &Ui,
    opts: &ApplyOptions<'_>,
    root: &std::path::Path,
    tf: &impl RunTerraform,
    pr: u64,
) -> Result<crate::plan::summary::Summary, Error> {
    let id = bundle_id(Utc::now(), BundleKind::Apply);
    let mut bundle = BundleWriter::create(
        &local::default_archive_dir(root),
        opts.common.workspace_name(),
        &format!("pr-{pr}"),
        &id,
    )?;
    let fresh = plan_into_bundle(
        ui,
        tf,
        &mut bundle,
        &opts.lock_timeout,
        &opts.terraform_args,
    )
    .await;
    bundle.abandon();
    Ok(fresh?.analysis.summary)
}

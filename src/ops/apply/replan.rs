//! Re-planning now and comparing with the reviewed plan: the report of what differs (labelled
//! "reviewed" and "now") and the reason for a refusal in one sentence, which leads the
//! terminal's error, the step summary and the PR comment's status.

use super::*;
pub(super) use crate::render::reason::{self, Style};
use crate::render::report::Sides;

/// What the report calls the plan made by this run.
const FRESH_LABEL: &str = "the plan made by this run";

/// The fresh plan against the reviewed one.
pub(super) struct Compared {
    pub(super) analysis: crate::plan::Analysis,
    pub(super) comparison: Comparison,
    /// The comparison report for the comment and the step summary.
    pub(super) report_md: String,
}

impl Compared {
    /// Why the plans differ, in one sentence: markdown for the comment and the step summary,
    /// plain text for the terminal and the `::error::` annotation. `None` when they do not.
    pub(super) fn reason(&self, ui: &Ui, style: Style) -> Option<String> {
        reason::sentence(&self.comparison, Sides::ReviewedNow, &ui.masker(), style)
    }
}

/// Re-plans into the bundle and compares the fresh plan with the reviewed one; on a
/// difference, shows the report and keeps it in the bundle.
pub(super) async fn compare_with_reviewed<W: Ports>(
    ui: &Ui,
    w: &Work<'_, W>,
    bundle: &mut BundleWriter,
) -> Result<Compared, Error> {
    let (opts, reviewed, rules, tf) = (w.opts, w.reviewed, w.rules, w.tf);
    // Secrets of the reviewed plan are masked too (its `before` values may differ from now).
    let reviewed_plan =
        crate::terraform::plan_json::parse(&reviewed.plan_json).map_err(|kind| {
            Error::PlanJson {
                path: PathBuf::from(&reviewed.location),
                kind,
            }
        })?;
    ui.add_secrets(
        crate::plan::redact::secrets_of_plan(&reviewed_plan).map_err(|kind| Error::PlanJson {
            path: PathBuf::from(&reviewed.location),
            kind,
        })?,
    );
    bundle.write(bundle::REVIEWED_PLAN_JSON, &reviewed.plan_json)?;

    let FreshPlan { analysis, .. } =
        plan_into_bundle(ui, tf, bundle, &opts.lock_timeout, &opts.terraform_args).await?;
    let fresh_bytes = crate::terraform::plan_file::read(&bundle.path(bundle::PLAN_JSON))?;
    let fresh_plan = fresh_bytes.parse().map_err(|kind| Error::PlanJson {
        path: bundle.path(bundle::PLAN_JSON),
        kind,
    })?;

    let masker = ui.masker();
    let comparison: Comparison = compare::compare(
        &reviewed_plan,
        &fresh_plan,
        &CompareOptions {
            ignore: rules,
            masker: &masker,
        },
    )
    .map_err(|e| Error::PlanJson {
        path: match e.side {
            compare::Side::A => PathBuf::from(&reviewed.location),
            compare::Side::B => bundle.path(bundle::PLAN_JSON),
        },
        kind: e.error,
    })?;
    let report_md = report::report_markdown(
        &comparison,
        (&reviewed.location, FRESH_LABEL),
        Sides::ReviewedNow,
        &masker,
        REPORT_BYTES,
    );
    if comparison.identical {
        ui.status("tfgate: the plan now is the plan that was reviewed");
    } else {
        bundle.write(bundle::REPORT, report_md.as_bytes())?;
        ui.result(&report::human(
            &comparison,
            &ReportOptions {
                a_label: &reviewed.location,
                b_label: FRESH_LABEL,
                context: report::DEFAULT_CONTEXT,
                sides: Sides::ReviewedNow,
            },
            &masker,
            &TableOptions {
                color: ui.color(),
                width: None,
            },
        ));
    }
    Ok(Compared {
        analysis,
        comparison,
        report_md,
    })
}

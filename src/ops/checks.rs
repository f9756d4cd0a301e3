//! The code checkers' findings in `tfgate plan` (`--checks FILE`, `--fail-on-checks LEVEL`):
//! their SARIF files read against the repository and the root, said on the terminal, handed to
//! the comment, and, once the comment is posted and the bundle archived, the verdict of
//! `--fail-on-checks`.
//!
//! A file that is missing or is not SARIF is a warning naming it, never a failed plan. The
//! repository whose files the comment links to is the nearest folder above the root holding
//! `.git`, else `GITHUB_WORKSPACE` when the root is inside it; without either, and without the
//! pull request's head commit, findings are listed without links.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::actions;
use crate::context::Context;
use crate::error::Error;
use crate::ops::comment::PrRef;
use crate::render::comment::ChecksInput;
use crate::sarif::{self, Level, Places, Report, Unreadable};
use crate::settings::{CheckLevel, PlanSettings, Root};
use crate::ui::Ui;

/// SARIF files larger than this are not read (checkov's output for a whole monorepo is a few
/// megabytes).
const MAX_SARIF_BYTES: u64 = 64 << 20;

/// What `--checks` found, ready for the comment.
#[derive(Debug)]
pub struct Checks {
    pub report: Report,
    /// `SERVER/OWNER/REPO/blob/HEAD_SHA`, when the pull request and its head are known.
    pub blob_base: Option<String>,
    pub fail_on: Option<CheckLevel>,
}

impl Checks {
    pub fn input(&self) -> ChecksInput<'_> {
        ChecksInput {
            report: &self.report,
            blob_base: self.blob_base.as_deref(),
            fail_on: self.fail_on.map(CheckLevel::level),
        }
    }
}

/// Reads the plan's SARIF files; `None` when it names none.
pub fn read(
    ui: &Ui,
    plan: &PlanSettings,
    root: &Root,
    ctx: &Context,
    pr: Option<&PrRef>,
) -> Option<Checks> {
    if plan.checks.is_empty() {
        if let Some(level) = plan.fail_on_checks {
            ui.warning(&format!(
                "--fail-on-checks {} has no findings to judge: no SARIF file was given with --checks",
                level.level().as_str()
            ));
        }
        return None;
    }
    let root_dir = std::fs::canonicalize(&root.path).unwrap_or_else(|_| root.path.clone());
    let repo = repository(root, &root_dir, ctx);
    let real_path = |p: &Path| std::fs::canonicalize(p).ok().filter(|p| p.is_file());
    let places = Places {
        repo: repo.as_deref(),
        root: &root_dir,
        real_path: &real_path,
    };
    let mut runs = Vec::new();
    let mut unreadable = Vec::new();
    for file in &plan.checks {
        match read_file(file).and_then(|text| sarif::read(&text, &places)) {
            Ok(read) => runs.extend(read),
            Err(reason) => {
                ui.warning(&format!(
                    "cannot read the SARIF file {} ({reason}); its findings are not in the comment",
                    file.display()
                ));
                unreadable.push(Unreadable {
                    file: file.display().to_string(),
                    reason,
                });
            }
        }
    }
    let report = sarif::summarise(runs, unreadable);
    say(ui, &report);
    if repo.is_none() {
        ui.detail("tfgate: no repository found around the root (.git or GITHUB_WORKSPACE); findings are listed without links");
    }
    Some(Checks {
        report,
        blob_base: blob_base(ctx, pr),
        fail_on: plan.fail_on_checks,
    })
}

/// The repository around the root: `.git` above it, else the Actions workspace holding it.
fn repository(root: &Root, root_dir: &Path, ctx: &Context) -> Option<PathBuf> {
    root.repository().or_else(|| {
        let workspace = std::fs::canonicalize(ctx.workspace_dir.as_ref()?).ok()?;
        root_dir.starts_with(&workspace).then_some(workspace)
    })
}

fn read_file(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut text = String::new();
    file.take(MAX_SARIF_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if text.len() as u64 > MAX_SARIF_BYTES {
        return Err(format!(
            "larger than {} MiB, the most tfgate reads",
            MAX_SARIF_BYTES >> 20
        ));
    }
    Ok(text)
}

/// One line per tool on the terminal.
fn say(ui: &Ui, report: &Report) {
    for t in &report.tools {
        let counts: Vec<String> = Level::ALL
            .iter()
            .filter(|l| t.count(**l) > 0)
            .map(|l| format!("{} {}", t.count(*l), l.as_str()))
            .collect();
        let counts = if counts.is_empty() {
            "no findings".to_string()
        } else {
            counts.join(", ")
        };
        let suppressed = if t.suppressed > 0 {
            format!(" ({} suppressed)", t.suppressed)
        } else {
            String::new()
        };
        ui.status(&format!("tfgate: checks: {}: {counts}{suppressed}", t.tool));
    }
}

/// Where the pull request's head shows its files: `SERVER/OWNER/REPO/blob/SHA`.
fn blob_base(ctx: &Context, pr: Option<&PrRef>) -> Option<String> {
    let pr = pr?;
    let server = ctx.server_url.as_deref()?;
    let sha = pr.head_sha.as_deref()?;
    Some(format!(
        "{}/{}/{}/blob/{sha}",
        server.trim_end_matches('/'),
        pr.owner,
        pr.repo
    ))
}

/// After the comment is posted and the bundle archived: with `--fail-on-checks`, findings at
/// or above its level fail the plan. The step summary and the step output `failure_reason` say
/// why; the error is exit code 1.
pub fn verdict(ui: &Ui, checks: Option<&Checks>, ctx: &Context) -> Result<(), Error> {
    let Some(checks) = checks else {
        return Ok(());
    };
    if let Some(path) = &ctx.github_output {
        actions::write_outputs(
            path,
            &[("check_findings", checks.report.findings.len().to_string())],
        )?;
    }
    let Some(level) = checks.fail_on else {
        return Ok(());
    };
    let count = checks.report.at_or_above(level.level());
    if count == 0 {
        return Ok(());
    }
    let tools = checks
        .report
        .at_or_above_by_tool(level.level())
        .iter()
        .map(|(tool, n)| format!("{tool} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let err = Error::ChecksFailed {
        level: level.level().as_str(),
        count,
        tools: ui.mask(&tools),
    };
    if let Some(path) = &ctx.github_output {
        actions::write_outputs(path, &[("failure_reason", format!("checks_failed: {err}"))])?;
    }
    if let Some(path) = &ctx.step_summary {
        actions::append_step_summary(
            path,
            &format!(
                "\n**The plan failed:** {count} check finding{} at or above `{}` (`--fail-on-checks {}`); see the Checks section above.\n",
                if count == 1 { "" } else { "s" },
                level.level().as_str(),
                level.level().as_str()
            ),
        )?;
    }
    Err(err)
}

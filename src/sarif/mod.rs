//! Findings of code checkers (tflint, checkov, and any tool that writes SARIF 2.1.0), for the
//! "Checks" section of the PR comment and `plan --fail-on-checks`: what each tool found, by
//! level, which findings come first, and which rules were suppressed.
//!
//! `read` turns one SARIF file's text into findings (`read.rs`); `summarise` gathers the
//! findings of every file into a `Report`. A finding's level is the result's `level`, else its
//! rule's `defaultConfiguration.level`, else `warning` (SARIF's own default); a result whose
//! `kind` is not `fail` is at level `none`. Nothing else (checkov's `security-severity`, say)
//! changes it, so a level means what the tool said. A result with a `suppressions` entry that
//! was not rejected is suppressed: it is counted apart and never fails a plan.
//!
//! Everything read here is untrusted: messages, rule ids, tool names and paths are kept as
//! text, and the renderer masks, escapes and budgets them. This module is pure: it reads no
//! file and no environment; which files exist is asked of the caller (`Places`).

mod read;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use read::read;

/// A SARIF `level`, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    None,
    Note,
    Warning,
    Error,
}

impl Level {
    /// Most severe first, as the comment's columns go.
    pub const ALL: [Level; 4] = [Level::Error, Level::Warning, Level::Note, Level::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
            Level::None => "none",
        }
    }

    /// SARIF's name for it; `None` for anything else.
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text {
            "error" => Level::Error,
            "warning" => Level::Warning,
            "note" => Level::Note,
            "none" => Level::None,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        match self {
            Level::Error => 0,
            Level::Warning => 1,
            Level::Note => 2,
            Level::None => 3,
        }
    }
}

/// Where the repository and the Terraform root are on this machine: what a SARIF location is
/// resolved against.
pub struct Places<'a> {
    /// The repository's root, as `real_path` gives paths; `None`: unknown, so nothing is placed
    /// in the repository (no finding gets a link).
    pub repo: Option<&'a Path>,
    /// The Terraform root, as `real_path` gives paths. A relative path is tried against the
    /// root first (tflint, and checkov with `--directory ROOT`, write paths relative to it),
    /// then against the repository.
    pub root: &'a Path,
    /// The real path of a file that exists (symbolic links and `..` resolved), `None` for one
    /// that does not.
    pub real_path: &'a dyn Fn(&Path) -> Option<PathBuf>,
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file inside the repository, relative to its root with `/` between parts; `None`
    /// when the file is outside the repository, does not exist here, or is not a file.
    pub file: Option<String>,
    /// What to show: `file` when known, else the URI as the tool wrote it (decoded).
    pub shown: String,
    /// The first line (1-based), when the tool gave one.
    pub line: Option<u64>,
}

/// One result of one tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub tool: String,
    /// The rule id (`CKV_AWS_20`, `terraform_unused_declarations`), when given.
    pub rule: Option<String>,
    pub level: Level,
    /// The message's plain text (a tool's markdown is never used).
    pub message: String,
    pub location: Option<Location>,
    pub suppressed: bool,
}

/// One run of one tool in a SARIF file: its name and its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub tool: String,
    pub findings: Vec<Finding>,
}

/// A SARIF file that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The file as the user named it.
    pub file: String,
    pub reason: String,
}

/// What one tool found, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCounts {
    pub tool: String,
    /// Findings that are not suppressed, by level (`Level::ALL`'s order).
    pub by_level: [usize; 4],
    pub suppressed: usize,
}

impl ToolCounts {
    pub fn count(&self, level: Level) -> usize {
        self.by_level[level.index()]
    }
}

/// Every tool's findings, gathered from all the SARIF files of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// In the order the tools were first read.
    pub tools: Vec<ToolCounts>,
    /// The findings that are not suppressed: most severe first, then in the order read.
    pub findings: Vec<Finding>,
    /// The ids of suppressed rules, per tool (in `tools`' order), each id once, sorted.
    pub suppressed: Vec<(String, Vec<String>)>,
    pub unreadable: Vec<Unreadable>,
}

impl Report {
    /// How many findings (not suppressed) are at `level` or above.
    pub fn at_or_above(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level >= level).count()
    }

    /// Per tool, how many findings are at `level` or above (tools with none left out).
    pub fn at_or_above_by_tool(&self, level: Level) -> Vec<(&str, usize)> {
        self.tools
            .iter()
            .map(|t| {
                let n = Level::ALL
                    .iter()
                    .filter(|l| **l >= level)
                    .map(|l| t.count(*l))
                    .sum();
                (t.tool.as_str(), n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// The report of `runs` (from every file, in order) and the files that could not be read.
pub fn summarise(runs: Vec<Run>, unreadable: Vec<Unreadable>) -> Report {
    let mut tools: Vec<ToolCounts> = Vec::new();
    let mut suppressed: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut findings = Vec::new();
    for run in runs {
        let at = match tools.iter().position(|t| t.tool == run.tool) {
            Some(at) => at,
            None => {
                tools.push(ToolCounts {
                    tool: run.tool.clone(),
                    by_level: [0; 4],
                    suppressed: 0,
                });
                tools.len() - 1
            }
        };
        for f in run.findings {
            let counts = &mut tools[at];
            if f.suppressed {
                counts.suppressed += 1;
                if let Some(rule) = &f.rule {
                    suppressed.entry(at).or_default().insert(rule.clone());
                }
            } else {
                counts.by_level[f.level.index()] += 1;
                findings.push(f);
            }
        }
    }
    // Stable: equally severe findings keep the order the tools wrote them in.
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    Report {
        suppressed: suppressed
            .into_iter()
            .map(|(at, rules)| (tools[at].tool.clone(), rules.into_iter().collect()))
            .collect(),
        tools,
        findings,
        unreadable,
    }
}

#[cfg(test)]
mod tests;

//! What a plan means: summary, fingerprint, attribute changes and redaction. Pure functions
//! over the parsed plan JSON; nothing here reads files, the environment, the clock or the
//! network.

pub mod attrs;
pub mod compare;
pub mod fingerprint;
pub mod node;
pub mod par;
pub mod redact;
pub mod stream;
pub mod summary;

use std::ops::Range;

use crate::terraform::plan_json::{self, PlanJsonError};

/// Everything tfgate needs from one plan JSON document.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub summary: summary::Summary,
    /// Values Terraform marks sensitive in this plan, to be masked in any text.
    pub secrets: Vec<String>,
}

/// Parses plan JSON and summarizes it.
pub fn analyze(bytes: &[u8]) -> Result<Analysis, PlanJsonError> {
    analyze_then(bytes, |_| {}, |_| {})
}

/// `analyze`, with the resource changes digested while the document is read
/// (`stream::read_and_digest`). `skipped` is told of each part of `bytes` the plan will not
/// refer to, once the reading is past it; `parsed` is given the plan once it is read, before
/// the rest of the summary and the secrets are worked out.
pub fn analyze_then(
    bytes: &[u8],
    skipped: impl FnMut(Range<usize>),
    parsed: impl FnOnce(&plan_json::Plan<'_>),
) -> Result<Analysis, PlanJsonError> {
    let (plan, digested) = stream::read_and_digest(bytes, skipped)?;
    parsed(&plan);
    Ok(Analysis {
        summary: summary::Summary::from_digested(&plan, digested)?,
        secrets: redact::secrets_of_plan(&plan)?,
    })
}

#[cfg(test)]
mod depth_tests;
#[cfg(test)]
pub mod testing;

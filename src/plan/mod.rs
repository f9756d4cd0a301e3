//! What a plan means: summary, fingerprint, attribute changes and redaction. Pure functions
//! over the parsed plan JSON; nothing here reads files, the environment, the clock or the
//! network.

pub mod attrs;
pub mod compare;
pub mod fingerprint;
pub mod node;
pub mod par;
pub mod redact;
pub mod summary;

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
    let plan = plan_json::parse(bytes)?;
    Ok(Analysis {
        summary: summary::Summary::from_plan(&plan)?,
        secrets: redact::secrets_of_plan(&plan)?,
    })
}

#[cfg(test)]
mod depth_tests;

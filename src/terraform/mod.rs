//! Terraform itself: running the binary and reading its plan JSON. Knows nothing of GitHub or
//! AWS.

pub mod backend;
pub mod plan_file;
pub mod plan_json;
pub mod runner;
pub mod variables;
pub mod wrapper;

pub use runner::{LineSink, RunOutput, RunTerraform, Stdout, Stream, Terraform};

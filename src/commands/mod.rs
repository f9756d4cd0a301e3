//! One module per subcommand: each turns its arguments into options and calls the domain.

pub mod apply;
pub mod archive;
pub mod comment;
pub mod completions;
pub mod diff;
pub mod lock;
pub mod plan;
pub mod queue;
pub mod show;

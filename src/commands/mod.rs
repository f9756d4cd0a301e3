//! One module per subcommand: each turns its arguments into options and calls the domain.

pub mod comment;
pub mod completions;
pub mod plan;
pub mod show;

//! Rendering: the PR comment (markdown), terminal tables and the markdown helpers they share.
//!
//! Data in, `String` out. Nothing here reads files, the environment or the clock, talks to the
//! network or prints: commands hand in a `Summary`, the plan text and metadata, and write or post
//! what comes back. Everything taken from a plan is masked (`plan::redact::Masker`) and escaped
//! here before it is placed in the output.

pub mod attributes;
pub mod comment;
pub mod json;
pub mod lock;
pub mod manual;
pub mod markdown;
pub mod queue;
pub mod reason;
pub mod report;
pub mod table;

#[cfg(test)]
mod testing;

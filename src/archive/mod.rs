//! Archive bundles: the format (`bundle`), the local store (`local`), what both the local
//! and the S3 archive answer (`store`), and bundles that travel as workflow artifacts
//! (`artifact`).

pub mod artifact;
pub mod bundle;
pub mod local;
pub mod location;
pub mod store;

/// The in-memory archive the workflows' tests run on.
#[cfg(test)]
pub mod memory;

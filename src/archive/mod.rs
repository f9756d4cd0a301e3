//! Archive bundles: the format (`bundle`), the local store (`local`), and what both the local
//! and the S3 archive answer (`store`).

pub mod bundle;
pub mod local;
pub mod store;

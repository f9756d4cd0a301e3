//! Archive bundles: the format (`bundle`) and the local store (`local`).

pub mod bundle;
pub mod local;

//! End-to-end tests: the real `tfgate` binary, the real `terraform` binary, fixtures from
//! `terraform-fixtures/`, and what a user would see.

mod support;

mod apply;
mod archive;
mod aws_chain;
mod aws_harness;
mod diff;
mod github;
mod github_fake;
mod init_args;
mod lock;
mod plan;
mod queue;
mod secrets;
mod show;
mod signals;

//! End-to-end tests: the real `tfgate` binary, the real `terraform` binary, fixtures from
//! `terraform-fixtures/`, and what a user would see.

mod support;

mod adoption;
mod apply;
mod archive;
mod aws_chain;
mod aws_harness;
mod checks;
mod comment_attacks;
mod comment_details;
mod comment_modes;
mod comment_races;
mod comment_render;
mod diff;
mod github;
mod github_fake;
mod github_identity;
mod github_proxy;
mod hardening;
mod init_args;
mod labels;
mod lock;
mod plan;
mod queue;
mod runners;
mod secrets;
mod secrets_escaped;
mod show;
mod signals;
mod tamper;
mod workflow_commands;

//! tfgate's one error type, its exit codes (§3) and the hints shown to users.
//!
//! Variants carry the facts; `Display` is the one-line cause and `hint()` what to do about it.
//! The exit-code table lives here and in the README, nowhere else.

use std::path::PathBuf;

use crate::terraform::plan_json::PlanJsonError;

/// Exit codes (§3).
pub mod code {
    pub const SUCCESS: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const CHANGES: u8 = 2;
    pub const DIFFERENT: u8 = 3;
    pub const REVIEWED_PLAN_MISSING: u8 = 4;
    pub const LOCKED: u8 = 5;
    pub const DIGEST_MISMATCH: u8 = 6;
}

/// What a successful run found, when that is more than "success".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// `plan --detailed-exitcode` and the plan has changes.
    Changes,
    /// Two plans differ (`diff`), or `apply` refused.
    Different,
    /// The state is locked, or the queue wait timed out.
    Locked,
    /// The state and its digest disagree.
    DigestMismatch,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => code::SUCCESS,
            Outcome::Changes => code::CHANGES,
            Outcome::Different => code::DIFFERENT,
            Outcome::Locked => code::LOCKED,
            Outcome::DigestMismatch => code::DIGEST_MISMATCH,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Usage { message: String, hint: String },

    #[error("the Terraform root {} does not exist", path.display())]
    RootNotFound { path: PathBuf },

    #[error("{} is not a directory", path.display())]
    RootNotADirectory { path: PathBuf },

    #[error("terraform binary `{binary}` not found")]
    TerraformNotFound { binary: String },

    #[error("could not start `{binary}`: {source}")]
    TerraformSpawn {
        binary: String,
        source: std::io::Error,
    },

    // Only the subcommand is shown: the arguments passed through after `--` may hold values
    // (`-var=password=…`) that must not reach a log.
    #[error("`{binary} {}` failed ({})", args.first().map_or("", String::as_str), status_text(*status))]
    TerraformFailed {
        binary: String,
        args: Vec<String>,
        status: Option<i32>,
        stderr_tail: String,
    },

    #[error("interrupted by {signal_name}; terraform was stopped and has exited")]
    Interrupted { signal: i32, signal_name: String },

    #[error("cannot read plan {}: {kind}", path.display())]
    PlanJson { path: PathBuf, kind: PlanJsonError },

    #[error("{} is not a plan tfgate can read", path.display())]
    UnknownPlanSource { path: PathBuf },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{} is not a valid tfgate manifest: {message}", path.display())]
    BadManifest { path: PathBuf, message: String },

    #[error("the bundle {} was altered: {file} does not match its manifest checksum", bundle.display())]
    ChecksumMismatch { bundle: PathBuf, file: String },

    #[error("invalid settings in {}: {message}", path.display())]
    Settings { path: PathBuf, message: String },

    #[error("could not post the PR comment: {message}")]
    Comment { message: String, hint: String },

    #[error("invalid --mask pattern `{pattern}`: {message}")]
    MaskPattern { pattern: String, message: String },
}

fn status_text(status: Option<i32>) -> String {
    match status {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    }
}

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            // The shell convention for death by signal: 128 + signal number.
            Error::Interrupted { signal, .. } => 128u8.saturating_add(*signal as u8),
            Error::ChecksumMismatch { .. } => code::REVIEWED_PLAN_MISSING,
            _ => code::ERROR,
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Usage { hint, .. } | Error::Comment { hint, .. } => hint.clone(),
            Error::RootNotFound { .. } | Error::RootNotADirectory { .. } => {
                "pass the directory holding the root's .tf files with --chdir (or TFGATE_CHDIR)"
                    .into()
            }
            Error::TerraformNotFound { .. } => "install terraform, or point tfgate at it with --terraform PATH (or TFGATE_TERRAFORM); OpenTofu works too: --terraform tofu".into(),
            Error::TerraformFailed { stderr_tail, .. } if !stderr_tail.is_empty() => {
                format!("terraform said:\n{stderr_tail}")
            }
            Error::TerraformFailed { .. } => "terraform printed no error; run it by hand in the same directory to see more".into(),
            Error::PlanJson { kind, .. } => match kind {
                PlanJsonError::UnsupportedVersion { .. } => {
                    "this plan was written by a newer Terraform than this tfgate understands; upgrade tfgate".into()
                }
                _ => "pass the output of `terraform show -json PLANFILE`, a bundle directory, or a binary plan file".into(),
            },
            Error::UnknownPlanSource { .. } => "pass a plan JSON file, a bundle directory (with plan.json), or a binary plan file together with --chdir pointing at its initialised root".into(),
            Error::Settings { .. } => "see the README's settings section for the keys .tfgate.toml accepts".into(),
            Error::MaskPattern { .. } => "--mask takes a Rust regular expression (https://docs.rs/regex)".into(),
            Error::ChecksumMismatch { .. } => "do not trust this bundle: compare it with the copy in the archive, or plan again".into(),
            Error::BadManifest { .. } => "the bundle may be from a newer tfgate, or damaged; plan again to make a new one".into(),
            Error::Interrupted { .. } | Error::Io { .. } | Error::TerraformSpawn { .. } => return None,
        })
    }
}

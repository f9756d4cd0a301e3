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

    /// What each exit code means, for the man pages and the reference pages.
    pub const TABLE: &[(&str, &str)] = &[
        (
            "0",
            "success: no changes, applied, identical plans, unlocked and consistent, a superseded or already-applied commit skipped",
        ),
        (
            "1",
            "error: bad input, terraform failed, an API failed after retries",
        ),
        ("2", "`plan --detailed-exitcode` only: the plan has changes"),
        (
            "3",
            "plans differ: `apply` refused because the fresh plan differs from the reviewed one; `diff` found differences",
        ),
        (
            "4",
            "reviewed plan missing or stale: no plan for this PR/commit, PR head moved after the plan, archive checksum mismatch",
        ),
        (
            "5",
            "the state is locked (`lock status`, `lock fix-digest`), or the queue wait timed out",
        ),
        ("6", "the state and its DynamoDB digest disagree"),
        (
            "130, 143",
            "interrupted by SIGINT or SIGTERM; a running terraform was sent the same signal and tfgate waited for it to exit",
        ),
    ];
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

    #[error("interrupted by {signal_name}; no terraform is left running")]
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

    /// A bundle whose manifest and files do not make a whole bundle: a listed file is missing,
    /// a file of its kind is not listed, or a listed name is not a file of the bundle's layout.
    #[error("the bundle {bundle} cannot be trusted: {reason}")]
    BundleAltered { bundle: String, reason: String },

    #[error("invalid settings in {}: {message}", path.display())]
    Settings { path: PathBuf, message: String },

    #[error("{message}")]
    ReviewedPlanMissing { message: String },

    /// `plan --fail-on-checks`: code checkers' findings at or above the level (the comment is
    /// posted and the bundle archived before this is returned).
    #[error("{count} check finding{} at or above `{level}` ({tools}) fail{} the plan (--fail-on-checks {level})", if *count == 1 { "" } else { "s" }, if *count == 1 { "s" } else { "" })]
    ChecksFailed {
        level: &'static str,
        count: usize,
        tools: String,
    },

    /// GitHub could not be asked for the merged pull request or its tfgate comment, so the
    /// reviewed plan could not be looked for.
    #[error("{message}")]
    ReviewedPlanLookup { message: String },

    #[error(
        "the reviewed plan is stale: pull request #{pr} was planned at {planned} but merged at {merged}"
    )]
    StalePlan {
        pr: u64,
        planned: String,
        merged: String,
    },

    #[error("could not post the PR comment: {message}")]
    Comment { message: String, hint: String },

    #[error("invalid --mask pattern `{pattern}`: {message}")]
    MaskPattern { pattern: String, message: String },

    /// An S3 archive call failed (after the SDK's bounded retries). `cause` is one line from
    /// S3's error code and message or the transport's error chain, never from the request.
    #[error("S3 archive: cannot {action} {uri}: {cause}")]
    Archive {
        action: &'static str,
        uri: String,
        cause: String,
        hint: String,
    },

    #[error("no complete bundle at {uri}: {reason}")]
    BundleMissing { uri: String, reason: String },

    /// The reviewed plan travels as a workflow artifact, and that artifact cannot be used.
    #[error("the workflow artifact `{name}` of run {run_id} {problem}")]
    Artifact {
        name: String,
        run_id: u64,
        problem: ArtifactProblem,
    },

    /// The PR comment names a place this runner cannot reach (a folder on the runner that
    /// planned), or no place at all.
    /// `artifact`: the name the plan job would upload the bundle as, for the hint.
    #[error("the reviewed plan cannot be reached from this runner: {reason}")]
    PlanUnreachable { reason: String, artifact: String },

    /// `apply --archive` names another archive than the one the reviewed plan is in.
    #[error("--archive {given} differs from where the reviewed plan is: {reviewed}")]
    ArchiveDiffers { given: String, reviewed: String },

    // `tfgate lock`: the backend's settings, AWS, and the lock and digest repairs.
    #[error("no S3 backend is configured in {}", root.display())]
    BackendNotConfigured { root: PathBuf },

    #[error("{} configures the `{kind}` backend; tfgate lock reads the s3 backend only", origin.display())]
    BackendNotS3 { origin: PathBuf, kind: String },

    /// A setting is missing or not a literal. `supply` says how to give it instead.
    #[error("the s3 backend's `{setting}` {problem} ({})", origin.display())]
    BackendSetting {
        setting: &'static str,
        problem: String,
        origin: PathBuf,
        supply: &'static str,
    },

    #[error("cannot read the backend configuration in {}: {message}", path.display())]
    BackendFile { path: PathBuf, message: String },

    #[error("no AWS region is configured for the s3 backend")]
    AwsNoRegion,

    #[error("the DynamoDB table `{table}` does not exist in {region}")]
    LockTableNotFound { table: String, region: String },

    #[error("the S3 bucket `{bucket}` does not exist")]
    BucketNotFound { bucket: String },

    /// `message` is AWS's own (it names the principal and the action), never the request's.
    #[error("access denied: {operation} on {resource}: {message}")]
    AwsAccessDenied {
        operation: &'static str,
        resource: String,
        message: String,
    },

    #[error("the S3 bucket `{bucket}` is not in {region}{}", actual.as_ref().map(|a| format!(" but in {a}")).unwrap_or_default())]
    AwsWrongRegion {
        bucket: String,
        region: String,
        actual: Option<String>,
    },

    /// Missing, invalid or expired credentials. `code` is AWS's error code (or `NoCredentials`).
    #[error("AWS refused the credentials ({code}): {message}")]
    AwsCredentials { code: String, message: String },

    #[error("cannot reach {service} at {endpoint}: {message}")]
    AwsUnreachable {
        service: &'static str,
        endpoint: String,
        message: String,
    },

    #[error("{service} {operation} on {resource} failed: {message}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        resource: String,
        message: String,
    },

    #[error("the {kind} lock on {path} holds no lock info tfgate can read: {message}")]
    LockInfoUnreadable {
        kind: &'static str,
        path: String,
        message: String,
    },

    /// `held`: the locks that are held instead, described for the hint.
    #[error("no lock with ID {id} is held on {path}; nothing was removed")]
    LockNotFound {
        id: String,
        path: String,
        held: Vec<String>,
    },

    /// `age`: "only 3m 2s old", or "of unknown age" when its `Created` is not a time.
    #[error("the lock {id} is {age} (--min-age {min_age}); nothing was removed")]
    LockTooYoung {
        id: String,
        age: String,
        min_age: String,
    },

    #[error(
        "the {kind} lock was replaced while tfgate released it (it is now {now}); it was left alone"
    )]
    LockChanged {
        kind: &'static str,
        id: String,
        now: String,
    },

    #[error("the state is locked by {holder}; fix-digest changes nothing while a lock is held")]
    StateLocked { holder: String },

    #[error(
        "the digest item {lock_id} changed while tfgate was writing it; it was not overwritten"
    )]
    DigestChanged { lock_id: String },

    #[error("no DynamoDB table is configured, so the state has no digest to fix")]
    NoDigestTable,

    #[error("{action} needs confirmation, and stdin is not a terminal")]
    ConfirmationRequired { action: &'static str },

    #[error("{action} was not confirmed; nothing was changed")]
    NotConfirmed { action: &'static str },

    // The apply queue (§7).
    #[error("the apply queue in {origin} cannot be read: {message}")]
    QueueDocument { origin: String, message: String },

    #[error(
        "interrupted by {signal_name} while waiting in the apply queue; ticket {ticket} was removed and nothing was applied"
    )]
    QueueCancelled {
        signal: i32,
        signal_name: String,
        ticket: String,
    },

    #[error(
        "gave up waiting in the apply queue after {waited} (--queue-timeout); ticket {ticket} was removed and nothing was applied"
    )]
    QueueTimeout { waited: String, ticket: String },

    #[error("not applied: this run no longer holds the apply queue (ticket {ticket}){}", holder.as_ref().map(|h| format!("; {h} holds it now")).unwrap_or_default())]
    LeaseLost {
        ticket: String,
        holder: Option<String>,
    },

    #[error(
        "not applied: cannot confirm that this run still holds the apply queue (ticket {ticket}): {message}"
    )]
    LeaseUnconfirmed { ticket: String, message: String },

    #[error(
        "the apply queue in {store} kept changing under tfgate ({tries} conflicting writes in a row)"
    )]
    QueueContention { store: String, tries: u32 },

    #[error(
        "cannot tell whether {commit} is already in production (the last commit applied is {applied}): {reason}"
    )]
    AncestryUnknown {
        commit: String,
        applied: String,
        reason: String,
    },
}

/// What is wrong with the workflow artifact that holds the reviewed plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactProblem {
    /// No artifact of that name in that run.
    Missing,
    /// GitHub deleted its contents when its retention ran out.
    Expired,
    /// Larger than `--max-artifact-size`.
    TooLarge { size: u64, limit: u64 },
    /// Its zip holds something a bundle never does: links, paths out of the folder, duplicates,
    /// entries larger than they say, files the manifest does not list.
    Unsafe { reason: String },
    /// Not the bundle folder tfgate wrote: not a zip, nested folders, no manifest.
    NotABundle { reason: String },
    /// GitHub could not be asked (after retries), or refused.
    Lookup(crate::github::GithubError),
}

impl std::fmt::Display for ArtifactProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactProblem::Missing => {
                f.write_str("does not exist: that run uploaded no artifact of that name")
            }
            ArtifactProblem::Expired => {
                f.write_str("has expired: GitHub deleted it when its retention period ended")
            }
            ArtifactProblem::TooLarge { size, limit } => write!(
                f,
                "is larger than --max-artifact-size ({size} > {limit} bytes); it was not unpacked"
            ),
            ArtifactProblem::Unsafe { reason } => {
                write!(f, "cannot be trusted: {reason}; nothing of it was used")
            }
            ArtifactProblem::NotABundle { reason } => {
                write!(f, "is not a tfgate bundle: {reason}")
            }
            ArtifactProblem::Lookup(e) => write!(f, "could not be fetched: {e}"),
        }
    }
}

/// How the plan job makes its plan reachable from the apply job, for hints: upload its bundle
/// folder as the artifact `name`, or archive it to S3.
fn reach_fix(name: &str) -> String {
    format!(
        "after `tfgate plan` (a step with `id: plan`), add a step `uses: actions/upload-artifact@v4` with `name: {name}` and `path: ${{{{ steps.plan.outputs.bundle }}}}`, and pass `--artifact-name {name}` to tfgate plan; or archive to S3 with `tfgate plan --archive s3://BUCKET/PREFIX`. Then re-run the pull request's plan job, and this apply"
    )
}

/// What to do about a plan JSON tfgate cannot read.
fn plan_json_hint(kind: &PlanJsonError) -> String {
    match kind {
        PlanJsonError::UnsupportedVersion { .. } => {
            "this plan was written by a newer Terraform than this tfgate understands; upgrade tfgate".into()
        }
        PlanJsonError::TooDeep { limit, .. } => format!(
            "tfgate compares every level of every value and reads at most {limit}; nothing was compared or applied. Flatten the value in the configuration, or check where this plan JSON came from"
        ),
        PlanJsonError::BadValue { .. } => "nothing was compared or applied: a plan JSON written by `terraform show -json` never holds such a value; check where this file came from".into(),
        PlanJsonError::UnknownAction { .. } => format!(
            "Terraform writes these action lists: {}; a plan with any other cannot be summarized or compared. Check where this plan JSON came from, or upgrade tfgate if a newer Terraform wrote it",
            crate::terraform::plan_json::ACTION_LISTS
                .iter()
                .map(|l| format!("[{}]", l.join(", ")))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        _ => "pass the output of `terraform show -json PLANFILE`, a bundle directory, or a binary plan file".into(),
    }
}

/// What to do about the workflow artifact that should hold the reviewed plan.
fn artifact_hint(name: &str, problem: &ArtifactProblem) -> String {
    match problem {
        ArtifactProblem::Missing => format!("nothing was applied. The plan job must upload its bundle folder as the artifact `{name}`: {}", reach_fix(name)),
        ArtifactProblem::Expired => "nothing was applied. Re-run the pull request's plan job to upload a fresh artifact, then this apply; to keep plans longer, raise the upload step's `retention-days`, or archive to S3 with `tfgate plan --archive s3://BUCKET/PREFIX`".into(),
        ArtifactProblem::TooLarge { .. } => "nothing was applied. If the plan job's bundle really is that large, raise --max-artifact-size (TFGATE_MAX_ARTIFACT_SIZE, e.g. 4GiB); otherwise do not trust this artifact".into(),
        ArtifactProblem::Unsafe { .. } => "nothing was applied. Do not trust this artifact: a bundle tfgate wrote is one folder of plain files that its manifest lists. Re-run the pull request's plan job to upload a fresh one".into(),
        ArtifactProblem::NotABundle { .. } => "nothing was applied. Upload exactly the folder `tfgate plan` gives as its `bundle` step output (`path: ${{ steps.plan.outputs.bundle }}`), then re-run the pull request's plan job and this apply".into(),
        ArtifactProblem::Lookup(crate::github::GithubError::Forbidden { .. }) => "the apply job's token may not read the plan job's artifacts: grant it `permissions: actions: read`".into(),
        ArtifactProblem::Lookup(_) => "check GITHUB_TOKEN and that GitHub answers, then run the apply again".into(),
    }
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
            Error::Interrupted { signal, .. } | Error::QueueCancelled { signal, .. } => {
                128u8.saturating_add(*signal as u8)
            }
            Error::QueueTimeout { .. } => code::LOCKED,
            Error::ChecksumMismatch { .. }
            | Error::BundleAltered { .. }
            | Error::BadManifest { .. }
            | Error::ReviewedPlanMissing { .. }
            | Error::ReviewedPlanLookup { .. }
            | Error::StalePlan { .. }
            | Error::BundleMissing { .. }
            | Error::PlanUnreachable { .. }
            | Error::ArchiveDiffers { .. } => code::REVIEWED_PLAN_MISSING,
            Error::Artifact {
                problem: ArtifactProblem::Lookup(_),
                ..
            } => code::ERROR,
            Error::Artifact { .. } => code::REVIEWED_PLAN_MISSING,
            Error::StateLocked { .. } => code::LOCKED,
            _ => code::ERROR,
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Usage { hint, .. } | Error::Comment { hint, .. } | Error::Archive { hint, .. } => hint.clone(),
            Error::RootNotFound { .. } | Error::RootNotADirectory { .. } => {
                "pass the directory holding the root's .tf files with --chdir (or TFGATE_CHDIR)"
                    .into()
            }
            Error::TerraformNotFound { .. } => "install terraform, or point tfgate at it with --terraform PATH (or TFGATE_TERRAFORM); OpenTofu works too: --terraform tofu".into(),
            Error::TerraformFailed { stderr_tail, .. } if !stderr_tail.is_empty() => {
                format!("terraform said:\n{stderr_tail}")
            }
            Error::TerraformFailed { .. } => "terraform printed no error; run it by hand in the same directory to see more".into(),
            Error::PlanJson { kind, .. } => plan_json_hint(kind),
            Error::UnknownPlanSource { .. } => "pass a plan JSON file, a bundle directory (with plan.json), or a binary plan file together with --chdir pointing at its initialised root".into(),
            Error::Settings { .. } => "see the README's settings section for the keys .tfgate.toml accepts".into(),
            Error::MaskPattern { .. } => "--mask takes a Rust regular expression (https://docs.rs/regex)".into(),
            Error::ChecksumMismatch { .. } | Error::BundleAltered { .. } => "do not trust this bundle: compare it with the copy in the archive, or plan again".into(),
            Error::ChecksFailed { .. } => "the findings are in the PR comment's Checks section and the step summary: fix them, suppress them where the tool allows it (`# checkov:skip=RULE:reason`, `# tflint-ignore: RULE`), or fail only on more severe findings (--fail-on-checks error); the plan itself was archived and commented as usual".into(),
            Error::ReviewedPlanMissing { .. } => "nothing was applied. Plan on the pull request first (tfgate plan posts the plan and archives it), or pass --reviewed BUNDLE".into(),
            Error::ReviewedPlanLookup { .. } => "nothing was applied. Check that GITHUB_TOKEN may read the repository's pull requests (`permissions: pull-requests: read`) and that GitHub answers, then run the apply again".into(),
            Error::StalePlan { .. } => "nothing was applied: commits were pushed after the last plan, so what was reviewed is not what was merged. Re-run the plan on the pull request's last commit, review it, and apply again".into(),
            Error::BundleMissing { .. } => "`tfgate archive list --all` shows the archived bundles and whether each is complete; plan again to make a new one".into(),
            Error::Artifact { name, problem, .. } => artifact_hint(name, problem),
            Error::PlanUnreachable { artifact, .. } => format!("nothing was applied. The plan job must make the plan reachable from the apply job: {}", reach_fix(artifact)),
            Error::ArchiveDiffers { .. } => "nothing was applied. Drop --archive (TFGATE_ARCHIVE) from the apply: it takes the reviewed plan's location from the PR comment; or give the archive the plan job used".into(),
            Error::BadManifest { .. } => "the bundle may be from a newer tfgate, or damaged; plan again to make a new one".into(),
            Error::BackendNotConfigured { .. } => "tfgate reads the backend from .terraform/terraform.tfstate (run `terraform init`) or from the root's `backend \"s3\"` block; pass --chdir to point at the root, or give --bucket and --key (TFGATE_BUCKET, TFGATE_KEY)".into(),
            Error::BackendNotS3 { .. } => "tfgate lock inspects Terraform's S3 backend (DynamoDB and S3 lock files); for another backend use `terraform force-unlock`".into(),
            Error::BackendSetting { supply, .. } => format!("pass it with {supply}"),
            Error::BackendFile { .. } => "fix the file (`terraform validate` reports the same), or give the backend with --bucket and --key (TFGATE_BUCKET, TFGATE_KEY)".into(),
            Error::AwsNoRegion => "set `region` in the backend block, pass --region (TFGATE_REGION), or set AWS_REGION".into(),
            Error::LockTableNotFound { .. } => "check the backend's dynamodb_table and region (a table lives in one region), or pass --dynamodb-table and --region".into(),
            Error::BucketNotFound { .. } => "check the backend's bucket (or --bucket), and that the credentials belong to the account that owns it".into(),
            Error::AwsAccessDenied { .. } => "the credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID or the assumed role) need s3:GetObject on the state and its .tflock and dynamodb:GetItem on the table to read the lock; s3:DeleteObject and dynamodb:DeleteItem to release it; dynamodb:PutItem to fix the digest; dynamodb:GetItem and dynamodb:PutItem for the apply queue's item. `aws sts get-caller-identity` shows who they are".into(),
            Error::AwsWrongRegion { actual: Some(r), .. } => format!("pass --region {r} (TFGATE_REGION), or fix the backend's region"),
            Error::AwsWrongRegion { .. } => "pass the bucket's region with --region (TFGATE_REGION), or fix the backend's region".into(),
            Error::AwsCredentials { code, .. } if code.contains("Expired") => "the credentials have expired: renew them (`aws sso login`, a fresh role session, or the workflow's OIDC step) and run again".into(),
            Error::AwsCredentials { code, .. } if code == "NoCredentials" => "tfgate uses the AWS SDK's default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity (GitHub OIDC) or instance metadata".into(),
            Error::AwsCredentials { .. } => "check that AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) belong together and are current, and that the clock is right".into(),
            Error::AwsUnreachable { .. } => "check the network, and the endpoint: the backend's endpoints block, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB".into(),
            Error::Aws { .. } => "run again with -vv for the SDK's debug log".into(),
            Error::LockInfoUnreadable { .. } => "tfgate cannot tell whose lock this is, so it will not remove it; inspect it with the AWS CLI".into(),
            Error::LockNotFound { held, .. } if held.is_empty() => "the state is not locked: there is nothing to release".into(),
            Error::LockNotFound { held, .. } => format!("held instead: {}. Run `tfgate lock status` and pass the ID of the lock to release; tfgate never guesses", held.join("; ")),
            Error::LockTooYoung { .. } => "a young lock usually belongs to a terraform that is still running; if you know it is dead, pass --force (or a smaller --min-age)".into(),
            Error::LockChanged { .. } => "someone took the lock after tfgate read it; run `tfgate lock status` again before releasing anything".into(),
            Error::StateLocked { .. } => "wait for the holder to finish (tfgate lock status shows it), or release a dead holder's lock with `tfgate lock release --id ID` first".into(),
            Error::DigestChanged { .. } => "terraform wrote the state meanwhile; run `tfgate lock status` to see whether the digest still needs fixing".into(),
            Error::NoDigestTable => "the digest item exists only with DynamoDB locking (dynamodb_table); pass --dynamodb-table if the backend uses one".into(),
            Error::ConfirmationRequired { .. } => "run it in a terminal to confirm, or pass --yes".into(),
            Error::NotConfirmed { .. } => "run it again and answer y to go ahead".into(),
            Error::QueueDocument { .. } => "tfgate will not guess at a queue it cannot read; look at the item (or file) named above, and remove it only when no apply is running".into(),
            Error::QueueTimeout { .. } => "`tfgate queue status` shows who is applying and who waits; raise --queue-timeout, or run the apply again later".into(),
            Error::LeaseLost { .. } => "the lease ran out while this run could not renew it (a network partition or a paused runner), and the next run took over; run the apply again: it will queue behind the others".into(),
            Error::LeaseUnconfirmed { .. } => "tfgate does not start terraform apply unless it knows it still holds the queue; check the network and the table, then run the apply again".into(),
            Error::QueueContention { .. } => "too many runs write the queue at once; run the apply again".into(),
            Error::AncestryUnknown { .. } => "nothing was applied, so production was not rolled back by accident. Check out the full history (actions/checkout with fetch-depth: 0) or give tfgate a GITHUB_TOKEN with contents: read so it can ask GitHub".into(),
            Error::Io { path, source, .. } if source.kind() == std::io::ErrorKind::StorageFull => format!(
                "the file system holding {} is full: free some space there and run again",
                path.display()
            ),
            Error::Interrupted { .. } | Error::QueueCancelled { .. } | Error::Io { .. } | Error::TerraformSpawn { .. } => return None,
        })
    }
}

//! `tfgate lock status|release|fix-digest`: the S3 backend's state lock and digest, for on-call.
//!
//! Turns the arguments into backend settings (`terraform::backend`), reads and writes through
//! `aws::lock`, renders with `render::lock`, and decides what a user must confirm: a release
//! names the lock's ID and respects `--min-age`, a digest repair happens only while no lock is
//! held and after a yes on a terminal (or `--yes`). It never takes a guess at an ID and never
//! writes without a condition that protects what was read.

use std::time::Duration;

use chrono::Utc;

use crate::aws::lock::{LockStore, Removal};
use crate::aws::queue_store::DynamoStore;
use crate::duration::{age_words, exact_words, parse_duration};
use crate::error::{Error, Outcome};
use crate::queue::store::QueueStore;
use crate::render::lock::{self as render, StatusReport};
use crate::render::queue as render_queue;
use crate::settings::Common;
use crate::settings::flags::Format;
use crate::state_lock::{DigestStatus, HeldLock, LockKind, Snapshot};
use crate::terraform::backend::{self, Overrides};
use crate::ui::Ui;

/// Inspect and, carefully, repair the S3 backend's state lock and its DynamoDB digest.
///
/// The backend comes from the flags below, else from .terraform/terraform.tfstate (written by
/// `terraform init`; under TF_DATA_DIR when set), else from the `backend "s3"` block of the
/// root's .tf files; the workspace from --workspace, TF_WORKSPACE or .terraform/environment.
/// No `terraform init` is needed.
/// AWS credentials and region come from the SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID,
/// web identity), endpoints from the backend or AWS_ENDPOINT_URL.
#[derive(Debug, clap::Subcommand)]
pub enum LockCommand {
    /// Who holds the state lock, since when, and whether the digest matches the state
    ///
    /// Reads the DynamoDB lock item and the S3 .tflock object (each when configured), the state
    /// object, and the -md5 digest item. Exit 0: not locked and the digest consistent; 5: locked
    /// (even when the digest disagrees too: a state write may be under way); 6: not locked, and
    /// the digest does not match the state (every terraform run fails until `tfgate lock
    /// fix-digest`); 1: an error.
    Status(StatusArgs),
    /// Delete a lock, only if it is still the one with the ID you name
    ///
    /// Deletes the DynamoDB lock item (on the condition that it is unchanged) and the S3
    /// .tflock object (on the condition of its ETag) that carry this ID, so a lock taken in the
    /// meantime survives. A lock younger than --min-age is refused without --force. Take the ID
    /// from `tfgate lock status`; tfgate never guesses it.
    Release(ReleaseArgs),
    /// Rewrite the DynamoDB digest item from the current state object
    ///
    /// Only while no lock is held. Downloads the state, shows the stored and the actual MD5,
    /// and writes the new one on the condition that the item still holds the old. Asks first
    /// on a terminal; elsewhere it needs --yes.
    FixDigest(FixDigestArgs),
}

/// The S3 backend, when it should not (or cannot) be read from the root.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "S3 backend (each overrides the root's configuration)")]
pub struct BackendArgs {
    /// The state bucket
    #[arg(long, env = "TFGATE_BUCKET", value_name = "BUCKET")]
    pub bucket: Option<String>,

    /// The state key (of the default workspace)
    #[arg(long, env = "TFGATE_KEY", value_name = "KEY")]
    pub key: Option<String>,

    /// The bucket's and table's region [default: the backend's, else AWS_REGION]
    #[arg(long, env = "TFGATE_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// The DynamoDB lock table
    #[arg(long, env = "TFGATE_DYNAMODB_TABLE", value_name = "TABLE")]
    pub dynamodb_table: Option<String>,

    /// S3-native locking (a STATEPATH.tflock object)
    #[arg(
        long,
        env = "TFGATE_USE_LOCKFILE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub use_lockfile: Option<bool>,

    /// Prefix of non-default workspaces' state keys [default: env:]
    #[arg(long, env = "TFGATE_WORKSPACE_KEY_PREFIX", value_name = "PREFIX")]
    pub workspace_key_prefix: Option<String>,

    /// The AWS profile for credentials [default: the backend's, else the SDK's chain]
    #[arg(long, env = "TFGATE_PROFILE", value_name = "PROFILE")]
    pub profile: Option<String>,
}

impl BackendArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            region: self.region.clone(),
            dynamodb_table: self.dynamodb_table.clone(),
            use_lockfile: self.use_lockfile,
            workspace_key_prefix: self.workspace_key_prefix.clone(),
            profile: self.profile.clone(),
            data_dir: None,
            init_args: Vec::new(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub backend: BackendArgs,

    #[command(flatten)]
    pub queue: crate::settings::flags::QueueTableArg,
}

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The ID of the lock to delete, as `tfgate lock status` shows it
    #[arg(long, value_name = "ID")]
    pub id: String,

    /// Refuse a lock younger than this (e.g. 90s, 15m, 2h, 1h30m)
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub min_age: Duration,

    /// Release a lock younger than --min-age too
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Debug, clap::Args)]
pub struct FixDigestArgs {
    /// Do not ask: write the digest (needed when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub backend: BackendArgs,
}

pub async fn run(ui: &Ui, common: &Common, cmd: &LockCommand) -> Result<Outcome, Error> {
    match cmd {
        LockCommand::Status(a) => status(ui, common, a).await,
        LockCommand::Release(a) => release(ui, common, a).await,
        LockCommand::FixDigest(a) => fix_digest(ui, common, a).await,
    }
}

/// The backend, the workspace's paths, and clients for them.
async fn open(ui: &Ui, common: &Common, args: &BackendArgs) -> Result<LockStore, Error> {
    let flags = Overrides {
        data_dir: common.tf_data_dir.clone(),
        init_args: common.init_args.clone(),
        ..args.overrides()
    };
    let backend = backend::resolve(&common.root.path, &flags)?;
    let workspace = backend::workspace(
        &common.root.path,
        common.workspace.as_deref(),
        common.tf_data_dir.as_deref(),
    )?;
    let paths = backend.paths(&workspace);
    ui.detail(&format!(
        "backend from {}: s3://{}/{} (workspace {workspace})",
        backend.source, backend.bucket, paths.state_key
    ));
    LockStore::connect(backend, paths).await
}

async fn status(ui: &Ui, common: &Common, args: &StatusArgs) -> Result<Outcome, Error> {
    let store = open(ui, common, &args.backend).await?;
    // The apply queue's item is read beside the four reads of the lock and digest.
    let queue_table = args
        .queue
        .queue_table
        .clone()
        .or_else(|| common.queue_table.clone())
        .or_else(|| store.backend().dynamodb_table.clone());
    // One read with the SDK's bounded retries, not `queue::read`'s patience: on-call must not
    // wait out a retry storm for the extra line (the other reads are bounded the same way).
    let queue = queue_table.map(|t| DynamoStore::new(store.clone(), &t));
    let (snapshot, head) = tokio::join!(store.snapshot(), async {
        match &queue {
            Some(q) => q
                .read()
                .await
                .map(|v| render_queue::head(&v.doc, Utc::now())),
            None => Ok(None),
        }
    });
    let snapshot = snapshot?;
    // The queue is extra: when it cannot be read, the lock report still stands.
    let head = head.unwrap_or_else(|e| {
        ui.warning(&format!("cannot read the apply queue: {}", e.error));
        None
    });
    let facts = store.facts();
    let report = StatusReport {
        backend: &facts,
        snapshot: &snapshot,
        queue: head.as_ref(),
        now: Utc::now(),
    };
    let text = match common.format {
        Format::Human => render::status_text(&report, ui.color()),
        Format::Markdown => format!("```text\n{}```\n", render::status_text(&report, false)),
        Format::Json => serde_json::to_string_pretty(&render::status_json(&report))
            .map_err(|e| Error::usage(format!("cannot write JSON: {e}"), "report this bug"))?,
    };
    ui.result(&text);
    Ok(status_outcome(&snapshot))
}

/// Locked wins over a digest mismatch: while a lock is held, terraform may be between writing
/// the state and writing its digest, so the mismatch may be a write in progress.
fn status_outcome(s: &Snapshot) -> Outcome {
    if !s.locks.is_empty() {
        Outcome::Locked
    } else if s.digest_status == DigestStatus::Mismatch {
        Outcome::DigestMismatch
    } else {
        Outcome::Success
    }
}

async fn release(ui: &Ui, common: &Common, args: &ReleaseArgs) -> Result<Outcome, Error> {
    let store = open(ui, common, &args.backend).await?;
    let locks = store.locks().await?;
    let matching: Vec<&HeldLock> = locks
        .iter()
        .filter(|l| l.id() == Some(args.id.as_str()))
        .collect();
    if matching.is_empty() {
        return Err(Error::LockNotFound {
            id: args.id.clone(),
            path: format!(
                "s3://{}/{}",
                store.backend().bucket,
                store.paths().state_key
            ),
            held: held_descriptions(&locks),
        });
    }
    let now = Utc::now();
    if !args.force {
        let min_age = chrono::Duration::from_std(args.min_age).unwrap_or(chrono::Duration::MAX);
        for l in &matching {
            let age = l.info.as_ref().ok().and_then(|i| i.age(now));
            if age.is_none_or(|a| a < min_age) {
                return Err(Error::LockTooYoung {
                    id: args.id.clone(),
                    age: age.map_or_else(
                        || "of unknown age".into(),
                        |a| format!("only {} old", age_words(a)),
                    ),
                    min_age: exact_words(args.min_age),
                });
            }
        }
    }
    for l in matching {
        let what = match (l.kind, &l.info) {
            (LockKind::DynamoDb, _) => format!(
                "the DynamoDB lock {} from table {}",
                store.paths().lock_id,
                store
                    .backend()
                    .dynamodb_table
                    .as_deref()
                    .unwrap_or_default()
            ),
            (LockKind::S3, _) => format!(
                "the S3 lock file s3://{}/{}",
                store.backend().bucket,
                store.paths().lockfile_key
            ),
        };
        let holder = match &l.info {
            Ok(i) => format!(
                "ID {}, {} by {}, terraform {}, created {}{}",
                i.id,
                i.operation,
                i.who,
                i.version,
                i.created,
                i.age(now)
                    .map(|a| format!(" ({} ago)", age_words(a)))
                    .unwrap_or_default()
            ),
            Err(_) => args.id.clone(),
        };
        match store.remove(l).await? {
            Removal::Removed => ui.result(&format!("Removed {what}: {holder}.")),
            Removal::AlreadyGone => ui.warning(&format!(
                "{what} was already gone (its holder released it): {holder}"
            )),
        }
    }
    Ok(Outcome::Success)
}

async fn fix_digest(ui: &Ui, common: &Common, args: &FixDigestArgs) -> Result<Outcome, Error> {
    let store = open(ui, common, &args.backend).await?;
    let Some(table) = store.backend().dynamodb_table.clone() else {
        return Err(Error::NoDigestTable);
    };
    let snapshot = store.snapshot().await?;
    if let Some(l) = snapshot.locks.first() {
        return Err(Error::StateLocked {
            holder: l.describe(),
        });
    }
    let current = store.download_state_md5().await?;
    let new = current.as_ref().map(|(md5, _)| md5.clone());
    let old = snapshot.digest.stored().map(str::to_string);
    let item = &store.paths().digest_id;
    let same = match (&old, &new) {
        (Some(o), Some(n)) => o.eq_ignore_ascii_case(n),
        (None, None) => true,
        _ => false,
    };
    if same {
        ui.result(&format!(
            "The digest item {item} already matches the state ({}); nothing to do.",
            new.as_deref().unwrap_or("no state object, no digest")
        ));
        return Ok(Outcome::Success);
    }
    let state = match &current {
        Some((_, meta)) => format!(
            "s3://{}/{}, {} bytes{}",
            store.backend().bucket,
            store.paths().state_key,
            meta.size,
            meta.etag
                .as_deref()
                .map(|e| format!(", ETag {e}"))
                .unwrap_or_default()
        ),
        None => format!(
            "s3://{}/{} does not exist",
            store.backend().bucket,
            store.paths().state_key
        ),
    };
    let (old_text, new_text) = (
        old.as_deref().unwrap_or("(none)"),
        new.as_deref().unwrap_or("(none: the item will be deleted)"),
    );
    ui.status(&format!(
        "Digest item {item} in table {table}:\n  stored: {old_text}\n  state:  {new_text}   ({state})"
    ));
    if !args.yes {
        match ui.confirm(&format!("Write {new_text} over {old_text}?")) {
            None => {
                return Err(Error::ConfirmationRequired {
                    action: "fix-digest",
                });
            }
            Some(false) => {
                return Err(Error::NotConfirmed {
                    action: "fix-digest",
                });
            }
            Some(true) => {}
        }
    }
    store.write_digest(&snapshot.digest, new.as_deref()).await?;
    ui.result(&match &new {
        Some(n) => format!("Wrote digest {n} to {item} (was {old_text})."),
        None => {
            format!("Deleted the digest item {item} (was {old_text}): there is no state object.")
        }
    });
    Ok(Outcome::Success)
}

/// The locks that are held, one entry per ID (Terraform takes both kinds with the same ID).
fn held_descriptions(locks: &[HeldLock]) -> Vec<String> {
    let mut out: Vec<(Option<&str>, String)> = Vec::new();
    for l in locks {
        match out.iter_mut().find(|(id, _)| id.is_some() && *id == l.id()) {
            Some((_, text)) => {
                text.insert_str(text.len() - 1, &format!(" and {}", l.kind.label()));
            }
            None => out.push((l.id(), l.describe())),
        }
    }
    out.into_iter().map(|(_, t)| t).collect()
}

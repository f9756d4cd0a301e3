//! `tfgate queue status`, and the choice of the apply queue's store that `apply`, `queue
//! status` and `lock status` share.
//!
//! The store follows the state: a root whose backend is s3 with a `dynamodb_table` (or any s3
//! root given `--queue-table`) queues in DynamoDB, beside Terraform's lock; any other root
//! queues in a file under its `.tfgate/queue/`, which orders the applies of one machine only
//! (said once, as a warning, when the state itself is shared).

use std::path::Path;

use chrono::Utc;

use crate::aws::lock::LockStore;
use crate::aws::queue_store::DynamoStore;
use crate::cli::Format;
use crate::error::{Error, Outcome};
use crate::queue::file::FileStore;
use crate::queue::store::{QueueStore, Store};
use crate::render::queue as render;
use crate::settings::Common;
use crate::terraform::backend::{self, Overrides};
use crate::ui::Ui;

/// The apply queue: who is applying, who is waiting, since when
#[derive(Debug, clap::Subcommand)]
pub enum QueueCommand {
    /// Who holds the apply queue of this root's state, who waits, and what was applied last
    ///
    /// The queue lives in the s3 backend's DynamoDB table (or --queue-table), else in
    /// .tfgate/queue/ in the root. Read-only; exit 0 whatever the queue holds.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub table: QueueTableArg,
}

/// Where the queue lives, when not in the backend's own lock table.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct QueueTableArg {
    /// The DynamoDB table of the apply queue (its key must be the string `LockID`, as in a
    /// Terraform lock table) [default: the s3 backend's dynamodb_table, else a file in the root]
    #[arg(long, env = "TFGATE_QUEUE_TABLE", value_name = "TABLE")]
    pub queue_table: Option<String>,
}

pub async fn run(ui: &Ui, common: &Common, cmd: &QueueCommand) -> Result<Outcome, Error> {
    match cmd {
        QueueCommand::Status(a) => status(ui, common, a).await,
    }
}

async fn status(ui: &Ui, common: &Common, args: &StatusArgs) -> Result<Outcome, Error> {
    let root = crate::commands::plan::resolve_root(&common.root)?;
    let table = args
        .table
        .queue_table
        .as_deref()
        .or(common.queue_table.as_deref());
    let store = open_store(ui, common, &root, table, false).await?;
    let doc = crate::queue::read(&store).await?;
    let now = Utc::now();
    let text = match common.format {
        Format::Human => render::status_text(&doc, &store.describe(), now, ui.color()),
        Format::Markdown => format!(
            "```text\n{}```\n",
            render::status_text(&doc, &store.describe(), now, false)
        ),
        Format::Json => {
            serde_json::to_string_pretty(&render::status_json(&doc, &store.describe(), now))
                .map_err(|e| Error::usage(format!("cannot write JSON: {e}"), "report this bug"))?
        }
    };
    ui.result(&text);
    Ok(Outcome::Success)
}

/// The queue store of `root`'s state (see the module header). `warn`: say when the file store
/// stands in for a shared state.
pub async fn open_store(
    ui: &Ui,
    common: &Common,
    root: &Path,
    queue_table: Option<&str>,
    warn: bool,
) -> Result<Store, Error> {
    // As terraform picks it: --workspace / TF_WORKSPACE, else `terraform workspace select`'s.
    let data_dir = common.tf_data_dir.as_deref();
    let workspace = backend::workspace(root, common.workspace.as_deref(), data_dir)?;
    let file = || Store::File(FileStore::new(root, &workspace));
    let flags = Overrides {
        data_dir: data_dir.map(Path::to_path_buf),
        init_args: common.init_args.clone(),
        ..Overrides::default()
    };
    let backend = match backend::resolve(root, &flags) {
        Ok(b) => b,
        Err(Error::BackendNotConfigured { .. }) if queue_table.is_none() => return Ok(file()),
        Err(Error::BackendNotS3 { kind, .. }) if queue_table.is_none() => {
            // A local state is on this machine anyway; a remote one is shared.
            if warn && kind != "local" {
                ui.warning(&format!(
                    "the apply queue is a file in this checkout ({}): it orders only the applies on this machine, while the `{kind}` backend's state is shared",
                    crate::queue::file::queue_dir(root).display()
                ));
            }
            return Ok(file());
        }
        Err(e) if queue_table.is_some() => {
            return Err(Error::usage(
                format!(
                    "--queue-table needs the s3 backend's bucket and key to name the state's queue: {e}"
                ),
                "run `terraform init` in the root first, or drop --queue-table to use the file queue",
            ));
        }
        Err(e) => return Err(e),
    };
    let paths = backend.paths(&workspace);
    let Some(table) = queue_table
        .map(str::to_string)
        .or_else(|| backend.dynamodb_table.clone())
    else {
        if warn {
            ui.warning(&format!(
                "the s3 backend has no dynamodb_table, so the apply queue is a file in this checkout ({}) and orders only the applies on this machine; pass --queue-table TABLE (a table whose key is the string LockID, such as a Terraform lock table) to queue across runners",
                crate::queue::file::queue_dir(root).display()
            ));
        }
        return Ok(file());
    };
    let aws = LockStore::connect(backend, paths).await?;
    Ok(Store::Dynamo(Box::new(DynamoStore::new(aws, &table))))
}

/// "runner-7 pid 4242": which machine and process hold a ticket.
pub fn who() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown host".into());
    format!("{host} pid {}", std::process::id())
}

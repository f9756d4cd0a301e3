//! `tfgate queue status`: who holds the apply queue, who waits, what was applied last. The
//! store is the one `wire::queue_store` picks for the root's state.

use chrono::Utc;

use crate::error::{Error, Outcome};
use crate::queue::store::QueueStore;
use crate::render::queue as render;
use crate::settings::Common;
use crate::settings::flags::Format;
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
    pub table: crate::settings::flags::QueueTableArg,
}

pub async fn run(ui: &Ui, common: &Common, cmd: &QueueCommand) -> Result<Outcome, Error> {
    match cmd {
        QueueCommand::Status(a) => status(ui, common, a).await,
    }
}

async fn status(ui: &Ui, common: &Common, args: &StatusArgs) -> Result<Outcome, Error> {
    let root = common.root.dir()?;
    let table = args
        .table
        .queue_table
        .as_deref()
        .or(common.queue_table.as_deref());
    let store = crate::wire::queue_store(ui, common, &root, table, false).await?;
    let doc = crate::ops::queue::read(&store).await?;
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

//! The ports the workflows take: GitHub's pull requests and artifacts, the bundle archive, the
//! apply queue and terraform, as one trait whose implementation opens the concrete adapters
//! (`wire::Wired`) or fakes (the workflows' in-process tests).
//!
//! Some adapters can be chosen only as a run goes: the queue store follows the state's backend,
//! which `terraform init` records; the apply bundle goes to the archive the reviewed plan's
//! comment names. So the trait opens them when asked, and the workflows never name an adapter.

use std::path::Path;

use crate::archive::location::S3Location;
use crate::archive::store::{BundleStore, FetchedBundle, Files};
use crate::error::Error;
use crate::github::{Artifacts, GithubError, PullRequests};
use crate::queue::store::QueueStore;
use crate::terraform::RunTerraform;
use crate::ui::Ui;

/// What a workflow needs from the world.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait Ports {
    type Pulls: PullRequests + Artifacts;
    /// An archive besides the root's own folder (S3).
    type Archive: BundleStore;
    type Queue: QueueStore;
    type Terraform: RunTerraform;

    /// GitHub, when there is a token; an error when its settings cannot make a client.
    fn pull_requests(&self) -> Result<Option<&Self::Pulls>, GithubError>;

    /// The archive the settings name (`--archive`), if any. Connecting checks credentials and
    /// the region, so a misconfigured archive fails before terraform runs.
    async fn archive(&self) -> Result<Option<Self::Archive>, Error>;

    /// The archive at `location` (where a reviewed bundle is), with the settings' encryption.
    async fn archive_at(&self, location: &S3Location) -> Result<Self::Archive, Error>;

    /// A bundle by folder path or URI, in a local folder and verified as a whole before
    /// anything reads it (`BundleStore::fetch`): the one check `show`, `diff`, `comment` and
    /// `apply` share.
    async fn fetch(&self, source: &Path, files: Files<'_>) -> Result<FetchedBundle, Error>;

    /// terraform in `root`, for the settings' workspace, initialised first when `init`.
    async fn terraform(&self, ui: &Ui, root: &Path, init: bool) -> Result<Self::Terraform, Error>;

    /// The apply queue of `root`'s state; `table` is `--queue-table`. `warn`: say when the
    /// queue orders only this machine's applies while the state is shared.
    async fn queue(
        &self,
        ui: &Ui,
        root: &Path,
        table: Option<&str>,
        warn: bool,
    ) -> Result<Self::Queue, Error>;
}

//! The one place that picks concrete adapters for the ports: the GitHub client, which bundle
//! archive and which queue store a run uses, and terraform. Workflows in `ops/` take the ports
//! as traits (`ops::ports::Ports`); each command makes a `Wired` from its settings and hands it
//! to the workflow, or calls the functions here for the one adapter it uses itself.
//!
//! The queue store follows the state: a root whose backend is s3 with a `dynamodb_table` (or
//! any s3 root given `--queue-table`) queues in DynamoDB, beside Terraform's lock; any other
//! root queues in a file under its `.tfgate/queue/`, which orders the applies of one machine
//! only (said once, as a warning, when the state itself is shared).

use std::path::Path;

use crate::archive::local::{self, LocalStore};
use crate::archive::store::{
    BundleAddress, BundleStore, FetchedBundle, Files, ListedBundle, RootAddress,
};
use crate::aws::lock::LockStore;
use crate::aws::queue_store::DynamoStore;
use crate::aws::s3_archive::{Encryption, S3Archive, S3Location};
use crate::error::Error;
use crate::github::GithubError;
use crate::github::octo::{OctoOptions, OctoPullRequests};
use crate::github::retry::RetryPolicy;
use crate::ops::ports::Ports;
use crate::queue::doc::QueueDoc;
use crate::queue::file::FileStore;
use crate::queue::store::{QueueStore, StoreError, Versioned, Written};
use crate::settings::Common;
use crate::settings::GithubSettings;
use crate::terraform::backend::{self, Overrides};
use crate::terraform::{RunTerraform, Stdout, Terraform};
use crate::ui::Ui;

/// The adapters a command's settings ask for, opened as the workflow needs them.
pub struct Wired<'a> {
    common: &'a Common,
    pulls: Result<Option<OctoPullRequests>, GithubError>,
}

impl<'a> Wired<'a> {
    /// `github`: where PR comments go, for the commands that talk to GitHub.
    pub fn new(common: &'a Common, github: Option<&GithubSettings>) -> Wired<'a> {
        let pulls = github.map_or(Ok(None), pull_requests);
        Wired { common, pulls }
    }
}

impl Ports for Wired<'_> {
    type Pulls = OctoPullRequests;
    type Archive = S3Archive;
    type Queue = Queue;
    type Terraform = Terraform;

    fn pull_requests(&self) -> Result<Option<&OctoPullRequests>, GithubError> {
        self.pulls
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    async fn archive(&self) -> Result<Option<S3Archive>, Error> {
        s3_archive(self.common).await
    }

    async fn archive_at(&self, location: &S3Location) -> Result<S3Archive, Error> {
        let encryption = self
            .common
            .kms_key
            .clone()
            .map_or(Encryption::Aes256, |key_id| Encryption::Kms { key_id });
        S3Archive::connect(location.clone(), encryption).await
    }

    async fn fetch(&self, source: &Path, files: Files<'_>) -> Result<FetchedBundle, Error> {
        fetch_bundle(source, files).await
    }

    async fn terraform(&self, ui: &Ui, root: &Path, init: bool) -> Result<Terraform, Error> {
        terraform(ui, self.common, root, init).await
    }

    async fn queue(
        &self,
        ui: &Ui,
        root: &Path,
        table: Option<&str>,
        warn: bool,
    ) -> Result<Queue, Error> {
        queue_store(ui, self.common, root, table, warn).await
    }
}

/// A bundle by folder path or `s3://` URI (`Ports::fetch`): an S3 bundle through a client for
/// its own bucket, a folder where it is.
pub async fn fetch_bundle(source: &Path, files: Files<'_>) -> Result<FetchedBundle, Error> {
    if let Some(uri) = source
        .to_str()
        .filter(|s| s.starts_with(S3Location::SCHEME))
    {
        let location = S3Location::parse(uri)?;
        let s3 = S3Archive::connect(location, Encryption::default()).await?;
        return s3.fetch(uri, files).await;
    }
    local::fetch_dir(source)
}

/// terraform for the root and workspace, initialised unless `init` is false.
pub async fn terraform(
    ui: &Ui,
    common: &Common,
    root: &Path,
    init: bool,
) -> Result<Terraform, Error> {
    let mut tf = Terraform::new(common.terraform.clone(), root.to_path_buf());
    if let Some(ws) = &common.workspace {
        tf.env.push(("TF_WORKSPACE".into(), ws.clone()));
    }
    if init {
        ui.status("tfgate: terraform init");
        let _group = ui.group("terraform init");
        let mut args: Vec<String> = ["init", "-input=false", "-no-color"]
            .map(String::from)
            .to_vec();
        args.extend(common.init_args.iter().cloned());
        tf.run_ok(&args, Stdout::Stream, ui).await?;
    }
    Ok(tf)
}

/// An archive: the local one (the embedded default, §4) or S3 (`--archive s3://…`).
#[derive(Debug)]
pub enum Archive {
    Local(LocalStore),
    S3(S3Archive),
}

impl BundleStore for Archive {
    fn describe(&self) -> String {
        match self {
            Archive::Local(l) => l.describe(),
            Archive::S3(s3) => s3.describe(),
        }
    }

    async fn list_all(
        &self,
        at: &RootAddress,
        scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error> {
        match self {
            Archive::Local(l) => l.list_all(at, scope).await,
            Archive::S3(s3) => s3.list_all(at, scope).await,
        }
    }

    fn bundle_uri(&self, addr: &BundleAddress) -> String {
        match self {
            Archive::Local(l) => l.bundle_uri(addr),
            Archive::S3(s3) => BundleStore::bundle_uri(s3, addr),
        }
    }

    async fn upload(&self, dir: &Path, addr: &BundleAddress) -> Result<(), Error> {
        match self {
            Archive::Local(l) => l.upload(dir, addr).await,
            Archive::S3(s3) => s3.upload(dir, addr).await,
        }
    }

    async fn fetch(&self, uri: &str, files: Files<'_>) -> Result<FetchedBundle, Error> {
        match self {
            Archive::Local(l) => l.fetch(uri, files).await,
            Archive::S3(s3) => s3.fetch(uri, files).await,
        }
    }
}

/// The S3 archive when `--archive` (TFGATE_ARCHIVE, `archive` in .tfgate.toml) is set, else
/// the root's local archive.
pub async fn archive(common: &Common) -> Result<Archive, Error> {
    match s3_archive(common).await? {
        Some(s3) => Ok(Archive::S3(s3)),
        None => Ok(Archive::Local(LocalStore::for_root(&common.root.dir()?))),
    }
}

/// The S3 archive the settings ask for (`--archive`, `--kms-key`), if any. Connecting checks
/// that credentials can be found and the region is known, so a misconfigured archive fails
/// before terraform runs.
pub async fn s3_archive(common: &Common) -> Result<Option<S3Archive>, Error> {
    let encryption = match &common.kms_key {
        Some(key_id) => Encryption::Kms {
            key_id: key_id.clone(),
        },
        None => Encryption::Aes256,
    };
    match &common.archive {
        Some(uri) => Ok(Some(
            S3Archive::connect(S3Location::parse(uri)?, encryption).await?,
        )),
        None if common.kms_key.is_some() => Err(Error::usage(
            "--kms-key is set but no S3 archive is",
            "set the archive with --archive s3://BUCKET/PREFIX (TFGATE_ARCHIVE, `archive` in .tfgate.toml), or drop --kms-key",
        )),
        None => Ok(None),
    }
}

/// The queue store a run uses, chosen at run time.
pub enum Queue {
    File(FileStore),
    // Boxed: it carries the AWS clients and the backend's settings.
    Dynamo(Box<DynamoStore>),
}

impl QueueStore for Queue {
    fn describe(&self) -> String {
        match self {
            Queue::File(s) => s.describe(),
            Queue::Dynamo(s) => s.describe(),
        }
    }

    async fn read(&self) -> Result<Versioned, StoreError> {
        match self {
            Queue::File(s) => s.read().await,
            Queue::Dynamo(s) => s.read().await,
        }
    }

    async fn write(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, StoreError> {
        match self {
            Queue::File(s) => s.write(doc, expected).await,
            Queue::Dynamo(s) => s.write(doc, expected).await,
        }
    }
}

/// The queue store of `root`'s state (see the module header). `warn`: say when the file store
/// stands in for a shared state.
pub async fn queue_store(
    ui: &Ui,
    common: &Common,
    root: &Path,
    queue_table: Option<&str>,
    warn: bool,
) -> Result<Queue, Error> {
    // As terraform picks it: --workspace / TF_WORKSPACE, else `terraform workspace select`'s.
    let data_dir = common.tf_data_dir.as_deref();
    let workspace = backend::workspace(root, common.workspace.as_deref(), data_dir)?;
    let file = || Queue::File(FileStore::new(root, &workspace));
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
    Ok(Queue::Dynamo(Box::new(DynamoStore::new(aws, &table))))
}

/// The pull-request port: GitHub through octocrab, when there is a token.
pub fn pull_requests(gh: &GithubSettings) -> Result<Option<OctoPullRequests>, GithubError> {
    let Some(token) = gh.token.clone() else {
        return Ok(None);
    };
    OctoPullRequests::new(OctoOptions {
        api_url: gh.api_url.clone(),
        token,
        comment_author: gh.comment_author.clone(),
        proxy: gh.proxy.clone(),
        policy: RetryPolicy::default(),
    })
    .map(Some)
}

//! Terraform's S3 backend as `tfgate lock` needs it: which bucket, key, lock table and lock file
//! a root and workspace use, and the names Terraform derives from them. (The lock info Terraform
//! writes into its locks is a fact of the lock: `state_lock`.)
//!
//! Settings are resolved once, per setting: the command line (`Overrides`, with `TFGATE_*`
//! fallbacks) wins; the rest comes from `.terraform/terraform.tfstate` (what `terraform init`
//! recorded, partial configuration included) or, when the root was never initialised, from the
//! `backend "s3"` block of its `.tf` files (read with hcl-rs; literal values only). A value this
//! module cannot know (a variable, a function, a template) is an error that names the setting,
//! the file and the flag that supplies it; nothing is guessed. This module reads files in the
//! root and nothing else: it knows no AWS (no SDK, no network, no credentials), never reads the
//! environment and prints nothing.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
pub use crate::state_lock::DEFAULT_WORKSPACE;

/// `workspace_key_prefix` when the configuration sets none.
pub const DEFAULT_WORKSPACE_KEY_PREFIX: &str = "env:";
/// Suffix of the DynamoDB item that holds the state's MD5 digest.
pub const DIGEST_SUFFIX: &str = "-md5";
/// Suffix of the S3-native lock object (`use_lockfile = true`).
pub const LOCKFILE_SUFFIX: &str = ".tflock";

/// Settings given on the command line (or by `TFGATE_*`), each overriding the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub region: Option<String>,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: Option<bool>,
    pub workspace_key_prefix: Option<String>,
    pub profile: Option<String>,
    /// `TF_DATA_DIR`: where `terraform init` keeps its files, relative to the root
    /// [default: .terraform].
    pub data_dir: Option<PathBuf>,
    /// The arguments tfgate gives `terraform init` (`--init-arg`): their `-backend-config`
    /// settings complete a partial `backend "s3"` block, as they do for terraform.
    pub init_args: Vec<String>,
}

/// Where the backend settings came from (the command line may have overridden some).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Everything came from the command line.
    Flags,
    /// `.terraform/terraform.tfstate`, written by `terraform init`.
    InitState(PathBuf),
    /// The `backend "s3"` block of this file.
    Block(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flags => f.write_str("the command line"),
            Source::InitState(p) | Source::Block(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The S3 backend settings that locate the state, its locks and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Backend {
    pub bucket: String,
    pub key: String,
    /// `None`: the AWS SDK's own chain decides (`AWS_REGION`, the profile).
    pub region: Option<String>,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: bool,
    pub workspace_key_prefix: String,
    /// `endpoints.s3` (or the older `endpoint`).
    pub s3_endpoint: Option<String>,
    /// `endpoints.dynamodb` (or the older `dynamodb_endpoint`).
    pub dynamodb_endpoint: Option<String>,
    /// `use_path_style` (or the older `force_path_style`).
    pub use_path_style: bool,
    /// The AWS profile for credentials (`profile`); `None`: the SDK's default chain.
    pub profile: Option<String>,
    pub source: Source,
}

/// Where one workspace's state, locks and digest live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    pub workspace: String,
    /// The state object's key in the bucket ("STATEPATH").
    pub state_key: String,
    /// `LockID` of the DynamoDB lock item: `BUCKET/STATEPATH`.
    pub lock_id: String,
    /// `LockID` of the DynamoDB digest item: `BUCKET/STATEPATH-md5`.
    pub digest_id: String,
    /// Key of the S3 lock object: `STATEPATH.tflock`.
    pub lockfile_key: String,
}

impl S3Backend {
    /// The state path of `workspace`, as Terraform's S3 backend computes it: `key` for the
    /// default workspace, else `PREFIX/WORKSPACE/key` (Go's `path.Join`: empty parts dropped).
    pub fn paths(&self, workspace: &str) -> StatePaths {
        let state_key = if workspace == DEFAULT_WORKSPACE {
            self.key.clone()
        } else {
            join_key(&[&self.workspace_key_prefix, workspace, &self.key])
        };
        let lock_id = format!("{}/{state_key}", self.bucket);
        StatePaths {
            workspace: workspace.to_string(),
            digest_id: format!("{lock_id}{DIGEST_SUFFIX}"),
            lockfile_key: format!("{state_key}{LOCKFILE_SUFFIX}"),
            lock_id,
            state_key,
        }
    }
}

/// `path.Join` for object keys: joins with `/`, dropping empty and `.` segments.
fn join_key(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The workspace to inspect: the one chosen (`--workspace`, `.tfgate.toml`, `TF_WORKSPACE`),
/// else the one `terraform workspace select` recorded in `environment` in the data folder
/// (`.terraform`, or `TF_DATA_DIR`), else `default`.
pub fn workspace(
    root: &Path,
    chosen: Option<&str>,
    tf_data_dir: Option<&Path>,
) -> Result<String, Error> {
    if let Some(ws) = chosen {
        return Ok(ws.to_string());
    }
    let path = data_dir(root, tf_data_dir).join("environment");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        Ok(_) => Ok(DEFAULT_WORKSPACE.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DEFAULT_WORKSPACE.to_string()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// One setting as a file states it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Bool(bool),
    /// Something only Terraform could evaluate; the expression as written.
    Unresolved(String),
}

/// The settings of one source, before the command line is applied.
#[derive(Debug, Default)]
struct FileSettings {
    origin: PathBuf,
    values: Vec<(&'static str, Value)>,
}

impl FileSettings {
    fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A setting tfgate reads, the file names it may have, and how a user supplies it instead.
struct Setting {
    name: &'static str,
    /// Older spellings Terraform still accepts.
    aliases: &'static [&'static str],
    supply: &'static str,
}

const BUCKET: Setting = Setting {
    name: "bucket",
    aliases: &[],
    supply: "--bucket (or TFGATE_BUCKET)",
};
const KEY: Setting = Setting {
    name: "key",
    aliases: &[],
    supply: "--key (or TFGATE_KEY)",
};
const REGION: Setting = Setting {
    name: "region",
    aliases: &[],
    supply: "--region (or TFGATE_REGION)",
};
const DYNAMODB_TABLE: Setting = Setting {
    name: "dynamodb_table",
    aliases: &[],
    supply: "--dynamodb-table (or TFGATE_DYNAMODB_TABLE)",
};
const USE_LOCKFILE: Setting = Setting {
    name: "use_lockfile",
    aliases: &[],
    supply: "--use-lockfile=true|false (or TFGATE_USE_LOCKFILE)",
};
const WORKSPACE_KEY_PREFIX: Setting = Setting {
    name: "workspace_key_prefix",
    aliases: &[],
    supply: "--workspace-key-prefix (or TFGATE_WORKSPACE_KEY_PREFIX)",
};
const PROFILE: Setting = Setting {
    name: "profile",
    aliases: &[],
    supply: "--profile (or TFGATE_PROFILE)",
};
const S3_ENDPOINT: Setting = Setting {
    name: "endpoints.s3",
    aliases: &["endpoint"],
    supply: "AWS_ENDPOINT_URL_S3, after removing the setting",
};
const DYNAMODB_ENDPOINT: Setting = Setting {
    name: "endpoints.dynamodb",
    aliases: &["dynamodb_endpoint"],
    supply: "AWS_ENDPOINT_URL_DYNAMODB, after removing the setting",
};
const USE_PATH_STYLE: Setting = Setting {
    name: "use_path_style",
    aliases: &["force_path_style"],
    supply: "a literal true or false in the file",
};

/// Every setting tfgate reads from a file. Others are never kept: literal credentials
/// (`access_key`, `secret_key`, `token`) among them, so they cannot reach a message.
const READ: &[&Setting] = &[
    &BUCKET,
    &KEY,
    &REGION,
    &DYNAMODB_TABLE,
    &USE_LOCKFILE,
    &WORKSPACE_KEY_PREFIX,
    &PROFILE,
    &S3_ENDPOINT,
    &DYNAMODB_ENDPOINT,
    &USE_PATH_STYLE,
];

/// The folder where `terraform init` keeps its files for `root`: `TF_DATA_DIR` (relative to
/// the root, where terraform runs), else `.terraform`.
pub fn data_dir(root: &Path, tf_data_dir: Option<&Path>) -> PathBuf {
    root.join(tf_data_dir.unwrap_or(Path::new(".terraform")))
}

/// Resolves the S3 backend of `root`: the command line, else `terraform.tfstate` in the data
/// folder (`.terraform`, or `TF_DATA_DIR`), else the `backend "s3"` block of the root's `.tf`
/// files.
pub fn resolve(root: &Path, flags: &Overrides) -> Result<S3Backend, Error> {
    let mut from_init = false;
    let file = if flags.bucket.is_some() && flags.key.is_some() && !root.is_dir() {
        // A root that is not here (say, an on-call laptop without the repository): the command
        // line is the whole configuration.
        None
    } else {
        match read_init_state(&data_dir(root, flags.data_dir.as_deref()))? {
            Some(settings) => {
                from_init = true;
                Some(settings)
            }
            None => read_block(root)?
                .map(|block| with_backend_config(block, root, &flags.init_args))
                .transpose()?,
        }
    };
    let Some(file) = file else {
        if flags.bucket.is_some() && flags.key.is_some() {
            return Ok(from_flags_only(flags));
        }
        if !root.is_dir() {
            return Err(Error::RootNotFound {
                path: root.to_path_buf(),
            });
        }
        return Err(Error::BackendNotConfigured {
            root: root.to_path_buf(),
        });
    };
    let source = if from_init {
        Source::InitState(file.origin.clone())
    } else {
        Source::Block(file.origin.clone())
    };
    let text = |s: &Setting, flag: &Option<String>| -> Result<Option<String>, Error> {
        if let Some(v) = flag {
            return Ok(Some(v.clone()));
        }
        text_setting(&file, s)
    };
    let required = |s: &Setting, flag: &Option<String>| -> Result<String, Error> {
        text(s, flag)?.ok_or_else(|| Error::BackendSetting {
            setting: s.name,
            problem: "is not set".to_string(),
            origin: file.origin.clone(),
            supply: s.supply,
        })
    };
    let use_lockfile = match flags.use_lockfile {
        Some(b) => b,
        None => bool_setting(&file, &USE_LOCKFILE)?.unwrap_or(false),
    };
    Ok(S3Backend {
        bucket: required(&BUCKET, &flags.bucket)?,
        key: required(&KEY, &flags.key)?,
        region: text(&REGION, &flags.region)?,
        dynamodb_table: text(&DYNAMODB_TABLE, &flags.dynamodb_table)?,
        use_lockfile,
        workspace_key_prefix: text(&WORKSPACE_KEY_PREFIX, &flags.workspace_key_prefix)?
            .unwrap_or_else(|| DEFAULT_WORKSPACE_KEY_PREFIX.to_string()),
        s3_endpoint: text_setting(&file, &S3_ENDPOINT)?,
        dynamodb_endpoint: text_setting(&file, &DYNAMODB_ENDPOINT)?,
        use_path_style: bool_setting(&file, &USE_PATH_STYLE)?.unwrap_or(false),
        profile: text(&PROFILE, &flags.profile)?,
        source,
    })
}

fn from_flags_only(flags: &Overrides) -> S3Backend {
    S3Backend {
        bucket: flags.bucket.clone().unwrap_or_default(),
        key: flags.key.clone().unwrap_or_default(),
        region: flags.region.clone(),
        dynamodb_table: flags.dynamodb_table.clone(),
        use_lockfile: flags.use_lockfile.unwrap_or(false),
        workspace_key_prefix: flags
            .workspace_key_prefix
            .clone()
            .unwrap_or_else(|| DEFAULT_WORKSPACE_KEY_PREFIX.to_string()),
        s3_endpoint: None,
        dynamodb_endpoint: None,
        use_path_style: false,
        profile: flags.profile.clone(),
        source: Source::Flags,
    }
}

/// The setting under its name or an alias, as text.
fn text_setting(file: &FileSettings, s: &Setting) -> Result<Option<String>, Error> {
    for name in std::iter::once(&s.name).chain(s.aliases) {
        match file.get(name) {
            Some(Value::Text(t)) if !t.is_empty() => return Ok(Some(t.clone())),
            Some(Value::Text(_)) | None => {}
            Some(Value::Bool(b)) => return Ok(Some(b.to_string())),
            Some(Value::Unresolved(expr)) => return Err(unresolved(file, name, expr, s)),
        }
    }
    Ok(None)
}

fn bool_setting(file: &FileSettings, s: &Setting) -> Result<Option<bool>, Error> {
    for name in std::iter::once(&s.name).chain(s.aliases) {
        match file.get(name) {
            Some(Value::Bool(b)) => return Ok(Some(*b)),
            Some(Value::Text(t)) if t == "true" || t == "false" => return Ok(Some(t == "true")),
            Some(Value::Text(t)) => {
                return Err(Error::BackendSetting {
                    setting: s.name,
                    problem: format!("is `{t}`, not true or false"),
                    origin: file.origin.clone(),
                    supply: s.supply,
                });
            }
            Some(Value::Unresolved(expr)) => return Err(unresolved(file, name, expr, s)),
            None => {}
        }
    }
    Ok(None)
}

fn unresolved(file: &FileSettings, name: &str, expr: &str, s: &Setting) -> Error {
    let shown = if name == s.name {
        String::new()
    } else {
        format!(" (as `{name}`)")
    };
    Error::BackendSetting {
        setting: s.name,
        problem: format!("is `{expr}`{shown}, which only Terraform can evaluate"),
        origin: file.origin.clone(),
        supply: s.supply,
    }
}

/// The `-backend-config` values among `terraform init`'s arguments, laid over a partial
/// `backend "s3"` block as terraform lays them: `-backend-config=KEY=VALUE` sets one setting,
/// `-backend-config=FILE` (relative to the root) sets the attributes the file assigns; later
/// arguments win. (After `terraform init` the merged settings are in the data folder and this
/// is not needed.)
fn with_backend_config(
    mut block: FileSettings,
    root: &Path,
    init_args: &[String],
) -> Result<FileSettings, Error> {
    let mut layers: Vec<Vec<(&'static str, Value)>> = Vec::new();
    for value in backend_config_values(init_args) {
        // As terraform decides: a value with `=` is KEY=VALUE, any other a file.
        let layer = match value.split_once('=') {
            Some((key, text)) => {
                let key = key.trim();
                READ.iter()
                    .flat_map(|s| std::iter::once(&s.name).chain(s.aliases))
                    .find(|n| **n == key)
                    .map(|n| vec![(*n, Value::Text(text.to_string()))])
                    .unwrap_or_default()
            }
            None => {
                let path = root.join(value);
                let text =
                    std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
                let body = hcl::parse(&text).map_err(|e| Error::BackendFile {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                block_values(&body)
            }
        };
        layers.push(layer);
    }
    // `get` takes the first value of a name: the last argument goes first.
    for layer in layers {
        let mut values = layer;
        values.append(&mut block.values);
        block.values = values;
    }
    Ok(block)
}

/// Backend settings that hold credentials; their values in `-backend-config=KEY=VALUE`
/// arguments are masked in every output (error messages quote terraform's arguments).
const SECRET_SETTINGS: &[&str] = &[
    "access_key",
    "secret_key",
    "token",
    "sse_customer_key",
    "sts_endpoint_token",
];

/// The credential values given as `-backend-config=KEY=VALUE` among `init_args`.
pub fn secret_init_values(init_args: &[String]) -> Vec<String> {
    backend_config_values(init_args)
        .into_iter()
        .filter_map(|v| v.split_once('='))
        .filter(|(k, v)| SECRET_SETTINGS.contains(&k.trim()) && !v.is_empty())
        .map(|(_, v)| v.to_string())
        .collect()
}

/// The values of `-backend-config=V` and `-backend-config V` (Go's flag package also accepts
/// a double dash).
fn backend_config_values(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'));
        match flag.map(|f| f.split_once('=').unwrap_or((f, ""))) {
            Some(("backend-config", "")) if !arg.contains('=') => {
                if let Some(v) = iter.next() {
                    out.push(v.as_str());
                }
            }
            Some(("backend-config", _)) => {
                out.push(arg.split_once('=').map_or("", |(_, v)| v));
            }
            _ => {}
        }
    }
    out
}

/// `.terraform/terraform.tfstate`: `{"backend": {"type": "s3", "config": {...}}}`.
fn read_init_state(data_dir: &Path) -> Result<Option<FileSettings>, Error> {
    #[derive(Deserialize)]
    struct InitState {
        backend: Option<Backend>,
    }
    #[derive(Deserialize)]
    struct Backend {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        config: serde_json::Map<String, serde_json::Value>,
    }
    let path = data_dir.join("terraform.tfstate");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let parsed: InitState = serde_json::from_str(&text).map_err(|e| Error::BackendFile {
        path: path.clone(),
        message: e.to_string(),
    })?;
    // No backend recorded (a root that uses local state, or `terraform cloud`): the files may
    // still say more.
    let Some(backend) = parsed.backend else {
        return Ok(None);
    };
    if backend.kind != "s3" {
        return Err(Error::BackendNotS3 {
            origin: path,
            kind: backend.kind,
        });
    }
    let mut values = Vec::new();
    for s in READ {
        for name in std::iter::once(&s.name).chain(s.aliases) {
            let v = match name.split_once('.') {
                Some((outer, inner)) => backend.config.get(outer).and_then(|o| o.get(inner)),
                None => backend.config.get(*name),
            };
            match v {
                Some(serde_json::Value::String(t)) => values.push((*name, Value::Text(t.clone()))),
                Some(serde_json::Value::Bool(b)) => values.push((*name, Value::Bool(*b))),
                _ => {}
            }
        }
    }
    Ok(Some(FileSettings {
        origin: path,
        values,
    }))
}

/// The `backend "s3"` block of the root's `.tf` files. As in Terraform, a block in an override
/// file (`override.tf`, `*_override.tf`) replaces the one in the other files.
fn read_block(root: &Path) -> Result<Option<FileSettings>, Error> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", root, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf") && p.is_file())
        .collect();
    files.sort();
    let is_override = |p: &Path| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s == "override" || s.ends_with("_override"))
    };
    let mut found: Option<(PathBuf, String, hcl::Body)> = None;
    let mut overridden: Option<(PathBuf, String, hcl::Body)> = None;
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        // Only files that could hold a backend block are parsed.
        if !text.contains("backend") {
            continue;
        }
        let body = hcl::parse(&text).map_err(|e| Error::BackendFile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        for (kind, block) in backend_blocks(&body) {
            let slot = if is_override(&path) {
                &mut overridden
            } else {
                if let Some((first, _, _)) = &found {
                    return Err(Error::BackendFile {
                        path: path.clone(),
                        message: format!(
                            "a second backend block (the first is in {})",
                            first.display()
                        ),
                    });
                }
                &mut found
            };
            *slot = Some((path.clone(), kind, block.clone()));
        }
    }
    let Some((path, kind, body)) = overridden.or(found) else {
        return Ok(None);
    };
    if kind != "s3" {
        return Err(Error::BackendNotS3 { origin: path, kind });
    }
    Ok(Some(FileSettings {
        values: block_values(&body),
        origin: path,
    }))
}

/// `terraform { backend "KIND" { … } }` blocks: (KIND, body).
fn backend_blocks(body: &hcl::Body) -> Vec<(String, &hcl::Body)> {
    body.blocks()
        .filter(|b| b.identifier() == "terraform")
        .flat_map(|t| t.body().blocks())
        .filter(|b| b.identifier() == "backend")
        .map(|b| {
            let kind = b
                .labels()
                .first()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default();
            (kind, b.body())
        })
        .collect()
}

fn block_values(body: &hcl::Body) -> Vec<(&'static str, Value)> {
    let mut values = Vec::new();
    for s in READ {
        for name in std::iter::once(&s.name).chain(s.aliases) {
            let found = match name.split_once('.') {
                // `endpoints = { s3 = "…" }`, or the same written as a block.
                Some((outer, inner)) => nested_value(body, outer, inner),
                None => body
                    .attributes()
                    .find(|a| a.key() == *name)
                    .map(|a| literal(a.expr())),
            };
            if let Some(v) = found {
                values.push((*name, v));
            }
        }
    }
    values
}

fn nested_value(body: &hcl::Body, outer: &str, inner: &str) -> Option<Value> {
    if let Some(attr) = body.attributes().find(|a| a.key() == outer) {
        return match attr.expr() {
            hcl::Expression::Object(obj) => obj.iter().find_map(|(k, v)| {
                let key = match k {
                    hcl::ObjectKey::Identifier(i) => i.as_str().to_string(),
                    hcl::ObjectKey::Expression(hcl::Expression::String(s)) => s.clone(),
                    _ => return None,
                };
                (key == inner).then(|| literal(v))
            }),
            other => Some(Value::Unresolved(other.to_string())),
        };
    }
    body.blocks()
        .filter(|b| b.identifier() == outer)
        .flat_map(|b| b.body().attributes())
        .find(|a| a.key() == inner)
        .map(|a| literal(a.expr()))
}

fn literal(expr: &hcl::Expression) -> Value {
    match expr {
        hcl::Expression::String(s) => Value::Text(s.clone()),
        hcl::Expression::Bool(b) => Value::Bool(*b),
        other => Value::Unresolved(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    const BLOCK: &str = r#"
terraform {
  required_version = ">= 1.5"
  backend "s3" {
    bucket               = "acme-state"
    key                  = "prod/terraform.tfstate"
    region               = "eu-west-1"
    dynamodb_table       = "tf-locks"
    use_lockfile         = true
    access_key           = "AKIAEXAMPLE"
    profile              = "ops"
    endpoints = {
      s3       = "http://127.0.0.1:9000"
      dynamodb = "http://127.0.0.1:9001"
    }
    use_path_style = true
  }
}
resource "terraform_data" "x" {}
"#;

    #[test]
    fn block_literals() {
        let dir = root_with(&[("backend.tf", BLOCK), ("main.tf", "locals {}\n")]);
        let b = resolve(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(b.bucket, "acme-state");
        assert_eq!(b.key, "prod/terraform.tfstate");
        assert_eq!(b.region.as_deref(), Some("eu-west-1"));
        assert_eq!(b.dynamodb_table.as_deref(), Some("tf-locks"));
        assert!(b.use_lockfile && b.use_path_style);
        assert_eq!(b.workspace_key_prefix, "env:");
        assert_eq!(b.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            b.dynamodb_endpoint.as_deref(),
            Some("http://127.0.0.1:9001")
        );
        assert_eq!(b.profile.as_deref(), Some("ops"));
        assert_eq!(b.source, Source::Block(dir.path().join("backend.tf")));
        assert!(!format!("{b:?}").contains("AKIAEXAMPLE"));
    }

    #[test]
    fn flags_override_settings_one_by_one() {
        let dir = root_with(&[("backend.tf", BLOCK)]);
        let flags = Overrides {
            key: Some("other.tfstate".into()),
            use_lockfile: Some(false),
            workspace_key_prefix: Some("ws".into()),
            ..Overrides::default()
        };
        let b = resolve(dir.path(), &flags).unwrap();
        assert_eq!(
            (b.bucket.as_str(), b.key.as_str()),
            ("acme-state", "other.tfstate")
        );
        assert!(!b.use_lockfile);
        assert_eq!(b.workspace_key_prefix, "ws");
    }

    #[test]
    fn legacy_spellings_and_endpoint_blocks() {
        let dir = root_with(&[(
            "main.tf",
            r#"terraform {
  backend "s3" {
    bucket            = "b"
    key               = "k"
    endpoint          = "http://localhost:4566"
    dynamodb_endpoint = "http://localhost:4567"
    force_path_style  = true
  }
}"#,
        )]);
        let b = resolve(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(b.s3_endpoint.as_deref(), Some("http://localhost:4566"));
        assert_eq!(
            b.dynamodb_endpoint.as_deref(),
            Some("http://localhost:4567")
        );
        assert!(b.use_path_style);

        let dir = root_with(&[(
            "main.tf",
            "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n    key = \"k\"\n    endpoints {\n      s3 = \"http://s3.local\"\n    }\n  }\n}\n",
        )]);
        let b = resolve(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(b.s3_endpoint.as_deref(), Some("http://s3.local"));
    }

    #[test]
    fn unresolvable_values_name_the_flag() {
        let dir = root_with(&[(
            "main.tf",
            "terraform {\n  backend \"s3\" {\n    bucket = var.bucket\n    key = \"k\"\n  }\n}\n",
        )]);
        let err = resolve(dir.path(), &Overrides::default()).unwrap_err();
        let text = format!("{err} / {}", err.hint().unwrap());
        assert!(
            text.contains("`bucket`") && text.contains("var.bucket"),
            "{text}"
        );
        assert!(text.contains("--bucket"), "{text}");
        // The flag supplies it.
        let flags = Overrides {
            bucket: Some("b".into()),
            ..Overrides::default()
        };
        assert_eq!(resolve(dir.path(), &flags).unwrap().bucket, "b");

        let dir = root_with(&[(
            "main.tf",
            "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n    key = \"${local.env}/k\"\n    dynamodb_table = lower(\"T\")\n  }\n}\n",
        )]);
        let err = resolve(dir.path(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("`key`"), "{err}");
        let flags = Overrides {
            key: Some("k".into()),
            ..Overrides::default()
        };
        let err = resolve(dir.path(), &flags).unwrap_err();
        assert!(err.to_string().contains("lower(\"T\")"), "{err}");
        assert!(err.hint().unwrap().contains("--dynamodb-table"));
    }

    #[test]
    fn partial_configuration_asks_for_the_missing_setting() {
        let dir = root_with(&[("main.tf", "terraform {\n  backend \"s3\" {}\n}\n")]);
        let err = resolve(dir.path(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("`bucket` is not set"), "{err}");
        assert!(err.hint().unwrap().contains("--bucket"));
    }

    #[test]
    fn init_state_wins_over_the_block() {
        let init = r#"{"version":3,"backend":{"type":"s3","config":{
            "bucket":"from-init","key":"init.tfstate","region":"us-east-2",
            "dynamodb_table":null,"use_lockfile":true,"secret_key":"hunter2",
            "endpoints":{"s3":"http://127.0.0.1:1","dynamodb":null,"iam":null},
            "workspace_key_prefix":null,"use_path_style":null,"force_path_style":true}}}"#;
        let dir = root_with(&[("main.tf", BLOCK), (".terraform/terraform.tfstate", init)]);
        let b = resolve(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(b.bucket, "from-init");
        assert_eq!(b.region.as_deref(), Some("us-east-2"));
        assert_eq!(b.dynamodb_table, None);
        assert!(b.use_lockfile && b.use_path_style);
        assert_eq!(b.s3_endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(b.dynamodb_endpoint, None);
        assert!(matches!(b.source, Source::InitState(_)));
        assert!(
            !format!("{b:?}").contains("hunter2"),
            "credentials are never kept"
        );
    }

    #[test]
    fn other_backends_are_refused() {
        let dir = root_with(&[(
            "main.tf",
            "terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n  }\n}\n",
        )]);
        let err = resolve(dir.path(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("`gcs`"), "{err}");
        let dir = root_with(&[(
            ".terraform/terraform.tfstate",
            r#"{"backend":{"type":"local","config":{}}}"#,
        )]);
        assert!(matches!(
            resolve(dir.path(), &Overrides::default()),
            Err(Error::BackendNotS3 { .. })
        ));
    }

    #[test]
    fn override_files_replace_the_block_and_duplicates_are_errors() {
        let dir = root_with(&[
            ("main.tf", BLOCK),
            (
                "backend_override.tf",
                "terraform {\n  backend \"s3\" {\n    bucket = \"o\"\n    key = \"ok\"\n  }\n}\n",
            ),
        ]);
        let b = resolve(dir.path(), &Overrides::default()).unwrap();
        assert_eq!((b.bucket.as_str(), b.dynamodb_table), ("o", None));

        let dir = root_with(&[("a.tf", BLOCK), ("b.tf", BLOCK)]);
        let err = resolve(dir.path(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("second backend block"), "{err}");
    }

    #[test]
    fn nothing_configured() {
        let dir = root_with(&[("main.tf", "resource \"terraform_data\" \"x\" {}\n")]);
        assert!(matches!(
            resolve(dir.path(), &Overrides::default()),
            Err(Error::BackendNotConfigured { .. })
        ));
        let flags = Overrides {
            bucket: Some("b".into()),
            key: Some("k".into()),
            ..Overrides::default()
        };
        assert_eq!(resolve(dir.path(), &flags).unwrap().source, Source::Flags);
        let missing = dir.path().join("nope");
        assert_eq!(resolve(&missing, &flags).unwrap().source, Source::Flags);
        assert!(matches!(
            resolve(&missing, &Overrides::default()),
            Err(Error::RootNotFound { .. })
        ));
    }

    #[test]
    fn state_paths_per_workspace() {
        let dir = root_with(&[("main.tf", BLOCK)]);
        let mut b = resolve(dir.path(), &Overrides::default()).unwrap();
        let p = b.paths("default");
        assert_eq!(p.state_key, "prod/terraform.tfstate");
        assert_eq!(p.lock_id, "acme-state/prod/terraform.tfstate");
        assert_eq!(p.digest_id, "acme-state/prod/terraform.tfstate-md5");
        assert_eq!(p.lockfile_key, "prod/terraform.tfstate.tflock");
        assert_eq!(
            b.paths("staging").state_key,
            "env:/staging/prod/terraform.tfstate"
        );
        b.workspace_key_prefix = "teams/a/".into();
        assert_eq!(
            b.paths("staging").lock_id,
            "acme-state/teams/a/staging/prod/terraform.tfstate"
        );
        b.workspace_key_prefix = String::new();
        assert_eq!(b.paths("x").state_key, "x/prod/terraform.tfstate");
    }

    #[test]
    fn workspace_from_the_environment_file() {
        let dir = root_with(&[(".terraform/environment", "staging\n")]);
        assert_eq!(workspace(dir.path(), None, None).unwrap(), "staging");
        assert_eq!(workspace(dir.path(), Some("prod"), None).unwrap(), "prod");
        let empty = root_with(&[]);
        assert_eq!(workspace(empty.path(), None, None).unwrap(), "default");
    }

    #[test]
    fn tf_data_dir_moves_the_init_state_and_the_workspace() {
        let init = r#"{"version":3,"backend":{"type":"s3","config":{
            "bucket":"from-data-dir","key":"k.tfstate","region":"eu-west-1"}}}"#;
        let dir = root_with(&[
            ("main.tf", "terraform {\n  backend \"s3\" {}\n}\n"),
            (".tfdata/terraform.tfstate", init),
            (".tfdata/environment", "blue"),
        ]);
        let flags = Overrides {
            data_dir: Some(PathBuf::from(".tfdata")),
            ..Overrides::default()
        };
        let b = resolve(dir.path(), &flags).unwrap();
        assert_eq!(b.bucket, "from-data-dir");
        assert!(
            matches!(&b.source, Source::InitState(p) if p.ends_with(".tfdata/terraform.tfstate"))
        );
        let data = Some(Path::new(".tfdata"));
        assert_eq!(workspace(dir.path(), None, data).unwrap(), "blue");
        // Without TF_DATA_DIR the partial block is all there is.
        assert!(resolve(dir.path(), &Overrides::default()).is_err());
        assert_eq!(
            data_dir(dir.path(), Some(Path::new("/abs/data"))),
            PathBuf::from("/abs/data")
        );
    }
}

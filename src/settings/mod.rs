//! Settings resolved in one place: flag > `TFGATE_*` env > `.tfgate.toml` > default.
//!
//! clap already applies flag > env. This module adds the file (in the Terraform root, else at
//! the repository root) and the defaults. `--mask` patterns are the exception: patterns from
//! every source add up, since more masking is never less safe.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::context::{Context, ProxyVars};
use crate::error::Error;
use crate::plan::compare::IgnoreRule;

pub mod flags;
pub mod root;

use flags::{CommentMode, Format, GithubArgs, GlobalArgs};
pub use root::Root;

pub const FILE_NAME: &str = ".tfgate.toml";
pub const DEFAULT_LOCK_TIMEOUT: &str = "5m";
pub const DEFAULT_TERRAFORM: &str = "terraform";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
/// How long one step's GitHub requests may take in all (retries and their waits included).
pub const DEFAULT_GITHUB_TIMEOUT: Duration = Duration::from_secs(60);

/// `.tfgate.toml`. Unknown keys are an error, so a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub terraform: Option<String>,
    pub workspace: Option<String>,
    pub format: Option<Format>,
    #[serde(default)]
    pub mask: Vec<String>,
    pub lock_timeout: Option<String>,
    /// Run `terraform init` before planning (default true).
    pub init: Option<bool>,
    /// Arguments for `terraform init`, e.g. `["-backend-config=prod.s3.tfbackend"]`.
    pub init_args: Option<Vec<String>>,
    pub detailed_exitcode: Option<bool>,
    /// The S3 archive, `s3://BUCKET/PREFIX`.
    pub archive: Option<String>,
    /// KMS key for SSE-KMS of archived objects.
    pub kms_key: Option<String>,
    /// Ignore rules for comparing plans (`apply`, `diff`): `ADDRESS_GLOB[:ATTRIBUTE_PATH]`.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// The apply queue's DynamoDB table (`apply`, `queue status`, `lock status`).
    pub queue_table: Option<String>,
    /// `apply`'s lease in the queue, e.g. "3m".
    pub queue_lease: Option<String>,
    /// How long `apply` waits in the queue at most, e.g. "2h".
    pub queue_timeout: Option<String>,
    /// How long one step's GitHub requests may take in all, e.g. "30s".
    pub github_timeout: Option<String>,
    /// When `plan` writes the PR comment: `always`, `changes` or `never`.
    pub comment: Option<CommentMode>,
    /// `plan`: SARIF files of code checkers for the comment's "Checks" section, relative to the
    /// folder holding this file.
    pub checks: Option<Vec<String>>,
    /// `plan`: fail when a finding of `checks` is at or above this level.
    pub fail_on_checks: Option<CheckLevel>,
    /// `plan`: label the pull request with what its plans change.
    pub labels: Option<bool>,
    /// The folder this file was read from (not a key).
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

/// `--fail-on-checks`: the least severe SARIF level that fails a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckLevel {
    Error,
    Warning,
    Note,
}

impl CheckLevel {
    pub fn level(self) -> crate::sarif::Level {
        match self {
            CheckLevel::Error => crate::sarif::Level::Error,
            CheckLevel::Warning => crate::sarif::Level::Warning,
            CheckLevel::Note => crate::sarif::Level::Note,
        }
    }
}

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// The Terraform root.
    pub root: Root,
    pub terraform: String,
    /// The workspace, when one was chosen (flag, env, file or TF_WORKSPACE).
    pub workspace: Option<String>,
    pub format: Format,
    pub masks: Vec<String>,
    /// Where the settings file was found, if anywhere.
    pub file: Option<PathBuf>,
    /// The S3 archive (`s3://BUCKET/PREFIX`), unparsed; `None`: the local archive only.
    pub archive: Option<String>,
    /// KMS key (id, alias or ARN) for the S3 archive's objects; `None`: SSE-S3.
    pub kms_key: Option<String>,
    /// `TF_DATA_DIR`, relative to the root; `None`: `.terraform`.
    pub tf_data_dir: Option<PathBuf>,
    /// The apply queue's DynamoDB table from `.tfgate.toml` (`--queue-table` overrides it).
    pub queue_table: Option<String>,
    /// Arguments for `terraform init` (`--init-arg`), after `-input=false -no-color`.
    pub init_args: Vec<String>,
}

impl Common {
    /// The workspace's name for display and archive paths.
    pub fn workspace_name(&self) -> &str {
        self.workspace.as_deref().unwrap_or("default")
    }
}

/// Where PR comments go. The token is kept out of `Debug` output.
#[derive(Clone)]
pub struct GithubSettings {
    pub api_url: String,
    pub token: Option<String>,
    /// (owner, repo)
    pub repository: Option<(String, String)>,
    pub pr: Option<u64>,
    pub head_sha: Option<String>,
    pub comment_author: Option<String>,
    /// `HTTPS_PROXY` and the other proxy variables, for GitHub's HTTP client.
    pub proxy: ProxyVars,
    /// The deadline of each step that talks to GitHub (posting the comment, apply's lookups,
    /// its status update).
    pub timeout: Duration,
}

impl std::fmt::Debug for GithubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubSettings")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .field("repository", &self.repository)
            .field("pr", &self.pr)
            .field("head_sha", &self.head_sha)
            .field("comment_author", &self.comment_author)
            .field("proxy", &self.proxy)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Flags > `TFGATE_*` > the workflow's own variables and event (> `.tfgate.toml` > default,
/// for the timeout).
pub fn resolve_github(
    args: &GithubArgs,
    ctx: &Context,
    file: &FileSettings,
    file_path: Option<&Path>,
) -> Result<GithubSettings, Error> {
    let repository = match args.repo.as_deref().or(ctx.repository.as_deref()) {
        Some(r) => Some(split_repo(r)?),
        None => None,
    };
    let event_pr = ctx.event.pull_request();
    let pr = args.pr.or(event_pr.map(|(n, _)| n));
    // The event's head SHA belongs to the event's PR only.
    let head_sha = args.head_sha.clone().or_else(|| {
        event_pr
            .filter(|(n, _)| Some(*n) == pr)
            .map(|(_, sha)| sha.to_string())
    });
    Ok(GithubSettings {
        api_url: args
            .github_api_url
            .clone()
            .or_else(|| ctx.api_url.clone())
            .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_string()),
        token: args.github_token.clone().or_else(|| ctx.token.clone()),
        repository,
        pr,
        head_sha,
        comment_author: args.comment_author.clone(),
        proxy: ctx.proxy.clone(),
        timeout: github_timeout(args, file, file_path)?,
    })
}

fn github_timeout(
    args: &GithubArgs,
    file: &FileSettings,
    file_path: Option<&Path>,
) -> Result<Duration, Error> {
    let (timeout, source) = match (args.github_timeout, &file.github_timeout) {
        (Some(d), _) => (d, "--github-timeout".to_string()),
        (None, Some(text)) => {
            let d = crate::duration::parse_duration(text).map_err(|e| Error::Settings {
                path: file_path.map(Path::to_path_buf).unwrap_or_default(),
                message: format!("github_timeout = \"{text}\": {e}"),
            })?;
            (d, format!("github_timeout = \"{text}\""))
        }
        (None, None) => return Ok(DEFAULT_GITHUB_TIMEOUT),
    };
    if timeout.is_zero() {
        return Err(Error::usage(
            format!("{source} leaves no time to talk to GitHub"),
            "give at least 1s; the default is 60s",
        ));
    }
    Ok(timeout)
}

fn split_repo(r: &str) -> Result<(String, String), Error> {
    match r.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
            Ok((o.to_string(), n.to_string()))
        }
        _ => Err(Error::usage(
            format!("`{r}` is not a repository"),
            "give it as OWNER/REPO, e.g. --repo acme/infrastructure",
        )),
    }
}

#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub require_comment: bool,
    /// `--comment`: when the PR comment is written.
    pub comment: CommentMode,
    pub init: bool,
    pub detailed_exitcode: bool,
    pub lock_timeout: String,
    pub terraform_args: Vec<String>,
    /// `--artifact-name`: the workflow uploads the bundle as this artifact.
    pub artifact_name: Option<String>,
    /// `--checks`: SARIF files whose findings the comment shows.
    pub checks: Vec<PathBuf>,
    /// `--fail-on-checks`: findings at or above this level fail the plan.
    pub fail_on_checks: Option<CheckLevel>,
    /// `--labels`: label the pull request with what its plans change.
    pub labels: bool,
}

/// `--comment` (or `TFGATE_COMMENT`) > `comment` in `.tfgate.toml` > `always`. A word the flag
/// does not take is an error (exit 1) that lists the ones it does; the file's is checked when
/// the file is read.
pub fn resolve_comment(flag: Option<&str>, file: &FileSettings) -> Result<CommentMode, Error> {
    match flag.filter(|f| !f.trim().is_empty()) {
        Some(text) => CommentMode::parse(text).ok_or_else(|| {
            Error::usage(
                format!("--comment {text:?} (or TFGATE_COMMENT) is not a comment mode"),
                format!(
                    "give one of {}: always comments on every plan, changes only on plans with changes (and updates an earlier comment when the changes are gone), never reads or writes the comment",
                    CommentMode::WORDS.join(", ")
                ),
            )
        }),
        None => Ok(file.comment.unwrap_or_default()),
    }
}

/// Loads `.tfgate.toml` and resolves the shared settings.
pub fn resolve_common(global: &GlobalArgs, ctx: &Context) -> Result<(Common, FileSettings), Error> {
    let root = Root::new(global.chdir.clone().unwrap_or_else(|| PathBuf::from(".")));
    let (file, path) = load_file(&root.path)?;
    let mut masks = file.mask.clone();
    masks.extend(global.masks.iter().filter(|m| !m.is_empty()).cloned());
    let common = Common {
        terraform: global
            .terraform
            .clone()
            .or_else(|| file.terraform.clone())
            .unwrap_or_else(|| DEFAULT_TERRAFORM.to_string()),
        workspace: global
            .workspace
            .clone()
            .or_else(|| file.workspace.clone())
            .or_else(|| ctx.tf_workspace.clone()),
        format: global.format.or(file.format).unwrap_or(Format::Human),
        masks,
        root,
        file: path,
        archive: non_empty(&global.archive.archive).or_else(|| non_empty(&file.archive)),
        kms_key: non_empty(&global.archive.kms_key).or_else(|| non_empty(&file.kms_key)),
        tf_data_dir: ctx.tf_data_dir.clone(),
        queue_table: non_empty(&file.queue_table),
        init_args: init_args(&global.init_args, file.init_args.as_deref()),
    };
    Ok((common, file))
}

/// The command line's init arguments replace the file's (flag > env > file, like every other
/// setting); an empty `TFGATE_INIT_ARGS` line is no argument.
fn init_args(given: &[String], from_file: Option<&[String]>) -> Vec<String> {
    let given: Vec<String> = given.iter().filter(|a| !a.is_empty()).cloned().collect();
    if given.is_empty() {
        from_file.map(<[String]>::to_vec).unwrap_or_default()
    } else {
        given
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

/// Settings of `apply` that `.tfgate.toml` may also hold.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub ignore: Vec<IgnoreRule>,
    pub lock_timeout: String,
    pub queue_lease: Duration,
    pub queue_timeout: Option<Duration>,
}

/// Ignore rules for comparing plans (`apply`, `diff`). They add up like masks: the file's are
/// the team's and come first, the flags' are the run's. A rule that cannot be read is named
/// with where it came from.
pub fn resolve_ignore(
    file: &FileSettings,
    file_path: Option<&Path>,
    flags: &[String],
) -> Result<Vec<IgnoreRule>, Error> {
    let mut rules = Vec::new();
    for text in &file.ignore {
        rules.push(IgnoreRule::parse(text).map_err(|e| Error::Settings {
            path: file_path.map(Path::to_path_buf).unwrap_or_default(),
            message: e.to_string(),
        })?);
    }
    for text in flags.iter().filter(|r| !r.trim().is_empty()) {
        rules.push(IgnoreRule::parse(text).map_err(|e| {
            Error::usage(
                e.to_string(),
                "a rule is ADDRESS_GLOB[:ATTRIBUTE_PATH], e.g. --ignore terraform_data.clock or \
                 --ignore 'module.app.aws_instance.*:tags.LastSeen'",
            )
        })?);
    }
    Ok(rules)
}

/// `apply`'s lease in the queue when nothing sets one.
pub const DEFAULT_QUEUE_LEASE: Duration = Duration::from_secs(180);

/// What `apply`'s command line says of the settings below; `None`: not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyFlags<'a> {
    pub ignore: &'a [String],
    pub lock_timeout: Option<&'a str>,
    pub queue_lease: Option<Duration>,
    pub queue_timeout: Option<Duration>,
}

pub fn resolve_apply(
    args: ApplyFlags<'_>,
    file: &FileSettings,
    file_path: Option<&Path>,
) -> Result<ApplySettings, Error> {
    let duration = |key: &str, value: &Option<String>| -> Result<Option<Duration>, Error> {
        value
            .as_deref()
            .map(|v| {
                crate::duration::parse_duration(v).map_err(|e| Error::Settings {
                    path: file_path.map(Path::to_path_buf).unwrap_or_default(),
                    message: format!("{key} = \"{v}\": {e}"),
                })
            })
            .transpose()
    };
    Ok(ApplySettings {
        ignore: resolve_ignore(file, file_path, args.ignore)?,
        lock_timeout: args
            .lock_timeout
            .map(str::to_string)
            .or_else(|| file.lock_timeout.clone())
            .unwrap_or_else(|| DEFAULT_LOCK_TIMEOUT.to_string()),
        queue_lease: match args.queue_lease {
            Some(d) => d,
            None => duration("queue_lease", &file.queue_lease)?.unwrap_or(DEFAULT_QUEUE_LEASE),
        },
        queue_timeout: match args.queue_timeout {
            Some(d) => Some(d),
            None => duration("queue_timeout", &file.queue_timeout)?,
        },
    })
}

/// Reads `.tfgate.toml` from the root, else from the repository root (the nearest ancestor
/// holding `.git`). A missing file is no error.
pub fn load_file(root: &Path) -> Result<(FileSettings, Option<PathBuf>), Error> {
    let Some(path) = find_file(root) else {
        return Ok((FileSettings::default(), None));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut parsed: FileSettings = toml::from_str(&text).map_err(|e| Error::Settings {
        path: path.clone(),
        message: e.message().to_string(),
    })?;
    parsed.dir = path.parent().map(Path::to_path_buf);
    Ok((parsed, Some(path)))
}

fn find_file(root: &Path) -> Option<PathBuf> {
    let here = root.join(FILE_NAME);
    if here.is_file() {
        return Some(here);
    }
    let abs = std::fs::canonicalize(root).ok()?;
    let repo = abs.ancestors().find(|d| d.join(".git").exists())?;
    let there = repo.join(FILE_NAME);
    there.is_file().then_some(there)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> (GlobalArgs, crate::commands::plan::PlanArgs) {
        let mut full = vec!["tfgate"];
        full.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(full).unwrap();
        match cli.command {
            crate::cli::Command::Plan(p) => (cli.global, p),
            _ => unreachable!(),
        }
    }

    #[test]
    fn flag_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "terraform = \"tofu\"\nlock_timeout = \"1m\"\nmask = [\"AKIA.*\"]\ninit = false\n",
        )
        .unwrap();
        let d = dir.path().to_str().unwrap();
        let (g, p) = parse(&["plan", "--chdir", d, "--mask", "x+"]);
        let env = crate::context::Env::default();
        let (common, file) = resolve_common(&g, &Context::default()).unwrap();
        assert_eq!(common.terraform, "tofu");
        assert_eq!(common.masks, ["AKIA.*", "x+"]);
        let plan = p.settings(&file, &env).unwrap();
        assert_eq!(plan.lock_timeout, "1m");
        assert!(!plan.init);

        let (g, p) = parse(&[
            "plan",
            "--chdir",
            d,
            "--terraform",
            "terraform",
            "--lock-timeout",
            "2m",
        ]);
        let (common, file) = resolve_common(&g, &Context::default()).unwrap();
        assert_eq!(common.terraform, "terraform");
        assert_eq!(p.settings(&file, &env).unwrap().lock_timeout, "2m");
        // An env var set to false beats the file.
        let env = crate::context::Env::from_pairs([("TFGATE_NO_INIT", "false")]);
        assert!(p.settings(&file, &env).unwrap().init);
    }

    #[test]
    fn comment_mode_flag_beats_file_beats_always() {
        let file = |text: &str| -> FileSettings { toml::from_str(text).unwrap() };
        let never = file("comment = \"never\"");
        assert_eq!(
            resolve_comment(None, &FileSettings::default()).unwrap(),
            CommentMode::Always
        );
        assert_eq!(resolve_comment(None, &never).unwrap(), CommentMode::Never);
        assert_eq!(
            resolve_comment(Some(""), &never).unwrap(),
            CommentMode::Never
        );
        assert_eq!(
            resolve_comment(Some("changes"), &never).unwrap(),
            CommentMode::Changes
        );
        let e = resolve_comment(Some("sometimes"), &never).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::code::ERROR);
        assert!(
            e.hint().unwrap().contains("always, changes, never"),
            "{e:?}"
        );
        assert!(toml::from_str::<FileSettings>("comment = \"sometimes\"").is_err());
    }

    fn apply_settings(dir: &Path, file: &str, flags: &[&str]) -> Result<ApplySettings, Error> {
        std::fs::write(dir.join(FILE_NAME), file).unwrap();
        let mut full = vec!["tfgate", "apply", "--chdir", dir.to_str().unwrap()];
        full.extend_from_slice(flags);
        let cli = crate::cli::Cli::try_parse_from(full).unwrap();
        let (common, settings) = resolve_common(&cli.global, &Context::default()).unwrap();
        let crate::cli::Command::Apply(a) = &cli.command else {
            unreachable!()
        };
        resolve_apply(a.flags(), &settings, common.file.as_deref())
    }

    #[test]
    fn queue_settings_from_flags_then_the_file_then_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let none = apply_settings(d, "", &[]).unwrap();
        assert_eq!(none.queue_lease, DEFAULT_QUEUE_LEASE);
        assert_eq!(none.queue_timeout, None);
        let file = "queue_lease = \"5m\"\nqueue_timeout = \"2h\"\nqueue_table = \"tf-locks\"\n";
        let from_file = apply_settings(d, file, &[]).unwrap();
        assert_eq!(from_file.queue_lease, Duration::from_secs(300));
        assert_eq!(from_file.queue_timeout, Some(Duration::from_secs(7200)));
        let flags =
            apply_settings(d, file, &["--queue-lease", "1m", "--queue-timeout", "10m"]).unwrap();
        assert_eq!(flags.queue_lease, Duration::from_secs(60));
        assert_eq!(flags.queue_timeout, Some(Duration::from_secs(600)));
        let (g, _) = parse(&["plan", "--chdir", d.to_str().unwrap()]);
        let (common, _) = resolve_common(&g, &Context::default()).unwrap();
        assert_eq!(common.queue_table.as_deref(), Some("tf-locks"));
        let err = apply_settings(d, "queue_lease = \"soon\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("queue_lease = \"soon\""), "{err}");
    }

    #[test]
    fn github_settings_come_from_the_event_unless_overridden() {
        let ctx = Context {
            repository: Some("acme/infra".into()),
            token: Some("ghs_secret".into()),
            event: crate::context::Event::PullRequest {
                number: 7,
                head_sha: "abc".into(),
            },
            ..Context::default()
        };
        let (g, _) = parse(&["plan"]);
        let gh = resolve_github(&g.github, &ctx, &FileSettings::default(), None).unwrap();
        assert_eq!(gh.repository, Some(("acme".into(), "infra".into())));
        assert_eq!((gh.pr, gh.head_sha.as_deref()), (Some(7), Some("abc")));
        assert_eq!(gh.api_url, DEFAULT_GITHUB_API_URL);
        assert!(
            !format!("{gh:?}").contains("ghs_secret"),
            "the token stays out of Debug"
        );
        // Another PR: the event's head SHA does not apply to it.
        let (g, _) = parse(&["plan", "--pr", "8", "--repo", "other/repo"]);
        let gh = resolve_github(&g.github, &ctx, &FileSettings::default(), None).unwrap();
        assert_eq!((gh.pr, gh.head_sha), (Some(8), None));
        assert_eq!(gh.repository, Some(("other".into(), "repo".into())));
        let (g, _) = parse(&["plan", "--repo", "nope"]);
        assert!(resolve_github(&g.github, &ctx, &FileSettings::default(), None).is_err());
    }

    #[test]
    fn github_timeout_from_the_flag_then_the_file_then_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let timeout = |file: &str, flags: &[&str]| {
            std::fs::write(dir.path().join(FILE_NAME), file).unwrap();
            let mut args = vec!["plan", "--chdir", d];
            args.extend_from_slice(flags);
            let (g, _) = parse(&args);
            let (common, settings) = resolve_common(&g, &Context::default()).unwrap();
            resolve_github(
                &g.github,
                &Context::default(),
                &settings,
                common.file.as_deref(),
            )
            .map(|gh| gh.timeout)
        };
        assert_eq!(timeout("", &[]).unwrap(), DEFAULT_GITHUB_TIMEOUT);
        assert_eq!(
            timeout("github_timeout = \"2m\"\n", &[]).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            timeout("github_timeout = \"2m\"\n", &["--github-timeout", "15s"]).unwrap(),
            Duration::from_secs(15)
        );
        let err = timeout("github_timeout = \"soon\"\n", &[]).unwrap_err();
        assert!(
            err.to_string().contains("github_timeout = \"soon\""),
            "{err}"
        );
        let err = timeout("", &["--github-timeout", "0s"]).unwrap_err();
        assert!(err.to_string().contains("--github-timeout"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "terrafrom = \"x\"\n").unwrap();
        let err = load_file(dir.path()).unwrap_err();
        assert!(err.to_string().contains("invalid settings"), "{err}");
    }

    #[test]
    fn defaults() {
        let (g, p) = parse(&["plan", "--chdir", "/nonexistent-root"]);
        let (common, file) = resolve_common(&g, &Context::default()).unwrap();
        assert_eq!(common.terraform, DEFAULT_TERRAFORM);
        assert_eq!(common.workspace_name(), "default");
        let plan = p.settings(&file, &crate::context::Env::default()).unwrap();
        assert!(plan.init);
        assert_eq!(plan.lock_timeout, DEFAULT_LOCK_TIMEOUT);
    }
}

//! The sealed test environment: a temporary directory, a cleared environment with a fixed
//! terminal width, terraform configured to touch nothing outside the test, and helpers to stage
//! fixtures and run the real `tfgate` binary.

#![allow(dead_code)]

pub mod actions;
pub mod gfm;
pub mod github;
pub mod moto;
pub mod proxy;
pub mod stub;
pub mod web_proxy;
pub mod workflow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const TFGATE: &str = env!("CARGO_BIN_EXE_tfgate");

/// The project's root (for fixtures and scripts).
pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The secrets in the `sensitive` fixture's plans: sensitive values, and AWS keys that are not
/// marked sensitive and are hidden only by [`AKIA_MASK`].
pub const SENSITIVE_SECRETS: &[&str] = &[
    "S3CRET-db-password-7f3a",
    "S3CRET-api-token-91bc",
    "S3CRET-output-c0de",
    "S3CRET-db-password-old-4d21",
    "S3CRET-api-token-old-77e0",
    "S3CRET-output-old-9a9a",
    "AKIAFAKEKEY000000001",
    "AKIAFAKEKEYOLD000001",
];
/// The `--mask` pattern that hides the `sensitive` fixture's AWS keys.
pub const AKIA_MASK: &str = "AKIA[0-9A-Z]{16}";

pub fn plans_dir() -> PathBuf {
    project_dir().join("tests/data/plans")
}

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let tfrc = dir.path().join("terraform.rc");
        std::fs::write(&tfrc, "").unwrap();
        let mut env = BTreeMap::new();
        #[allow(clippy::disallowed_methods)]
        let path = std::env::var("PATH").unwrap_or_default();
        env.insert("PATH".into(), path);
        env.insert("HOME".into(), home.display().to_string());
        env.insert("TF_CLI_CONFIG_FILE".into(), tfrc.display().to_string());
        env.insert("CHECKPOINT_DISABLE".into(), "1".into());
        env.insert("TF_IN_AUTOMATION".into(), "1".into());
        env.insert("COLUMNS".into(), "100".into());
        env.insert("TFGATE_COLOR".into(), "never".into());
        TestEnv { dir, env }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The environment tfgate runs with (for running terraform directly alongside it).
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    pub fn set(&mut self, k: &str, v: impl Into<String>) -> &mut Self {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Removes a variable (one a runner would not set, or a credential a run does not have).
    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.env.remove(k);
        self
    }

    /// Copies fixture NAME into a fresh root (applying its setup stage) and returns the root.
    pub fn stage(&self, name: &str) -> PathBuf {
        let dest = self.path().join(format!("root-{name}"));
        let out = Command::new("bash")
            .arg(project_dir().join("scripts/stage-fixture.sh"))
            .arg(name)
            .arg(&dest)
            .env_clear()
            .envs(&self.env)
            .output()
            .expect("run stage-fixture.sh");
        assert!(
            out.status.success(),
            "staging {name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dest
    }

    /// A `tfgate` command in this environment, run from the test directory.
    pub fn tfgate(&self) -> Command {
        let mut cmd = Command::new(TFGATE);
        cmd.env_clear()
            .envs(&self.env)
            .current_dir(self.path())
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.tfgate().args(args).output().expect("run tfgate"))
    }

    /// `tfgate plan --chdir ROOT EXTRA…`.
    pub fn plan(&self, root: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["plan", "--chdir", root.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Writes an executable shell script and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join(name);
        std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

/// What a run of tfgate showed the user.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Everything the user saw, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.transcript()
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.transcript()))
    }
}

/// Bundle folders under a root's local archive: (dir, has manifest).
pub fn bundles(root: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    let archive = root.join(".tfgate/archive");
    for ws in read_dirs(&archive) {
        for scope in read_dirs(&ws) {
            for b in read_dirs(&scope) {
                let complete = b.join("manifest.json").is_file();
                out.push((b, complete));
            }
        }
    }
    out.sort();
    out
}

fn read_dirs(p: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// The one complete bundle of a root.
#[track_caller]
pub fn only_bundle(root: &Path) -> PathBuf {
    let all = bundles(root);
    let complete: Vec<_> = all.iter().filter(|(_, c)| *c).collect();
    assert_eq!(
        complete.len(),
        1,
        "expected one complete bundle, found {all:?}"
    );
    complete[0].0.clone()
}

/// Every file under `dir`, recursively, with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

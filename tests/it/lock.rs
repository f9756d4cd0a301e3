//! `tfgate lock status|release|fix-digest` end to end: the real tfgate binary, terraform's real
//! S3 backend and moto_server as S3 and DynamoDB. Locks are taken by a real terraform (the
//! `slow-apply` fixture sleeps in a provisioner while it holds them), digests are written by
//! terraform and corrupted by hand, and repairs are proven by `terraform plan` working again.
//!
//! What moto cannot produce (access denied, expired credentials, a bucket in another region)
//! comes from `support::stub`, a loopback server that answers with AWS's documented error responses. The
//! logging proxy of `support::proxy` in front of moto counts the requests `lock status` makes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::support::moto::{REGION, moto};
use crate::support::proxy::{Exchange, Proxy};
use crate::support::stub::{response, stub};
use crate::support::*;

const KEY: &str = "prod/terraform.tfstate";

/// A `slow-apply` root whose `backend "s3"` block points at moto.
struct Root {
    env: TestEnv,
    dir: PathBuf,
    bucket: String,
    table: Option<String>,
    lockfile: bool,
}

/// Adds settings to a `backend "s3"` block written by `Moto::backend_block`.
fn with_settings(block: &str, extra: &str) -> String {
    let end = "  }\n}\n";
    let body = block.strip_suffix(end).expect("a backend block");
    format!("{body}{extra}{end}")
}

impl Root {
    /// DynamoDB locking when `table`, S3 lock files when `lockfile`, plus `extra` settings.
    fn new(table: bool, lockfile: bool, extra: &str) -> Root {
        let m = moto();
        let mut env = TestEnv::new();
        m.configure(&mut env);
        let bucket = m.unique("lock-state");
        m.create_bucket(&bucket);
        let table = table.then(|| {
            let t = m.unique("lock-table");
            m.create_lock_table(&t);
            t
        });
        let dir = env.stage("slow-apply");
        let block = m.backend_block(&bucket, KEY, table.as_deref(), lockfile);
        std::fs::write(dir.join("backend.tf"), with_settings(&block, extra)).unwrap();
        Root {
            env,
            dir,
            bucket,
            table,
            lockfile,
        }
    }

    fn chdir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn tfgate(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--chdir", self.chdir()]);
        self.env.run(&all)
    }

    fn status_json(&self, extra: &[&str]) -> (Option<i32>, Value) {
        let mut args = vec!["lock", "status", "--format", "json"];
        args.extend_from_slice(extra);
        let run = self.tfgate(&args);
        assert!(
            matches!(run.code, Some(0 | 5 | 6)),
            "lock status failed\n{}",
            run.transcript()
        );
        (run.code, run.json())
    }

    fn terraform(&self, args: &[&str]) -> std::process::Output {
        Command::new("terraform")
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.env.vars())
            .stdin(Stdio::null())
            .output()
            .expect("run terraform")
    }

    #[track_caller]
    fn terraform_ok(&self, args: &[&str]) -> String {
        let out = self.terraform(args);
        assert!(
            out.status.success(),
            "terraform {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn init(&self) {
        self.terraform_ok(&["init", "-input=false", "-no-color"]);
    }

    fn apply(&self) {
        self.terraform_ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    }

    /// `terraform plan` without waiting for a lock: (success, stderr).
    fn plan(&self) -> (bool, String) {
        let out = self.terraform(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `terraform apply` in the background, sleeping `secs` seconds while it holds the lock.
    fn apply_in_background(&self, secs: u32) -> Holder {
        use std::os::unix::process::CommandExt;
        let log = self.env.path().join("background-apply.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("terraform")
            .args([
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
                &format!("-var=sleep_seconds={secs}"),
            ])
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.env.vars())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            // Its own process group, so killing it also kills the provisioner's sleep.
            .process_group(0)
            .spawn()
            .expect("start terraform apply");
        Holder {
            child: Some(child),
            log,
        }
    }

    /// Polls `lock status` until terraform holds every lock kind the backend uses (it takes
    /// the S3 lock file first, then the DynamoDB item), and returns that status.
    #[track_caller]
    fn wait_for_lock(&self, holder: &mut Holder) -> Value {
        let kinds = usize::from(self.table.is_some()) + usize::from(self.lockfile);
        let start = Instant::now();
        loop {
            let (code, json) = self.status_json(&[]);
            if code == Some(5) && json["locks"].as_array().is_some_and(|l| l.len() == kinds) {
                return json;
            }
            holder.assert_running();
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "terraform never took the lock:\n{}",
                holder.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn dynamodb_item(
        &self,
        lock_id: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        let m = moto();
        let table = self.table.as_deref().expect("a table");
        m.block_on(
            m.dynamodb()
                .get_item()
                .table_name(table)
                .key("LockID", AttributeValue::S(lock_id.to_string()))
                .consistent_read(true)
                .send(),
        )
        .unwrap()
        .item
    }

    fn put_item(&self, lock_id: &str, attribute: &str, value: &str) {
        let m = moto();
        m.block_on(
            m.dynamodb()
                .put_item()
                .table_name(self.table.as_deref().expect("a table"))
                .item("LockID", AttributeValue::S(lock_id.to_string()))
                .item(attribute, AttributeValue::S(value.to_string()))
                .send(),
        )
        .unwrap();
    }

    fn object(&self, key: &str) -> Option<String> {
        let m = moto();
        let got = m.block_on(m.s3().get_object().bucket(&self.bucket).key(key).send());
        match got {
            Ok(out) => {
                let bytes = m.block_on(out.body.collect()).unwrap().into_bytes();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            Err(_) => None,
        }
    }

    fn put_object(&self, key: &str, body: &str) {
        let m = moto();
        m.block_on(
            m.s3()
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send(),
        )
        .unwrap();
    }

    /// Replaces the lock by hand (as another terraform would take it).
    fn put_lock(&self, id: &str, created: &str, lockfile: bool) {
        let info = lock_info(id, created, &format!("{}/{KEY}", self.bucket));
        if self.table.is_some() {
            self.put_item(&format!("{}/{KEY}", self.bucket), "Info", &info);
        }
        if lockfile {
            self.put_object(&format!("{KEY}.tflock"), &info);
        }
    }
}

fn lock_info(id: &str, created: &str, path: &str) -> String {
    serde_json::json!({
        "ID": id, "Operation": "OperationTypeApply", "Info": "",
        "Who": "runner@fv-az123", "Version": "1.11.4", "Created": created, "Path": path,
    })
    .to_string()
}

fn hours_ago(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339()
}

/// A background `terraform apply`; killed (with its process group) if still running when
/// dropped.
struct Holder {
    child: Option<Child>,
    log: PathBuf,
}

impl Holder {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[track_caller]
    fn assert_running(&mut self) {
        if let Some(c) = &mut self.child
            && let Ok(Some(status)) = c.try_wait()
        {
            panic!("terraform apply exited early ({status}):\n{}", self.log());
        }
    }

    /// SIGKILL to terraform's process group: it dies holding the lock.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pgid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = c.wait();
        }
    }

    /// Waits for terraform to finish on its own.
    #[track_caller]
    fn finish(&mut self) {
        let mut c = self.child.take().expect("a running terraform");
        let start = Instant::now();
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                assert!(status.success(), "terraform apply failed:\n{}", self.log());
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "terraform apply hangs"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Replaces what changes from run to run (names, IDs, times, ages, digests, sizes) and
/// collapses table padding, so snapshots hold only what is stable.
fn normalise(text: &str, root: &Root, lock: Option<&Value>) -> String {
    let mut t = text.replace(&root.env.path().display().to_string(), "[TMP]");
    t = t.replace(&root.bucket, "[BUCKET]");
    if let Some(table) = &root.table {
        t = t.replace(table, "[TABLE]");
    }
    if let Some(l) = lock {
        for (field, label) in [("who", "[WHO]"), ("version", "[VERSION]")] {
            if let Some(v) = l[field].as_str() {
                t = t.replace(v, label);
            }
        }
    }
    let rules = [
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[ID]",
        ),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[TIME]",
        ),
        (r"\b\d+[dhms]( \d+[hms])?( ago|\s+by)", "[AGE]$2"),
        (r"[0-9a-f]{32}", "[MD5]"),
        (r"\d+ bytes", "[N] bytes"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"─+", "─"),
        (r" {2,}([┆│])", " $1"),
    ];
    for (pattern, replacement) in rules {
        t = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&t, replacement)
            .into_owned();
    }
    t
}

#[test]
fn a_terraform_holding_the_dynamodb_lock_and_its_stale_lock_once_killed() {
    let root = Root::new(true, false, "");
    root.init();
    let mut holder = root.apply_in_background(120);
    let status = root.wait_for_lock(&mut holder);

    // The holder tfgate shows is the one in DynamoDB, as terraform wrote it.
    let item = root
        .dynamodb_item(&format!("{}/{KEY}", root.bucket))
        .expect("the lock item");
    let Some(AttributeValue::S(info)) = item.get("Info") else {
        panic!("no Info in {item:?}")
    };
    let info: Value = serde_json::from_str(info).unwrap();
    let locks = status["locks"].as_array().unwrap();
    assert_eq!(locks.len(), 1, "{status:#}");
    let lock = &locks[0];
    assert_eq!(lock["kind"], "dynamodb");
    for (ours, theirs) in [
        ("id", "ID"),
        ("operation", "Operation"),
        ("who", "Who"),
        ("version", "Version"),
        ("created", "Created"),
        ("path", "Path"),
    ] {
        assert_eq!(lock[ours], info[theirs], "{ours}");
    }
    assert_eq!(lock["operation"], "OperationTypeApply");
    assert!(lock["age_seconds"].as_i64().unwrap() < 90);
    assert_eq!(status["locked"], true);

    let human = root.tfgate(&["lock", "status"]);
    human.assert_code(5);
    let headline = human.stdout.lines().next().unwrap().to_string();
    assert!(
        headline.starts_with("Locked for ")
            && headline.ends_with(&format!(
                " by {}, OperationTypeApply, terraform {}.",
                info["Who"].as_str().unwrap(),
                info["Version"].as_str().unwrap()
            )),
        "{headline}"
    );
    insta::assert_snapshot!(
        "status_locked_dynamodb",
        normalise(&human.transcript(), &root, Some(lock))
    );

    // Killed, terraform leaves its lock behind, and the next terraform cannot run.
    holder.kill();
    let id = lock["id"].as_str().unwrap();
    let (code, after) = root.status_json(&[]);
    assert_eq!((code, &after["locks"][0]["id"]), (Some(5), &lock["id"]));
    let (ok, stderr) = root.plan();
    assert!(
        !ok && stderr.contains("Error acquiring the state lock"),
        "{stderr}"
    );

    // Young: refused without --force. Then released, and terraform runs again.
    let young = root.tfgate(&["lock", "release", "--id", id]);
    young.assert_code(1);
    assert!(young.stderr.contains("--force"), "{}", young.stderr);
    // Any form humantime reads is a --min-age, and the refusal quotes it back exactly.
    let young = root.tfgate(&["lock", "release", "--id", id, "--min-age", "1h 30min"]);
    young.assert_code(1);
    assert!(
        young
            .stderr
            .contains("(--min-age 1h30m); nothing was removed"),
        "{}",
        young.stderr
    );
    assert!(
        root.dynamodb_item(&format!("{}/{KEY}", root.bucket))
            .is_some()
    );
    let released = root.tfgate(&["lock", "release", "--id", id, "--force"]);
    released.assert_code(0);
    assert!(
        released.stdout.contains("Removed the DynamoDB lock") && released.stdout.contains(id),
        "{}",
        released.transcript()
    );
    assert!(
        root.dynamodb_item(&format!("{}/{KEY}", root.bucket))
            .is_none()
    );
    let (ok, stderr) = root.plan();
    assert!(ok, "terraform plan after the release: {stderr}");
}

#[test]
fn a_terraform_holding_the_s3_lock_file_and_its_stale_lock_once_killed() {
    let root = Root::new(false, true, "");
    root.init();
    let mut holder = root.apply_in_background(120);
    let status = root.wait_for_lock(&mut holder);
    let object = root
        .object(&format!("{KEY}.tflock"))
        .expect("the .tflock object");
    let info: Value = serde_json::from_str(&object).unwrap();
    let lock = &status["locks"][0];
    assert_eq!(status["locks"].as_array().unwrap().len(), 1, "{status:#}");
    assert_eq!(lock["kind"], "s3");
    assert_eq!(lock["id"], info["ID"]);
    assert_eq!(lock["who"], info["Who"]);
    assert_eq!(lock["created"], info["Created"]);
    assert_eq!(status["digest"]["status"], "not_applicable");

    let human = root.tfgate(&["lock", "status"]);
    human.assert_code(5);
    insta::assert_snapshot!(
        "status_locked_lockfile",
        normalise(&human.transcript(), &root, Some(lock))
    );

    holder.kill();
    let (ok, _) = root.plan();
    assert!(!ok, "the killed terraform's lock file blocks the next run");
    let id = lock["id"].as_str().unwrap();
    let released = root.tfgate(&["lock", "release", "--id", id, "--min-age", "0s"]);
    released.assert_code(0);
    assert!(
        released.stdout.contains("Removed the S3 lock file"),
        "{}",
        released.stdout
    );
    assert_eq!(root.object(&format!("{KEY}.tflock")), None);
    let (ok, stderr) = root.plan();
    assert!(ok, "terraform plan after the release: {stderr}");
}

#[test]
fn a_terraform_holding_both_locks_then_finishing() {
    let root = Root::new(true, true, "");
    root.init();
    root.apply();
    let mut holder = root.apply_in_background(8);
    let status = root.wait_for_lock(&mut holder);
    let locks = status["locks"].as_array().unwrap();
    let kinds: Vec<&str> = locks.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["dynamodb", "s3"], "{status:#}");
    assert_eq!(
        locks[0]["id"], locks[1]["id"],
        "terraform takes both with one ID"
    );
    assert!(locks[0]["id"].as_str().is_some_and(|id| !id.is_empty()));

    // No repair while a lock is held; exit 5 says why.
    let refused = root.tfgate(&["lock", "fix-digest", "--yes"]);
    refused.assert_code(5);
    assert!(
        refused.stderr.contains("is locked by"),
        "{}",
        refused.stderr
    );

    let human = root.tfgate(&["lock", "status"]);
    human.assert_code(5);
    insta::assert_snapshot!(
        "status_locked_both",
        normalise(&human.transcript(), &root, Some(&locks[0]))
    );

    holder.finish();
    let human = root.tfgate(&["lock", "status"]);
    human.assert_code(0);
    insta::assert_snapshot!(
        "status_unlocked",
        normalise(&human.transcript(), &root, None)
    );
    let (code, json) = root.status_json(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(json["locked"], false);
    assert_eq!(json["locks"], serde_json::json!([]));
    assert_eq!(json["digest"]["status"], "ok");
    assert_eq!(json["digest"]["stored"], json["digest"]["actual"]);
    assert_eq!(json["state"]["exists"], true);
    assert_eq!(json["state"]["key"], KEY);
    assert_eq!(json["state"]["bucket"], root.bucket.as_str());
    assert!(
        json.get("queue").is_none(),
        "no queue line until the queue exists"
    );
    // The §10 fields, all present.
    for field in [
        "bucket",
        "key",
        "size",
        "etag",
        "last_modified",
        "version_id",
    ] {
        assert!(json["state"].get(field).is_some(), "state.{field}");
    }
    for field in ["status", "stored", "actual"] {
        assert!(json["digest"].get(field).is_some(), "digest.{field}");
    }
}

#[test]
fn workspaces_and_a_custom_workspace_key_prefix() {
    let root = Root::new(true, false, "");
    root.init();
    root.terraform_ok(&["workspace", "new", "-no-color", "staging"]);
    root.apply();
    // .terraform/environment says staging.
    let (code, json) = root.status_json(&[]);
    assert_eq!(code, Some(0), "{json:#}");
    assert_eq!(json["workspace"], "staging");
    assert_eq!(json["state"]["key"], format!("env:/staging/{KEY}"));
    assert_eq!(json["state"]["exists"], true);
    assert_eq!(json["digest"]["status"], "ok");
    assert_eq!(
        json["digest"]["lock_id"],
        format!("{}/env:/staging/{KEY}-md5", root.bucket)
    );
    // --workspace chooses another.
    let (_, json) = root.status_json(&["--workspace", "default"]);
    assert_eq!(json["state"]["key"], KEY);
    assert_eq!(json["state"]["exists"], false);
    assert_eq!(json["digest"]["status"], "missing");

    let prefixed = Root::new(
        false,
        true,
        "    workspace_key_prefix        = \"teams/payments\"\n",
    );
    prefixed.init();
    prefixed.terraform_ok(&["workspace", "new", "-no-color", "staging"]);
    let mut holder = prefixed.apply_in_background(60);
    let json = prefixed.wait_for_lock(&mut holder);
    assert_eq!(
        json["state"]["key"],
        format!("teams/payments/staging/{KEY}")
    );
    assert_eq!(
        json["locks"][0]["path"],
        format!("{}/teams/payments/staging/{KEY}", prefixed.bucket)
    );
    assert!(
        prefixed
            .object(&format!("teams/payments/staging/{KEY}.tflock"))
            .is_some()
    );
}

#[test]
fn a_corrupted_digest_is_detected_and_repaired() {
    let root = Root::new(true, false, "");
    root.init();
    root.apply();
    let digest_id = format!("{}/{KEY}-md5", root.bucket);
    let (code, json) = root.status_json(&[]);
    assert_eq!(
        (code, json["digest"]["status"].as_str()),
        (Some(0), Some("ok"))
    );
    let good = json["digest"]["actual"].as_str().unwrap().to_string();

    let bad = "0123456789abcdef0123456789abcdef";
    root.put_item(&digest_id, "Digest", bad);
    let human = root.tfgate(&["lock", "status"]);
    human.assert_code(6);
    insta::assert_snapshot!(
        "status_digest_mismatch",
        normalise(&human.transcript(), &root, None)
    );
    let (code, json) = root.status_json(&[]);
    assert_eq!(code, Some(6));
    assert_eq!(json["digest"]["status"], "mismatch");
    assert_eq!(json["digest"]["stored"], bad);
    assert_eq!(json["digest"]["actual"], good.as_str());
    let (ok, stderr) = root.plan();
    assert!(
        !ok && stderr.contains("does not have the expected content"),
        "{stderr}"
    );

    // Not on a terminal, and no --yes: nothing is written.
    let refused = root.tfgate(&["lock", "fix-digest"]);
    refused.assert_code(1);
    insta::assert_snapshot!(
        "fix_digest_needs_yes",
        normalise(&refused.transcript(), &root, None)
    );
    assert_eq!(digest_of(&root, &digest_id).as_deref(), Some(bad));

    // On a terminal, "n" changes nothing.
    let declined = on_a_terminal(&root, "lock fix-digest", "n\n");
    assert_eq!(declined.code, Some(1), "{}", declined.transcript());
    assert!(
        declined.stdout.contains("[y/N]"),
        "{}",
        declined.transcript()
    );
    assert_eq!(digest_of(&root, &digest_id).as_deref(), Some(bad));

    let fixed = root.tfgate(&["lock", "fix-digest", "--yes"]);
    fixed.assert_code(0);
    assert!(
        fixed.stderr.contains(bad) && fixed.stderr.contains(&good),
        "{}",
        fixed.transcript()
    );
    assert!(
        fixed.stdout.contains(&format!("Wrote digest {good}")),
        "{}",
        fixed.stdout
    );
    assert_eq!(digest_of(&root, &digest_id), Some(good.clone()));
    let (code, json) = root.status_json(&[]);
    assert_eq!(
        (code, json["digest"]["status"].as_str()),
        (Some(0), Some("ok"))
    );
    let (ok, stderr) = root.plan();
    assert!(ok, "terraform plan after fix-digest: {stderr}");

    // Nothing left to fix; and "y" on a terminal writes.
    let again = root.tfgate(&["lock", "fix-digest", "--yes"]);
    again.assert_code(0);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    root.put_item(&digest_id, "Digest", bad);
    let confirmed = on_a_terminal(&root, "lock fix-digest", "y\n");
    assert_eq!(confirmed.code, Some(0), "{}", confirmed.transcript());
    assert_eq!(digest_of(&root, &digest_id), Some(good));

    // The state object deleted by hand: a stored digest now expects content that is gone.
    let m = moto();
    m.block_on(m.s3().delete_object().bucket(&root.bucket).key(KEY).send())
        .unwrap();
    let (code, json) = root.status_json(&[]);
    assert_eq!(
        (code, json["digest"]["status"].as_str()),
        (Some(6), Some("mismatch"))
    );
    assert_eq!(json["state"]["exists"], false);
    let fixed = root.tfgate(&["lock", "fix-digest", "--yes"]);
    fixed.assert_code(0);
    assert!(
        fixed.stdout.contains("Deleted the digest item"),
        "{}",
        fixed.stdout
    );
    assert_eq!(root.dynamodb_item(&digest_id), None);
    let (code, json) = root.status_json(&[]);
    assert_eq!(
        (code, json["digest"]["status"].as_str()),
        (Some(0), Some("missing"))
    );
}

fn digest_of(root: &Root, digest_id: &str) -> Option<String> {
    match root.dynamodb_item(digest_id)?.get("Digest") {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Runs tfgate with a pseudo-terminal as stdin and stdout (util-linux `script`), typing `input`.
fn on_a_terminal(root: &Root, args: &str, input: &str) -> Run {
    let command = format!("{TFGATE} {args} --chdir {}", root.chdir());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root.env.path())
        .env_clear()
        .envs(root.env.vars())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    // Typed once the prompt is up, as a person would.
    std::thread::sleep(Duration::from_millis(1500));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn release_never_removes_a_lock_with_another_id() {
    let root = Root::new(true, true, "");
    let lock_id = format!("{}/{KEY}", root.bucket);
    let tflock = format!("{KEY}.tflock");
    let a = "aaaaaaaa-0000-0000-0000-000000000001";
    let b = "bbbbbbbb-0000-0000-0000-000000000002";
    root.put_lock(a, &hours_ago(2), true);

    // A wrong ID removes nothing, and says which lock is held.
    let wrong = root.tfgate(&["lock", "release", "--id", "not-the-id"]);
    wrong.assert_code(1);
    insta::assert_snapshot!(
        "release_wrong_id",
        normalise(&wrong.transcript(), &root, None)
    );
    assert!(root.dynamodb_item(&lock_id).is_some());
    assert!(root.object(&tflock).is_some());

    // Someone read A with `lock status`; meanwhile A was released and B taken.
    let (code, status) = root.status_json(&[]);
    assert_eq!(
        (code, status["locks"][0]["id"].as_str()),
        (Some(5), Some(a))
    );
    root.put_lock(b, &hours_ago(1), true);
    let late = root.tfgate(&["lock", "release", "--id", a]);
    late.assert_code(1);
    assert!(late.stderr.contains(b), "{}", late.stderr);
    let (_, status) = root.status_json(&[]);
    let ids: Vec<&str> = status["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b, b], "B survives in both places");

    // The same race inside one release, between its read and its delete: the conditional
    // deletes refuse. The lock keeps ID B but is taken again (new Created, new ETag).
    let store = store_for(&root);
    let m = moto();
    let read = m.block_on(store.locks()).unwrap();
    assert_eq!(read.len(), 2);
    root.put_lock(b, &hours_ago(0), true);
    for lock in &read {
        let err = m.block_on(store.remove(lock)).unwrap_err();
        assert!(
            matches!(err, tfgate::error::Error::LockChanged { .. }),
            "{:?}: {err}",
            lock.kind
        );
    }
    assert!(root.dynamodb_item(&lock_id).is_some());
    assert!(root.object(&tflock).is_some());

    // And the one the user names is released, from both places.
    root.put_lock(b, &hours_ago(1), true);
    let done = root.tfgate(&["lock", "release", "--id", b]);
    done.assert_code(0);
    insta::assert_snapshot!("release_both", normalise(&done.transcript(), &root, None));
    assert!(root.dynamodb_item(&lock_id).is_none());
    assert_eq!(root.object(&tflock), None);
    let nothing = root.tfgate(&["lock", "release", "--id", b]);
    nothing.assert_code(1);
    assert!(nothing.stderr.contains("not locked"), "{}", nothing.stderr);
}

/// A `LockStore` on the test's own moto clients.
fn store_for(root: &Root) -> tfgate::aws::lock::LockStore {
    let m = moto();
    let backend = tfgate::terraform::backend::resolve(&root.dir, &Default::default()).unwrap();
    let paths = backend.paths("default");
    tfgate::aws::lock::LockStore::from_clients(
        m.s3().clone(),
        m.dynamodb().clone(),
        backend,
        paths,
        REGION,
    )
}

#[test]
fn the_backend_comes_from_flags_init_state_or_the_block() {
    let root = Root::new(true, false, "");
    root.init();
    root.apply();

    // Never initialised: the block in backend.tf.
    let fresh = root.env.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::copy(root.dir.join("backend.tf"), fresh.join("backend.tf")).unwrap();
    let run = root.env.run(&[
        "lock",
        "status",
        "--format",
        "json",
        "--chdir",
        fresh.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let json = run.json();
    assert!(
        json["backend"]["source"]
            .as_str()
            .unwrap()
            .ends_with("fresh/backend.tf"),
        "{json:#}"
    );
    assert_eq!(json["state"]["exists"], true);
    assert_eq!(json["digest"]["status"], "ok");

    // Initialised: .terraform/terraform.tfstate wins over a block that changed since.
    let edited = std::fs::read_to_string(root.dir.join("backend.tf"))
        .unwrap()
        .replace(&root.bucket, "some-other-bucket");
    std::fs::write(root.dir.join("backend.tf"), edited).unwrap();
    let (code, json) = root.status_json(&[]);
    assert_eq!(code, Some(0));
    assert!(
        json["backend"]["source"]
            .as_str()
            .unwrap()
            .ends_with(".terraform/terraform.tfstate"),
        "{json:#}"
    );
    assert_eq!(json["backend"]["bucket"], root.bucket.as_str());

    // Flags only, anywhere: the endpoint from AWS_ENDPOINT_URL.
    let table = root.table.as_deref().unwrap();
    let run = root.env.run(&[
        "lock",
        "status",
        "--format",
        "json",
        "--bucket",
        &root.bucket,
        "--key",
        KEY,
        "--dynamodb-table",
        table,
        "--chdir",
        "/nonexistent-root",
    ]);
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["backend"]["source"], "the command line");
    assert_eq!(json["digest"]["status"], "ok");
    // And from TFGATE_* variables.
    let mut env = TestEnv::new();
    moto().configure(&mut env);
    env.set("TFGATE_BUCKET", root.bucket.as_str())
        .set("TFGATE_KEY", KEY)
        .set("TFGATE_DYNAMODB_TABLE", table)
        .set("TFGATE_USE_LOCKFILE", "false");
    let run = env.run(&["lock", "status", "--format", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["backend"]["dynamodb_table"], table);
    // A flag overrides one setting of the files.
    let (_, json) = root.status_json(&["--key", "elsewhere.tfstate"]);
    assert_eq!(json["state"]["exists"], false);
    assert_eq!(json["backend"]["bucket"], root.bucket.as_str());
}

#[test]
fn the_backends_profile_supplies_the_credentials() {
    let m = moto();
    let mut env = TestEnv::new();
    // No credentials in the environment: only the profile named by the backend has some.
    env.set("AWS_EC2_METADATA_DISABLED", "true")
        .set("AWS_REGION", REGION);
    let aws = env.path().join("home/.aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let bucket = m.unique("lock-state");
    m.create_bucket(&bucket);
    let dir = block_root(&env, "root", &bucket, None, &m.endpoint());
    let run = env.run(&["lock", "status", "--chdir", "root"]);
    run.assert_code(1);
    assert!(run.stderr.contains("NoCredentials"), "{}", run.stderr);
    let block = std::fs::read_to_string(dir.join("backend.tf")).unwrap();
    std::fs::write(
        dir.join("backend.tf"),
        with_settings(&block, "    profile                     = \"ops\"\n"),
    )
    .unwrap();
    let run = env.run(&["lock", "status", "--chdir", "root"]);
    run.assert_code(0);
    // The backend's literal access_key/secret_key are never used, nor shown.
    assert!(!run.stdout.contains("testing") && !run.stderr.contains("testing"));
}

#[test]
fn a_value_only_terraform_could_evaluate_is_named_with_its_flag() {
    let env = TestEnv::new();
    let dir = env.path().join("root");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("backend.tf"),
        "terraform {\n  backend \"s3\" {\n    bucket = var.state_bucket\n    key    = \"k\"\n    region = \"eu-west-1\"\n  }\n}\n",
    )
    .unwrap();
    let run = env.run(&["lock", "status", "--chdir", "root"]);
    run.assert_code(1);
    insta::assert_snapshot!("unresolvable_bucket", run.transcript());
    let run = env.run(&["lock", "status", "--chdir", "empty-nowhere"]);
    run.assert_code(1);
    let run = env.run(&["lock", "status"]);
    run.assert_code(1);
    insta::assert_snapshot!(
        "no_backend",
        run.transcript()
            .replace(&env.path().display().to_string(), "[TMP]")
    );
}

/// A root that is only a backend block, pointing at `endpoint` for both services.
fn block_root(
    env: &TestEnv,
    name: &str,
    bucket: &str,
    table: Option<&str>,
    endpoint: &str,
) -> PathBuf {
    let dir = env.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let block = moto()
        .backend_block(bucket, KEY, table, false)
        .replace(&moto().endpoint(), endpoint);
    std::fs::write(dir.join("backend.tf"), block).unwrap();
    dir
}

#[test]
fn a_missing_table_or_bucket_and_an_unreachable_endpoint() {
    let m = moto();
    let mut env = TestEnv::new();
    m.configure(&mut env);
    let bucket = m.unique("lock-state");
    m.create_bucket(&bucket);
    let table = m.unique("lock-table");
    m.create_lock_table(&table);

    let dir = block_root(
        &env,
        "no-table",
        &bucket,
        Some("no-such-table"),
        &m.endpoint(),
    );
    let run = env.run(&["lock", "status", "--chdir", dir.to_str().unwrap()]);
    run.assert_code(1);
    insta::assert_snapshot!("missing_table", run.transcript());

    let dir = block_root(
        &env,
        "no-bucket",
        "no-such-bucket-tfgate",
        Some(&table),
        &m.endpoint(),
    );
    let run = env.run(&["lock", "status", "--chdir", dir.to_str().unwrap()]);
    run.assert_code(1);
    insta::assert_snapshot!("missing_bucket", run.transcript());
    // The same through the lock file's read (GetObject, whose error names the bucket).
    let run = env.run(&[
        "lock",
        "status",
        "--chdir",
        dir.to_str().unwrap(),
        "--use-lockfile",
    ]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("bucket `no-such-bucket-tfgate` does not exist"),
        "{}",
        run.stderr
    );

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{closed}");
    let dir = block_root(&env, "unreachable", &bucket, Some(&table), &endpoint);
    let start = Instant::now();
    let run = env.run(&["lock", "status", "--chdir", dir.to_str().unwrap()]);
    let took = start.elapsed();
    run.assert_code(1);
    assert!(took < Duration::from_secs(15), "bounded: {took:?}");
    insta::assert_snapshot!(
        "unreachable",
        run.transcript().replace(&closed.to_string(), "[PORT]")
    );
}

/// A loopback server answering every request with what `answer` says (AWS's documented error
/// responses, for what moto cannot produce).
fn dynamodb_error(kind: &str, message: &str) -> String {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
        "message": message,
    })
    .to_string();
    response(
        "400 Bad Request",
        &[("content-type", "application/x-amz-json-1.0")],
        &body,
    )
}

#[test]
fn access_denied_expired_credentials_and_the_wrong_region() {
    let env = {
        let mut env = TestEnv::new();
        moto().configure(&mut env);
        env
    };
    let run_against = |name: &str, endpoint: &str, table: Option<&str>| {
        let dir = block_root(&env, name, "acme-state", table, endpoint);
        let start = Instant::now();
        let run = env.run(&["lock", "status", "--chdir", dir.to_str().unwrap()]);
        assert!(start.elapsed() < Duration::from_secs(15));
        run.assert_code(1);
        run.transcript().replace(endpoint, "[ENDPOINT]")
    };

    // IAM says no: DynamoDB's AccessDeniedException, S3's bodiless 403 to HEAD.
    let denied = stub(|req| match req.target {
        Some(_) => dynamodb_error(
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/oncall/alice is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/tf-locks because no identity-based policy allows the dynamodb:GetItem action",
        ),
        None => response("403 Forbidden", &[], ""),
    });
    insta::assert_snapshot!(
        "access_denied",
        run_against("denied", &denied, Some("tf-locks"))
    );

    // A session token past its expiry: every call fails, and that is what is reported.
    let expired = stub(|req| match req.target {
        Some(_) => dynamodb_error(
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ),
        None => response("400 Bad Request", &[], ""),
    });
    insta::assert_snapshot!(
        "expired_credentials",
        run_against("expired", &expired, Some("tf-locks"))
    );

    // The bucket lives in another region: S3 answers 301 with x-amz-bucket-region.
    let moved = stub(|req| match req.method.as_str() {
        "HEAD" => response(
            "301 Moved Permanently",
            &[("x-amz-bucket-region", "us-east-2")],
            "",
        ),
        _ => response(
            "301 Moved Permanently",
            &[
                ("x-amz-bucket-region", "us-east-2"),
                ("content-type", "application/xml"),
            ],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Bucket>acme-state</Bucket><Endpoint>acme-state.s3.us-east-2.amazonaws.com</Endpoint></Error>",
        ),
    });
    insta::assert_snapshot!("wrong_region", run_against("moved", &moved, None));
}

#[test]
fn a_multipart_state_is_downloaded_to_check_its_digest() {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    use md5::Digest as _;
    let m = moto();
    let root = Root::new(true, false, "");
    let state = br#"{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"x","outputs":{},"resources":[]}"#;
    let upload = m
        .block_on(
            m.s3()
                .create_multipart_upload()
                .bucket(&root.bucket)
                .key(KEY)
                .send(),
        )
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let part = m
        .block_on(
            m.s3()
                .upload_part()
                .bucket(&root.bucket)
                .key(KEY)
                .upload_id(upload_id)
                .part_number(1)
                .body(state.to_vec().into())
                .send(),
        )
        .unwrap();
    // moto answers CompleteMultipartUpload with a root element the SDK does not accept
    // (`CompleteMultipartUploadResponse`), after completing the upload: the object is checked
    // below instead.
    let _ = m.block_on(
        m.s3()
            .complete_multipart_upload()
            .bucket(&root.bucket)
            .key(KEY)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send(),
    );
    let md5 = hex::encode(md5::Md5::digest(state));
    root.put_item(&format!("{}/{KEY}-md5", root.bucket), "Digest", &md5);
    let (code, json) = root.status_json(&[]);
    assert!(
        json["state"]["etag"].as_str().unwrap().contains("-1"),
        "{json:#}"
    );
    assert_eq!(
        (code, json["digest"]["status"].as_str()),
        (Some(0), Some("ok"))
    );
    assert_eq!(json["digest"]["actual"], md5.as_str());
    let human = root.tfgate(&["lock", "status"]);
    assert!(
        human.stdout.contains("state downloaded"),
        "{}",
        human.stdout
    );

    root.put_item(
        &format!("{}/{KEY}-md5", root.bucket),
        "Digest",
        "ffffffffffffffffffffffffffffffff",
    );
    let (code, json) = root.status_json(&[]);
    assert_eq!(
        (code, json["digest"]["status"].as_str()),
        (Some(6), Some("mismatch"))
    );
}

/// Requests, wall time and time to first output of `lock status` against moto, through a
/// logging proxy. `cargo test --test it lock_status_cost -- --nocapture` prints the numbers.
#[test]
#[allow(clippy::print_stderr)] // the measurements are this test's report
fn lock_status_cost() {
    let root = Root::new(true, true, "");
    root.init();
    root.apply();
    let proxy = Proxy::for_moto();
    let dir = block_root(
        &root.env,
        "measured",
        &root.bucket,
        root.table.as_deref(),
        &proxy.endpoint(),
    );
    let block = std::fs::read_to_string(dir.join("backend.tf")).unwrap();
    std::fs::write(
        dir.join("backend.tf"),
        with_settings(&block, "    use_lockfile = true\n"),
    )
    .unwrap();

    let measure = |label: &str, expect_code: i32| {
        let mut walls = Vec::new();
        let mut firsts = Vec::new();
        let mut requests = Vec::new();
        for _ in 0..10 {
            proxy.take();
            let start = Instant::now();
            let mut child = root
                .env
                .tfgate()
                .args(["lock", "status", "--chdir", dir.to_str().unwrap()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let mut first = [0u8; 1];
            stdout.read_exact(&mut first).unwrap();
            firsts.push(start.elapsed());
            let mut rest = Vec::new();
            stdout.read_to_end(&mut rest).unwrap();
            let status = child.wait().unwrap();
            walls.push(start.elapsed());
            assert_eq!(status.code(), Some(expect_code));
            requests.push(
                proxy
                    .take()
                    .iter()
                    .map(Exchange::operation)
                    .collect::<Vec<_>>(),
            );
        }
        walls.sort();
        firsts.sort();
        let ops = &requests[0];
        assert!(
            requests.iter().all(|r| r.len() == ops.len()),
            "{requests:?}"
        );
        eprintln!(
            "lock status ({label}): {} AWS requests {:?}; wall median {:?} max {:?}; first output median {:?} max {:?} (10 runs)",
            ops.len(),
            ops,
            walls[walls.len() / 2],
            walls[walls.len() - 1],
            firsts[firsts.len() / 2],
            firsts[firsts.len() - 1],
        );
        // Time is reported, not asserted: speed is the benchmark's business (docs/benchmarks.md).
        ops.len()
    };
    // The lock, the digest, the state, the .tflock object, and the apply queue's item.
    assert_eq!(measure("unlocked, both lock kinds and the digest", 0), 5);
    root.put_lock("cccccccc-0000-0000-0000-000000000003", &hours_ago(1), true);
    assert_eq!(measure("locked, both lock kinds and the digest", 5), 5);
}

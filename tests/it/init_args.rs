//! `--init-arg` and `init_args` in `.tfgate.toml`: a partial `backend "s3"` block completed
//! by `-backend-config` arguments, as teams keep one block for several environments. plan
//! initialises with them, show initialises a fresh checkout with them, and lock reads them
//! without any `terraform init`. Also the warning about setup-terraform's wrapper script.

use std::path::{Path, PathBuf};

use crate::support::moto::moto;
use crate::support::*;

const KEY: &str = "team/prod.tfstate";

/// `block` without its `bucket`, `key` and `dynamodb_table` lines: what the root keeps when
/// the backend configuration is given at init.
fn partial(block: &str) -> String {
    block
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("bucket ") || t.starts_with("key ") || t.starts_with("dynamodb_table"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

struct Setup {
    env: TestEnv,
    bucket: String,
    table: String,
    block: String,
}

impl Setup {
    fn new() -> Setup {
        let m = moto();
        let mut env = TestEnv::new();
        m.configure(&mut env);
        let bucket = m.unique("initargs");
        m.create_bucket(&bucket);
        let table = m.unique("initargs-lock");
        m.create_lock_table(&table);
        let block = partial(&m.backend_block(&bucket, KEY, Some(&table), false));
        Setup {
            env,
            bucket,
            table,
            block,
        }
    }

    /// A checkout of the `slow-apply` root with the partial block and the backend file.
    fn checkout(&self, name: &str) -> PathBuf {
        let staged = self.env.stage("slow-apply");
        let dir = self.env.path().join(name);
        std::fs::rename(&staged, &dir).unwrap();
        std::fs::write(dir.join("backend.tf"), &self.block).unwrap();
        std::fs::write(
            dir.join("prod.s3.tfbackend"),
            format!("bucket = \"{}\"\nkey    = \"{KEY}\"\n", self.bucket),
        )
        .unwrap();
        dir
    }

    fn init_args(&self) -> [String; 2] {
        [
            "--init-arg=-backend-config=prod.s3.tfbackend".to_string(),
            format!("--init-arg=-backend-config=dynamodb_table={}", self.table),
        ]
    }
}

fn chdir(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[test]
fn backend_config_reaches_plan_show_and_lock() {
    let s = Setup::new();
    let a = s.checkout("runner-a");
    let [file_arg, table_arg] = s.init_args();

    // Without the arguments, init cannot complete the block.
    let bare = s.env.run(&["plan", "--chdir", chdir(&a)]);
    assert_eq!(bare.code, Some(1), "{}", bare.transcript());

    s.env
        .run(&["plan", "--chdir", chdir(&a), &file_arg, &table_arg])
        .assert_code(0);
    let bundle = only_bundle(&a);
    let tfplan = bundle.join("tfplan");
    // terraform stored the state in the bucket the file named.
    let init_state =
        std::fs::read_to_string(a.join(".terraform/terraform.tfstate")).expect("initialised");
    assert!(
        init_state.contains(&s.bucket) && init_state.contains(KEY),
        "{init_state}"
    );

    // A fresh checkout reads the saved plan after initialising with the same arguments, here
    // from `.tfgate.toml`.
    let b = s.checkout("runner-b");
    std::fs::write(
        b.join(".tfgate.toml"),
        format!(
            "init_args = [\"-backend-config=prod.s3.tfbackend\", \"-backend-config=dynamodb_table={}\"]\n",
            s.table
        ),
    )
    .unwrap();
    let shown = s.env.run(&[
        "show",
        "--chdir",
        chdir(&b),
        "--format",
        "json",
        tfplan.to_str().unwrap(),
    ]);
    shown.assert_code(0);
    assert_eq!(shown.json()["counts"]["create"], 1, "{}", shown.stdout);

    // lock status in a third checkout, never initialised: the flags complete the block.
    let c = s.checkout("on-call");
    let status = s.env.run(&[
        "lock",
        "status",
        "--chdir",
        chdir(&c),
        "--format",
        "json",
        &file_arg,
        &table_arg,
    ]);
    assert!(
        matches!(status.code, Some(0)),
        "lock status failed\n{}",
        status.transcript()
    );
    let report = status.json();
    assert_eq!(report["state"]["bucket"], s.bucket.as_str(), "{report}");
    assert_eq!(report["state"]["key"], KEY, "{report}");
    assert_eq!(report["locked"], false, "{report}");
    // Without them it says what is missing.
    let missing = s.env.run(&["lock", "status", "--chdir", chdir(&c)]);
    missing.assert_code(1);
    assert!(missing.stderr.contains("bucket"), "{}", missing.stderr);
}

#[test]
fn the_later_backend_config_argument_wins() {
    let s = Setup::new();
    let c = s.checkout("on-call");
    let [file_arg, table_arg] = s.init_args();
    let run = s.env.run(&[
        "lock",
        "status",
        "--chdir",
        chdir(&c),
        "--format",
        "json",
        &file_arg,
        "--init-arg=-backend-config=key=other/path.tfstate",
        &table_arg,
    ]);
    assert!(matches!(run.code, Some(0)), "{}", run.transcript());
    assert_eq!(run.json()["state"]["key"], "other/path.tfstate");
}

#[test]
fn setup_terraforms_wrapper_is_named_with_the_fix() {
    let mut env = TestEnv::new();
    // setup-terraform's layout: the real binary renamed `terraform-bin`, a script in its place.
    let bin = env.path().join("wrapped");
    std::fs::create_dir_all(&bin).unwrap();
    let real = which_terraform(&env);
    std::os::unix::fs::symlink(&real, bin.join("terraform-bin")).unwrap();
    let script = env.script(
        "wrapped/terraform",
        "exec \"$(dirname \"$0\")/terraform-bin\" \"$@\"\n",
    );
    let path = format!("{}:{}", bin.display(), env.vars()["PATH"]);
    env.set("PATH", path);
    let root = env.stage("demo");
    let run = env.run(&["plan", "--chdir", chdir(&root)]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("terraform_wrapper: false")
            && run.stderr.contains(script.to_str().unwrap()),
        "{}",
        run.stderr
    );

    // The real binary draws no warning.
    let plain = TestEnv::new();
    let root = plain.stage("demo");
    let run = plain.run(&["plan", "--chdir", chdir(&root)]);
    run.assert_code(0);
    assert!(!run.stderr.contains("terraform_wrapper"), "{}", run.stderr);
}

fn which_terraform(env: &TestEnv) -> PathBuf {
    std::env::split_paths(&env.vars()["PATH"])
        .map(|d| d.join("terraform"))
        .find(|p| p.is_file())
        .expect("terraform on PATH")
}

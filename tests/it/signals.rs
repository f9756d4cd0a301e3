//! Signals: SIGINT/SIGTERM reach terraform and tfgate waits for it; SIGKILL at any moment
//! leaves no bundle that looks complete.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::*;

fn wait_for(path: &Path, timeout: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < timeout,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A terraform stand-in that, on a signal, takes a while to "release its lock" and records
/// each step, so the test can see that tfgate forwarded the signal and waited.
fn slow_terraform(env: &TestEnv) -> std::path::PathBuf {
    let log = env.path().join("tf.log");
    env.script(
        "slow-terraform",
        &format!(
            r#"log='{log}'
on_signal() {{ echo "got $1" >> "$log"; sleep 1; echo "released lock" >> "$log"; exit 1; }}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
echo started >> "$log"
while true; do sleep 0.05; done
"#,
            log = log.display()
        ),
    )
}

fn interrupt(signal: Signal, expected_code: i32) {
    let env = TestEnv::new();
    let root = env.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let fake = slow_terraform(&env);
    let log = env.path().join("tf.log");
    let child = env
        .tfgate()
        .args([
            "plan",
            "--no-init",
            "--chdir",
            root.to_str().unwrap(),
            "--terraform",
            fake.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&log, Duration::from_secs(10));
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let out = child.wait_with_output().unwrap();
    let run = Run::from(out);
    let log = std::fs::read_to_string(&log).unwrap();
    // tfgate exited only after terraform had finished its cleanup.
    let name = if signal == Signal::SIGINT {
        "INT"
    } else {
        "TERM"
    };
    assert_eq!(
        log,
        format!("started\ngot {name}\nreleased lock\n"),
        "{}",
        run.transcript()
    );
    run.assert_code(expected_code);
    assert!(run.stderr.contains("interrupted by"), "{}", run.stderr);
    assert!(bundles(&root).iter().all(|(_, c)| !c));
}

#[test]
fn sigint_is_forwarded_to_terraform_and_awaited() {
    interrupt(Signal::SIGINT, 130);
}

#[test]
fn sigterm_is_forwarded_to_terraform_and_awaited() {
    interrupt(Signal::SIGTERM, 143);
}

#[test]
fn sigkill_at_any_moment_leaves_no_bundle_that_looks_complete() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    // Init once so the kills land in plan, show and archive writing.
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let full = Instant::now();
    env.run(&["plan", "--no-init", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let duration = full.elapsed();
    let steps = 12u32;
    for i in 0..steps {
        let delay = duration * i / steps;
        let mut child = env
            .tfgate()
            .args(["plan", "--no-init", "--chdir", root.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
    }
    // Every bundle with a manifest is whole: each listed file is there with its checksum.
    let all = bundles(&root);
    assert!(all.len() > 2, "{all:?}");
    for (dir, complete) in all {
        if !complete {
            continue;
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let files = manifest["files"].as_object().unwrap();
        assert_eq!(files.len(), 5, "{}", dir.display());
        for (name, entry) in files {
            let bytes = std::fs::read(dir.join(name))
                .unwrap_or_else(|_| panic!("{name} missing in {}", dir.display()));
            use sha2::Digest;
            assert_eq!(
                entry["sha256"],
                hex::encode(sha2::Sha256::digest(&bytes)),
                "{name}"
            );
        }
    }
    // And tfgate itself never reads an incomplete bundle as a plan it can trust.
    let run = env.run(&[
        "show",
        "--format",
        "json",
        root.join(".tfgate/archive").to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.transcript());
}

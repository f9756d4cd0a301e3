//! Concurrent runs for one pull request, root and workspace: `tfgate comment` and `tfgate plan`
//! started at the same moment against the GitHub fake (which delays every request, so that one
//! run's read and its next write are far apart and the others' requests fall in between). Every
//! trial must end with exactly one tfgate comment holding the newest plan, and a comment by
//! someone else that carries a copied marker is never touched.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::actions::marker;
use crate::support::github::{FakeComment, GitHubFake, Kind};
use crate::support::*;

const REPO: &str = "acme/infra";
const PR: u64 = 7;
const HEAD: &str = "1111111111111111111111111111111111111111";
const TOKEN: &str = "ghs_RACEtokenValue0123456789";
const BOT: &str = "github-actions[bot]";
/// How long the fake holds every request: far longer than a run needs between reading the
/// comments and writing one.
const DELAY: Duration = Duration::from_millis(40);
/// Longer for plans, whose terraform runs end at different moments: their comment steps must
/// still overlap.
const PLAN_DELAY: Duration = Duration::from_millis(250);

/// A GitHub Actions run for PR 7 that talks to `gh` with an installation token.
fn actions_env(gh: &GitHubFake) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_REPOSITORY", REPO)
        .set("GITHUB_API_URL", gh.url())
        // No GITHUB_RUN_ID: the plan and what reads it run on this one machine, so the marker
        // names the bundle folder (a run id would make it name the run's workflow artifact).
        .set("GITHUB_SERVER_URL", "https://github.com")
        .set("GITHUB_TOKEN", TOKEN)
        .set("TFGATE_PR", PR.to_string())
        .set("TFGATE_HEAD_SHA", HEAD);
    env
}

fn fake() -> GitHubFake {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    gh
}

/// The comments tfgate's identity wrote with a tfgate marker.
fn ours(gh: &GitHubFake) -> Vec<FakeComment> {
    gh.comments(REPO, PR)
        .into_iter()
        .filter(|c| c.author_login == BOT && c.body.starts_with("<!-- tfgate:"))
        .collect()
}

/// The marker's `archive`: which bundle a comment shows.
fn archive_of(body: &str) -> String {
    marker(body)["archive"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits for every child and checks that each exited 0.
#[track_caller]
fn wait_all(children: Vec<Child>) -> Vec<Run> {
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait for tfgate")))
        .collect();
    for run in &runs {
        run.assert_code(0);
    }
    runs
}

fn spawn(cmd: &mut std::process::Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tfgate")
}

/// `n` plan bundles of one root for PR 7, oldest first (each plan starts after the one before
/// it finished).
fn bundles_of_increasing_age(env: &TestEnv, n: usize) -> Vec<PathBuf> {
    let root = env.stage("nochange");
    let dir = root.to_str().unwrap();
    env.run(&["plan", "--chdir", dir]).assert_code(0);
    for _ in 1..n {
        env.run(&["plan", "--no-init", "--chdir", dir])
            .assert_code(0);
    }
    let mut all: Vec<PathBuf> = bundles(&root)
        .into_iter()
        .filter(|(_, complete)| *complete)
        .map(|(dir, _)| dir)
        .collect();
    // Bundle ids start with their creation time (to the millisecond).
    all.sort_by_key(|d| d.file_name().unwrap().to_owned());
    assert_eq!(all.len(), n);
    all
}

/// Starts `tfgate comment` for every bundle at once, in an order that differs per trial.
fn comment_all_at_once(env: &TestEnv, bundles: &[PathBuf], trial: usize) -> Vec<Run> {
    let n = bundles.len();
    let children = (0..n)
        .map(|i| {
            let b = &bundles[(i * 3 + trial) % n];
            spawn(env.tfgate().args(["comment", b.to_str().unwrap()]))
        })
        .collect();
    wait_all(children)
}

#[track_caller]
fn assert_one_comment_showing(gh: &GitHubFake, newest: &Path, what: &str) {
    let ours = ours(gh);
    assert_eq!(
        ours.len(),
        1,
        "{what}: expected one tfgate comment, found {}: {:#?}",
        ours.len(),
        ours.iter()
            .map(|c| (c.id, archive_of(&c.body)))
            .collect::<Vec<_>>()
    );
    // A bundle's id is its creation time, then its kind and process: plans made in the same
    // millisecond are equally new.
    let made = |bundle: &str| {
        let name = bundle
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        name.split("-plan-").next().unwrap_or_default().to_string()
    };
    let shown = archive_of(&ours[0].body);
    assert_eq!(
        made(&shown),
        made(newest.to_str().unwrap()),
        "{what}: the comment shows {shown}, not the newest plan {}",
        newest.display()
    );
}

#[test]
fn concurrent_comment_runs_leave_one_comment_with_the_newest_plan() {
    const RUNS: usize = 8;
    const TRIALS: usize = 6;
    // The bundles are made without a token (the plans only archive) in a directory that
    // outlives the trials.
    let gh = fake();
    let mut maker = actions_env(&gh);
    maker.set("GITHUB_TOKEN", "");
    let bundles = bundles_of_increasing_age(&maker, RUNS);
    let newest = bundles.last().unwrap();
    let copied = std::fs::read_to_string(newest.join("comment.md")).unwrap();
    for trial in 0..TRIALS {
        let gh = fake();
        let env = actions_env(&gh);
        // Someone else's comment with a copied marker, before and among ours.
        let forged = gh.add_comment(REPO, PR, "mallory", &copied);
        // Odd trials start from an existing comment showing the oldest plan, so the runs race
        // to update it rather than to create it.
        if trial % 2 == 1 {
            env.run(&["comment", bundles[0].to_str().unwrap()])
                .assert_code(0);
        }
        gh.delay_requests(DELAY);
        comment_all_at_once(&env, &bundles, trial);
        gh.delay_requests(Duration::ZERO);
        assert_one_comment_showing(&gh, newest, &format!("trial {trial}"));
        let mallory = gh.comment(forged).expect("mallory's comment still exists");
        assert_eq!(
            mallory.body, copied,
            "trial {trial}: mallory's comment was edited"
        );
        assert!(
            gh.edit_attempts().iter().all(|a| !a.is_foreign()),
            "trial {trial}: {:?}",
            gh.edit_attempts()
        );
    }
}

#[test]
fn concurrent_plan_runs_leave_one_comment_with_the_newest_plan() {
    const RUNS: usize = 4;
    const TRIALS: usize = 3;
    let gh = fake();
    let env = actions_env(&gh);
    // Copies of one staged root: each run has its own state and .terraform, and all are the
    // root "." (no repository around them), so they share one comment.
    let staged = env.stage("nochange");
    let roots: Vec<PathBuf> = (0..RUNS)
        .map(|i| {
            let dir = env.path().join(format!("copy-{i}"));
            let ok = std::process::Command::new("cp")
                .arg("-a")
                .arg(&staged)
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "copy {}", staged.display());
            dir
        })
        .collect();
    let marker = serde_json::json!({
        "version": 1,
        "root": ".",
        "workspace": "default",
        "fingerprint": "sha256:00",
        "status": "planned",
    });
    let forged = gh.add_comment(
        REPO,
        PR,
        "mallory",
        &format!("<!-- tfgate:{marker} -->\ncopied"),
    );
    for trial in 0..TRIALS {
        gh.delay_requests(PLAN_DELAY);
        let children = roots
            .iter()
            .map(|root| spawn(env.tfgate().current_dir(root).arg("plan")))
            .collect();
        wait_all(children);
        gh.delay_requests(Duration::ZERO);
        let newest = roots
            .iter()
            .flat_map(|r| bundles(r))
            .filter(|(_, complete)| *complete)
            .map(|(dir, _)| dir)
            .max_by_key(|d| d.file_name().unwrap().to_owned())
            .unwrap();
        assert_one_comment_showing(&gh, &newest, &format!("trial {trial}"));
    }
    assert!(gh.comment(forged).unwrap().body.ends_with("copied"));
    assert!(
        gh.edit_attempts().iter().all(|a| !a.is_foreign()),
        "{:?}",
        gh.edit_attempts()
    );
}

#[test]
fn an_older_plan_does_not_replace_a_newer_one() {
    let gh = fake();
    let env = actions_env(&gh);
    let mut maker = actions_env(&gh);
    maker.set("GITHUB_TOKEN", "");
    let bundles = bundles_of_increasing_age(&maker, 2);
    let (older, newer) = (&bundles[0], &bundles[1]);
    env.run(&["comment", newer.to_str().unwrap()])
        .assert_code(0);
    gh.clear_requests();
    let run = env.run(&["comment", older.to_str().unwrap()]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("shows a newer plan"),
        "{}",
        run.transcript()
    );
    assert_one_comment_showing(&gh, newer, "after the older plan");
    let writes: Vec<_> = gh.requests().into_iter().filter(|r| r.is_write()).collect();
    assert!(writes.is_empty(), "{writes:?}");
    // The newer plan, posted again after the older one, still updates nothing.
    let run = env.run(&["comment", newer.to_str().unwrap()]);
    run.assert_code(0);
    assert!(run.stderr.contains("is up to date"), "{}", run.transcript());
}

#[test]
fn a_run_that_finds_duplicates_keeps_the_oldest_and_deletes_the_rest() {
    let gh = fake();
    let env = actions_env(&gh);
    let root = env.stage("nochange");
    // Left by an earlier version's race: two comments of ours for the root, without plan times.
    let marker = format!(
        "<!-- tfgate:{} -->",
        serde_json::json!({
            "version": 1,
            "root": root.to_str().unwrap(),
            "workspace": "default",
            "fingerprint": "sha256:00",
            "status": "planned",
        })
    );
    let oldest = gh.add_comment(REPO, PR, BOT, &format!("{marker}\nfirst"));
    let newer = gh.add_comment(REPO, PR, BOT, &format!("{marker}\nsecond"));
    let foreign = gh.add_comment(REPO, PR, "mallory", &format!("{marker}\ncopied"));
    // The first delete happens but its answer is lost: the retry finds it gone (404).
    gh.fail_next_on(
        "DELETE",
        "/repos/acme/infra/issues/comments/",
        1,
        crate::support::github::Fault::LoseResponseAfterWrite,
    );
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    // Only the warning that the plan stays on this machine (no run id, see `actions_env`).
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning") && !l.contains("no other runner can reach this plan"))
        .collect();
    assert!(warnings.is_empty(), "{}", run.stderr);
    let ours = ours(&gh);
    assert_eq!(ours.iter().map(|c| c.id).collect::<Vec<_>>(), [oldest]);
    assert_eq!(
        ours[0].body,
        std::fs::read_to_string(only_bundle(&root).join("comment.md")).unwrap()
    );
    assert!(gh.comment(newer).is_none());
    assert!(gh.comment(foreign).unwrap().body.ends_with("copied"));
    let deletes: Vec<u16> = gh
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, [502, 404]);
    assert!(gh.edit_attempts().iter().all(|a| !a.is_foreign()));
}

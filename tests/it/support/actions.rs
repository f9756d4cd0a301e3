//! A GitHub Actions run against the GitHub fake, as tfgate sees one: the environment the runner
//! sets for a `pull_request` or a `push` run, and what the run leaves behind (step outputs, the
//! step summary, tfgate's comments on the PR).

use std::collections::BTreeMap;

use super::TestEnv;
use super::github::{FakeComment, GitHubFake, Kind};

/// The repository, pull request and commits most tests use.
pub const REPO: &str = "acme/infra";
pub const PR: u64 = 7;
pub const HEAD: &str = "1111111111111111111111111111111111111111";
pub const MERGE: &str = "2222222222222222222222222222222222222222";
/// The installation token Actions gives a run, and the identity it writes comments as.
pub const TOKEN: &str = "ghs_SECRETtokenValue0123456789";
pub const BOT: &str = "github-actions[bot]";
pub const RUN_ID: &str = "123";

/// A run of `event` with `payload` at commit `sha`, talking to `gh` with [`TOKEN`] (which this
/// registers as [`BOT`]'s installation token).
pub fn run_env(gh: &GitHubFake, event: &str, payload: &str, sha: &str) -> TestEnv {
    gh.add_user(TOKEN, BOT, Kind::Installation);
    let mut env = TestEnv::new();
    let event_path = env.path().join("event.json");
    std::fs::write(&event_path, payload).unwrap();
    let summary = env.path().join("step_summary");
    let outputs = env.path().join("github_output");
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_REPOSITORY", REPO)
        .set("GITHUB_EVENT_NAME", event)
        .set("GITHUB_EVENT_PATH", event_path.display().to_string())
        .set("GITHUB_API_URL", gh.url())
        .set("GITHUB_SERVER_URL", "https://github.com")
        .set("GITHUB_RUN_ID", RUN_ID)
        .set("GITHUB_SHA", sha)
        .set("GITHUB_TOKEN", TOKEN)
        .set("GITHUB_STEP_SUMMARY", summary.display().to_string())
        .set("GITHUB_OUTPUT", outputs.display().to_string());
    env
}

/// A `pull_request` run for [`PR`] at [`HEAD`] (the PR is added to `gh` if it is not there).
pub fn pr_run(gh: &GitHubFake) -> TestEnv {
    if !gh.has_pr(REPO, PR) {
        gh.add_pr(REPO, PR, HEAD);
    }
    let payload = format!(
        r#"{{"action":"synchronize","number":{PR},"pull_request":{{"number":{PR},"head":{{"sha":"{HEAD}","ref":"feature"}},"base":{{"ref":"main"}}}}}}"#
    );
    run_env(gh, "pull_request", &payload, HEAD)
}

/// A `push` run on main at [`MERGE`] (after the PR was merged).
pub fn push_run(gh: &GitHubFake) -> TestEnv {
    let payload = format!(r#"{{"ref":"refs/heads/main","after":"{MERGE}"}}"#);
    run_env(gh, "push", &payload, MERGE)
}

/// The step outputs a run wrote (the last value of each name).
pub fn outputs(env: &TestEnv) -> BTreeMap<String, String> {
    std::fs::read_to_string(env.path().join("github_output"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The step summary a run wrote.
pub fn step_summary(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path().join("step_summary")).unwrap_or_default()
}

/// tfgate's comments on [`PR`] (those that start with its marker), whoever wrote them.
pub fn tfgate_comments(gh: &GitHubFake) -> Vec<FakeComment> {
    gh.comments(REPO, PR)
        .into_iter()
        .filter(|c| c.body.starts_with("<!-- tfgate:"))
        .collect()
}

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

/// The environment the runner sets for one run, built from the usual run (the event, its
/// payload and commit, GitHub's API, run [`RUN_ID`], [`TOKEN`], the step summary and output
/// files) and what a test changes of it.
#[derive(Debug, Clone)]
pub struct Actions {
    event: String,
    payload: String,
    sha: String,
    api_url: String,
    token: Option<String>,
    run_id: Option<String>,
}

impl Actions {
    /// A run of `event` with `payload` at commit `sha`, GitHub's API at `api_url`.
    pub fn new(api_url: impl Into<String>, event: &str, payload: &str, sha: &str) -> Actions {
        Actions {
            event: event.to_string(),
            payload: payload.to_string(),
            sha: sha.to_string(),
            api_url: api_url.into(),
            token: Some(TOKEN.to_string()),
            run_id: Some(RUN_ID.to_string()),
        }
    }

    /// A `pull_request` run for [`PR`] at [`HEAD`].
    pub fn pull_request(api_url: impl Into<String>) -> Actions {
        Actions::new(api_url, "pull_request", &pr_payload(), HEAD)
    }

    /// A `push` run on main at [`MERGE`].
    pub fn push(api_url: impl Into<String>) -> Actions {
        Actions::new(api_url, "push", &push_payload(), MERGE)
    }

    /// Another token than [`TOKEN`] (one the test registers with the fake itself).
    pub fn token(mut self, token: &str) -> Actions {
        self.token = Some(token.to_string());
        self
    }

    /// No `GITHUB_TOKEN`: tfgate cannot write to GitHub.
    pub fn no_token(mut self) -> Actions {
        self.token = None;
        self
    }

    /// Another run id than [`RUN_ID`].
    pub fn run_id(mut self, id: &str) -> Actions {
        self.run_id = Some(id.to_string());
        self
    }

    /// No `GITHUB_RUN_ID`: no workflow run a plan could travel with.
    pub fn no_run_id(mut self) -> Actions {
        self.run_id = None;
        self
    }

    /// A sealed environment ([`TestEnv::new`]) with this run's variables and event file.
    pub fn env(self) -> TestEnv {
        let mut env = TestEnv::new();
        let event_path = env.path().join("event.json");
        std::fs::write(&event_path, &self.payload).unwrap();
        let summary = env.path().join("step_summary");
        let outputs = env.path().join("github_output");
        env.set("GITHUB_ACTIONS", "true")
            .set("GITHUB_REPOSITORY", REPO)
            .set("GITHUB_EVENT_NAME", &self.event)
            .set("GITHUB_EVENT_PATH", event_path.display().to_string())
            .set("GITHUB_API_URL", &self.api_url)
            .set("GITHUB_SERVER_URL", "https://github.com")
            .set("GITHUB_SHA", &self.sha)
            .set("GITHUB_STEP_SUMMARY", summary.display().to_string())
            .set("GITHUB_OUTPUT", outputs.display().to_string());
        if let Some(token) = &self.token {
            env.set("GITHUB_TOKEN", token);
        }
        if let Some(id) = &self.run_id {
            env.set("GITHUB_RUN_ID", id);
        }
        env
    }
}

/// The `pull_request` event's payload for [`PR`] at [`HEAD`].
pub fn pr_payload() -> String {
    format!(
        r#"{{"action":"synchronize","number":{PR},"pull_request":{{"number":{PR},"head":{{"sha":"{HEAD}","ref":"feature"}},"base":{{"ref":"main"}}}}}}"#
    )
}

/// The `push` event's payload for main at [`MERGE`].
pub fn push_payload() -> String {
    format!(r#"{{"ref":"refs/heads/main","after":"{MERGE}"}}"#)
}

/// A run of `event` with `payload` at commit `sha`, talking to `gh` with [`TOKEN`] (which this
/// registers as [`BOT`]'s installation token).
pub fn run_env(gh: &GitHubFake, event: &str, payload: &str, sha: &str) -> TestEnv {
    gh.add_user(TOKEN, BOT, Kind::Installation);
    Actions::new(gh.url(), event, payload, sha).env()
}

/// A `pull_request` run for [`PR`] at [`HEAD`] (the PR is added to `gh` if it is not there).
pub fn pr_run(gh: &GitHubFake) -> TestEnv {
    if !gh.has_pr(REPO, PR) {
        gh.add_pr(REPO, PR, HEAD);
    }
    run_env(gh, "pull_request", &pr_payload(), HEAD)
}

/// A `push` run on main at [`MERGE`] (after the PR was merged).
pub fn push_run(gh: &GitHubFake) -> TestEnv {
    run_env(gh, "push", &push_payload(), MERGE)
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

/// The JSON of a tfgate comment's marker (its first line).
#[track_caller]
pub fn marker(body: &str) -> serde_json::Value {
    let first = body.lines().next().unwrap_or_default();
    let json = first
        .strip_prefix("<!-- tfgate:")
        .and_then(|s| s.strip_suffix(" -->"))
        .unwrap_or_else(|| panic!("no marker in {first}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("not a tfgate marker ({e}): {first}"))
}

//! Everything tfgate reads from its environment, read once at start-up.
//!
//! `Env` is a snapshot of the process environment (tests build their own); `Context` is what
//! tfgate makes of it: whether it runs under GitHub Actions, where that runner wants step
//! outputs and the step summary, and which repository, pull request and commit the workflow
//! runs for (from the event payload at `GITHUB_EVENT_PATH`). Nothing else in the crate calls
//! `std::env::var`.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process environment (variables that are not valid UTF-8 are skipped).
    #[allow(clippy::disallowed_methods)] // the one place that reads the environment
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, treating an empty value as unset (as GitHub Actions does for
    /// inputs that were not given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn is_true(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "yes"))
    }

    /// The variables whose names start with `prefix`, the prefix taken off (empty values too).
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.vars
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }
}

/// `TF_VAR_name` values (name → value) as terraform will read them: the values of sensitive
/// variables among them are masked before terraform runs. `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct TfVars(pub BTreeMap<String, String>);

impl std::fmt::Debug for TfVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The CI facts tfgate needs, resolved from `Env`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Running as a GitHub Actions step (`GITHUB_ACTIONS=true`).
    pub github_actions: bool,
    /// `$GITHUB_STEP_SUMMARY`: markdown appended here shows on the run's summary page.
    pub step_summary: Option<PathBuf>,
    /// `$GITHUB_OUTPUT`: `name=value` lines become step outputs.
    pub github_output: Option<PathBuf>,
    /// `owner/repo`.
    pub repository: Option<String>,
    /// The commit the workflow runs on.
    pub sha: Option<String>,
    /// Link to this workflow run.
    pub run_url: Option<String>,
    /// `GITHUB_SERVER_URL` (`https://github.com`, or a GitHub Enterprise Server's), without a
    /// trailing `/`: the root of links to the PR comment.
    pub server_url: Option<String>,
    /// `GITHUB_RUN_ID`: the workflow run, whose artifacts the REST API lists by this id.
    pub run_id: Option<u64>,
    /// `GITHUB_WORKSPACE`: where actions/checkout put the repository (under GitHub Actions).
    pub workspace_dir: Option<PathBuf>,
    /// `NO_COLOR` is set (https://no-color.org).
    pub no_color: bool,
    /// `TF_WORKSPACE`, which terraform itself honours.
    pub tf_workspace: Option<String>,
    /// `TF_DATA_DIR`, where terraform keeps what `init` wrote (instead of `.terraform`).
    pub tf_data_dir: Option<PathBuf>,
    /// `GITHUB_API_URL` (GitHub Enterprise Server: `https://HOST/api/v3`).
    pub api_url: Option<String>,
    /// `GITHUB_TOKEN`.
    pub token: Option<String>,
    /// `PATH`, to find which `terraform` a bare binary name means.
    pub path: Option<String>,
    /// The proxy variables, for GitHub's HTTP client (AWS's client reads them itself).
    pub proxy: ProxyVars,
    /// `AWS_CA_BUNDLE`: PEM certificates that AWS's HTTP client trusts instead of the system's
    /// roots (as the AWS CLI and Terraform's S3 backend do; the Rust SDK reads no such variable).
    pub aws_ca_bundle: Option<PathBuf>,
    /// What triggered the workflow, from `GITHUB_EVENT_NAME` and its payload.
    pub event: Event,
    /// `TF_VAR_*`, passed on to terraform by inheritance.
    pub tf_vars: TfVars,
}

/// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, each in upper case or else lower case,
/// as the AWS SDK's client and curl-like tools read them. `Debug` does not show the values: a
/// proxy URL may hold a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyVars {
    /// The proxy for `https://` URLs.
    pub https: Option<String>,
    /// The proxy for `http://` URLs.
    pub http: Option<String>,
    /// The proxy for either, when the variable of the URL's scheme is not set.
    pub all: Option<String>,
    /// Hosts, domains and IP ranges to reach directly, comma-separated (`*`: all).
    pub no: Option<String>,
}

impl ProxyVars {
    fn from_env(env: &Env) -> ProxyVars {
        let read = |upper: &str| {
            env.get(upper)
                .or_else(|| env.get(&upper.to_ascii_lowercase()))
                .map(str::to_string)
        };
        ProxyVars {
            https: read("HTTPS_PROXY"),
            http: read("HTTP_PROXY"),
            all: read("ALL_PROXY"),
            no: read("NO_PROXY"),
        }
    }
}

impl std::fmt::Debug for ProxyVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "(set)");
        f.debug_struct("ProxyVars")
            .field("https", &set(&self.https))
            .field("http", &set(&self.http))
            .field("all", &set(&self.all))
            .field("no", &self.no)
            .finish()
    }
}

/// The workflow's trigger, as far as tfgate cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Event {
    /// Not under GitHub Actions, or no event name.
    #[default]
    None,
    /// `pull_request` or `pull_request_target`.
    PullRequest {
        number: u64,
        head_sha: String,
    },
    /// `push`: the commit pushed (`after`).
    Push {
        sha: String,
        git_ref: Option<String>,
    },
    WorkflowDispatch {
        git_ref: Option<String>,
    },
    /// An event tfgate does not read; the name is kept for the message.
    Unsupported {
        name: String,
    },
    /// The payload could not be read or lacked what the event needs.
    Unreadable {
        name: String,
        reason: String,
    },
}

impl Event {
    /// Reads the payload of a known event.
    pub fn parse(name: &str, payload: &str) -> Event {
        #[derive(serde::Deserialize)]
        struct Head {
            sha: String,
        }
        #[derive(serde::Deserialize)]
        struct Pr {
            number: u64,
            head: Head,
        }
        #[derive(serde::Deserialize)]
        struct PrPayload {
            pull_request: Pr,
        }
        #[derive(serde::Deserialize)]
        struct PushPayload {
            after: String,
            #[serde(rename = "ref")]
            git_ref: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct DispatchPayload {
            #[serde(rename = "ref")]
            git_ref: Option<String>,
        }
        let unreadable = |e: serde_json::Error| Event::Unreadable {
            name: name.to_string(),
            reason: e.to_string(),
        };
        match name {
            "pull_request" | "pull_request_target" => {
                match serde_json::from_str::<PrPayload>(payload) {
                    Ok(p) => Event::PullRequest {
                        number: p.pull_request.number,
                        head_sha: p.pull_request.head.sha,
                    },
                    Err(e) => unreadable(e),
                }
            }
            "push" => match serde_json::from_str::<PushPayload>(payload) {
                Ok(p) => Event::Push {
                    sha: p.after,
                    git_ref: p.git_ref,
                },
                Err(e) => unreadable(e),
            },
            "workflow_dispatch" => match serde_json::from_str::<DispatchPayload>(payload) {
                Ok(p) => Event::WorkflowDispatch { git_ref: p.git_ref },
                Err(e) => unreadable(e),
            },
            other => Event::Unsupported {
                name: other.to_string(),
            },
        }
    }

    /// The pull request the event is about, if any.
    pub fn pull_request(&self) -> Option<(u64, &str)> {
        match self {
            Event::PullRequest { number, head_sha } => Some((*number, head_sha)),
            _ => None,
        }
    }
}

impl Context {
    pub fn from_env(env: &Env) -> Context {
        let github_actions = env.is_true("GITHUB_ACTIONS");
        let path = |name: &str| {
            if github_actions {
                env.get(name).map(PathBuf::from)
            } else {
                None
            }
        };
        let run_url = match (
            env.get("GITHUB_SERVER_URL"),
            env.get("GITHUB_REPOSITORY"),
            env.get("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => {
                let mut url = format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/'));
                if let Some(attempt) = env.get("GITHUB_RUN_ATTEMPT") {
                    url.push_str(&format!("/attempts/{attempt}"));
                }
                Some(url)
            }
            _ => None,
        };
        Context {
            github_actions,
            step_summary: path("GITHUB_STEP_SUMMARY"),
            github_output: path("GITHUB_OUTPUT"),
            repository: env.get("GITHUB_REPOSITORY").map(str::to_string),
            sha: env.get("GITHUB_SHA").map(str::to_string),
            run_url,
            server_url: env
                .get("GITHUB_SERVER_URL")
                .map(|s| s.trim_end_matches('/').to_string()),
            run_id: env.get("GITHUB_RUN_ID").and_then(|id| id.parse().ok()),
            workspace_dir: path("GITHUB_WORKSPACE"),
            no_color: env.get("NO_COLOR").is_some(),
            tf_workspace: env.get("TF_WORKSPACE").map(str::to_string),
            tf_data_dir: env
                .get("TF_DATA_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            api_url: env.get("GITHUB_API_URL").map(str::to_string),
            token: env.get("GITHUB_TOKEN").map(str::to_string),
            path: env.get("PATH").map(str::to_string),
            proxy: ProxyVars::from_env(env),
            aws_ca_bundle: env.get("AWS_CA_BUNDLE").map(PathBuf::from),
            event: read_event(env),
            tf_vars: TfVars(
                env.with_prefix("TF_VAR_")
                    .filter(|(name, _)| !name.is_empty())
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }
    }
}

fn read_event(env: &Env) -> Event {
    let Some(name) = env.get("GITHUB_EVENT_NAME") else {
        return Event::None;
    };
    let payload = match env.get("GITHUB_EVENT_PATH") {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(p) => p,
            Err(e) => {
                return Event::Unreadable {
                    name: name.to_string(),
                    reason: format!("cannot read {path}: {e}"),
                };
            }
        },
        None => "{}".to_string(),
    };
    Event::parse(name, &payload)
}

/// "runner-7 pid 4242": which machine and process hold a ticket.
pub fn runner_identity() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown host".into());
    format!("{host} pid {}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_payloads() {
        let pr = r#"{"action":"synchronize","number":42,"pull_request":{"number":42,"head":{"sha":"abc","ref":"feature"}}}"#;
        assert_eq!(
            Event::parse("pull_request", pr),
            Event::PullRequest {
                number: 42,
                head_sha: "abc".into()
            }
        );
        assert_eq!(
            Event::parse("pull_request_target", pr).pull_request(),
            Some((42, "abc"))
        );
        assert_eq!(
            Event::parse("push", r#"{"after":"def","ref":"refs/heads/main"}"#),
            Event::Push {
                sha: "def".into(),
                git_ref: Some("refs/heads/main".into())
            }
        );
        assert_eq!(
            Event::parse(
                "workflow_dispatch",
                r#"{"ref":"refs/heads/main","inputs":{}}"#
            ),
            Event::WorkflowDispatch {
                git_ref: Some("refs/heads/main".into())
            }
        );
        assert_eq!(
            Event::parse("schedule", "{}"),
            Event::Unsupported {
                name: "schedule".into()
            }
        );
        assert!(matches!(
            Event::parse("pull_request", "{}"),
            Event::Unreadable { .. }
        ));
    }

    #[test]
    fn github_actions_context() {
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", "/tmp/summary"),
            ("GITHUB_OUTPUT", "/tmp/out"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/infra"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("NO_COLOR", ""),
        ]);
        let ctx = Context::from_env(&env);
        assert!(ctx.github_actions);
        assert_eq!(ctx.step_summary, Some(PathBuf::from("/tmp/summary")));
        assert_eq!(
            ctx.run_url.as_deref(),
            Some("https://github.com/acme/infra/actions/runs/42/attempts/2")
        );
        assert_eq!(ctx.run_id, Some(42));
        assert_eq!(ctx.server_url.as_deref(), Some("https://github.com"));
        assert!(!ctx.no_color, "an empty NO_COLOR does not count");
    }

    #[test]
    fn tf_vars_are_read_and_not_shown() {
        let env = Env::from_pairs([
            ("TF_VAR_db_password", "hunter22-secret"),
            ("TF_VAR_", "nameless"),
            ("TF_VARIABLE", "other"),
        ]);
        let ctx = Context::from_env(&env);
        assert_eq!(
            ctx.tf_vars.0.into_iter().collect::<Vec<_>>(),
            [("db_password".to_string(), "hunter22-secret".to_string())]
        );
        let shown = format!("{:?}", Context::from_env(&env));
        assert!(
            shown.contains("db_password") && !shown.contains("hunter22"),
            "{shown}"
        );
    }

    #[test]
    fn proxy_variables_prefer_upper_case_and_are_not_shown() {
        let env = Env::from_pairs([
            ("HTTPS_PROXY", "http://user:hunter22@proxy:3128"),
            ("https_proxy", "http://other:3128"),
            ("http_proxy", "http://lower:3128"),
            ("NO_PROXY", ""),
            ("no_proxy", "localhost,.internal"),
        ]);
        let proxy = Context::from_env(&env).proxy;
        assert_eq!(
            proxy,
            ProxyVars {
                https: Some("http://user:hunter22@proxy:3128".into()),
                http: Some("http://lower:3128".into()),
                all: None,
                no: Some("localhost,.internal".into()),
            }
        );
        let shown = format!("{proxy:?}");
        assert!(!shown.contains("hunter22"), "{shown}");
    }

    #[test]
    fn outside_actions_the_files_are_ignored() {
        let env = Env::from_pairs([("GITHUB_OUTPUT", "/tmp/out")]);
        assert_eq!(Context::from_env(&env).github_output, None);
    }
}

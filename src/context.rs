//! Everything tfgate reads from its environment, read once at start-up.
//!
//! `Env` is a snapshot of the process environment (tests build their own); `Context` is what
//! tfgate makes of it: whether it runs under GitHub Actions and where that runner wants step
//! outputs and the step summary. Nothing else in the crate calls `std::env::var`.

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
    /// `NO_COLOR` is set (https://no-color.org).
    pub no_color: bool,
    /// `TF_WORKSPACE`, which terraform itself honours.
    pub tf_workspace: Option<String>,
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
            no_color: env.get("NO_COLOR").is_some(),
            tf_workspace: env.get("TF_WORKSPACE").map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!ctx.no_color, "an empty NO_COLOR does not count");
    }

    #[test]
    fn outside_actions_the_files_are_ignored() {
        let env = Env::from_pairs([("GITHUB_OUTPUT", "/tmp/out")]);
        assert_eq!(Context::from_env(&env).github_output, None);
    }
}

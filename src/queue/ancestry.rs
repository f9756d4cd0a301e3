//! Whether a commit is already in production: is it an ancestor of the last commit the queue
//! applied? Asked of git when the checkout has the history (`git merge-base --is-ancestor`),
//! else of GitHub's compare API.
//!
//! A shallow clone cannot answer "no" with certainty (the path may be cut off), so it is not
//! asked; a commit git does not know is not an answer either.

use std::path::Path;

use crate::error::Error;
use crate::github::PullRequests;

/// Who answered, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Git,
    GitHub,
}

/// GitHub, when git cannot tell.
pub struct GitHubRepo<'a, P: PullRequests> {
    pub client: &'a P,
    pub owner: &'a str,
    pub repo: &'a str,
}

/// Whether `commit` is an ancestor of (or the same as) `of`.
pub async fn is_ancestor<P: PullRequests>(
    dir: &Path,
    commit: &str,
    of: &str,
    github: Option<GitHubRepo<'_, P>>,
) -> Result<(bool, Source), Error> {
    if commit == of {
        return Ok((true, Source::Git));
    }
    let git_says = git_is_ancestor(dir, commit, of).await;
    if let Some(answer) = git_says {
        return Ok((answer, Source::Git));
    }
    let Some(gh) = github else {
        return Err(Error::AncestryUnknown {
            commit: commit.to_string(),
            applied: of.to_string(),
            reason: "the checkout does not have the history of both commits, and no GitHub token was given".into(),
        });
    };
    match gh
        .client
        .compare_commits(gh.owner, gh.repo, commit, of)
        .await
    {
        Ok(relation) => Ok((relation.base_is_ancestor_of_head(), Source::GitHub)),
        Err(e) => Err(Error::AncestryUnknown {
            commit: commit.to_string(),
            applied: of.to_string(),
            reason: format!(
                "the checkout does not have the history of both commits, and GitHub's compare API failed: {e}"
            ),
        }),
    }
}

/// `Some(answer)` when git knows both commits and the history is complete.
async fn git_is_ancestor(dir: &Path, commit: &str, of: &str) -> Option<bool> {
    let git = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new("git");
        cmd.arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let shallow = git(&["rev-parse", "--is-shallow-repository"])
        .output()
        .await
        .ok()?;
    if !shallow.status.success() || String::from_utf8_lossy(&shallow.stdout).trim() != "false" {
        return None;
    }
    let status = git(&["merge-base", "--is-ancestor", commit, of])
        .status()
        .await
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        // 128: a commit git does not have.
        _ => None,
    }
}

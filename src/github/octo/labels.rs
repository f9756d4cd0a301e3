//! A pull request's labels over REST (`GET`/`POST /repos/{o}/{r}/issues/{n}/labels`,
//! `DELETE …/labels/{name}` with the name percent-encoded), and every comment of tfgate's on it
//! whatever its root, from which `plan --labels` derives them.

use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;

use super::{OctoPullRequests, PER_PAGE, parse};
use crate::github::marker::parse_marker;
use crate::github::{GithubError, OurComment};

/// A label's name as one path segment: all but unreserved characters percent-encoded
/// (`tfgate:destroy` → `tfgate%3Adestroy`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Deserialize)]
struct RawLabel {
    name: String,
}

impl OctoPullRequests {
    /// tfgate's comments on the pull request (written by its identity, with a marker), for any
    /// root and workspace, oldest first.
    pub(super) async fn all_ours(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<OurComment>, GithubError> {
        self.bounded(async {
            let me = self.identity().await?.login;
            let mut ours: Vec<OurComment> = self
                .list_comments(owner, repo, number)
                .await?
                .into_iter()
                .filter(|c| c.user.as_ref().is_some_and(|u| u.login == me))
                .filter_map(|c| {
                    let body = c.body?;
                    let meta = parse_marker(&body)?;
                    Some(OurComment {
                        id: c.id,
                        body,
                        meta,
                    })
                })
                .collect();
            ours.sort_by_key(|c| c.id);
            Ok(ours)
        })
        .await
    }

    pub(super) async fn list_labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<String>, GithubError> {
        let labels = self.bounded(self.pages(
            format!("/repos/{owner}/{repo}/issues/{number}/labels?per_page={PER_PAGE}"),
            || format!("pull request {owner}/{repo}#{number}"),
            parse::<Vec<RawLabel>>,
        ));
        Ok(labels.await?.into_iter().map(|l| l.name).collect())
    }

    /// Adding is idempotent (a label already on the issue stays once), so retries are safe.
    pub(super) async fn post_labels(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        names: &[String],
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{owner}/{repo}/issues/{number}/labels");
        let body = json!({ "labels": names });
        self.bounded(self.request(Method::POST, &path, Some(&body)))
            .await?;
        Ok(())
    }

    /// GitHub answers 404 for a label that is not on the issue (another run took it off):
    /// the label is off either way.
    pub(super) async fn delete_label(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        name: &str,
    ) -> Result<(), GithubError> {
        let name = utf8_percent_encode(name, SEGMENT);
        let path = format!("/repos/{owner}/{repo}/issues/{number}/labels/{name}");
        match self
            .bounded(self.request(Method::DELETE, &path, None))
            .await
        {
            Ok(_) | Err(GithubError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

//! The `Artifacts` port over REST: the artifacts of a workflow run, by name, and an artifact's
//! zip streamed to a file under a size limit. GitHub answers the download with a redirect to
//! storage on another host; the redirect layer follows it and, the origin being another, drops
//! the `Authorization` header, so the token never leaves GitHub.

use http::{Method, StatusCode};
use serde::Deserialize;

use super::{Answer, OctoPullRequests, PER_PAGE, failure_of, final_error, network_failure, parse};
use crate::github::retry::Failure;
use crate::github::{Artifact, Artifacts, Download, GithubError};

/// A page of `GET /repos/{o}/{r}/actions/runs/{id}/artifacts`.
#[derive(Debug, Deserialize)]
struct RawArtifactPage {
    artifacts: Vec<RawArtifact>,
}

#[derive(Debug, Deserialize)]
struct RawArtifact {
    id: u64,
    name: String,
    #[serde(default)]
    size_in_bytes: u64,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    workflow_run: Option<RawWorkflowRun>,
}

#[derive(Debug, Deserialize)]
struct RawWorkflowRun {
    #[serde(default)]
    id: Option<u64>,
}

impl From<RawArtifact> for Artifact {
    fn from(a: RawArtifact) -> Artifact {
        Artifact {
            id: a.id,
            name: a.name,
            size_in_bytes: a.size_in_bytes,
            expired: a.expired,
            run_id: a.workflow_run.and_then(|r| r.id),
        }
    }
}

impl OctoPullRequests {
    /// One attempt at streaming an artifact's zip into `file`. `Err` is a failure worth the
    /// retry policy's judgement (an HTTP error or the network).
    async fn download_attempt(
        &self,
        path: &str,
        file: &mut std::fs::File,
        limit: u64,
    ) -> Result<Download, Failure> {
        use http_body_util::BodyExt;
        use std::io::{Seek, Write};
        let unwritable = |e: std::io::Error| Download::WriteFailed {
            message: e.to_string(),
        };
        if let Err(e) = file.set_len(0).and_then(|()| file.rewind()) {
            return Ok(unwritable(e));
        }
        let builder = http::Request::builder().method(Method::GET).uri(path);
        let request = self
            .client
            .build_request::<()>(builder, None)
            .map_err(|e| network_failure(&e))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| network_failure(&e))?;
        let status = response.status();
        if status == StatusCode::GONE {
            return Ok(Download::Expired);
        }
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = self
                .client
                .body_to_string(response)
                .await
                .unwrap_or_default();
            return Err(failure_of(&Answer {
                status,
                headers,
                body,
            }));
        }
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| network_failure(&e))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            bytes += data.len() as u64;
            if bytes > limit {
                return Ok(Download::TooLarge { limit });
            }
            if let Err(e) = file.write_all(&data) {
                return Ok(unwritable(e));
            }
        }
        if let Err(e) = file.flush().and_then(|()| file.sync_all()) {
            return Ok(unwritable(e));
        }
        Ok(Download::Complete { bytes })
    }
}

impl Artifacts for OctoPullRequests {
    async fn run_artifacts(
        &self,
        owner: &str,
        repo: &str,
        run_id: u64,
        name: &str,
    ) -> Result<Vec<Artifact>, GithubError> {
        let name_query =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        let found = self
            .pages(
                format!(
                    "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts?name={name_query}&per_page={PER_PAGE}"
                ),
                || format!("workflow run {run_id} of {owner}/{repo}"),
                |body| parse::<RawArtifactPage>(body).map(|page| page.artifacts),
            )
            .await?;
        // GitHub filters by name already; a listing is trusted no further than that.
        Ok(found
            .into_iter()
            .filter(|a| a.name == name)
            .map(Artifact::from)
            .collect())
    }

    async fn download_artifact(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        file: &mut std::fs::File,
        limit: u64,
    ) -> Result<Download, GithubError> {
        let path = format!("/repos/{owner}/{repo}/actions/artifacts/{id}/zip");
        self.with_retries(&path, async || {
            self.download_attempt(&path, file, limit).await
        })
        .await
        .map_err(|(failure, attempts)| match failure.status {
            Some(404) => GithubError::NotFound {
                what: format!("artifact {id} of {owner}/{repo}"),
            },
            _ => final_error(&failure, attempts, &path),
        })
    }
}

//! Whose comments are tfgate's. Comments are tfgate's when their author is the identity the
//! token writes as, never anyone else's (`comments::ours_for`). That identity is
//! `--comment-author` when given, else `GET /user`'s login, else, for an installation token (a
//! GitHub App's, or Actions' `GITHUB_TOKEN`), which may not call `GET /user`, GraphQL's
//! `viewer`. When GitHub says neither, tfgate assumes `github-actions[bot]`, corrects it with the
//! author GitHub gives the comment it creates, and the command warns (`identity_warning`).

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{OctoPullRequests, RawUser, failure_of, final_error, parse};
use crate::github::GithubError;

/// Who authors comments made with the Actions `GITHUB_TOKEN`, which cannot call `GET /user`;
/// assumed when GitHub will not say who the token is.
pub const ACTIONS_BOT: &str = "github-actions[bot]";
/// GraphQL's question for the login the token acts as; installation tokens may ask it.
const VIEWER_QUERY: &str = "query { viewer { login } }";

/// The login tfgate's comments are written as, and how tfgate knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub login: String,
    pub source: IdentitySource,
    /// The author GitHub gave the comment this run created, when it is not `login` (a
    /// `--comment-author` that is not the token's).
    pub wrote_as: Option<String>,
}

/// Where the identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// `--comment-author` (`TFGATE_COMMENT_AUTHOR`).
    Given,
    /// `GET /user`.
    User,
    /// GraphQL's `viewer`, for a token that may not call `GET /user`.
    Viewer,
    /// GitHub said neither: `github-actions[bot]`, assumed.
    Assumed,
    /// Assumed, then learnt from the author GitHub gave the comment this run created.
    Learnt,
}

impl OctoPullRequests {
    /// The identity tfgate's comments carry: `--comment-author`, else `GET /user`'s login,
    /// else (for an installation token, which may not call it) GraphQL's `viewer`, else
    /// `github-actions[bot]`, assumed. Asked once per run.
    pub async fn identity(&self) -> Result<Identity, GithubError> {
        let known = async {
            let mut known = self.identity.lock().await;
            if let Some(id) = known.as_ref() {
                return Ok(id.clone());
            }
            let id = self.ask_identity().await?;
            *known = Some(id.clone());
            Ok(id)
        };
        self.bounded(known).await
    }

    async fn ask_identity(&self) -> Result<Identity, GithubError> {
        let found = |login: String, source| Identity {
            login,
            source,
            wrote_as: None,
        };
        if let Some(a) = &self.explicit_author {
            return Ok(found(a.clone(), IdentitySource::Given));
        }
        match self.request(Method::GET, "/user", None).await {
            Ok(a) => {
                return Ok(found(
                    parse::<RawUser>(&a.body)?.login,
                    IdentitySource::User,
                ));
            }
            Err(GithubError::Forbidden { message }) => {
                tracing::debug!(
                    "GET /user is not allowed for this token ({message}); asking GraphQL's viewer"
                );
            }
            Err(e) => return Err(e),
        }
        Ok(match self.viewer().await? {
            Some(login) => found(login, IdentitySource::Viewer),
            None => found(self.fallback_author.clone(), IdentitySource::Assumed),
        })
    }

    /// GraphQL's `viewer`: the login the token acts as; `None` when GitHub will not say (the
    /// query refused, or no GraphQL endpoint there).
    async fn viewer(&self) -> Result<Option<String>, GithubError> {
        #[derive(Deserialize)]
        struct Data {
            viewer: Option<RawUser>,
        }
        #[derive(Deserialize)]
        struct Reply {
            data: Option<Data>,
        }
        let path = "/graphql";
        let payload = json!({ "query": VIEWER_QUERY });
        let asked = self
            .with_retries("POST /graphql", async || {
                match self
                    .attempt_on(&self.graphql, &Method::POST, path, Some(&payload))
                    .await
                {
                    Ok(a) if a.status.is_success() => Ok(a),
                    Ok(a) => Err(failure_of(&a)),
                    Err(f) => Err(f),
                }
            })
            .await;
        match asked {
            // Refusals come as `errors` beside a null `viewer`.
            Ok(a) => match parse::<Reply>(&a.body) {
                Ok(reply) => Ok(reply.data.and_then(|d| d.viewer).map(|v| v.login)),
                Err(e) => {
                    tracing::debug!(
                        "GraphQL's viewer did not answer with a login ({e}): {}",
                        a.body
                    );
                    Ok(None)
                }
            },
            Err((failure, attempts)) => match final_error(&failure, attempts, path) {
                e @ (GithubError::Forbidden { .. }
                | GithubError::NotFound { .. }
                | GithubError::Rejected { .. }) => {
                    tracing::debug!("GraphQL's viewer is not available: {e}");
                    Ok(None)
                }
                e => Err(e),
            },
        }
    }

    /// GitHub wrote the comment this run created as `author`: the token's identity, for sure.
    /// It replaces an assumed identity; one given with `--comment-author` stays, and the
    /// difference is kept for `identity_warning`.
    pub(super) async fn learn(&self, author: &str) {
        let mut known = self.identity.lock().await;
        let Some(id) = known.as_mut() else {
            return;
        };
        match id.source {
            IdentitySource::Assumed => {
                tracing::debug!("tfgate's comments are written as {author}");
                *id = Identity {
                    login: author.to_string(),
                    source: IdentitySource::Learnt,
                    wrote_as: None,
                };
            }
            _ if id.login != author => id.wrote_as = Some(author.to_string()),
            _ => {}
        }
    }

    /// What the user must hear about the identity, once the run has used it: GitHub did not
    /// say who the token is, or `--comment-author` names someone else than the author of the
    /// comment this run created. Either way a later run would not find the comment (and
    /// `apply` would not find the reviewed plan).
    pub async fn identity_warning(&self) -> Option<String> {
        let known = self.identity.lock().await;
        let id = known.as_ref()?;
        let unsaid = "GitHub would not say who the GitHub token is (GET /user and GraphQL's viewer were both refused)";
        match (id.source, &id.wrote_as) {
            (IdentitySource::Assumed, _) => Some(format!(
                "{unsaid}, so tfgate assumes its comments are written as `{}` and looks for no one else's; if the token is not Actions' GITHUB_TOKEN (a GitHub App's, say), pass --comment-author LOGIN (or set TFGATE_COMMENT_AUTHOR), the author its comments show, e.g. `my-app[bot]`",
                id.login
            )),
            // Assumed rightly: later runs assume the same.
            (IdentitySource::Learnt, _) if id.login == self.fallback_author => None,
            (IdentitySource::Learnt, _) => Some(format!(
                "{unsaid}; the comment tfgate posted is written as `{0}`, and later runs will not find it (apply will report no tfgate plan) unless told: pass --comment-author '{0}' (or set TFGATE_COMMENT_AUTHOR)",
                id.login
            )),
            (_, Some(actual)) => Some(format!(
                "--comment-author says tfgate's comments are written as `{}`, but GitHub wrote the comment it posted as `{actual}`; tfgate looks only for comments by `{}`, so later runs will not find it: pass --comment-author '{actual}' (or set TFGATE_COMMENT_AUTHOR)",
                id.login, id.login
            )),
            _ => None,
        }
    }
}

//! "Labels" of GitHub's issues API, for pull requests: list a pull request's labels (paginated
//! like GitHub, with `Link` headers), add labels (`{"labels": [...]}`, also a bare array or
//! `[{"name": …}]`; a label the repository lacks is created, color `ededed`; the answer is the
//! pull request's labels), and remove one by its percent-encoded name (404 "Label does not
//! exist" when it is not on the pull request; the answer is the labels left).

use serde_json::Value;

use super::super::shapes::Bases;
use super::{Incoming, Reply, paged};
use crate::support::github::store::Store;

const LABELS_DOCS: &str = "https://docs.github.com/rest/issues/labels";
/// GitHub's limit on labels per issue.
const MAX_LABELS: usize = 100;

impl Store {
    /// `GET /repos/{repo}/issues/{number}/labels`.
    pub(super) fn list_labels(&self, inc: &Incoming<'_>, repo: &str, number: u64) -> Reply {
        if self.pr(repo, number).is_none() {
            return Reply::not_found();
        }
        let ids = self.issue_label_ids(repo, number);
        paged(
            inc,
            &ids,
            |id| self.label_json(&inc.bases, repo, *id),
            Value::Array,
        )
    }

    /// `POST /repos/{repo}/issues/{number}/labels`.
    pub(super) fn add_labels(&mut self, inc: &Incoming<'_>, repo: &str, number: u64) -> Reply {
        if self.pr(repo, number).is_none() {
            return Reply::not_found();
        }
        let names = match label_names(inc.body) {
            Ok(names) => names,
            Err(reply) => return reply,
        };
        let on = self.issue_label_ids(repo, number).len();
        if on + names.len() > MAX_LABELS {
            return Reply::error(
                422,
                &format!("An issue can have at most {MAX_LABELS} labels."),
                LABELS_DOCS,
            );
        }
        for name in &names {
            self.label_issue(repo, number, name);
        }
        self.issue_labels_reply(&inc.bases, repo, number)
    }

    /// `DELETE /repos/{repo}/issues/{number}/labels/{name}`.
    pub(super) fn remove_label(
        &mut self,
        inc: &Incoming<'_>,
        repo: &str,
        number: u64,
        encoded: &str,
    ) -> Reply {
        if self.pr(repo, number).is_none() {
            return Reply::not_found();
        }
        let name = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
        if !self.unlabel_issue(repo, number, &name) {
            return Reply::error(404, "Label does not exist", LABELS_DOCS);
        }
        self.issue_labels_reply(&inc.bases, repo, number)
    }

    fn issue_labels_reply(&self, b: &Bases, repo: &str, number: u64) -> Reply {
        let items: Vec<Value> = self
            .issue_label_ids(repo, number)
            .into_iter()
            .map(|id| self.label_json(b, repo, id))
            .collect();
        Reply::json(200, Value::Array(items))
    }

    /// GitHub's `label`.
    fn label_json(&self, b: &Bases, repo: &str, id: u64) -> Value {
        let full = &self.repo(repo).full_name;
        let label = self
            .label(repo, id)
            .expect("an issue's label is the repository's");
        let encoded =
            percent_encoding::utf8_percent_encode(&label.name, percent_encoding::NON_ALPHANUMERIC);
        serde_json::json!({
            "id": label.id,
            "node_id": format!("LA_kwDOfake{}", label.id),
            "url": format!("{}/repos/{full}/labels/{encoded}", b.api),
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": false,
        })
    }
}

/// The names in an "add labels" body, or GitHub's answer to a body it would refuse.
fn label_names(raw: &[u8]) -> Result<Vec<String>, Reply> {
    let docs = format!("{LABELS_DOCS}#add-labels-to-an-issue");
    let json: Value = serde_json::from_slice(raw)
        .map_err(|_| Reply::error(400, "Problems parsing JSON", &docs))?;
    let list = match &json {
        Value::Array(items) => items,
        Value::Object(o) => match o.get("labels") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(Reply::error(
                    422,
                    "Invalid request.\n\n\"labels\" wasn't supplied.",
                    &docs,
                ));
            }
        },
        _ => return Err(Reply::error(422, "Invalid request.", &docs)),
    };
    let mut names = Vec::new();
    for item in list {
        let name = match item {
            Value::String(s) => s.clone(),
            Value::Object(o) => match o.get("name") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(Reply::error(422, "Invalid request.", &docs)),
            },
            _ => return Err(Reply::error(422, "Invalid request.", &docs)),
        };
        if name.trim().is_empty() {
            return Err(Reply::error(422, "Validation Failed", &docs));
        }
        names.push(name);
    }
    if names.is_empty() {
        return Err(Reply::error(
            422,
            "Invalid request.\n\nNo subschema in \"anyOf\" matched.",
            &docs,
        ));
    }
    Ok(names)
}

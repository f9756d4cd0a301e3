//! GitHub's JSON shapes for the fake's answers: simple users, the authenticated user, issue
//! comments, pull requests, repositories, commits and their comparison, and error bodies. Pure functions of the store's
//! records and the request's base URLs; they read no state and make no decisions. Fields follow
//! GitHub's REST reference, and include at least every field octocrab's models require.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::Kind;
use super::artifacts::FakeArtifact;
use super::store::{Comment, Commit, Comparison, Pr, PrState, Repo, User};

pub(super) const DOCS: &str = "https://docs.github.com/rest";
pub(super) const COMPARE_DOCS: &str =
    "https://docs.github.com/rest/commits/commits#compare-two-commits";

/// Where the request came in: the API root (with `/api/v3` when it was used) and the web root.
pub(super) struct Bases {
    pub api: String,
    pub web: String,
}

/// RFC 3339, UTC, whole seconds, `Z`: `2024-05-01T12:00:00Z`.
pub(super) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_timestamp(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// `github-actions[bot]` → `github-actions%5Bbot%5D`, as GitHub writes it in URLs.
fn url_login(login: &str) -> String {
    login.replace('[', "%5B").replace(']', "%5D")
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "User",
        Kind::Bot | Kind::Installation => "Bot",
    }
}

/// GitHub's `simple-user`.
pub(super) fn simple_user(b: &Bases, u: &User) -> Value {
    let api = format!("{}/users/{}", b.api, url_login(&u.login));
    let (node_prefix, html_url) = match u.kind {
        Kind::User => ("U_kgDO", format!("{}/{}", b.web, u.login)),
        Kind::Bot | Kind::Installation => (
            "BOT_kgDO",
            format!("{}/apps/{}", b.web, u.login.trim_end_matches("[bot]")),
        ),
    };
    json!({
        "login": u.login,
        "id": u.id,
        "node_id": format!("{node_prefix}{}", u.id),
        "avatar_url": format!("{}/avatars/u/{}?v=4", b.web, u.id),
        "gravatar_id": "",
        "url": api,
        "html_url": html_url,
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": type_name(u.kind),
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// GitHub's `private-user`/`public-user`, as `GET /user` answers.
pub(super) fn authenticated_user(b: &Bases, u: &User, since: DateTime<Utc>) -> Value {
    let mut v = simple_user(b, u);
    let extra = json!({
        "name": null,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "hireable": null,
        "bio": null,
        "twitter_username": null,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": timestamp(since),
        "updated_at": timestamp(since),
    });
    extend(&mut v, extra);
    v
}

/// `OWNER` for the repository's owner, `NONE` for bots, `CONTRIBUTOR` for everyone else.
fn author_association(repo: &Repo, u: &User) -> &'static str {
    if u.login.eq_ignore_ascii_case(repo.owner()) {
        "OWNER"
    } else if u.kind == Kind::User {
        "CONTRIBUTOR"
    } else {
        "NONE"
    }
}

/// GitHub's `issue-comment`.
pub(super) fn comment(b: &Bases, id: u64, c: &Comment, repo: &Repo, author: &User) -> Value {
    let full = &repo.full_name;
    json!({
        "id": id,
        "node_id": format!("IC_kwDOfake{id}"),
        "url": format!("{}/repos/{full}/issues/comments/{id}", b.api),
        "html_url": format!("{}/{full}/pull/{}#issuecomment-{id}", b.web, c.pr),
        "body": c.body,
        "user": simple_user(b, author),
        "created_at": timestamp(c.created_at),
        "updated_at": timestamp(c.updated_at),
        "issue_url": format!("{}/repos/{full}/issues/{}", b.api, c.pr),
        "author_association": author_association(repo, author),
        "performed_via_github_app": null,
    })
}

/// GitHub's `repository` (the fields a PR's `head.repo` and `base.repo` usually carry).
pub(super) fn repository(b: &Bases, repo: &Repo, owner: &User, since: DateTime<Utc>) -> Value {
    let full = &repo.full_name;
    let api = format!("{}/repos/{full}", b.api);
    json!({
        "id": repo.id,
        "node_id": format!("R_kgDOfake{}", repo.id),
        "name": repo.name(),
        "full_name": full,
        "private": false,
        "owner": simple_user(b, owner),
        "html_url": format!("{}/{full}", b.web),
        "description": null,
        "fork": false,
        "url": api,
        "pulls_url": format!("{api}/pulls{{/number}}"),
        "issues_url": format!("{api}/issues{{/number}}"),
        "commits_url": format!("{api}/commits{{/sha}}"),
        "default_branch": "main",
        "visibility": "public",
        "archived": false,
        "disabled": false,
        "created_at": timestamp(since),
        "updated_at": timestamp(since),
        "pushed_at": timestamp(since),
    })
}

pub(super) struct PullParts<'a> {
    pub pr: &'a Pr,
    pub repo: &'a Repo,
    pub author: &'a User,
    pub owner: &'a User,
    pub since: DateTime<Utc>,
}

/// GitHub's `pull-request`.
pub(super) fn pull(b: &Bases, p: &PullParts<'_>) -> Value {
    let PullParts {
        pr,
        repo,
        author,
        owner,
        since,
    } = p;
    let full = &repo.full_name;
    let n = pr.number;
    let api = format!("{}/repos/{full}", b.api);
    let html = format!("{}/{full}/pull/{n}", b.web);
    let repo_json = repository(b, repo, owner, *since);
    let branch = |r: &str, sha: &str| {
        json!({
            "label": format!("{}:{r}", repo.owner()),
            "ref": r,
            "sha": sha,
            "user": simple_user(b, owner),
            "repo": repo_json.clone(),
        })
    };
    // Two literals: one would exceed serde_json's macro recursion limit.
    let mut v = json!({
        "url": format!("{api}/pulls/{n}"),
        "id": pr.id,
        "node_id": format!("PR_kwDOfake{}", pr.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": format!("{api}/issues/{n}"),
        "commits_url": format!("{api}/pulls/{n}/commits"),
        "review_comments_url": format!("{api}/pulls/{n}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "statuses_url": format!("{api}/statuses/{}", pr.head_sha),
        "number": n,
        "state": if pr.state == PrState::Open { "open" } else { "closed" },
        "locked": false,
        "title": pr.title,
        "user": simple_user(b, author),
        "body": null,
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": timestamp(pr.created_at),
        "updated_at": timestamp(pr.updated_at),
        "closed_at": opt_timestamp(pr.closed_at),
    });
    let rest = json!({
        "merged_at": opt_timestamp(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch(&pr.head_ref, &pr.head_sha),
        "base": branch(&pr.base_ref, &pr.base_sha),
        "author_association": author_association(repo, author),
        "auto_merge": null,
        "draft": false,
        "merged": pr.merged_at.is_some(),
        "mergeable": null,
        "rebaseable": null,
        "mergeable_state": "unknown",
        "merged_by": null,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    });
    extend(&mut v, rest);
    v
}

/// GitHub's `commit`, without an author or committer account (the fake's commits have none)
/// and without stats or files.
pub(super) fn commit(b: &Bases, repo: &Repo, c: &Commit) -> Value {
    let full = &repo.full_name;
    let api = format!("{}/repos/{full}", b.api);
    let sha = &c.sha;
    let parents: Vec<Value> = c
        .parents
        .iter()
        .map(|p| {
            json!({
                "sha": p,
                "url": format!("{api}/commits/{p}"),
                "html_url": format!("{}/{full}/commit/{p}", b.web),
            })
        })
        .collect();
    let signature = json!({
        "name": "Fake Committer",
        "email": "committer@example.com",
        "date": "2024-01-01T00:00:00Z",
    });
    json!({
        "sha": sha,
        "node_id": format!("C_kwDOfake{sha}"),
        "commit": {
            "author": signature,
            "committer": signature,
            "message": format!("Commit {sha}"),
            "tree": {
                "sha": sha,
                "url": format!("{api}/git/trees/{sha}"),
            },
            "url": format!("{api}/git/commits/{sha}"),
            "comment_count": 0,
            "verification": {
                "verified": false,
                "reason": "unsigned",
                "signature": null,
                "payload": null,
                "verified_at": null,
            },
        },
        "url": format!("{api}/commits/{sha}"),
        "html_url": format!("{}/{full}/commit/{sha}", b.web),
        "comments_url": format!("{api}/commits/{sha}/comments"),
        "author": null,
        "committer": null,
        "parents": parents,
    })
}

/// GitHub's `commit-comparison` of `base...head` (as the request spelled them). It lists no
/// commits and no files: the fake's commits have no content.
pub(super) fn comparison(
    b: &Bases,
    repo: &Repo,
    base: &str,
    head: &str,
    c: &Comparison<'_>,
) -> Value {
    let full = &repo.full_name;
    let html = format!("{}/{full}/compare/{base}...{head}", b.web);
    let owner = repo.owner();
    json!({
        "url": format!("{}/repos/{full}/compare/{base}...{head}", b.api),
        "html_url": html,
        "permalink_url": format!(
            "{}/{full}/compare/{owner}:{}...{owner}:{head}",
            b.web, c.base.sha
        ),
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "base_commit": commit(b, repo, c.base),
        "merge_base_commit": commit(b, repo, c.merge_base),
        "status": c.status,
        "ahead_by": c.ahead_by,
        "behind_by": c.behind_by,
        "total_commits": c.ahead_by,
        "commits": [],
        "files": [],
    })
}

/// Adds `extra`'s fields to the object `v`.
fn extend(v: &mut Value, extra: Value) {
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
        obj.extend(extra);
    }
}

/// GitHub's error body: `message`, `documentation_url`, and `status` as a string.
pub(super) fn error(status: u16, message: &str, documentation_url: &str) -> Value {
    json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.to_string(),
    })
}

/// GitHub's `artifact`. It expires 90 days after upload (GitHub's default retention), or, once
/// the fake expired it, a moment ago.
pub(super) fn artifact(b: &Bases, repo: &Repo, a: &FakeArtifact) -> Value {
    use sha2::Digest;
    let api = format!(
        "{}/repos/{}/actions/artifacts/{}",
        b.api, repo.full_name, a.id
    );
    let expires_at = if a.expired {
        a.created_at
    } else {
        a.created_at + chrono::Duration::days(90)
    };
    json!({
        "id": a.id,
        "node_id": format!("MDg6QXJ0aWZhY3Q{}", a.id),
        "name": a.name,
        "size_in_bytes": a.bytes.len(),
        "url": api,
        "archive_download_url": format!("{api}/zip"),
        "expired": a.expired,
        "created_at": timestamp(a.created_at),
        "updated_at": timestamp(a.created_at),
        "expires_at": timestamp(expires_at),
        "digest": format!("sha256:{}", hex::encode(sha2::Sha256::digest(&a.bytes))),
        "workflow_run": {
            "id": a.run_id,
            "repository_id": repo.id,
            "head_repository_id": repo.id,
            "head_branch": "feature",
            "head_sha": "0000000000000000000000000000000000000000",
        },
    })
}

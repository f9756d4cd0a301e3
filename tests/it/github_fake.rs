//! The GitHub fake's own tests, over real HTTP on loopback with a minimal HTTP/1.1 client:
//! authentication, pull requests and their commits, comment pagination and `Link` headers,
//! body limits, authorship, workflow artifacts and their storage host, every fault kind, the
//! `/api/v3` prefix and the request log. They check the fake behaves as GitHub documents, so
//! tfgate's tests can trust it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::github::{Fault, GitHubFake, Kind};

const REPO: &str = "acme/infra";
const HEAD: &str = "1111111111111111111111111111111111111111";
const MERGE: &str = "2222222222222222222222222222222222222222";
const TOKEN: &str = "ghp_tfgate";
const BOT: &str = "tfgate-bot";

/// An answer as the tests read it.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `Link` header as rel → URL.
    fn links(&self) -> Vec<(String, String)> {
        let Some(link) = self.header("link") else {
            return Vec::new();
        };
        link.split(", ")
            .map(|part| {
                let (url, rel) = part.split_once("; rel=").expect("a Link part");
                (
                    rel.trim_matches('"').to_owned(),
                    url.trim_start_matches('<').trim_end_matches('>').to_owned(),
                )
            })
            .collect()
    }

    fn link(&self, rel: &str) -> Option<String> {
        self.links()
            .into_iter()
            .find(|(r, _)| r == rel)
            .map(|(_, u)| u)
    }
}

/// Sends one request to an absolute `http://HOST:PORT/...` URL and reads the whole answer.
fn send(method: &str, url: &str, auth: Option<&str>, body: Option<&Value>) -> Answer {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = if target.is_empty() { "/" } else { target };
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Accept: application/vnd.github+json\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if let Some(auth) = auth {
        request.push_str(&format!("Authorization: {auth}\r\n"));
    }
    if body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&payload);

    let mut stream = TcpStream::connect(host).expect("connect to the fake");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        rest = dechunk(&rest);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8(rest).expect("a UTF-8 body"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size_text = String::from_utf8_lossy(&data[..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("hex chunk size");
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A client bound to one API root and one `Authorization` header.
struct Client {
    root: String,
    auth: Option<String>,
}

impl Client {
    fn bearer(root: String, token: &str) -> Client {
        Client {
            root,
            auth: Some(format!("Bearer {token}")),
        }
    }

    fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = if path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.root)
        };
        send(method, &url, self.auth.as_deref(), body.as_ref())
    }

    fn post_comment(&self, pr: u64, body: &str) -> Answer {
        self.call(
            "POST",
            &format!("/repos/{REPO}/issues/{pr}/comments"),
            Some(json!({ "body": body })),
        )
    }

    fn edit_comment(&self, method: &str, id: u64, body: &str) -> Answer {
        self.call(
            method,
            &format!("/repos/{REPO}/issues/comments/{id}"),
            Some(json!({ "body": body })),
        )
    }
}

/// A fake with tfgate's bot identity and one open PR, #7.
fn fake_with_pr() -> (GitHubFake, Client) {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Bot);
    gh.add_pr(REPO, 7, HEAD);
    let client = Client::bearer(gh.url(), TOKEN);
    (gh, client)
}

#[track_caller]
fn assert_status(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "unexpected answer: {answer:#?}");
}

const SIMPLE_USER_FIELDS: &[&str] = &[
    "login",
    "id",
    "node_id",
    "avatar_url",
    "gravatar_id",
    "url",
    "html_url",
    "followers_url",
    "following_url",
    "gists_url",
    "starred_url",
    "subscriptions_url",
    "organizations_url",
    "repos_url",
    "events_url",
    "received_events_url",
    "type",
    "site_admin",
];

#[track_caller]
fn assert_simple_user(user: &Value, login: &str, kind: &str) {
    for field in SIMPLE_USER_FIELDS {
        assert!(user.get(field).is_some(), "user lacks {field}: {user:#}");
    }
    assert_eq!(user["login"], login);
    assert_eq!(user["type"], kind);
}

#[track_caller]
fn assert_timestamp(v: &Value) {
    let text = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    assert!(text.ends_with('Z'), "not UTC: {text}");
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
}

#[test]
fn user_and_bot_tokens_read_the_authenticated_user_in_either_scheme() {
    let gh = GitHubFake::start();
    gh.add_user("ghp_alice", "alice", Kind::User);
    gh.add_user(TOKEN, BOT, Kind::Bot);

    let alice = send(
        "GET",
        &format!("{}/user", gh.url()),
        Some("token ghp_alice"),
        None,
    );
    assert_status(&alice, 200);
    assert_simple_user(&alice.json(), "alice", "User");

    let bot = Client::bearer(gh.url(), TOKEN).get("/user");
    assert_status(&bot, 200);
    assert_simple_user(&bot.json(), BOT, "Bot");
    assert_eq!(
        bot.header("content-type"),
        Some("application/json; charset=utf-8")
    );

    let logins: Vec<_> = gh.requests().into_iter().map(|r| r.login).collect();
    assert_eq!(logins, [Some("alice".to_owned()), Some(BOT.to_owned())]);
}

#[test]
fn an_installation_token_cannot_read_user_but_comments_as_its_bot() {
    let gh = GitHubFake::start();
    gh.add_user(
        "ghs_installation",
        "github-actions[bot]",
        Kind::Installation,
    );
    gh.add_pr(REPO, 7, HEAD);
    let client = Client::bearer(gh.url(), "ghs_installation");

    let user = client.get("/user");
    assert_status(&user, 403);
    assert_eq!(
        user.json()["message"],
        "Resource not accessible by integration"
    );
    assert!(user.json()["documentation_url"].is_string());

    let created = client.post_comment(7, "hello");
    assert_status(&created, 201);
    let comment = created.json();
    assert_simple_user(&comment["user"], "github-actions[bot]", "Bot");
    assert_eq!(
        comment["user"]["url"],
        format!("{}/users/github-actions%5Bbot%5D", gh.url())
    );
    let id = comment["id"].as_u64().unwrap();
    assert_status(&client.edit_comment("PATCH", id, "edited"), 200);
    assert_eq!(gh.comments(REPO, 7)[0].author_login, "github-actions[bot]");
    assert_eq!(gh.comments(REPO, 7)[0].body, "edited");
}

#[test]
fn graphql_s_viewer_answers_every_kind_of_token_unless_refused() {
    let gh = GitHubFake::start();
    gh.add_user("ghp_alice", "alice", Kind::User);
    gh.add_user("ghs_app", "my-app[bot]", Kind::Installation);
    let viewer = json!({ "query": "query { viewer { login } }" });
    let ask = |root: &str, token: &str, query: &Value| {
        send(
            "POST",
            &format!("{root}/graphql"),
            Some(&format!("Bearer {token}")),
            Some(query),
        )
    };
    for (token, login) in [("ghp_alice", "alice"), ("ghs_app", "my-app[bot]")] {
        let answer = ask(&gh.url(), token, &viewer);
        assert_status(&answer, 200);
        assert_eq!(
            answer.json(),
            json!({ "data": { "viewer": { "login": login } } })
        );
    }
    // GitHub Enterprise Server's GraphQL is beside /api/v3, not under it.
    let ghes = ask(
        &format!("{}/api", gh.url()),
        "ghs_app",
        &json!({ "query": "{viewer{login}}" }),
    );
    assert_eq!(ghes.json()["data"]["viewer"]["login"], "my-app[bot]");
    assert_status(&ask(&gh.ghes_url(), "ghs_app", &viewer), 404);
    let other = ask(
        &gh.url(),
        "ghs_app",
        &json!({ "query": "{ repository { id } }" }),
    );
    assert!(
        other.json()["errors"][0]["message"].is_string(),
        "{other:?}"
    );
    assert_status(&ask(&gh.url(), "ghs_nope", &viewer), 401);

    gh.refuse_viewer("my-app[bot]");
    let refused = ask(&gh.url(), "ghs_app", &viewer).json();
    assert_eq!(refused["data"]["viewer"], Value::Null);
    assert_eq!(refused["errors"][0]["type"], "FORBIDDEN");
    assert_eq!(
        ask(&gh.url(), "ghp_alice", &viewer).json()["data"]["viewer"]["login"],
        "alice"
    );

    let log: Vec<_> = gh
        .requests()
        .into_iter()
        .map(|r| (r.is_write(), r.ghes, r.path))
        .collect();
    assert_eq!(log[0], (false, false, "/graphql".to_owned()), "a read");
    assert_eq!(log[2], (false, true, "/graphql".to_owned()));
    assert_eq!(log[3].2, "/api/v3/graphql");
}

#[test]
fn a_missing_or_unknown_token_is_bad_credentials_and_never_logged() {
    let (gh, _) = fake_with_pr();
    let path = format!("{}/repos/{REPO}/pulls/7", gh.url());
    for auth in [None, Some("Bearer ghp_nope"), Some("Basic Zm9vOmJhcg==")] {
        let answer = send("GET", &path, auth, None);
        assert_status(&answer, 401);
        assert_eq!(answer.json()["message"], "Bad credentials");
        assert!(answer.json()["documentation_url"].is_string());
        assert_eq!(answer.header("x-ratelimit-limit"), Some("60"));
    }
    let log = gh.requests();
    assert!(log.iter().all(|r| r.login.is_none() && r.status == 401));
    let logged = format!("{log:?}");
    assert!(
        !logged.contains("ghp_nope"),
        "the log holds a token: {logged}"
    );

    let ok = Client::bearer(gh.url(), TOKEN).get(&format!("/repos/{REPO}/pulls/7"));
    assert_status(&ok, 200);
    assert!(!format!("{:?}", gh.requests()).contains(TOKEN));
}

#[test]
fn unknown_pull_requests_comments_and_routes_are_not_found() {
    let (gh, client) = fake_with_pr();
    let id = gh.add_comment(REPO, 7, "alice", "hi");
    let paths = [
        format!("/repos/{REPO}/pulls/8"),
        format!("/repos/{REPO}/issues/8/comments"),
        "/repos/other/repo/pulls/7".to_owned(),
        format!("/repos/{REPO}/issues/comments/{}", id + 1),
        format!("/repos/other/repo/issues/comments/{id}"),
        format!("/repos/{REPO}/pulls/seven"),
        "/nope".to_owned(),
        "/".to_owned(),
    ];
    for path in &paths {
        let answer = client.get(path);
        assert_status(&answer, 404);
        assert_eq!(answer.json()["message"], "Not Found", "{path}");
    }
    assert_status(&client.post_comment(8, "x"), 404);
    assert_status(&client.edit_comment("PATCH", id + 1, "x"), 404);
    assert_status(
        &client.call("DELETE", &format!("/repos/{REPO}/pulls/7"), None),
        404,
    );
}

#[test]
fn a_pull_request_has_github_s_shape_and_its_commits_find_it() {
    let (gh, client) = fake_with_pr();

    let open = client.get(&format!("/repos/{REPO}/pulls/7")).json();
    for field in [
        "url",
        "id",
        "node_id",
        "html_url",
        "number",
        "state",
        "title",
        "user",
        "head",
        "base",
        "merged_at",
        "merge_commit_sha",
        "created_at",
        "updated_at",
    ] {
        assert!(open.get(field).is_some(), "PR lacks {field}: {open:#}");
    }
    assert_eq!(open["number"], 7);
    assert_eq!(open["state"], "open");
    assert_eq!(open["merged_at"], Value::Null);
    assert_eq!(open["head"]["sha"], HEAD);
    assert_eq!(open["head"]["ref"], "feature-7");
    assert_eq!(open["base"]["ref"], "main");
    assert_eq!(open["base"]["repo"]["full_name"], REPO);
    assert_eq!(open["url"], format!("{}/repos/{REPO}/pulls/7", gh.url()));
    assert_simple_user(&open["user"], "pr-author", "User");
    assert_simple_user(&open["head"]["user"], "acme", "User");
    assert_timestamp(&open["created_at"]);

    let by_head = client
        .get(&format!("/repos/{REPO}/commits/{HEAD}/pulls"))
        .json();
    assert_eq!(by_head.as_array().unwrap().len(), 1);
    assert_eq!(by_head[0]["number"], 7);

    gh.merge_pr(REPO, 7, MERGE);
    let merged = client.get(&format!("/repos/{REPO}/pulls/7")).json();
    assert_eq!(merged["state"], "closed");
    assert_eq!(merged["merged"], true);
    assert_eq!(merged["merge_commit_sha"], MERGE);
    assert_timestamp(&merged["merged_at"]);
    for sha in [HEAD, MERGE] {
        let prs = client
            .get(&format!("/repos/{REPO}/commits/{sha}/pulls"))
            .json();
        assert_eq!(prs[0]["number"], 7, "{sha}");
        assert_eq!(prs[0]["merge_commit_sha"], MERGE, "{sha}");
    }

    let none = client.get(&format!("/repos/{REPO}/commits/{}/pulls", "3".repeat(40)));
    assert_status(&none, 200);
    assert_eq!(none.json(), json!([]));

    gh.add_pr(REPO, 9, "4".repeat(40).as_str());
    gh.associate_commit(REPO, MERGE, 9);
    let both = client
        .get(&format!("/repos/{REPO}/commits/{MERGE}/pulls"))
        .json();
    let numbers: Vec<_> = both
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].clone())
        .collect();
    assert_eq!(numbers, [json!(7), json!(9)]);

    gh.set_pr_head(REPO, 9, "5".repeat(40).as_str());
    let moved = client.get(&format!("/repos/{REPO}/pulls/9")).json();
    assert_eq!(moved["head"]["sha"], "5".repeat(40));
}

#[test]
fn comments_have_github_s_shape() {
    let (gh, client) = fake_with_pr();
    let created = client.post_comment(7, "<!-- tfgate -->\nhello");
    assert_status(&created, 201);
    let c = created.json();
    for field in [
        "id",
        "node_id",
        "url",
        "html_url",
        "body",
        "user",
        "created_at",
        "updated_at",
        "issue_url",
        "author_association",
    ] {
        assert!(c.get(field).is_some(), "comment lacks {field}: {c:#}");
    }
    let id = c["id"].as_u64().unwrap();
    assert!(id >= 1_000_000_001, "{id}");
    assert_eq!(c["body"], "<!-- tfgate -->\nhello");
    assert_simple_user(&c["user"], BOT, "Bot");
    assert_timestamp(&c["created_at"]);
    assert_timestamp(&c["updated_at"]);
    let url = format!("{}/repos/{REPO}/issues/comments/{id}", gh.url());
    assert_eq!(c["url"], url);
    assert_eq!(created.header("location"), Some(url.as_str()));
    assert_eq!(
        c["issue_url"],
        format!("{}/repos/{REPO}/issues/7", gh.url())
    );

    let fetched = client.get(&format!("/repos/{REPO}/issues/comments/{id}"));
    assert_status(&fetched, 200);
    assert_eq!(fetched.json(), c);

    let stored = gh.comment(id).unwrap();
    assert_eq!(stored.author_login, BOT);
    assert_eq!(
        stored
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        c["created_at"]
    );
}

#[test]
fn comments_paginate_with_github_s_link_headers() {
    let (gh, client) = fake_with_pr();
    gh.add_pr(REPO, 8, "9".repeat(40).as_str());
    let seeded: Vec<u64> = (0..250)
        .map(|i| gh.add_comment(REPO, 7, &format!("user{}", i % 3), &format!("comment {i}")))
        .collect();
    gh.add_comment(REPO, 8, "alice", "elsewhere");
    assert!(seeded.windows(2).all(|w| w[1] == w[0] + 1));
    let path = format!("/repos/{REPO}/issues/7/comments");
    let page_url = |query: &str| format!("{}{path}?{query}", gh.url());

    let first = client.get(&path);
    assert_status(&first, 200);
    assert_eq!(first.json().as_array().unwrap().len(), 30);
    assert_eq!(first.json()[0]["id"], seeded[0]);
    assert_eq!(first.link("next"), Some(page_url("page=2")));
    assert_eq!(first.link("last"), Some(page_url("page=9")));
    assert_eq!(first.link("prev"), None);
    assert_eq!(first.link("first"), None);

    let middle = client.get(&format!("{path}?per_page=100&page=2"));
    let items = middle.json();
    assert_eq!(items.as_array().unwrap().len(), 100);
    assert_eq!(items[0]["id"], seeded[100]);
    let rels: Vec<_> = middle.links().into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, ["prev", "next", "last", "first"]);
    assert_eq!(middle.link("prev"), Some(page_url("per_page=100&page=1")));
    assert_eq!(middle.link("next"), Some(page_url("per_page=100&page=3")));
    assert_eq!(middle.link("last"), Some(page_url("per_page=100&page=3")));
    assert_eq!(middle.link("first"), Some(page_url("per_page=100&page=1")));

    let last = client.get(&format!("{path}?per_page=100&page=3"));
    assert_eq!(last.json().as_array().unwrap().len(), 50);
    assert_eq!(last.link("next"), None);
    assert_eq!(last.link("last"), None);
    assert_eq!(last.link("prev"), Some(page_url("per_page=100&page=2")));

    let clamped = client.get(&format!("{path}?per_page=500"));
    assert_eq!(clamped.json().as_array().unwrap().len(), 100);
    assert_eq!(clamped.link("last"), Some(page_url("per_page=500&page=3")));

    let beyond = client.get(&format!("{path}?per_page=100&page=4"));
    assert_eq!(beyond.json(), json!([]));

    // Following `next` from the first page visits every comment once, in order.
    let mut seen = Vec::new();
    let mut next = Some(format!("{path}?per_page=100"));
    while let Some(url) = next {
        let answer = client.get(&url);
        assert_status(&answer, 200);
        seen.extend(
            answer
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_u64().unwrap()),
        );
        next = answer.link("next");
    }
    assert_eq!(seen, seeded);

    let single = client.get(&format!("/repos/{REPO}/issues/8/comments"));
    assert_eq!(single.json().as_array().unwrap().len(), 1);
    assert_eq!(single.header("link"), None);
}

#[test]
fn the_enterprise_prefix_serves_the_same_state_and_links_keep_it() {
    let (gh, _) = fake_with_pr();
    let ghes = Client::bearer(gh.ghes_url(), TOKEN);
    assert_eq!(gh.ghes_url(), format!("{}/api/v3", gh.url()));
    for i in 0..3 {
        gh.add_comment(REPO, 7, "alice", &format!("c{i}"));
    }
    let created = ghes.post_comment(7, "via GHES");
    assert_status(&created, 201);
    assert_eq!(
        created.json()["url"],
        format!(
            "{}/repos/{REPO}/issues/comments/{}",
            gh.ghes_url(),
            created.json()["id"]
        )
    );
    assert_eq!(gh.comments(REPO, 7).len(), 4);

    let page = ghes.get(&format!("/repos/{REPO}/issues/7/comments?per_page=2"));
    assert_eq!(
        page.link("next"),
        Some(format!(
            "{}/repos/{REPO}/issues/7/comments?per_page=2&page=2",
            gh.ghes_url()
        ))
    );
    let second = ghes.get(&page.link("next").unwrap());
    assert_eq!(second.json()[1]["body"], "via GHES");
    assert_status(&ghes.get("/user"), 200);
    assert_status(&ghes.get("/api/v3/user"), 404);

    let log = gh.requests();
    assert!(log.iter().all(|r| r.ghes), "{log:#?}");
    assert_eq!(log[0].path, format!("/repos/{REPO}/issues/7/comments"));
    assert_eq!(log[1].query, "per_page=2");
    assert_eq!(log[3].path, "/user");
    assert_eq!(log[4].path, "/api/v3/user");

    Client::bearer(gh.url(), TOKEN).get("/user");
    assert!(!gh.requests().last().unwrap().ghes);
}

#[test]
fn comment_bodies_are_limited_in_characters_not_bytes() {
    let (gh, client) = fake_with_pr();
    let at_limit = "é".repeat(65_536);
    assert_eq!(at_limit.len(), 131_072);
    let created = client.post_comment(7, &at_limit);
    assert_status(&created, 201);
    let id = created.json()["id"].as_u64().unwrap();
    assert_eq!(gh.comment(id).unwrap().body, at_limit);

    let too_long = client.post_comment(7, &"a".repeat(65_537));
    assert_status(&too_long, 422);
    let err = too_long.json();
    assert_eq!(err["message"], "Validation Failed");
    assert_eq!(
        err["errors"],
        json!([{
            "resource": "IssueComment",
            "code": "custom",
            "field": "body",
            "message": "body is too long (maximum is 65536 characters)",
        }])
    );
    assert!(err["documentation_url"].is_string());
    assert_eq!(gh.comments(REPO, 7).len(), 1);

    let edit = client.edit_comment("PATCH", id, &"ü".repeat(65_537));
    assert_status(&edit, 422);
    assert_eq!(gh.comment(id).unwrap().body, at_limit);

    let no_body = client.call(
        "POST",
        &format!("/repos/{REPO}/issues/7/comments"),
        Some(json!({ "title": "x" })),
    );
    assert_status(&no_body, 422);
}

#[test]
fn only_a_comment_s_author_may_change_it_and_every_attempt_is_recorded() {
    let (gh, client) = fake_with_pr();
    let foreign = gh.add_comment(REPO, 7, "mallory", "<!-- tfgate {} -->\ncopied marker");
    let own = client.post_comment(7, "mine").json()["id"]
        .as_u64()
        .unwrap();

    let refused = client.edit_comment("PATCH", foreign, "overwritten");
    assert_status(&refused, 403);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("mallory")
    );
    assert_status(
        &client.call(
            "DELETE",
            &format!("/repos/{REPO}/issues/comments/{foreign}"),
            None,
        ),
        403,
    );
    assert_eq!(
        gh.comment(foreign).unwrap().body,
        "<!-- tfgate {} -->\ncopied marker"
    );

    assert_status(&client.edit_comment("PATCH", own, "patched"), 200);
    let posted = client.edit_comment("POST", own, "posted");
    assert_status(&posted, 200);
    assert_eq!(posted.json()["body"], "posted");
    assert_eq!(gh.comment(own).unwrap().body, "posted");

    gh.strict_authorship(false);
    assert_status(
        &client.edit_comment("PATCH", foreign, "as a repo writer"),
        200,
    );
    assert_eq!(gh.comment(foreign).unwrap().body, "as a repo writer");

    let deleted = client.call(
        "DELETE",
        &format!("/repos/{REPO}/issues/comments/{own}"),
        None,
    );
    assert_status(&deleted, 204);
    assert_eq!(deleted.body, "");
    assert!(gh.comment(own).is_none());

    let attempts: Vec<_> = gh
        .edit_attempts()
        .into_iter()
        .map(|a| (a.comment_id, a.method.clone(), a.allowed, a.is_foreign()))
        .collect();
    assert_eq!(
        attempts,
        [
            (foreign, "PATCH".to_owned(), false, true),
            (foreign, "DELETE".to_owned(), false, true),
            (own, "PATCH".to_owned(), true, false),
            (own, "POST".to_owned(), true, false),
            (foreign, "PATCH".to_owned(), true, true),
            (own, "DELETE".to_owned(), true, false),
        ]
    );
}

#[test]
fn seeded_bodies_can_change_behind_the_client_s_back() {
    let (gh, client) = fake_with_pr();
    let id = gh.add_comment(REPO, 7, BOT, "v1");
    gh.set_comment_body(id, "v2");
    let fetched = client
        .get(&format!("/repos/{REPO}/issues/comments/{id}"))
        .json();
    assert_eq!(fetched["body"], "v2");
    assert_simple_user(&fetched["user"], BOT, "Bot");
}

#[test]
fn server_errors_are_consumed_one_request_at_a_time() {
    let (gh, client) = fake_with_pr();
    gh.fail_next(2, Fault::ServerError(502));
    gh.fail_next(1, Fault::ServerError(503));
    assert_eq!(gh.pending_faults(), 3);
    let statuses: Vec<u16> = (0..4).map(|_| client.get("/user").status).collect();
    assert_eq!(statuses, [502, 502, 503, 200]);
    assert_eq!(gh.pending_faults(), 0);

    let log = gh.requests();
    assert_eq!(log[0].fault, Some(Fault::ServerError(502)));
    assert_eq!(log[3].fault, None);
    assert_eq!(log[0].login.as_deref(), Some(BOT));

    gh.fail_next(1, Fault::ServerError(500));
    let failed = client.post_comment(7, "not created");
    assert_status(&failed, 500);
    assert_eq!(failed.json()["message"], "Internal Server Error");
    assert!(gh.comments(REPO, 7).is_empty());
}

#[test]
fn a_rate_limited_request_gets_429_with_retry_after() {
    let (gh, client) = fake_with_pr();
    gh.fail_next(
        1,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let limited = client.post_comment(7, "later");
    assert_status(&limited, 429);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert!(gh.comments(REPO, 7).is_empty());
    assert_status(&client.post_comment(7, "now"), 201);
}

#[test]
fn a_secondary_rate_limit_is_403_with_retry_after_or_an_imminent_reset() {
    let (gh, client) = fake_with_pr();
    gh.fail_next(
        1,
        Fault::SecondaryRateLimit {
            retry_after_secs: Some(3),
        },
    );
    gh.fail_next(
        1,
        Fault::SecondaryRateLimit {
            retry_after_secs: None,
        },
    );

    let with_retry = client.get("/user");
    assert_status(&with_retry, 403);
    assert_eq!(
        with_retry.json()["message"],
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    );
    assert!(
        with_retry.json()["documentation_url"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/")
    );
    assert_eq!(with_retry.header("retry-after"), Some("3"));
    assert_ne!(with_retry.header("x-ratelimit-remaining"), Some("0"));

    let without = client.get("/user");
    assert_status(&without, 403);
    assert_eq!(without.header("retry-after"), None);
    assert_eq!(without.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = without
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    let ahead = reset - chrono::Utc::now().timestamp();
    assert!((0..=2).contains(&ahead), "reset {ahead}s ahead");

    assert_status(&client.get("/user"), 200);
}

#[test]
fn a_primary_rate_limit_is_403_with_no_requests_remaining() {
    let (gh, client) = fake_with_pr();
    gh.fail_next(1, Fault::PrimaryRateLimit);
    let limited = client.get(&format!("/repos/{REPO}/pulls/7"));
    assert_status(&limited, 403);
    assert!(
        limited.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("API rate limit exceeded")
    );
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(
        limited.header("x-ratelimit-used"),
        limited.header("x-ratelimit-limit")
    );
    let reset: i64 = limited
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > chrono::Utc::now().timestamp() - 1);
}

#[test]
fn a_lost_response_still_performs_the_write() {
    let (gh, client) = fake_with_pr();
    gh.fail_next(1, Fault::LoseResponseAfterWrite);
    let lost = client.post_comment(7, "did it land?");
    assert_status(&lost, 502);
    let comments = gh.comments(REPO, 7);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "did it land?");
    assert_eq!(gh.requests()[0].fault, Some(Fault::LoseResponseAfterWrite));
    assert_eq!(gh.requests()[0].status, 502);

    gh.fail_next(1, Fault::LoseResponseAfterWrite);
    assert_status(&client.edit_comment("PATCH", comments[0].id, "edited"), 502);
    assert_eq!(gh.comment(comments[0].id).unwrap().body, "edited");
}

#[test]
fn a_scoped_fault_waits_for_a_matching_request() {
    let (gh, client) = fake_with_pr();
    gh.fail_next_on(
        "post",
        &format!("/repos/{REPO}/issues/"),
        1,
        Fault::ServerError(502),
    );
    assert_status(&client.get("/user"), 200);
    assert_status(
        &client.get(&format!("/repos/{REPO}/issues/7/comments")),
        200,
    );
    assert_eq!(gh.pending_faults(), 1);
    assert_status(&client.post_comment(7, "first try"), 502);
    assert_status(&client.post_comment(7, "second try"), 201);
    assert_eq!(gh.comments(REPO, 7).len(), 1);

    // Scoped to the unprefixed path, it also matches requests under /api/v3.
    gh.fail_next_on("GET", "/user", 1, Fault::ServerError(503));
    assert_status(&Client::bearer(gh.ghes_url(), TOKEN).get("/user"), 503);
}

#[test]
fn every_response_carries_rate_limit_headers() {
    let (gh, client) = fake_with_pr();
    let answers = [
        client.get("/user"),
        client.get(&format!("/repos/{REPO}/pulls/7")),
        client.get("/nope"),
        client.post_comment(7, "x"),
    ];
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.header("x-ratelimit-limit"), Some("5000"));
        assert_eq!(
            answer.header("x-ratelimit-used"),
            Some((i + 1).to_string().as_str())
        );
        assert_eq!(
            answer.header("x-ratelimit-remaining"),
            Some((4999 - i).to_string().as_str())
        );
        assert_eq!(answer.header("x-ratelimit-resource"), Some("core"));
        let reset: i64 = answer.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > chrono::Utc::now().timestamp());
    }
    drop(gh);
}

#[test]
fn the_request_log_counts_by_method_and_path_prefix() {
    let (gh, client) = fake_with_pr();
    client.get(&format!("/repos/{REPO}/issues/7/comments?per_page=100"));
    client.post_comment(7, "a");
    client.post_comment(7, "b");
    client.get("/user");

    assert_eq!(
        gh.count("POST", &format!("/repos/{REPO}/issues/7/comments")),
        2
    );
    assert_eq!(gh.count("get", "/repos/"), 1);
    assert_eq!(gh.count("GET", "/"), 2);
    let log = gh.requests();
    assert_eq!(log[0].query, "per_page=100");
    assert_eq!(log[1].body, json!({ "body": "a" }).to_string());
    assert_eq!(log[1].status, 201);

    gh.clear_requests();
    assert!(gh.requests().is_empty());
    assert_eq!(gh.comments(REPO, 7).len(), 2);
}

#[test]
fn dropping_the_fake_stops_the_server() {
    let gh = GitHubFake::start();
    let addr = gh.addr();
    assert_status(&send("GET", &format!("{}/user", gh.url()), None, None), 401);
    drop(gh);
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening on {addr}"
    );
}

#[test]
fn artifacts_are_listed_by_run_and_name_and_served_from_another_host() {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Bot);
    gh.add_pr(REPO, 7, HEAD);
    let first = gh.add_artifact(REPO, 42, "plan of prod", b"first".to_vec());
    let second = gh.add_artifact(REPO, 42, "plan of prod", b"second".to_vec());
    gh.add_artifact(REPO, 42, "other", b"x".to_vec());
    gh.add_artifact(REPO, 43, "plan of prod", b"y".to_vec());
    let c = Client::bearer(gh.url(), TOKEN);

    let page = c.get(&format!(
        "/repos/{REPO}/actions/runs/42/artifacts?name=plan%20of%20prod&per_page=1"
    ));
    assert_eq!(page.status, 200);
    let json = page.json();
    assert_eq!(json["total_count"], 2);
    let a = &json["artifacts"][0];
    assert_eq!(a["id"], first);
    assert_eq!(a["name"], "plan of prod");
    assert_eq!(a["size_in_bytes"], 5);
    assert_eq!(a["expired"], false);
    assert_eq!(a["workflow_run"]["id"], 42);
    assert_eq!(
        a["archive_download_url"],
        format!("{}/repos/{REPO}/actions/artifacts/{first}/zip", gh.url())
    );
    let next = c.get(&page.link("next").expect("a next page"));
    assert_eq!(next.json()["artifacts"][0]["id"], second);
    assert_eq!(
        c.get(&format!("/repos/{REPO}/actions/runs/42/artifacts"))
            .json()["total_count"],
        3
    );
    let anonymous = send(
        "GET",
        &format!("{}/repos/{REPO}/actions/runs/42/artifacts", gh.url()),
        None,
        None,
    );
    assert_eq!(anonymous.status, 401);

    // The download is a redirect to another host, which serves the bytes only without a token.
    let zip = c.get(&format!("/repos/{REPO}/actions/artifacts/{second}/zip"));
    assert_eq!(zip.status, 302);
    let location = zip.header("location").expect("a Location").to_owned();
    assert!(
        location.starts_with("http://") && !location.starts_with(&gh.url()),
        "{location}"
    );
    let served = send("GET", &location, None, None);
    assert_eq!((served.status, served.body.as_str()), (200, "second"));
    let with_token = send("GET", &location, Some(&format!("Bearer {TOKEN}")), None);
    assert_eq!(with_token.status, 400);
    let seen: Vec<bool> = gh
        .storage_requests()
        .iter()
        .map(|r| r.authorization)
        .collect();
    assert_eq!(seen, [false, true]);

    gh.expire_artifact(second);
    let listed = c.get(&format!(
        "/repos/{REPO}/actions/runs/42/artifacts?name=plan%20of%20prod"
    ));
    assert_eq!(listed.json()["artifacts"][1]["expired"], true);
    let gone = c.get(&format!("/repos/{REPO}/actions/artifacts/{second}/zip"));
    assert_eq!(gone.status, 410);
    assert_eq!(gone.json()["message"], "Artifact has expired");
    assert_eq!(
        c.get(&format!("/repos/{REPO}/actions/artifacts/999/zip"))
            .status,
        404
    );
    assert_eq!(
        c.get(&format!("/repos/other/repo/actions/artifacts/{first}/zip"))
            .status,
        404
    );
}

#[test]
fn labels_are_added_created_in_the_repository_listed_and_removed_like_githubs() {
    let (gh, client) = fake_with_pr();
    let path = format!("/repos/{REPO}/issues/7/labels");
    let listed = client.get(&path);
    assert_status(&listed, 200);
    assert_eq!(listed.json(), json!([]));

    // Added: created in the repository on first use, answered with the PR's labels.
    let added = client.call(
        "POST",
        &path,
        Some(json!({ "labels": ["tfgate:changes", "bug"] })),
    );
    assert_status(&added, 200);
    let names = |a: &Answer| -> Vec<String> {
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&added), ["tfgate:changes", "bug"]);
    let first = &added.json()[0];
    assert_eq!(first["color"], "ededed");
    assert!(first["id"].is_u64() && first["node_id"].is_string());
    assert_eq!(gh.repo_labels(REPO), ["tfgate:changes", "bug"]);
    // Names are unique without regard to case; adding twice keeps one; a bare array works.
    let again = client.call(
        "POST",
        &path,
        Some(json!(["TFGATE:CHANGES", "tfgate:destroy"])),
    );
    assert_eq!(names(&again), ["tfgate:changes", "bug", "tfgate:destroy"]);
    assert_eq!(
        gh.labels(REPO, 7),
        ["tfgate:changes", "bug", "tfgate:destroy"]
    );

    // Removed by its percent-encoded name; not on the PR: 404 "Label does not exist".
    let removed = client.call("DELETE", &format!("{path}/tfgate%3Adestroy"), None);
    assert_status(&removed, 200);
    assert_eq!(names(&removed), ["tfgate:changes", "bug"]);
    let gone = client.call("DELETE", &format!("{path}/tfgate%3Adestroy"), None);
    assert_status(&gone, 404);
    assert_eq!(gone.json()["message"], "Label does not exist");
    let never = client.call("DELETE", &format!("{path}/nothing"), None);
    assert_status(&never, 404);
    // The repository keeps the label; another PR's labels are its own.
    assert_eq!(gh.repo_labels(REPO).len(), 3);
    gh.add_pr(REPO, 8, MERGE);
    assert_eq!(
        client.get(&format!("/repos/{REPO}/issues/8/labels")).json(),
        json!([])
    );

    // Unknown PRs and bodies GitHub refuses.
    assert_status(&client.get(&format!("/repos/{REPO}/issues/99/labels")), 404);
    let empty = client.call("POST", &path, Some(json!({ "labels": [] })));
    assert_status(&empty, 422);
    let blank = client.call("POST", &path, Some(json!({ "labels": [" "] })));
    assert_status(&blank, 422);
    let unauthenticated = send("GET", &format!("{}{path}", gh.url()), None, None);
    assert_status(&unauthenticated, 401);
}

#[test]
fn a_prs_labels_are_listed_page_by_page() {
    let (gh, client) = fake_with_pr();
    // GitHub allows 100 labels on an issue and serves 30 a page unless asked for more.
    for i in 0..45 {
        gh.add_label(REPO, 7, &format!("label-{i:02}"));
    }
    let path = format!("/repos/{REPO}/issues/7/labels");
    let first = client.get(&path);
    assert_eq!(first.json().as_array().unwrap().len(), 30);
    let next = first.link("next").expect("a next page");
    assert_eq!(next, format!("{}{path}?page=2", gh.url()));
    let second = client.get(&next);
    assert_eq!(second.json().as_array().unwrap().len(), 15);
    assert_eq!(second.json()[14]["name"], "label-44");
    assert_eq!(second.link("next"), None);
    let all = client.get(&format!("{path}?per_page=100"));
    assert_eq!(all.json().as_array().unwrap().len(), 45);
    assert_eq!(all.link("next"), None);
    // No more than 100 on one issue.
    let names: Vec<String> = (0..60).map(|i| format!("more-{i}")).collect();
    let over = client.call("POST", &path, Some(json!({ "labels": names })));
    assert_status(&over, 422);
}

//! The PR comment on GitHub: `tfgate plan` and `tfgate comment` against the GitHub fake, through
//! octocrab exactly as in production; and the adapter's comparison of two commits, called
//! directly.

use std::path::PathBuf;
use std::time::Duration;

use tfgate::github::octo::{OctoOptions, OctoPullRequests};
use tfgate::github::retry::RetryPolicy;
use tfgate::github::{CommitRelation, GithubError, PullRequests};

use crate::support::actions::{
    BOT, HEAD, MERGE, PR, REPO, TOKEN, marker, run_env, tfgate_comments,
};
use crate::support::github::{Fault, GitHubFake, Kind};
use crate::support::*;

/// A GitHub Actions run of `event` at the merge commit, in run 99, talking to the fake with an
/// installation token (as Actions' GITHUB_TOKEN is).
fn actions_env(gh: &GitHubFake, event: &str, payload: &str) -> TestEnv {
    let mut env = run_env(gh, event, payload, MERGE);
    env.set("GITHUB_RUN_ID", "99");
    env
}

fn pr_payload(number: u64, head: &str) -> String {
    format!(
        r#"{{"action":"synchronize","number":{number},"pull_request":{{"number":{number},"head":{{"sha":"{head}","ref":"feature"}},"base":{{"ref":"main"}}}}}}"#
    )
}

fn pr_env(gh: &GitHubFake) -> TestEnv {
    gh.add_pr(REPO, PR, HEAD);
    actions_env(gh, "pull_request", &pr_payload(PR, HEAD))
}

#[test]
fn first_run_creates_and_a_rerun_updates_in_place() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("demo");
    let run = env.plan(&root, &[]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains(&format!("tfgate: commented on {REPO}#{PR}")),
        "{}",
        run.stderr
    );
    let comments = tfgate_comments(&gh);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].author_login, BOT);
    let body = &comments[0].body;
    assert!(body.contains(&format!("\"head_sha\":\"{HEAD}\"")), "{body}");
    assert!(
        body.contains("https://github.com/acme/infra/actions/runs/99"),
        "{body}"
    );
    let bundle = only_bundle(&root);
    assert!(
        bundle.to_str().unwrap().contains(&format!("/pr-{PR}/")),
        "{}",
        bundle.display()
    );
    assert_eq!(
        &std::fs::read_to_string(bundle.join("comment.md")).unwrap(),
        body
    );

    let run = env.plan(&root, &["--", "-var=environment=production"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("tfgate: updated the comment"),
        "{}",
        run.stderr
    );
    let after = tfgate_comments(&gh);
    assert_eq!(after.len(), 1, "still one comment");
    assert_eq!(after[0].id, comments[0].id, "edited in place");
    assert!(after[0].body.contains("production.example.com"));
    assert_eq!(gh.count("POST", "/repos/acme/infra/issues/7/comments"), 1);
    assert_eq!(gh.count("PATCH", "/repos/acme/infra/issues/comments/"), 1);
}

#[test]
fn an_unchanged_body_makes_no_write() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("nochange");
    env.plan(&root, &[]).assert_code(0);
    let bundle = only_bundle(&root);
    gh.clear_requests();
    let run = env.run(&["comment", bundle.to_str().unwrap()]);
    run.assert_code(0);
    assert!(run.stderr.contains("is up to date"), "{}", run.transcript());
    let writes: Vec<_> = gh.requests().into_iter().filter(|r| r.is_write()).collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[test]
fn roots_and_workspaces_each_get_their_own_comment() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let demo = env.stage("demo");
    let changes = env.stage("changes");
    env.plan(&demo, &[]).assert_code(0);
    env.plan(&changes, &[]).assert_code(0);
    env.plan(&demo, &["--workspace", "staging"]).assert_code(0);
    // And again: all three are updated, none duplicated.
    env.plan(&demo, &[]).assert_code(0);
    env.plan(&changes, &[]).assert_code(0);
    env.plan(&demo, &["--workspace", "staging"]).assert_code(0);
    let comments = tfgate_comments(&gh);
    assert_eq!(comments.len(), 3, "{comments:#?}");
    let metas: Vec<(String, String)> = comments
        .iter()
        .map(|c| {
            let v = marker(&c.body);
            (
                v["root"].as_str().unwrap().to_string(),
                v["workspace"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        metas.iter().filter(|(_, w)| w == "staging").count(),
        1,
        "{metas:?}"
    );
    assert_eq!(gh.count("POST", "/repos/acme/infra/issues/7/comments"), 3);
}

#[test]
fn a_comment_by_someone_else_carrying_the_marker_is_left_alone() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("demo");
    env.plan(&root, &[]).assert_code(0);
    let ours = tfgate_comments(&gh).remove(0);
    // Someone copies our marker into a comment of their own, then a new plan runs.
    let forged = gh.add_comment(
        REPO,
        PR,
        "mallory",
        &ours.body.replace("Terraform plan", "Totally safe plan"),
    );
    gh.set_comment_body(ours.id, "deleted by a maintainer");
    env.plan(&root, &[]).assert_code(0);
    assert_eq!(gh.comment(forged).unwrap().author_login, "mallory");
    assert!(
        gh.comment(forged)
            .unwrap()
            .body
            .contains("Totally safe plan"),
        "mallory's comment was edited"
    );
    assert!(
        gh.edit_attempts().iter().all(|a| !a.is_foreign()),
        "{:?}",
        gh.edit_attempts()
    );
    // Our old comment lost its marker, so a new one was created beside the forged one.
    let ours_now: Vec<_> = tfgate_comments(&gh)
        .into_iter()
        .filter(|c| c.author_login == BOT)
        .collect();
    assert_eq!(ours_now.len(), 1);
    assert_ne!(ours_now[0].id, forged);
}

/// API calls for an update on a PR with `others` other comments: ceil(total/100) list
/// requests, one write, one read-back of the written comment, two identity lookups (`GET /user`,
/// which Actions' token may not call, then GraphQL's `viewer`).
/// (docs/benchmarks.md cites these.) The read-back is what lets the newest of two runs that
/// update at the same moment see that the other's older plan landed after its own, and put
/// the newest back; it reads one comment, not the list.
fn update_calls(others: usize) -> (usize, usize, usize, usize, usize) {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    for i in 0..others {
        gh.add_comment(REPO, PR, "reviewer", &format!("comment {i}"));
    }
    let root = env.stage("demo");
    env.plan(&root, &[]).assert_code(0);
    gh.clear_requests();
    env.plan(&root, &["--", "-var=environment=qa"])
        .assert_code(0);
    let lists = gh.count("GET", "/repos/acme/infra/issues/7/comments");
    let writes = gh.requests().iter().filter(|r| r.is_write()).count();
    let read_backs = gh.count("GET", "/repos/acme/infra/issues/comments/");
    let identity = gh.count("GET", "/user") + gh.count("POST", "/graphql");
    (lists, writes, read_backs, identity, gh.requests().len())
}

#[test]
fn api_calls_for_an_update_are_bounded_by_pagination() {
    for (others, expected_lists) in [(0, 1), (99, 1), (250, 3)] {
        let (lists, writes, read_backs, identity, total) = update_calls(others);
        assert_eq!(
            lists, expected_lists,
            "list requests with {others} other comments"
        );
        assert_eq!(writes, 1, "writes with {others} other comments");
        assert_eq!(read_backs, 1, "read-backs with {others} other comments");
        assert_eq!(identity, 2, "GET /user, refused, then GraphQL's viewer");
        assert_eq!(
            total,
            lists + writes + read_backs + identity,
            "no other requests"
        );
    }
}

/// A first comment costs one more list than before it: the look for a comment another run
/// posted at the same moment.
#[test]
fn api_calls_for_a_first_comment() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("nochange");
    env.plan(&root, &[]).assert_code(0);
    assert_eq!(gh.count("GET", "/repos/acme/infra/issues/7/comments"), 2);
    assert_eq!(gh.count("POST", "/repos/acme/infra/issues/7/comments"), 1);
    let others = gh
        .requests()
        .iter()
        .filter(|r| {
            !r.path.starts_with("/repos/acme/infra/issues/7/comments")
                && r.path != "/user"
                && r.path != "/graphql"
        })
        .count();
    assert_eq!(others, 0, "{:?}", gh.requests());
}

#[test]
fn a_pr_with_250_other_comments_is_searched_to_the_end() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    for i in 0..250 {
        gh.add_comment(
            REPO,
            PR,
            "reviewer",
            &format!("comment {i} with `code` and <!-- html -->"),
        );
    }
    let root = env.stage("demo");
    env.plan(&root, &[]).assert_code(0);
    let mine = tfgate_comments(&gh);
    assert_eq!(mine.len(), 1);
    assert_eq!(
        gh.comments(REPO, PR).last().unwrap().id,
        mine[0].id,
        "ours is on page 3"
    );
    gh.clear_requests();
    env.plan(&root, &["--", "-var=environment=qa"])
        .assert_code(0);
    assert_eq!(tfgate_comments(&gh).len(), 1);
    assert_eq!(gh.count("GET", "/repos/acme/infra/issues/7/comments"), 3);
    assert_eq!(gh.count("PATCH", "/repos/acme/infra/issues/comments/"), 1);
    let queries: Vec<String> = gh
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/comments"))
        .map(|r| r.query.clone())
        .collect();
    assert!(
        queries.iter().all(|q| q.contains("per_page=100")),
        "{queries:?}"
    );
}

#[test]
fn transient_faults_are_retried_without_duplicates() {
    for fault in [
        Fault::ServerError(502),
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::SecondaryRateLimit {
            retry_after_secs: Some(1),
        },
        Fault::SecondaryRateLimit {
            retry_after_secs: None,
        },
        Fault::PrimaryRateLimit,
    ] {
        let gh = GitHubFake::start();
        let mut env = pr_env(&gh);
        // The workflow uploads the bundle, so no warning is due but a failure's.
        env.set("TFGATE_ARTIFACT_NAME", "tfgate-plan");
        let root = env.stage("nochange");
        gh.fail_next(2, fault.clone());
        let run = env.plan(&root, &[]);
        run.assert_code(0);
        assert!(!run.stderr.contains("warning"), "{fault:?}: {}", run.stderr);
        assert_eq!(tfgate_comments(&gh).len(), 1, "{fault:?}");
        assert_eq!(gh.pending_faults(), 0);
    }
}

#[test]
fn a_create_whose_response_was_lost_is_not_repeated() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("nochange");
    gh.fail_next_on(
        "POST",
        "/repos/acme/infra/issues/7/comments",
        1,
        Fault::LoseResponseAfterWrite,
    );
    let run = env.plan(&root, &[]);
    run.assert_code(0);
    assert_eq!(tfgate_comments(&gh).len(), 1, "{}", run.stderr);
    assert_eq!(gh.count("POST", "/repos/acme/infra/issues/7/comments"), 1);
}

#[test]
fn an_unrecoverable_failure_is_a_warning_and_keeps_the_plans_exit_code() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("demo");
    gh.fail_next(50, Fault::ServerError(503));
    let run = env.plan(&root, &["--detailed-exitcode"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("::warning::could not post the PR comment"),
        "{}",
        run.stderr
    );
    assert!(only_bundle(&root).join("comment.md").is_file());

    // Asked for, the comment is required: exit 1.
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    gh.fail_next(50, Fault::ServerError(503));
    let run = env.plan(&root, &["--require-comment"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("error: could not post the PR comment"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_or_missing_token_is_a_warning() {
    let gh = GitHubFake::start();
    let mut env = pr_env(&gh);
    env.set("GITHUB_TOKEN", "not-a-known-token");
    let root = env.stage("nochange");
    let run = env.plan(&root, &[]);
    run.assert_code(0);
    assert!(run.stderr.contains("401 Bad credentials"), "{}", run.stderr);
    assert!(!run.stderr.contains("not-a-known-token"), "{}", run.stderr);

    env.set("GITHUB_TOKEN", "");
    let run = env.plan(&root, &[]);
    run.assert_code(0);
    assert!(run.stderr.contains("no GitHub token"), "{}", run.stderr);
}

#[test]
fn a_forks_read_only_token_is_a_warning_with_a_way_out() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("nochange");
    gh.fail_next_on(
        "POST",
        "/repos/acme/infra/issues/7/comments",
        1,
        Fault::ReadOnlyToken,
    );
    let run = env.plan(&root, &["--detailed-exitcode"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("::warning::could not post the PR comment: GitHub refused the request (403): Resource not accessible by integration"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("tfgate comment BUNDLE"),
        "the hint names the way out: {}",
        run.stderr
    );
    assert_eq!(
        gh.count("POST", "/repos/acme/infra/issues/7/comments"),
        1,
        "a permission error is not retried"
    );
    assert!(tfgate_comments(&gh).is_empty());
    // The workflow_run job with a writable token posts the bundle's comment.
    let bundle = only_bundle(&root);
    env.run(&["comment", bundle.to_str().unwrap(), "--pr", "7"])
        .assert_code(0);
    assert_eq!(tfgate_comments(&gh).len(), 1);
}

#[test]
fn github_enterprise_server_api_prefix() {
    let gh = GitHubFake::start();
    let mut env = pr_env(&gh);
    env.set("GITHUB_API_URL", gh.ghes_url());
    let root = env.stage("nochange");
    env.plan(&root, &[]).assert_code(0);
    assert_eq!(tfgate_comments(&gh).len(), 1);
    let requests = gh.requests();
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r.ghes),
        "{requests:?}"
    );
}

#[test]
fn a_personal_token_comments_as_its_user() {
    let gh = GitHubFake::start();
    let mut env = pr_env(&gh);
    gh.add_user("ghp_personal0123", "octo-admin", Kind::User);
    env.set("GITHUB_TOKEN", "ghp_personal0123");
    let root = env.stage("nochange");
    env.plan(&root, &[]).assert_code(0);
    env.plan(&root, &[]).assert_code(0);
    let mine = tfgate_comments(&gh);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].author_login, "octo-admin");
    assert_eq!(gh.count("GET", "/user"), 2, "one identity lookup per run");
}

#[test]
fn event_payloads() {
    // pull_request_target carries the PR like pull_request.
    let gh = GitHubFake::start();
    gh.add_pr(REPO, PR, HEAD);
    let env = actions_env(&gh, "pull_request_target", &pr_payload(PR, HEAD));
    let root = env.stage("nochange");
    env.plan(&root, &[]).assert_code(0);
    assert_eq!(tfgate_comments(&gh).len(), 1);

    // push and workflow_dispatch name no PR: no comment, no API call, commit-scoped bundle.
    for (event, payload) in [
        (
            "push",
            r#"{"ref":"refs/heads/main","after":"2222222222222222222222222222222222222222"}"#,
        ),
        (
            "workflow_dispatch",
            r#"{"ref":"refs/heads/main","inputs":{}}"#,
        ),
    ] {
        let gh = GitHubFake::start();
        let env = actions_env(&gh, event, payload);
        let root = env.stage("nochange");
        let run = env.plan(&root, &[]);
        run.assert_code(0);
        assert!(gh.requests().is_empty(), "{event}: {:?}", gh.requests());
        assert!(
            only_bundle(&root)
                .to_str()
                .unwrap()
                .contains("/commit-2222222222222222222222222222222222222222/")
        );
    }

    // workflow_dispatch with --pr: the head SHA is asked of GitHub.
    let gh = GitHubFake::start();
    gh.add_pr(REPO, 9, "3333333333333333333333333333333333333333");
    let env = actions_env(&gh, "workflow_dispatch", r#"{"ref":"refs/heads/main"}"#);
    let root = env.stage("nochange");
    env.plan(&root, &["--pr", "9"]).assert_code(0);
    let c = gh.comments(REPO, 9);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].body
            .contains("\"head_sha\":\"3333333333333333333333333333333333333333\"")
    );

    // An event tfgate does not read says so; a broken payload is a warning.
    let gh = GitHubFake::start();
    let env = actions_env(&gh, "schedule", "{}");
    let root = env.stage("nochange");
    let run = env.plan(&root, &[]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("the `schedule` event names no pull request"),
        "{}",
        run.stderr
    );
    let env = actions_env(&gh, "pull_request", "{not json");
    let run = env.plan(&root, &[]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("cannot read the `pull_request` event payload"),
        "{}",
        run.stderr
    );
}

#[test]
fn outside_actions_repo_and_pr_flags_are_enough() {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, "tfgate-bot", Kind::Bot);
    gh.add_pr(REPO, 12, HEAD);
    let mut env = TestEnv::new();
    env.set("TFGATE_GITHUB_TOKEN", TOKEN);
    let root = env.stage("nochange");
    let run = env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--repo",
        REPO,
        "--pr",
        "12",
        "--github-api-url",
        &gh.url(),
    ]);
    run.assert_code(0);
    let c = gh.comments(REPO, 12);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].author_login, "tfgate-bot");
}

#[test]
fn the_token_never_appears_in_any_output() {
    let gh = GitHubFake::start();
    let env = pr_env(&gh);
    let root = env.stage("sensitive");
    gh.fail_next(1, Fault::ServerError(502));
    let run = env.plan(&root, &["-vv"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("DEBUG"),
        "-vv shows debug logs: {}",
        run.stderr
    );
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "{}",
        run.transcript()
    );
    let help = env.run(&["plan", "--help"]);
    assert!(!help.stdout.contains(TOKEN));
    for (path, bytes) in files_under(&root.join(".tfgate")) {
        assert!(!contains(&bytes, TOKEN), "{}", path.display());
    }
    for name in ["step_summary", "github_output"] {
        let p: PathBuf = env.path().join(name);
        assert!(
            !std::fs::read_to_string(&p)
                .unwrap_or_default()
                .contains(TOKEN)
        );
    }
}

// ----- comparing two commits, through the octocrab adapter ---------------------------------

const ROOT: &str = "a000000000000000000000000000000000000001";
const MAIN_1: &str = "a000000000000000000000000000000000000002";
const MAIN_2: &str = "a000000000000000000000000000000000000003";
const FEATURE_1: &str = "b000000000000000000000000000000000000001";
const FEATURE_2: &str = "b000000000000000000000000000000000000002";
const ORPHAN: &str = "c000000000000000000000000000000000000001";
const UNKNOWN: &str = "ffffffffffffffffffffffffffffffffffffffff";

/// `main` is ROOT ← MAIN_1 ← MAIN_2; `feature` branched at MAIN_1: MAIN_1 ← FEATURE_1 ←
/// FEATURE_2. ORPHAN shares no history with either.
fn fake_with_history() -> GitHubFake {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Installation);
    gh.add_commit(REPO, ROOT, &[]);
    gh.add_commit(REPO, MAIN_1, &[ROOT]);
    gh.add_commit(REPO, MAIN_2, &[MAIN_1]);
    gh.add_commit(REPO, FEATURE_1, &[MAIN_1]);
    gh.add_commit(REPO, FEATURE_2, &[FEATURE_1]);
    gh.add_commit(REPO, ORPHAN, &[]);
    gh
}

/// `compare_commits` on acme/infra with the production adapter, retrying quickly.
fn compare(gh: &GitHubFake, base: &str, head: &str) -> Result<CommitRelation, GithubError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the adapter");
    runtime.block_on(async {
        let adapter = OctoPullRequests::new(OctoOptions {
            api_url: gh.url(),
            token: TOKEN.to_owned(),
            comment_author: None,
            proxy: Default::default(),
            policy: RetryPolicy {
                max_attempts: 3,
                max_total_wait: Duration::from_secs(5),
                base_backoff: Duration::from_millis(10),
            },
        })
        .expect("the adapter");
        adapter.compare_commits("acme", "infra", base, head).await
    })
}

#[test]
fn compare_commits_tells_identical_ahead_behind_and_diverged_apart() {
    let gh = fake_with_history();
    assert_eq!(
        compare(&gh, FEATURE_2, FEATURE_2),
        Ok(CommitRelation::Identical)
    );
    assert_eq!(compare(&gh, MAIN_1, FEATURE_2), Ok(CommitRelation::Ahead));
    assert_eq!(compare(&gh, ROOT, MAIN_2), Ok(CommitRelation::Ahead));
    assert_eq!(compare(&gh, FEATURE_2, MAIN_1), Ok(CommitRelation::Behind));
    assert_eq!(
        compare(&gh, MAIN_2, FEATURE_2),
        Ok(CommitRelation::Diverged)
    );
    assert_eq!(
        compare(&gh, FEATURE_1, MAIN_2),
        Ok(CommitRelation::Diverged)
    );

    let requests = gh.requests();
    assert_eq!(
        requests.len(),
        6,
        "one request per comparison: {requests:?}"
    );
    assert_eq!(
        requests[1].path,
        format!("/repos/acme/infra/compare/{MAIN_1}...{FEATURE_2}")
    );
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && r.query == "per_page=1" && r.status == 200),
        "{requests:?}"
    );
}

#[test]
fn compare_commits_with_an_unknown_commit_is_not_found() {
    let gh = fake_with_history();
    for (base, head) in [(MAIN_1, UNKNOWN), (UNKNOWN, MAIN_1)] {
        let err = compare(&gh, base, head).unwrap_err();
        assert!(matches!(err, GithubError::NotFound { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("commit {base} or {head} in acme/infra was not found on GitHub (404)")
        );
    }
    assert_eq!(
        gh.count("GET", "/repos/acme/infra/compare/"),
        2,
        "a 404 is not retried"
    );
}

#[test]
fn compare_commits_without_a_common_history_is_not_found() {
    let gh = fake_with_history();
    let err = compare(&gh, MAIN_2, ORPHAN).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "a common ancestor of {MAIN_2} and {ORPHAN} in acme/infra was not found on GitHub (404)"
        )
    );
}

#[test]
fn compare_commits_retries_a_transient_server_error() {
    let gh = fake_with_history();
    gh.fail_next_on(
        "GET",
        "/repos/acme/infra/compare/",
        2,
        Fault::ServerError(502),
    );
    assert_eq!(compare(&gh, MAIN_1, FEATURE_2), Ok(CommitRelation::Ahead));
    assert_eq!(gh.pending_faults(), 0);
    let statuses: Vec<u16> = gh.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [502, 502, 200]);
}

#[test]
fn compare_commits_gives_up_on_a_lasting_server_error() {
    let gh = fake_with_history();
    gh.fail_next(10, Fault::ServerError(503));
    let err = compare(&gh, MAIN_1, FEATURE_2).unwrap_err();
    assert!(
        matches!(err, GithubError::Unavailable { attempts: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn the_fakes_comparison_counts_commits_like_github() {
    let gh = fake_with_history();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body: serde_json::Value = runtime.block_on(async {
        let client = octocrab::Octocrab::builder()
            .base_uri(gh.url())
            .unwrap()
            .personal_token(TOKEN.to_owned())
            .build()
            .unwrap();
        client
            .get(
                format!("/repos/acme/infra/compare/{MAIN_2}...{FEATURE_2}"),
                None::<&()>,
            )
            .await
            .unwrap()
    });
    assert_eq!(body["status"], "diverged");
    assert_eq!(body["ahead_by"], 2, "FEATURE_1 and FEATURE_2");
    assert_eq!(body["behind_by"], 1, "MAIN_2");
    assert_eq!(body["total_commits"], 2);
    assert_eq!(body["base_commit"]["sha"], MAIN_2);
    assert_eq!(body["merge_base_commit"]["sha"], MAIN_1);
    assert_eq!(body["merge_base_commit"]["parents"][0]["sha"], ROOT);
    assert_eq!(body["commits"], serde_json::json!([]));
    assert_eq!(body["files"], serde_json::json!([]));
}

/// A "GitHub" that accepts connections and never answers; its URL.
fn silent_github() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

#[test]
fn a_github_that_never_answers_holds_the_comment_step_for_the_timeout_only() {
    let gh = GitHubFake::start();
    let mut env = pr_env(&gh);
    env.set("GITHUB_API_URL", silent_github());
    let root = env.stage("nochange");
    let started = std::time::Instant::now();
    let run = env.plan(&root, &["--github-timeout", "3s"]);
    let took = started.elapsed();
    run.assert_code(0);
    assert!(
        run.stderr.contains(
            "::warning::could not post the PR comment: GitHub did not answer within 3s (--github-timeout)"
        ),
        "{}",
        run.stderr
    );
    // Without the deadline, the first attempt alone waits 30 s for an answer, and all of them
    // 157 s; terraform's part of the run takes a few seconds.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(only_bundle(&root).join("comment.md").is_file());

    // `tfgate comment`, where the comment is required (exit 1), with the deadline from the
    // environment, then from `.tfgate.toml`.
    let bundle = only_bundle(&root);
    let comment = |env: &TestEnv, limit: &str| {
        let started = std::time::Instant::now();
        let run = env.run(&[
            "comment",
            bundle.to_str().unwrap(),
            "--chdir",
            root.to_str().unwrap(),
        ]);
        let took = started.elapsed();
        run.assert_code(1);
        assert!(
            run.stderr
                .contains(&format!("GitHub did not answer within {limit}")),
            "{}",
            run.stderr
        );
        assert!(took < Duration::from_secs(10), "took {took:?}");
    };
    env.set("TFGATE_GITHUB_TIMEOUT", "2s");
    comment(&env, "2s");
    let gh = GitHubFake::start();
    let mut env = pr_env(&gh);
    env.set("GITHUB_API_URL", silent_github());
    std::fs::write(root.join(".tfgate.toml"), "github_timeout = \"1s\"\n").unwrap();
    comment(&env, "1s");
}

#[test]
fn apply_s_lookup_of_the_merged_pr_ends_at_the_timeout_and_keeps_its_exit_code() {
    let gh = GitHubFake::start();
    let mut env = pr_env(&gh);
    env.set("GITHUB_API_URL", silent_github())
        .set("GITHUB_EVENT_NAME", "push");
    let root = env.stage("nochange");
    let started = std::time::Instant::now();
    let run = env.run(&[
        "apply",
        "--chdir",
        root.to_str().unwrap(),
        "--pr",
        "7",
        "--github-timeout",
        "2s",
    ]);
    let took = started.elapsed();
    run.assert_code(4);
    assert!(
        run.stderr.contains("cannot read pull request acme/infra#7")
            && run.stderr.contains("GitHub did not answer within 2s"),
        "{}",
        run.stderr
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

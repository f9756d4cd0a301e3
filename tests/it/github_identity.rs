//! Who tfgate's comments are written as, when the token may not call `GET /user`: a GitHub
//! App's installation token, whose comments are `my-app[bot]`'s. GraphQL's `viewer` says so;
//! when GitHub says nothing, tfgate warns and names `--comment-author`. A comment by anyone else
//! is never edited, and apply never trusts it. Real terraform, the GitHub fake, and for apply
//! the S3 backend and archive on moto_server.

use std::path::{Path, PathBuf};

use crate::support::actions::{Actions, HEAD, MERGE, PR, REPO, tfgate_comments};
use crate::support::github::{Fault, GitHubFake, Kind};
use crate::support::moto::Repository;
use crate::support::*;

/// A GitHub App's installation token (actions/create-github-app-token).
const APP_TOKEN: &str = "ghs_appInstallationToken0123456789";
const APP: &str = "my-app[bot]";
const ACTIONS_BOT: &str = "github-actions[bot]";

/// A `pull_request` run for PR 7 with the app's token, GitHub's API at `api_url`.
fn app_pr_env(api_url: &str) -> TestEnv {
    Actions::pull_request(api_url).token(APP_TOKEN).env()
}

/// The fake with PR 7 and the app's token.
fn fake() -> GitHubFake {
    let gh = GitHubFake::start();
    gh.add_user(APP_TOKEN, APP, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    gh
}

fn plan(env: &TestEnv, root: &Path, extra: &[&str]) -> Run {
    let run = env.plan(root, extra);
    run.assert_code(0);
    run
}

#[test]
fn an_app_token_finds_the_comment_it_wrote_through_graphql_s_viewer() {
    for api in ["github.com", "enterprise server"] {
        let gh = fake();
        let url = if api == "github.com" {
            gh.url()
        } else {
            gh.ghes_url()
        };
        let env = app_pr_env(&url);
        let root = env.stage("demo");
        let first = plan(&env, &root, &[]);
        let second = plan(&env, &root, &["--", "-var=environment=qa"]);
        let mine = tfgate_comments(&gh);
        assert_eq!(mine.len(), 1, "{api}: {mine:#?}");
        assert_eq!(mine[0].author_login, APP);
        assert!(mine[0].body.contains("qa.example.com"), "{api}");
        assert!(
            second.stderr.contains(&format!(
                "tfgate: updated the comment on {REPO}#{PR} (comment {})",
                mine[0].id
            )),
            "{api}: {}",
            second.transcript()
        );
        for run in [&first, &second] {
            assert!(
                !run.stderr.contains("--comment-author"),
                "{api}: no warning: {}",
                run.stderr
            );
        }
        // Per run: GET /user (refused), then GraphQL's viewer, at GitHub Enterprise Server's
        // /api/graphql (the fake answers 404 under /api/v3).
        let requests = gh.requests();
        let identity: Vec<_> = requests
            .iter()
            .filter(|r| r.path == "/user" || r.path == "/graphql")
            .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
            .collect();
        assert_eq!(
            identity,
            [
                ("GET", "/user", 403),
                ("POST", "/graphql", 200),
                ("GET", "/user", 403),
                ("POST", "/graphql", 200)
            ],
            "{api}"
        );
        assert!(requests.iter().all(|r| r.ghes == (api != "github.com")));
    }
}

#[test]
fn a_failing_viewer_is_retried_like_any_request() {
    let gh = fake();
    gh.fail_next_on("POST", "/graphql", 2, Fault::ServerError(502));
    let env = app_pr_env(&gh.url());
    let root = env.stage("nochange");
    let run = plan(&env, &root, &[]);
    assert!(!run.stderr.contains("--comment-author"), "{}", run.stderr);
    assert_eq!(gh.count("POST", "/graphql"), 3);
    plan(&env, &root, &[]);
    assert_eq!(tfgate_comments(&gh).len(), 1);
}

#[test]
fn when_github_will_not_say_who_the_token_is_a_warning_names_comment_author() {
    // GraphQL refuses the viewer in GraphQL's way (200 with errors), or with a 403.
    for refusal in ["graphql error", "403"] {
        let gh = fake();
        let env = app_pr_env(&gh.url());
        let root = env.stage("nochange");
        let refuse = || match refusal {
            "403" => gh.fail_next_on("POST", "/graphql", 1, Fault::ReadOnlyToken),
            _ => gh.refuse_viewer(APP),
        };
        refuse();
        // The comment cannot be posted either: tfgate assumed github-actions[bot], and says
        // how to tell it otherwise.
        gh.fail_next_on(
            "POST",
            "/repos/acme/infra/issues/7/comments",
            1,
            Fault::ReadOnlyToken,
        );
        let run = plan(&env, &root, &[]);
        let warning = run
            .stderr
            .lines()
            .find(|l| l.starts_with("::warning::") && l.contains("--comment-author"))
            .unwrap_or_else(|| panic!("{refusal}: no warning: {}", run.stderr));
        assert!(
            warning.contains(&format!("`{ACTIONS_BOT}`"))
                && warning.contains("TFGATE_COMMENT_AUTHOR")
                && warning.contains("GET /user and GraphQL's viewer were both refused"),
            "{refusal}: {warning}"
        );

        // Posted this time: GitHub's answer says who wrote it, and the warning gives the exact
        // value to pass.
        refuse();
        let run = plan(&env, &root, &[]);
        let mine = tfgate_comments(&gh);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].author_login, APP);
        assert!(
            run.stderr.contains(&format!(
                "tfgate: commented on {REPO}#{PR} (comment {})",
                mine[0].id
            )),
            "{refusal}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!(
                "the comment tfgate posted is written as `{APP}`, and later runs will not find it (apply will report no tfgate plan) unless told: pass --comment-author '{APP}' (or set TFGATE_COMMENT_AUTHOR)"
            )),
            "{refusal}: {}",
            run.stderr
        );

        // Told: the comment is found and updated in place, GitHub is not asked who the token
        // is, and nothing is left to warn about.
        gh.clear_requests();
        let mut env = env;
        env.set("TFGATE_COMMENT_AUTHOR", APP);
        let run = plan(&env, &root, &[]);
        assert!(!run.stderr.contains("--comment-author"), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "tfgate: updated the comment on {REPO}#{PR} (comment {})",
                mine[0].id
            )),
            "{}",
            run.stderr
        );
        assert_eq!(tfgate_comments(&gh).len(), 1);
        assert_eq!(gh.count("GET", "/user") + gh.count("POST", "/graphql"), 0);
    }
}

#[test]
fn an_assumption_github_s_answer_confirms_is_no_warning() {
    // Actions' token, with GraphQL refused too: the comment it posts is github-actions[bot]'s,
    // as assumed.
    let gh = GitHubFake::start();
    gh.add_user(APP_TOKEN, ACTIONS_BOT, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    gh.refuse_viewer(ACTIONS_BOT);
    let env = app_pr_env(&gh.url());
    let root = env.stage("nochange");
    let run = plan(&env, &root, &[]);
    assert!(
        run.stderr.contains("tfgate: commented on"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--comment-author"), "{}", run.stderr);
    assert!(
        gh.only_comment_by(REPO, PR, ACTIONS_BOT)
            .starts_with("<!-- tfgate:")
    );
}

#[test]
fn a_comment_author_that_is_not_the_token_s_is_a_warning() {
    let gh = fake();
    let env = app_pr_env(&gh.url());
    let root = env.stage("nochange");
    let run = plan(&env, &root, &["--comment-author", "other-app[bot]"]);
    assert!(
        run.stderr.contains(&format!(
            "--comment-author says tfgate's comments are written as `other-app[bot]`, but GitHub wrote the comment it posted as `{APP}`"
        )) && run.stderr.contains(&format!("pass --comment-author '{APP}'")),
        "{}",
        run.stderr
    );
    assert_eq!(
        gh.count("GET", "/user"),
        0,
        "a given author is not asked for"
    );
}

#[test]
fn a_foreign_comment_with_a_copied_marker_is_never_edited() {
    let gh = fake();
    let env = app_pr_env(&gh.url());
    let root = env.stage("demo");
    plan(&env, &root, &[]);
    let ours = gh.only_comment_by(REPO, PR, APP);
    // Actions' bot and a person copy tfgate's marker; a maintainer removes ours.
    let copies = [
        gh.add_comment(
            REPO,
            PR,
            ACTIONS_BOT,
            &ours.replace("Terraform plan", "Copied"),
        ),
        gh.add_comment(
            REPO,
            PR,
            "mallory",
            &ours.replace("Terraform plan", "Copied"),
        ),
    ];
    let id = tfgate_comments(&gh)[0].id;
    gh.set_comment_body(id, "removed by a maintainer");
    plan(&env, &root, &["--", "-var=environment=qa"]);
    for copy in copies {
        assert!(gh.comment(copy).unwrap().body.contains("Copied"));
    }
    assert!(
        gh.edit_attempts().iter().all(|a| !a.is_foreign()),
        "{:?}",
        gh.edit_attempts()
    );
    let mine: Vec<_> = tfgate_comments(&gh)
        .into_iter()
        .filter(|c| c.author_login == APP)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_ne!(mine[0].id, id);
    assert!(
        mine[0].body.contains("qa.example.com"),
        "a new comment of its own"
    );
}

// ----- apply -------------------------------------------------------------------------------

/// The app's run `run`, with AWS on moto and the S3 archive.
fn aws_env(aws: &Repository, run: Actions) -> TestEnv {
    aws.on_aws(run.token(APP_TOKEN).env())
}

fn push_env(aws: &Repository, gh: &GitHubFake) -> TestEnv {
    aws_env(aws, Actions::push(gh.url()))
}

/// `demo` with its state in S3.
fn aws_root(aws: &Repository, env: &TestEnv) -> PathBuf {
    let root = env.stage("demo");
    aws.write_backend(&root, "demo/terraform.tfstate");
    root
}

fn apply(env: &TestEnv, root: &Path) -> Run {
    env.run(&["apply", "--chdir", root.to_str().unwrap()])
}

#[test]
fn apply_finds_the_plan_an_app_token_commented_and_marks_it_applied() {
    let gh = fake();
    let aws = Repository::new();
    let env = aws_env(&aws, Actions::pull_request(gh.url()));
    let root = aws_root(&aws, &env);
    plan(&env, &root, &[]);
    gh.merge_pr(REPO, PR, MERGE);
    let run = apply(&push_env(&aws, &gh), &root);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("the plan now is the plan that was reviewed"),
        "{}",
        run.transcript()
    );
    assert!(!run.stderr.contains("--comment-author"), "{}", run.stderr);
    let comment = gh.only_comment_by(REPO, PR, APP);
    assert!(comment.contains("\"status\":\"applied\""), "{comment}");
}

#[test]
fn apply_never_trusts_a_copied_marker_and_warns_when_it_cannot_know_its_identity() {
    let gh = fake();
    let aws = Repository::new();
    let env = aws_env(&aws, Actions::pull_request(gh.url()));
    let root = aws_root(&aws, &env);
    plan(&env, &root, &[]);
    // Someone else's copy of the reviewed plan's comment, and ours gone.
    let ours = gh.only_comment_by(REPO, PR, APP);
    let copy = gh.add_comment(REPO, PR, "mallory", &ours);
    let id = tfgate_comments(&gh)
        .into_iter()
        .find(|c| c.author_login == APP)
        .unwrap()
        .id;
    gh.set_comment_body(id, "removed by a maintainer");
    gh.merge_pr(REPO, PR, MERGE);
    let run = apply(&push_env(&aws, &gh), &root);
    run.assert_code(4);
    assert!(run.stderr.contains("has no tfgate plan"), "{}", run.stderr);
    assert!(!run.stderr.contains("--comment-author"), "{}", run.stderr);
    assert_eq!(gh.comment(copy).unwrap().body, ours, "left alone");

    // With the identity unknown, the same refusal comes with the way out.
    gh.set_comment_body(id, &ours);
    gh.refuse_viewer(APP);
    let run = apply(&push_env(&aws, &gh), &root);
    run.assert_code(4);
    assert!(
        run.stderr.contains("has no tfgate plan")
            && run.stderr.contains("::warning::")
            && run.stderr.contains("pass --comment-author LOGIN"),
        "{}",
        run.stderr
    );
    assert!(gh.edit_attempts().iter().all(|a| !a.is_foreign()));
}

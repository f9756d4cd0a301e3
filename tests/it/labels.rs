//! `tfgate plan --labels`: the pull request's `tfgate:changes`, `tfgate:destroy` and
//! `tfgate:no-changes` labels against the GitHub fake, derived from every root's comment, and
//! a token that may not label.

use std::path::Path;

use crate::support::actions::{PR, REPO, pr_run};
use crate::support::github::{Fault, GitHubFake};
use crate::support::*;

fn labelled(env: &TestEnv, root: &Path) {
    let run = env.plan(root, &["--labels"]);
    run.assert_code(0);
    assert!(!run.stderr.contains("cannot label"), "{}", run.stderr);
}

/// Label requests, as `METHOD path`.
fn label_requests(gh: &GitHubFake) -> Vec<String> {
    gh.requests()
        .into_iter()
        .filter(|r| r.path.contains("/labels"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn a_plan_with_changes_sets_tfgate_changes_and_one_that_destroys_adds_tfgate_destroy() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    gh.add_label(REPO, PR, "needs-review");
    let demo = env.stage("demo");
    labelled(&env, &demo);
    assert_eq!(gh.labels(REPO, PR), ["needs-review", "tfgate:changes"]);
    // GitHub created the label in the repository on first use.
    assert!(gh.repo_labels(REPO).contains(&"tfgate:changes".to_string()));

    // A second root whose plan deletes and replaces.
    let changes = env.stage("changes");
    labelled(&env, &changes);
    assert_eq!(
        gh.labels(REPO, PR),
        ["needs-review", "tfgate:changes", "tfgate:destroy"]
    );
    // Planning again changes nothing: the labels are read, not written.
    gh.clear_requests();
    labelled(&env, &changes);
    assert!(
        label_requests(&gh).iter().all(|r| r.starts_with("GET ")),
        "{:?}",
        label_requests(&gh)
    );
}

#[test]
fn one_roots_destroy_survives_another_roots_no_change_plan_until_every_root_has_none() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let destroys = env.stage("changes");
    let quiet = env.stage("nochange");
    labelled(&env, &destroys);
    labelled(&env, &quiet);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:changes", "tfgate:destroy"]);

    // The destroying root's changes are dropped: a configuration and a state with nothing.
    for entry in std::fs::read_dir(&destroys).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(path).unwrap();
        }
    }
    std::fs::write(destroys.join("main.tf"), "terraform {}\n").unwrap();
    gh.clear_requests();
    labelled(&env, &destroys);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:no-changes"]);
    let writes: Vec<String> = label_requests(&gh)
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    let base = format!("/repos/{REPO}/issues/{PR}/labels");
    assert_eq!(
        writes,
        [
            format!("POST {base}"),
            format!("DELETE {base}/tfgate%3Achanges"),
            format!("DELETE {base}/tfgate%3Adestroy"),
        ]
    );
    // The other root's later no-change plan keeps it so.
    labelled(&env, &quiet);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:no-changes"]);
}

#[test]
fn a_token_that_may_not_label_is_a_warning_with_the_permissions_it_needs() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let root = env.stage("demo");
    gh.fail_next_on(
        "POST",
        &format!("/repos/{REPO}/issues/{PR}/labels"),
        1,
        Fault::ReadOnlyToken,
    );
    let run = env.plan(&root, &["--labels", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("::warning::cannot label acme/infra#7 (GitHub refused the request (403): Resource not accessible by integration); the plan is unaffected."),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`pull-requests: write`") && run.stderr.contains("`issues: write`")
    );
    assert_eq!(gh.labels(REPO, PR), Vec::<String>::new());
    // The comment was posted all the same.
    assert_eq!(crate::support::actions::tfgate_comments(&gh).len(), 1);
    let run = env.plan(&root, &["--labels"]);
    run.assert_code(0);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:changes"]);
}

#[test]
fn without_labels_no_label_request_is_made() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let root = env.stage("changes");
    env.plan(&root, &[]).assert_code(0);
    assert_eq!(label_requests(&gh), Vec::<String>::new());
    assert_eq!(crate::support::actions::tfgate_comments(&gh).len(), 1);
}

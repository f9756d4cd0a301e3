//! `plan --comment always|changes|never` (`TFGATE_COMMENT`, `comment` in `.tfgate.toml`)
//! against the GitHub fake: which plans post a comment, an earlier comment brought up to date
//! when the changes are gone, and `never` making no comment request at all.

use crate::support::actions::*;
use crate::support::github::GitHubFake;
use crate::support::*;

/// Requests about the PR's comments (listing, posting, editing, deleting).
fn comment_requests(gh: &GitHubFake) -> Vec<String> {
    gh.requests()
        .into_iter()
        .filter(|r| r.path.contains("/comments"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Each mode, for a plan with changes (`demo`) and one without (`nochange`): how many
/// comments the PR ends with, and whether the step output names one.
#[test]
fn each_mode_comments_on_the_plans_it_should() {
    for (mode, with_changes, without_changes) in
        [("always", 1, 1), ("changes", 1, 0), ("never", 0, 0)]
    {
        for (fixture, expected) in [("demo", with_changes), ("nochange", without_changes)] {
            let gh = GitHubFake::start();
            let env = pr_run(&gh);
            let root = env.stage(fixture);
            let run = env.plan(&root, &["--comment", mode]);
            run.assert_code(0);
            let comments = tfgate_comments(&gh);
            assert_eq!(
                comments.len(),
                expected,
                "--comment {mode} on {fixture}:\n{}",
                run.stderr
            );
            let url = outputs(&env)
                .get("comment_url")
                .cloned()
                .unwrap_or_default();
            assert_eq!(url.is_empty(), expected == 0, "{mode} {fixture}: {url:?}");
            // The bundle keeps the comment whatever the mode.
            assert!(only_bundle(&root).join("comment.md").is_file());
            if mode == "never" {
                assert_eq!(
                    comment_requests(&gh),
                    Vec::<String>::new(),
                    "{mode} {fixture}"
                );
                assert!(
                    gh.requests().iter().all(|r| !r.is_write()),
                    "{:#?}",
                    gh.requests()
                );
                assert!(
                    run.stderr
                        .contains("--comment never: no comment is read or written"),
                    "{}",
                    run.stderr
                );
            }
            if (mode, fixture) == ("changes", "nochange") {
                // It looked for an earlier comment to update, and posted nothing.
                assert_eq!(gh.count("POST", "/repos/acme/infra/issues/7/comments"), 0);
                assert!(
                    run.stderr
                        .contains("has no tfgate comment to update, and none is posted"),
                    "{}",
                    run.stderr
                );
            }
        }
    }
}

/// A comment must never keep claiming changes that are gone: with `--comment changes`, a plan
/// without changes updates the comment an earlier plan posted, and posts no other.
#[test]
fn changes_mode_updates_an_earlier_comment_when_the_changes_are_gone() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let root = env.stage("demo");
    env.plan(&root, &["--comment", "changes"]).assert_code(0);
    let before = tfgate_comments(&gh);
    assert_eq!(before.len(), 1);
    assert!(before[0].body.contains("7 to add"), "{}", before[0].body);
    // The pull request drops every resource: the plan now changes nothing.
    std::fs::write(root.join("main.tf"), "terraform {}\n").unwrap();
    let run = env.plan(&root, &["--comment", "changes"]);
    run.assert_code(0);
    assert_eq!(outputs(&env)["has_changes"], "false");
    let after = tfgate_comments(&gh);
    assert_eq!(after.len(), 1, "no new comment");
    assert_eq!(after[0].id, before[0].id, "the same comment");
    assert_eq!(gh.count("POST", "/repos/acme/infra/issues/7/comments"), 1);
    let doc = gfm::render(&after[0].body);
    let visible = doc.visible_text();
    assert!(visible.contains("no changes"), "{visible}");
    assert!(!visible.contains("7 to add"), "{visible}");
    assert!(
        run.stderr
            .contains("tfgate: updated the comment on acme/infra#7"),
        "{}",
        run.stderr
    );
    assert_eq!(
        outputs(&env)["comment_url"],
        format!(
            "https://github.com/acme/infra/pull/7#issuecomment-{}",
            after[0].id
        )
    );
}

/// `comment` in `.tfgate.toml`, under `TFGATE_COMMENT` and the flag.
#[test]
fn the_mode_comes_from_the_file_the_variable_or_the_flag() {
    let gh = GitHubFake::start();
    let mut env = pr_run(&gh);
    let root = env.stage("demo");
    std::fs::write(root.join(".tfgate.toml"), "comment = \"never\"\n").unwrap();
    env.plan(&root, &[]).assert_code(0);
    assert!(tfgate_comments(&gh).is_empty());
    assert_eq!(comment_requests(&gh), Vec::<String>::new());
    // The variable beats the file.
    env.set("TFGATE_COMMENT", "changes");
    env.plan(&root, &[]).assert_code(0);
    assert_eq!(tfgate_comments(&gh).len(), 1);
    // The flag beats the variable.
    gh.clear_requests();
    env.plan(&root, &["--comment", "never"]).assert_code(0);
    assert_eq!(comment_requests(&gh), Vec::<String>::new());
}

#[test]
fn a_mode_tfgate_does_not_know_is_exit_1_with_the_ones_it_does() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let root = env.stage("demo");
    let run = env.plan(&root, &["--comment", "sometimes"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("--comment \"sometimes\" (or TFGATE_COMMENT) is not a comment mode"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("give one of always, changes, never"),
        "{}",
        run.stderr
    );
    std::fs::write(root.join(".tfgate.toml"), "comment = \"sometimes\"\n").unwrap();
    let run = env.plan(&root, &[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(".tfgate.toml")
            && run.stderr.contains(
                "unknown variant `sometimes`, expected one of `always`, `changes`, `never`"
            ),
        "{}",
        run.stderr
    );
    assert!(tfgate_comments(&gh).is_empty());
}

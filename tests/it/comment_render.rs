//! The PR comment as GitHub shows it: each comment tfgate posts is rendered with cmark-gfm
//! (GitHub's own renderer) and checked for structure: its tables, its folds, and that no
//! plan value escapes its code span to become markup.

use std::path::Path;

use crate::support::actions::{pr_run, tfgate_comments};
use crate::support::gfm;
use crate::support::github::GitHubFake;
use crate::support::*;

/// Plans `root` in `env` and returns tfgate's one comment on the PR.
fn plan_comment(env: &TestEnv, gh: &GitHubFake, root: &Path, extra: &[&str]) -> String {
    env.plan(root, extra);
    let mut ours = tfgate_comments(gh);
    assert_eq!(ours.len(), 1, "one tfgate comment");
    ours.remove(0).body
}

#[test]
fn a_plan_comment_renders_as_a_table_with_the_plan_text_folded() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let root = env.stage("changes");
    let body = plan_comment(&env, &gh, &root, &[]);
    let doc = gfm::render(&body);
    let tables = doc.tables();
    assert!(!tables.is_empty(), "a resource table:\n{}", doc.html);
    assert!(
        doc.fold_summaries()
            .iter()
            .any(|s| s.to_lowercase().contains("plan")),
        "the plan text is folded: {:?}",
        doc.fold_summaries()
    );
    assert!(body.chars().count() <= 65_536);
}

#[test]
fn hostile_values_stay_inside_their_code_spans() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let root = env.stage("hostile");
    let body = plan_comment(&env, &gh, &root, &[]);
    let doc = gfm::render(&body);
    // Values are either in code spans or escaped text: nothing becomes markup, and the team
    // mention is defanged wherever it is not code.
    let outside = doc.root.text_outside_code();
    assert!(
        !outside.contains("@org/team"),
        "a live mention:\n{}",
        doc.html
    );
    let markup = doc.injected(&[
        "a", "h1", "h2", "h5", "h6", "img", "strong", "em", "script", "iframe",
    ]);
    assert!(
        markup.iter().all(|m| m.contains("actions/runs/123")),
        "a value became markup: {markup:?}"
    );
    // The failed check's message reads as the text terraform gave, line breaks aside.
    let item = doc
        .root
        .all("li")
        .into_iter()
        .map(|li| li.text())
        .find(|t| t.contains("hostile_message"));
    let item = item.expect("the failed check is listed");
    for line in [
        "::set-output name=has_changes::false",
        "##[error]x",
        "x ##[warning]y",
        "::stop-commands::x",
    ] {
        assert!(item.contains(line), "{line:?} in {item:?}");
    }
    for address in [
        "terraform_data.keyed[\"##[error]x\"]",
        "terraform_data.keyed[\"@org/team\"]",
    ] {
        assert!(
            doc.root.all("code").iter().any(|c| c.text() == address),
            "{address} is a code span:\n{}",
            doc.html
        );
    }
}

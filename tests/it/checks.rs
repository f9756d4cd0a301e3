//! `tfgate plan --checks FILE` and `--fail-on-checks LEVEL`: the code checkers' findings (SARIF
//! as checkov and tflint write it, tests/data/sarif/) in the posted comment as GitHub renders
//! it, a warning for a file that cannot be read, and the exit code.

use std::path::PathBuf;

use crate::support::actions::{HEAD, REPO, outputs, pr_run, step_summary, tfgate_comments};
use crate::support::gfm::{self, Rendered, Table};
use crate::support::github::GitHubFake;
use crate::support::*;

/// A pull-request run whose repository is the test's folder (`GITHUB_WORKSPACE`, as
/// actions/checkout leaves it), with the `changes` fixture as a root in it and the SARIF files
/// of tests/data/sarif/ beside it.
fn setup(gh: &GitHubFake) -> (TestEnv, PathBuf) {
    let mut env = pr_run(gh);
    let workspace = env.path().display().to_string();
    env.set("GITHUB_WORKSPACE", workspace);
    for name in [
        "checkov.sarif",
        "tflint.sarif",
        "hostile.sarif",
        "truncated.sarif",
    ] {
        std::fs::copy(
            project_dir().join("tests/data/sarif").join(name),
            env.path().join(name),
        )
        .unwrap();
    }
    let root = env.stage("changes");
    (env, root)
}

/// tfgate's one comment on the PR, rendered as GitHub renders it.
#[track_caller]
fn rendered(gh: &GitHubFake) -> (String, Rendered) {
    let ours = tfgate_comments(gh);
    assert_eq!(ours.len(), 1, "one tfgate comment");
    let body = ours[0].body.clone();
    let doc = gfm::render(&body);
    (body, doc)
}

#[track_caller]
fn table_with(doc: &Rendered, header: &[&str]) -> Table {
    let tables = doc.tables();
    tables
        .iter()
        .find(|t| t.header == header)
        .cloned()
        .unwrap_or_else(|| panic!("no table {header:?} in:\n{}", doc.html))
}

fn hrefs(doc: &Rendered) -> Vec<String> {
    doc.root
        .all("a")
        .iter()
        .filter_map(|a| a.attr("href").map(str::to_string))
        .collect()
}

#[test]
fn the_checks_section_counts_each_tools_findings_and_links_them_to_the_pr_head() {
    let gh = GitHubFake::start();
    let (env, root) = setup(&gh);
    let run = env.plan(
        &root,
        &["--checks", "checkov.sarif", "--checks", "tflint.sarif"],
    );
    run.assert_code(0);
    let (body, doc) = rendered(&gh);
    assert!(body.chars().count() <= 65_536);

    let counts = table_with(
        &doc,
        &["Tool", "Errors", "Warnings", "Notes", "None", "Suppressed"],
    );
    assert_eq!(
        counts.rows,
        [
            ["Checkov", "1", "1", "0", "0", "2"],
            ["tflint", "0", "2", "0", "0", "0"],
            ["tflint-errors", "0", "0", "0", "0", "0"],
        ]
    );
    let findings = table_with(&doc, &["Level", "Tool", "Rule", "Where", "Message"]);
    let first: Vec<&str> = findings.rows[0].iter().map(String::as_str).collect();
    assert_eq!(
        first,
        [
            "🔴 error",
            "Checkov",
            "CKV_AWS_20",
            "root-changes/main.tf:12",
            "S3 Bucket has an ACL defined which allows public READ access."
        ]
    );
    assert_eq!(findings.rows.len(), 4, "{:?}", findings.rows);
    // Rule ids are code spans; each place links to its line at the PR's head.
    assert!(findings.cells[0][2].all("code").len() == 1);
    let links = hrefs(&doc);
    for line in [12, 6, 2, 45] {
        let want = format!("https://github.com/{REPO}/blob/{HEAD}/root-changes/main.tf#L{line}");
        assert!(links.contains(&want), "{want} in {links:?}");
    }
    let text = doc.visible_text();
    assert!(
        text.contains("Suppressed: CKV_AWS_144, CKV_AWS_18 (Checkov)."),
        "{text}"
    );
    assert!(text.contains("4 findings from 3 tools (1 error, 3 warnings); 2 suppressed."));

    // The step summary has the same section; the terminal says the counts.
    assert!(step_summary(&env).contains("#### Checks"));
    assert_eq!(outputs(&env)["check_findings"], "4");
    assert!(
        run.stderr.contains("tfgate: checks: tflint: 2 warning"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("tfgate: checks: Checkov: 1 error, 1 warning (2 suppressed)")
    );
}

#[test]
fn a_sarif_file_that_is_missing_or_unreadable_is_a_warning_naming_it() {
    let gh = GitHubFake::start();
    let (env, root) = setup(&gh);
    let run = env.plan(
        &root,
        &[
            "--checks",
            "missing.sarif",
            "--checks",
            "truncated.sarif",
            "--checks",
            "tflint.sarif",
            "--fail-on-checks",
            "error",
        ],
    );
    run.assert_code(0);
    for file in ["missing.sarif", "truncated.sarif"] {
        assert!(
            run.stderr
                .contains(&format!("::warning::cannot read the SARIF file {file} (")),
            "{file}: {}",
            run.stderr
        );
    }
    let (_, doc) = rendered(&gh);
    let text = doc.visible_text();
    assert!(text.contains("2 SARIF files could not be read"), "{text}");
    assert!(text.contains("missing.sarif") && text.contains("truncated.sarif"));
    // The readable file still counts.
    let counts = table_with(
        &doc,
        &["Tool", "Errors", "Warnings", "Notes", "None", "Suppressed"],
    );
    assert_eq!(counts.rows[0][0], "tflint");
}

#[test]
fn fail_on_checks_fails_the_plan_after_the_comment_is_posted_and_the_bundle_archived() {
    let gh = GitHubFake::start();
    let (env, root) = setup(&gh);
    let run = env.plan(
        &root,
        &["--checks", "checkov.sarif", "--fail-on-checks", "error"],
    );
    run.assert_code(1);
    let (_, doc) = rendered(&gh);
    assert!(
        doc.visible_text()
            .contains("1 finding at or above error fails this plan (--fail-on-checks error)."),
        "{}",
        doc.html
    );
    let bundle = only_bundle(&root);
    assert!(bundle.join("comment.md").is_file());
    assert!(
        run.stderr.contains(
            "::error::1 check finding at or above `error` (Checkov 1) fails the plan (--fail-on-checks error)"
        ),
        "{}",
        run.stderr
    );
    let out = outputs(&env);
    assert!(
        out["failure_reason"].starts_with("checks_failed: 1 check finding"),
        "{out:?}"
    );
    assert!(out["comment_url"].contains("#issuecomment-"), "{out:?}");
    assert!(
        step_summary(&env).contains("**The plan failed:** 1 check finding at or above `error`")
    );

    // Warnings do not reach `error`; suppressed findings never count.
    let gh = GitHubFake::start();
    let (env, root) = setup(&gh);
    env.plan(
        &root,
        &["--checks", "tflint.sarif", "--fail-on-checks", "error"],
    )
    .assert_code(0);
    env.plan(
        &root,
        &["--checks", "tflint.sarif", "--fail-on-checks", "warning"],
    )
    .assert_code(1);
    // Without --fail-on-checks, findings never change the exit code.
    env.plan(&root, &["--checks", "checkov.sarif", "--detailed-exitcode"])
        .assert_code(2);
}

#[test]
fn hostile_findings_stay_text_and_paths_outside_the_repository_get_no_link() {
    let gh = GitHubFake::start();
    let (env, root) = setup(&gh);
    env.plan(&root, &["--checks", "hostile.sarif"])
        .assert_code(0);
    let (body, doc) = rendered(&gh);
    let outside = doc.root.text_outside_code();
    assert!(
        !outside.contains("@org/team"),
        "a live mention:\n{}",
        doc.html
    );
    let markup = doc.injected(&["img", "h1", "h2", "script", "iframe", "strong"]);
    assert!(markup.is_empty(), "SARIF text became markup: {markup:?}");
    assert_eq!(
        doc.fold_summaries().len(),
        1,
        "only the plan is folded: {:?}",
        doc.fold_summaries()
    );
    let links = hrefs(&doc);
    assert!(
        links.iter().all(|l| l.starts_with("https://github.com/")),
        "{links:?}"
    );
    assert!(
        links.contains(&format!(
            "https://github.com/{REPO}/blob/{HEAD}/root-changes/main.tf#L3"
        )),
        "{links:?}"
    );
    for hostile in ["passwd", "hostname", "evil.example"] {
        assert!(
            !links.iter().any(|l| l.contains(hostile)),
            "{hostile}: {links:?}"
        );
    }
    // The message reads as the tool wrote it, line breaks aside, in its table cell.
    let findings = table_with(&doc, &["Level", "Tool", "Rule", "Where", "Message"]);
    let message = findings.rows[0][4].replace('\u{200B}', "");
    assert!(
        message.contains("</details><img src=x onerror=alert(1)>"),
        "{message}"
    );
    assert!(message.contains("::error::injected # heading [link](https://evil.example)"));
    assert!(findings.rows[0][4].contains("https:\u{200B}//"), "defanged");
    assert_eq!(findings.rows[0][2], "X`Y|</details>");
    assert!(body.chars().count() <= 65_536);
}

#[test]
fn checks_come_from_the_settings_file_and_tfgate_checks() {
    let gh = GitHubFake::start();
    let (mut env, root) = setup(&gh);
    std::fs::copy(env.path().join("tflint.sarif"), root.join("lint.sarif")).unwrap();
    // Relative to the folder of .tfgate.toml.
    std::fs::write(
        root.join(".tfgate.toml"),
        "checks = [\"lint.sarif\"]\nfail_on_checks = \"warning\"\n",
    )
    .unwrap();
    env.plan(&root, &[]).assert_code(1);
    assert!(rendered(&gh).1.visible_text().contains("tflint"));
    // TFGATE_CHECKS (one file per line) replaces the file's list.
    env.set("TFGATE_CHECKS", "checkov.sarif\n\n");
    env.set("TFGATE_FAIL_ON_CHECKS", "note");
    let run = env.plan(&root, &[]);
    run.assert_code(1);
    let text = rendered(&gh).1.visible_text();
    assert!(
        text.contains("Checkov") && !text.contains("tflint"),
        "{text}"
    );
}

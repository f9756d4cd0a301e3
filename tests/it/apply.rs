//! `tfgate apply`: the reviewed plan is found through the merged PR's comment, re-planned,
//! compared, and applied only when nothing changed since review. Real terraform with its S3
//! backend on moto_server, the S3 archive on moto, and the GitHub fake. Every outcome leaves its
//! trace: the PR comment's status, the step summary, and the step outputs a workflow's next
//! step reads.

use std::path::{Path, PathBuf};

use crate::support::actions::{
    BOT, HEAD, MERGE, PR, REPO, marker, outputs, pr_run, push_run, run_env, step_summary,
};
use crate::support::gfm;
use crate::support::github::{Fault, GitHubFake};
use crate::support::moto::Repository;
use crate::support::workflow::Runner;
use crate::support::*;

/// One repository's world: GitHub with PR 7, an S3 bucket for state and one for the archive.
struct World {
    gh: GitHubFake,
    aws: Repository,
}

impl World {
    fn new() -> World {
        let gh = GitHubFake::start();
        gh.add_pr(REPO, PR, HEAD);
        World {
            gh,
            aws: Repository::new(),
        }
    }

    /// A GitHub Actions environment for `event` with `payload`, with AWS on moto and the S3
    /// archive.
    fn env(&self, event: &str, payload: &str, sha: &str) -> TestEnv {
        self.on_aws(run_env(&self.gh, event, payload, sha))
    }

    fn on_aws(&self, env: TestEnv) -> TestEnv {
        self.aws.on_aws(env)
    }

    /// The address of tfgate's comment on PR 7, as GitHub shows it.
    fn comment_url(&self) -> String {
        let id = self
            .gh
            .comments(REPO, PR)
            .into_iter()
            .find(|c| c.body.starts_with("<!-- tfgate:"))
            .expect("a tfgate comment")
            .id;
        format!("https://github.com/{REPO}/pull/{PR}#issuecomment-{id}")
    }

    fn pr_env(&self) -> TestEnv {
        self.on_aws(pr_run(&self.gh))
    }

    fn push_env(&self) -> TestEnv {
        self.on_aws(push_run(&self.gh))
    }

    /// Stages `fixture` with its state in S3 (DynamoDB locking).
    fn root(&self, env: &TestEnv, fixture: &str) -> PathBuf {
        let root = env.stage(fixture);
        self.aws
            .write_backend(&root, &format!("{fixture}/terraform.tfstate"));
        if root.join("terraform.tfstate").exists() {
            // The fixture's setup stage left local state: move it into S3.
            terraform(
                env,
                &root,
                &["init", "-input=false", "-migrate-state", "-force-copy"],
            );
        }
        root
    }

    /// `fixture` planned and reviewed on PR 7, then its state changed by a `terraform apply`
    /// with `var` made outside tfgate, then the PR merged. The PR's environment holds the root:
    /// keep it.
    fn reviewed_then_changed(&self, fixture: &str, var: &str) -> (TestEnv, PathBuf) {
        let env = self.pr_env();
        let root = self.root(&env, fixture);
        run_in(&env, &["plan"], &root).assert_code(0);
        terraform(&env, &root, &["init", "-input=false"]);
        terraform(
            &env,
            &root,
            &["apply", "-auto-approve", "-input=false", var],
        );
        self.gh.merge_pr(REPO, PR, MERGE);
        (env, root)
    }

    fn comment(&self) -> String {
        self.gh.only_comment_by(REPO, PR, BOT)
    }

    fn s3_keys(&self) -> Vec<String> {
        let bucket = self
            .aws
            .archive
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let out = self
            .aws
            .moto
            .block_on(self.aws.moto.s3().list_objects_v2().bucket(&bucket).send())
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }
}

/// The link to the apply's run that every outcome's report carries.
const RUN_LINK: &str = "([run](https://github.com/acme/infra/actions/runs/123))";

fn run_in(env: &TestEnv, args: &[&str], root: &Path) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--chdir", root.to_str().unwrap()]);
    env.run(&all)
}

/// Runs terraform directly in a root (a change made outside tfgate).
fn terraform(env: &TestEnv, root: &Path, args: &[&str]) {
    let out = std::process::Command::new("terraform")
        .args(args)
        .current_dir(root)
        .env_clear()
        .envs(env.vars())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "terraform {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn reviewed_plan_is_applied_after_merge() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    assert!(
        w.comment().contains(&w.aws.archive),
        "the comment points at the S3 archive"
    );
    // The plan's outputs: where its comment and its archived bundle are.
    let planned = outputs(&env);
    assert_eq!(planned["comment_url"], w.comment_url(), "{planned:?}");
    let plan_uri = &planned["archive"];
    assert!(
        plan_uri.starts_with(&format!("{}/", w.aws.archive)) && plan_uri.contains("-plan-"),
        "{planned:?}"
    );
    assert!(
        w.s3_keys()
            .contains(&format!("{}/manifest.json", key_of(plan_uri))),
        "{plan_uri} is the archived bundle: {:#?}",
        w.s3_keys()
    );

    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(0);
    let out = outputs(&env);
    assert_eq!(
        (out["verdict"].as_str(), out["failure_reason"].as_str()),
        ("applied", ""),
        "{out:?}"
    );
    assert_eq!(out["comment_url"], w.comment_url(), "{out:?}");
    let bundle = PathBuf::from(&out["bundle"]);
    assert!(
        bundle.join("manifest.json").is_file() && bundle.join("apply.log").is_file(),
        "{out:?}"
    );
    let apply_uri = &out["archive"];
    assert!(apply_uri.contains("-apply-"), "{out:?}");
    assert!(
        w.s3_keys()
            .contains(&format!("{}/apply.log", key_of(apply_uri))),
        "{out:?}"
    );
    // terraform's output is folded into one group per command, the apply's own last.
    let mut runner = Runner::new();
    runner.feed(&run.stderr);
    runner.assert_groups_balanced(&run.transcript());
    assert_eq!(
        runner.groups(),
        ["terraform init", "terraform plan", "terraform apply"]
    );
    assert_eq!(
        runner.group_of("Apply complete! Resources: 7 added"),
        Some(Some("terraform apply")),
        "{}",
        run.transcript()
    );
    assert!(
        run.stderr
            .contains("the plan now is the plan that was reviewed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Apply complete! Resources: 7 added"),
        "{}",
        run.stderr
    );

    let comment = w.comment();
    assert!(comment.contains("\"status\":\"applied\""), "{comment}");
    assert!(comment.contains("**Applied.**"), "{comment}");
    let keys = w.s3_keys();
    let apply_manifest = keys
        .iter()
        .find(|k| k.contains("-apply-") && k.ends_with("manifest.json"))
        .unwrap_or_else(|| panic!("no apply bundle in {keys:#?}"));
    assert!(keys.iter().any(
        |k| k.starts_with(apply_manifest.trim_end_matches("manifest.json"))
            && k.ends_with("apply.log")
    ));
    // A re-run of the same commit's apply (a workflow re-run) applies nothing again.
    let env = w.push_env();
    let again = run_in(&env, &["apply"], &root);
    again.assert_code(0);
    assert!(
        again.stderr.contains(&format!("{MERGE} was applied at"))
            && again.stderr.contains("already applied"),
        "{}",
        again.stderr
    );
    assert!(
        !again.stderr.contains("terraform apply"),
        "{}",
        again.stderr
    );
    assert!(
        w.comment().contains("**Applied.**"),
        "the comment still says applied"
    );
    let out = outputs(&env);
    assert_eq!(out["verdict"], "already_applied", "{out:?}");
    assert_eq!(out["failure_reason"], "", "{out:?}");
    assert_eq!(out["comment_url"], w.comment_url(), "{out:?}");
}

/// An `s3://` URI's key prefix.
fn key_of(uri: &str) -> String {
    let rest = uri.trim_start_matches("s3://");
    rest.split_once('/').map_or("", |(_, key)| key).to_string()
}

/// A reviewed plan that changes nothing, still the same at merge: `no_changes`, not `applied`.
#[test]
fn a_plan_without_changes_is_no_changes() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "nochange");
    run_in(&env, &["plan"], &root).assert_code(0);
    assert_eq!(outputs(&env)["has_changes"], "false");
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(0);
    let out = outputs(&env);
    assert_eq!(
        (out["verdict"].as_str(), out["failure_reason"].as_str()),
        ("no_changes", ""),
        "{out:?}\n{}",
        run.transcript()
    );
    assert_eq!(out["comment_url"], w.comment_url(), "{out:?}");
}

#[test]
fn real_drift_between_plan_and_apply_is_refused() {
    let w = World::new();
    // Someone applies another change to the same state before the merge is applied.
    let (_pr, root) = w.reviewed_then_changed("demo", "-var=environment=hotfix");
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(3);
    assert!(
        run.stdout.contains("terraform_data.database"),
        "{}",
        run.transcript()
    );
    assert!(run.stdout.contains("input.host"), "{}", run.transcript());
    assert!(
        !run.stderr.contains("Apply complete"),
        "nothing applied: {}",
        run.stderr
    );
    let comment = w.comment();
    assert!(comment.contains("\"status\":\"refused\""), "{comment}");
    assert!(comment.contains("What changed since review"), "{comment}");
    assert!(comment.contains("terraform_data.database"), "{comment}");
    // The reason in one sentence, outside any fold, in "reviewed" and "now" (the state was
    // created outside this plan, so the reviewed creates are updates now): the most severe
    // difference, then how many more there are.
    let differences = refusal_differences(&env);
    let reason = format!(
        "terraform_data.database would now be updated, not created as reviewed; and {} more differences.",
        differences - 1
    );
    let doc = gfm::render(&comment);
    let visible = doc.visible_text();
    assert!(
        visible.contains(&format!("Apply refused: {reason} Nothing was applied")),
        "{visible}"
    );
    assert_no_a_or_b(&doc.root.text());
    let summary = step_summary(&env);
    assert!(
        summary.starts_with(
            "### tfgate apply: refused\n\n`terraform_data.database` would now be updated"
        ),
        "{summary}"
    );
    let summary_doc = gfm::render(&summary);
    assert!(summary_doc.visible_text().contains(&reason), "{summary}");
    assert_no_a_or_b(&summary_doc.root.text());
    // An error, not a warning, with the same sentence and counting what the report counts.
    let headline = "7 resources and 3 outputs differ.";
    assert!(run.stdout.contains(headline), "{}", run.transcript());
    assert!(
        run.stderr.contains(&format!(
            "::error::not applied: `terraform_data.database` would now be updated, not created as reviewed; and {} more differences. {headline} Re-plan and review",
            differences - 1
        )),
        "{}",
        run.transcript()
    );
    assert_no_a_or_b(&run.stdout);
    assert!(!run.stderr.contains("::warning::"), "{}", run.transcript());
    let out = outputs(&env);
    assert_eq!(out["verdict"], "refused", "{out:?}");
    assert_eq!(out["failure_reason"], format!("plan_changed: {headline}"));
    assert_eq!(out["comment_url"], w.comment_url(), "{out:?}");
    assert!(
        PathBuf::from(&out["bundle"]).join("report.md").is_file(),
        "{out:?}"
    );

    // An ignore rule for the expected difference lets it through.
    let env = w.push_env();
    let run = run_in(
        &env,
        &[
            "apply",
            "--ignore",
            "terraform_data.*",
            "--ignore",
            "output.*",
        ],
        &root,
    );
    run.assert_code(0);
    assert!(run.stderr.contains("Apply complete!"), "{}", run.stderr);
}

/// How many differences there are between the two plans a refused apply kept in its bundle,
/// as `tfgate diff --format json` counts them.
fn refusal_differences(env: &TestEnv) -> usize {
    let bundle = PathBuf::from(&outputs(env)["bundle"]);
    let run = env.run(&[
        "diff",
        bundle.join("reviewed-plan.json").to_str().unwrap(),
        bundle.join("plan.json").to_str().unwrap(),
        "--format",
        "json",
    ]);
    run.assert_code(3);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    json["differences"].as_array().unwrap().len()
}

/// No plan is called A or B where apply reports: only "reviewed" and "now".
fn assert_no_a_or_b(text: &str) {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| *w == "A" || *w == "B")
        .collect();
    assert!(words.is_empty(), "A/B labels in:\n{text}");
}

#[test]
fn on_drift_warn_applies_and_says_so() {
    let w = World::new();
    let (_pr, root) = w.reviewed_then_changed("demo", "-var=environment=hotfix");
    let env = w.push_env();
    let run = run_in(&env, &["apply", "--on-drift", "warn"], &root);
    run.assert_code(0);
    assert!(
        run.stderr.contains("APPLYING A PLAN THAT DIFFERS"),
        "{}",
        run.stderr
    );
    assert!(
        w.comment()
            .contains("although the plan changed since review")
    );
}

#[test]
fn a_changed_sensitive_value_is_reported_without_the_secret() {
    let w = World::new();
    let (_pr, root) =
        w.reviewed_then_changed("sensitive", "-var=db_password=S3CRET-rotated-by-hand-5e5e");
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(3);
    // The reason leads, in words: a value changed since review that applying would overwrite.
    let reason = r#"`terraform_data.app_secrets`: `input.aws_access_key_id` was changed outside Terraform since review (`"AKIAFAKEKEYOLD000001"` → `"AKIAFAKEKEY000000001"`); applying would overwrite it; and 8 more differences."#;
    assert!(
        run.stderr
            .contains(&format!("::error::not applied: {reason}")),
        "{}",
        run.transcript()
    );
    let visible = gfm::render(&w.comment()).visible_text();
    assert!(
        visible.contains(&format!("Apply refused: {}", reason.replace('`', ""))),
        "{visible}"
    );
    assert!(
        run.stdout.contains("sensitive value changed"),
        "{}",
        run.transcript()
    );
    for secret in [
        "S3CRET-rotated-by-hand-5e5e",
        "S3CRET-db-password-7f3a",
        "S3CRET-db-password-old-4d21",
    ] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} leaked:\n{}",
            run.transcript()
        );
        assert!(
            !w.comment().contains(secret),
            "{secret} leaked into the comment"
        );
    }
}

#[test]
fn a_stale_pr_head_is_refused_with_exit_4() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    // A commit is pushed after the plan and merged without a new plan.
    w.gh.set_pr_head(REPO, PR, "2222222222222222222222222222222222222222");
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(4);
    assert!(
        run.stderr.contains(&format!(
            "planned at {HEAD} but merged at 2222222222222222222222222222222222222222"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("terraform apply"), "{}", run.stderr);
    // The reviewers read why on the PR, and the workflow in the summary and the outputs.
    let comment = w.comment();
    assert!(comment.contains("\"status\":\"not_applied\""), "{comment}");
    assert!(comment.contains("**Not applied.**"), "{comment}");
    let why = format!(
        "The reviewed plan is stale: pull request \\#7 was planned at {HEAD} but merged at 2222222222222222222222222222222222222222 {RUN_LINK}."
    );
    assert!(comment.contains(&why), "{comment}");
    assert!(
        comment.contains("Re-run the plan on the pull request"),
        "{comment}"
    );
    let summary = step_summary(&env);
    assert!(
        summary.starts_with("### tfgate apply: stale\n") && summary.contains(&why),
        "{summary}"
    );
    assert!(
        run.stderr.contains("::error::the reviewed plan is stale"),
        "{}",
        run.stderr
    );
    let out = outputs(&env);
    assert_eq!(out["verdict"], "stale", "{out:?}");
    assert!(
        out["failure_reason"]
            .starts_with("stale_plan: the reviewed plan is stale: pull request #7"),
        "{out:?}"
    );
    assert_eq!(out["comment_url"], w.comment_url(), "{out:?}");
    assert_eq!(out["bundle"], "", "no apply bundle: {out:?}");
}

/// GitHub fails the lookup of the merged PR: no comment can be found to say so, so the step
/// summary, the annotation and the outputs do, and the plan's comment is left as it is.
#[test]
fn a_failed_lookup_is_said_where_the_workflow_reads() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    let planned = w.comment();
    w.gh.merge_pr(REPO, PR, MERGE);
    w.gh.fail_next_on(
        "GET",
        &format!("/repos/{REPO}/commits/{MERGE}/pulls"),
        1,
        Fault::ReadOnlyToken,
    );
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(4);
    assert!(
        run.stderr.contains(&format!(
            "::error::cannot find the pull request of commit {MERGE}"
        )),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("pull-requests: read"), "{}", run.stderr);
    let summary = step_summary(&env);
    assert!(
        summary.starts_with("### tfgate apply: not_applied\n")
            && summary.contains(&format!("Cannot find the pull request of commit {MERGE}"))
            && summary.contains(RUN_LINK),
        "{summary}"
    );
    let out = outputs(&env);
    assert_eq!(out["verdict"], "not_applied", "{out:?}");
    assert!(
        out["failure_reason"].starts_with(&format!(
            "lookup_failed: cannot find the pull request of commit {MERGE}"
        )),
        "{out:?}"
    );
    assert_eq!(out["comment_url"], "", "{out:?}");
    assert_eq!(w.comment(), planned, "the comment is left as it was");
}

#[test]
fn no_reviewed_plan_is_exit_4() {
    let w = World::new();
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let root = w.root(&env, "demo");
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(4);
    // It planned to see whether there is anything to apply: there is, and nobody reviewed it.
    assert!(
        run.stderr.contains(
            "root-demo (default), and the plan now has changes (7 to add, 0 to change, 0 to destroy, 0 to replace): nothing was reviewed, so nothing is applied"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--reviewed BUNDLE"), "{}", run.stderr);
    assert!(!run.stderr.contains("Apply complete"), "{}", run.stderr);
    assert!(w.gh.comments(REPO, PR).is_empty(), "no comment is made up");
    let out = outputs(&env);
    assert_eq!(out["verdict"], "not_applied", "{out:?}");
    assert!(
        out["failure_reason"]
            .starts_with("reviewed_plan_missing: pull request acme/infra#7 has no tfgate plan"),
        "{out:?}"
    );
    assert!(
        step_summary(&env).contains("has no tfgate plan"),
        "{}",
        step_summary(&env)
    );
    // A push that is no merge of a PR.
    let w2 = World::new();
    let env = w2.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(4);
    assert!(
        run.stderr.contains("no merged pull request"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_tampered_archive_is_refused_with_exit_4() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    let bucket = w
        .aws
        .archive
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let key = w
        .s3_keys()
        .into_iter()
        .find(|k| k.ends_with("/plan.json"))
        .unwrap();
    w.aws
        .moto
        .block_on(
            w.aws
                .moto
                .s3()
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from_static(
                    b"{\"format_version\":\"1.2\"}",
                ))
                .send(),
        )
        .unwrap();
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(4);
    assert!(
        run.stderr.contains("does not match its manifest checksum"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failing_apply_is_reported_and_archived() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "apply-fails");
    run_in(&env, &["plan"], &root).assert_code(0);
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(1);
    assert!(
        run.stderr.contains("relation \"orders\" is locked"),
        "{}",
        run.stderr
    );
    let out = outputs(&env);
    assert_eq!(out["verdict"], "failed", "{out:?}");
    assert!(
        out["failure_reason"].starts_with("apply_failed: `terraform apply` failed"),
        "{out:?}"
    );
    assert!(
        PathBuf::from(&out["bundle"]).join("apply.log").is_file(),
        "{out:?}"
    );
    let comment = w.comment();
    assert!(comment.contains("\"status\":\"failed\""), "{comment}");
    assert!(
        comment.contains("relation \\\"orders\\\" is locked")
            || comment.contains("relation \"orders\" is locked"),
        "{comment}"
    );
    let keys = w.s3_keys();
    assert!(
        keys.iter()
            .any(|k| k.contains("-apply-") && k.ends_with("apply.log")),
        "{keys:#?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.contains("-apply-") && k.ends_with("manifest.json")),
        "{keys:#?}"
    );
}

#[test]
fn embedded_default_applies_a_local_reviewed_bundle() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    let reviewed = only_bundle(&root);
    let run = run_in(
        &env,
        &["apply", "--reviewed", reviewed.to_str().unwrap()],
        &root,
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("Apply complete! Resources: 7 added"),
        "{}",
        run.stderr
    );
    // Once applied, the same reviewed plan no longer matches: refused.
    let run = run_in(
        &env,
        &["apply", "--reviewed", reviewed.to_str().unwrap()],
        &root,
    );
    run.assert_code(3);
    assert!(
        run.stdout.contains("terraform_data.database"),
        "{}",
        run.transcript()
    );
}

/// With `--comment changes`, a pull request whose plan changed nothing has no comment. After
/// the merge there is nothing reviewed to find, and nothing to apply either: `no_changes`.
#[test]
fn a_pr_without_a_comment_and_without_changes_is_no_changes() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "nochange");
    run_in(&env, &["plan", "--comment", "changes"], &root).assert_code(0);
    assert!(w.gh.comments(REPO, PR).is_empty());
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(0);
    let out = outputs(&env);
    assert_eq!(
        (out["verdict"].as_str(), out["failure_reason"].as_str()),
        ("no_changes", ""),
        "{out:?}\n{}",
        run.transcript()
    );
    assert!(
        run.stderr.contains(
            "root-nochange (default), and the plan now changes nothing: nothing to apply"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("terraform apply"), "{}", run.stderr);
    assert!(
        step_summary(&env).starts_with(
            "### tfgate apply: no changes\n\nPull request acme/infra\\#7 has no tfgate plan"
        ),
        "{}",
        step_summary(&env)
    );
    assert!(w.gh.comments(REPO, PR).is_empty(), "no comment is made up");
}

/// With `--comment never` no comment names the reviewed plan: apply says it needs `--reviewed`,
/// and with it applies, reading and writing no comment.
#[test]
fn comment_never_applies_the_plan_given_with_reviewed_and_touches_no_comment() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan", "--comment", "never"], &root).assert_code(0);
    let reviewed = outputs(&env)["archive"].clone();
    assert!(reviewed.starts_with("s3://"), "{reviewed}");
    w.gh.merge_pr(REPO, PR, MERGE);
    let comment_requests = |gh: &GitHubFake| {
        gh.requests()
            .into_iter()
            .filter(|r| r.path.contains("/comments"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    };

    let mut env = w.push_env();
    env.set("TFGATE_COMMENT", "never");
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(4);
    assert!(
        run.stderr.contains("with --comment never (TFGATE_COMMENT, or comment in .tfgate.toml) no PR comment names it, so apply needs --reviewed BUNDLE"),
        "{}",
        run.stderr
    );
    assert_eq!(outputs(&env)["verdict"], "not_applied");
    assert!(!run.stderr.contains("terraform plan"), "{}", run.stderr);

    let run = run_in(&env, &["apply", "--reviewed", &reviewed], &root);
    run.assert_code(0);
    assert!(
        run.stderr.contains("Apply complete! Resources: 7 added"),
        "{}",
        run.stderr
    );
    assert_eq!(outputs(&env)["verdict"], "applied");
    assert_eq!(outputs(&env)["comment_url"], "");
    assert_eq!(comment_requests(&w.gh), Vec::<String>::new());
    assert!(w.gh.comments(REPO, PR).is_empty());
}

/// Two PRs merged one after the other, whose applies ran in the wrong order: the newer merge
/// was applied first, so the older one is skipped as superseded (applying it would roll
/// production back). The checkout has no history here, so GitHub's compare API answers, and
/// the older PR's comment says what superseded it.
#[test]
fn an_older_merge_applied_after_a_newer_one_is_superseded() {
    const PR8: u64 = 8;
    const HEAD8: &str = "8888888888888888888888888888888888888888";
    const NEWER: &str = "aaaa999999999999999999999999999999999999";
    let w = World::new();
    w.gh.add_pr(REPO, PR8, HEAD8);
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    let pr8 = format!(
        r#"{{"number":{PR8},"pull_request":{{"number":{PR8},"head":{{"sha":"{HEAD8}"}}}}}}"#
    );
    run_in(&w.env("pull_request", &pr8, HEAD8), &["plan"], &root).assert_code(0);
    w.gh.merge_pr(REPO, PR, MERGE);
    w.gh.merge_pr(REPO, PR8, NEWER);
    w.gh.add_commit(REPO, MERGE, &[]);
    w.gh.add_commit(REPO, NEWER, &[MERGE]);

    let push = |sha: &str| {
        let payload = format!(r#"{{"ref":"refs/heads/main","after":"{sha}"}}"#);
        w.env("push", &payload, sha)
    };
    let newer = run_in(&push(NEWER), &["apply"], &root);
    newer.assert_code(0);
    assert!(
        newer.stderr.contains("Apply complete!"),
        "{}",
        newer.transcript()
    );

    let older_env = push(MERGE);
    let older = run_in(&older_env, &["apply"], &root);
    older.assert_code(0);
    assert!(
        older
            .stderr
            .contains(&format!("not applying {MERGE}: superseded by {NEWER} (#8)")),
        "{}",
        older.transcript()
    );
    assert!(
        !older.stderr.contains("terraform apply"),
        "{}",
        older.transcript()
    );
    assert!(
        w.gh.requests()
            .iter()
            .any(|r| r.path == format!("/repos/{REPO}/compare/{MERGE}...{NEWER}")),
        "GitHub was asked"
    );
    let comment = w.comment();
    assert!(comment.contains("\"status\":\"superseded\""), "{comment}");
    assert!(
        comment.contains(&format!("Superseded by `{NEWER}` (#8)")),
        "{comment}"
    );
    let summary = step_summary(&older_env);
    assert!(
        summary.contains("### tfgate apply: superseded"),
        "{summary}"
    );
    let out = outputs(&older_env);
    assert_eq!(out["verdict"], "superseded", "{out:?}");
    assert_eq!(out["failure_reason"], "", "{out:?}");
    assert_eq!(out["comment_url"], w.comment_url(), "{out:?}");
}

/// `body` with its marker's fields changed by `edit`.
fn with_marker(body: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let rest = body.split_once('\n').unwrap().1;
    let mut meta = marker(body);
    edit(&mut meta);
    format!("<!-- tfgate:{meta} -->\n{rest}")
}

#[test]
fn duplicate_comments_are_read_by_their_newest_plan_and_converge_on_apply() {
    let w = World::new();
    let env = w.pr_env();
    let root = w.root(&env, "demo");
    run_in(&env, &["plan"], &root).assert_code(0);
    let reviewed = w.gh.comments(REPO, PR).remove(0);
    // Left by racing runs: the oldest comment shows an older plan (whose archive is gone),
    // a newer one the reviewed plan.
    let duplicate = w.gh.add_comment(REPO, PR, BOT, &reviewed.body);
    w.gh.set_comment_body(
        reviewed.id,
        &with_marker(&reviewed.body, |m| {
            m["created_at"] = "2001-01-01T00:00:00.000Z".into();
            m["archive"] = "s3://gone/tfgate/old-plan/".into();
        }),
    );
    w.gh.merge_pr(REPO, PR, MERGE);
    let env = w.push_env();
    let run = run_in(&env, &["apply"], &root);
    run.assert_code(0);
    assert!(run.stderr.contains("Apply complete!"), "{}", run.stderr);
    let left = w.gh.comments(REPO, PR);
    assert_eq!(
        left.iter().map(|c| c.id).collect::<Vec<_>>(),
        [reviewed.id],
        "the oldest comment is kept, the other deleted"
    );
    let kept = &left[0].body;
    assert!(kept.contains("\"status\":\"applied\""), "{kept}");
    assert!(
        !kept.contains("old\\u002dplan") && !kept.contains("old-plan"),
        "{kept}"
    );
    assert!(w.gh.comment(duplicate).is_none());
}

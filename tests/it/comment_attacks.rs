//! The comment's new elements together, pushed to their limits and fed hostile input: a refused
//! apply on a comment already near GitHub's size limit, comment modes with labels and checks,
//! and values that try to become markup, workflow commands or secrets in the clear. Plans come
//! from a stand-in terraform that hands out a plan JSON (so a plan may be as large as a test
//! needs), the reviewed plan travels through the S3 archive on moto, and every comment is read
//! as GitHub renders it.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::actions::{
    HEAD, MERGE, PR, REPO, outputs, pr_run, push_run, step_summary, tfgate_comments,
};
use crate::support::gfm;
use crate::support::github::GitHubFake;
use crate::support::moto::moto;
use crate::support::*;

/// GitHub refuses a comment body longer than this many characters.
const GITHUB_MAX_CHARS: usize = 65_536;

/// A root planned by a stand-in terraform that hands out `plan.json` and `plan.txt` from the
/// test's folder; writing them again changes what the next run plans.
struct Stand {
    root: PathBuf,
    terraform: PathBuf,
    dir: PathBuf,
}

impl Stand {
    fn new(env: &TestEnv, name: &str) -> Stand {
        let dir = env.path().join(format!("plans-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let terraform = env.script(
            &format!("terraform-{name}"),
            &format!(
                r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) printf 'PK\003\004' > "${{a#-out=}}";; esac; done ;;
  show) if [ "$2" = "-json" ]; then cat '{0}/plan.json'; else cat '{0}/plan.txt'; fi ;;
  version) echo '{{"terraform_version":"1.11.4"}}' ;;
esac
"#,
                dir.display()
            ),
        );
        let root = env.path().join(format!("root-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        Stand {
            root,
            terraform,
            dir,
        }
    }

    /// What the next run plans.
    fn set(&self, plan: &Value, text: &str) {
        std::fs::write(
            self.dir.join("plan.json"),
            serde_json::to_vec(plan).unwrap(),
        )
        .unwrap();
        std::fs::write(self.dir.join("plan.txt"), text).unwrap();
    }

    fn run(&self, env: &TestEnv, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend_from_slice(&[
            "--no-init",
            "--chdir",
            self.root.to_str().unwrap(),
            "--terraform",
            self.terraform.to_str().unwrap(),
        ]);
        env.run(&all)
    }
}

/// A plan JSON of these resource changes.
fn plan_of(changes: Vec<Value>) -> Value {
    json!({
        "format_version": "1.2", "terraform_version": "1.11.4",
        "resource_changes": changes, "applyable": true, "complete": true, "errored": false,
    })
}

/// An update of `terraform_data.<address>`'s `input` from `before` to `after`.
fn update(address: &str, before: Value, after: Value) -> Value {
    json!({
        "address": address, "mode": "managed", "type": "terraform_data", "name": "x",
        "provider_name": "terraform.io/builtin/terraform",
        "change": {"actions": ["update"],
                   "before": {"id": "x", "input": before}, "after": {"id": "x", "input": after},
                   "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}},
    })
}

/// `n` updates of the instances of `module.fleet.terraform_data.node`, whose reviewed `before`
/// is `size`, and the plan text that goes with them (about 150 bytes a resource).
fn fleet(n: usize, size: &str) -> (Value, String) {
    let mut text = String::new();
    let changes = (0..n)
        .map(|i| {
            let address = format!("module.fleet.terraform_data.node[{i}]");
            let _ = writeln!(
                text,
                "  # {address} will be updated in-place\n  ~ resource \"terraform_data\" \"node\" {{\n      ~ input = {{ size = \"{size}\" }} -> {{ size = \"large\" }}\n    }}"
            );
            update(
                &address,
                json!({"size": size}),
                json!({"size": "large"}),
            )
        })
        .collect();
    (plan_of(changes), text)
}

/// SARIF of one tool with `n` warnings whose messages are long.
fn big_sarif(n: usize) -> Value {
    let results: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "ruleId": format!("CKV_AWS_{i}"), "level": "warning",
                "message": {"text": format!("finding {i}: {}", "this resource is not configured as policy requires. ".repeat(20))},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "main.tf"},
                                "region": {"startLine": i + 1}}}],
            })
        })
        .collect();
    json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "checkov", "rules": []}},
                                          "results": results}]})
}

/// The S3 archive on moto for `env`.
fn on_s3(env: &mut TestEnv, archive: &str) {
    moto().configure(env);
    env.set("TFGATE_ARCHIVE", archive);
}

fn new_archive() -> String {
    let bucket = moto().unique("attacks");
    moto().create_bucket(&bucket);
    format!("s3://{bucket}/tfgate")
}

/// tfgate's one comment on the pull request.
#[track_caller]
fn only_comment(gh: &GitHubFake) -> String {
    let ours = tfgate_comments(gh);
    assert_eq!(ours.len(), 1, "one tfgate comment");
    ours[0].body.clone()
}

/// A reviewed plan whose comment is already near the limit (thousands of resources, grouped,
/// the plan text cut to what is left, and a Checks section of long findings), refused at apply
/// because every resource was changed outside Terraform: the status block still starts with
/// the reason, the report's fold is whole, the plan text keeps its fold, and the body fits.
#[test]
fn a_refusal_on_a_comment_near_the_limit_still_says_why_and_fits() {
    let gh = GitHubFake::start();
    let archive = new_archive();
    let mut env = pr_run(&gh);
    on_s3(&mut env, &archive);
    let stand = Stand::new(&env, "near");
    let sarif = env.path().join("checkov.sarif");
    std::fs::write(&sarif, serde_json::to_vec(&big_sarif(40)).unwrap()).unwrap();
    let (reviewed, text) = fleet(3_000, "small");
    stand.set(&reviewed, &text);
    stand
        .run(&env, &["plan", "--checks", sarif.to_str().unwrap()])
        .assert_code(0);
    let planned = only_comment(&gh);
    assert!(planned.len() > 55_000, "near the limit: {}", planned.len());

    // Every instance was resized by hand since review.
    let (now, text) = fleet(3_000, "manual");
    stand.set(&now, &text);
    gh.merge_pr(REPO, PR, MERGE);
    let mut env = push_run(&gh);
    on_s3(&mut env, &archive);
    let run = stand.run(&env, &["apply"]);
    run.assert_code(3);
    assert_eq!(outputs(&env)["verdict"], "refused", "{}", run.transcript());

    let body = only_comment(&gh);
    assert!(body.contains("\"status\":\"refused\""), "{body}");
    assert!(
        body.chars().count() <= GITHUB_MAX_CHARS,
        "{}",
        body.chars().count()
    );
    let doc = gfm::render(&body);
    let visible = doc.visible_text();
    assert!(
        visible.contains(
            "Apply refused: module.fleet.terraform_data.node[0]: input.size was changed outside Terraform since review"
        ),
        "the reason shows: {visible}"
    );
    let folds = doc.fold_summaries();
    assert!(
        folds.iter().any(|s| s == "What changed since review"),
        "{folds:?}"
    );
    assert!(folds.iter().any(|s| s.starts_with("Plan: ")), "{folds:?}");
    // Nothing swallowed the rest: the footer is still outside any fold and any code.
    assert!(
        doc.root.text_outside_code().contains("fingerprint"),
        "the footer shows"
    );
    let summary = step_summary(&env);
    assert!(
        summary.contains("was changed outside Terraform"),
        "{summary}"
    );
}

/// A deletion of `terraform_data.<name>`.
fn delete(name: &str) -> Value {
    json!({
        "address": format!("terraform_data.{name}"), "mode": "managed", "type": "terraform_data",
        "name": name, "provider_name": "terraform.io/builtin/terraform",
        "change": {"actions": ["delete"], "before": {"id": "x"}, "after": null,
                   "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false},
    })
}

/// A root whose plan changes nothing.
fn quiet_root(env: &TestEnv) -> Stand {
    let quiet = Stand::new(env, "quiet");
    quiet.set(&plan_of(vec![]), "No changes.\n");
    quiet
}

/// A root whose plan deletes `terraform_data.old`.
fn destroying_root(env: &TestEnv) -> Stand {
    let destroys = Stand::new(env, "destroys");
    destroys.set(&plan_of(vec![delete("old")]), "  - old\n");
    destroys
}

/// With `--comment never` no comment records any root's plan, so a run knows only its own:
/// a root without changes cannot take away the labels another root's plan earned, and one
/// with changes takes away `tfgate:no-changes`. No comment is read or written.
#[test]
fn labels_without_comments_only_say_what_this_plan_proves() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let (quiet, destroys) = (quiet_root(&env), destroying_root(&env));
    let never = ["plan", "--comment", "never", "--labels"];

    // The first plan of the pull request changes nothing: nothing says otherwise.
    let run = quiet.run(&env, &never);
    run.assert_code(0);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:no-changes"], "{}", run.stderr);
    destroys.run(&env, &never).assert_code(0);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:changes", "tfgate:destroy"]);
    // The quiet root again: its plan says nothing about the other root's.
    let run = quiet.run(&env, &never);
    run.assert_code(0);
    assert_eq!(
        gh.labels(REPO, PR),
        ["tfgate:changes", "tfgate:destroy"],
        "{}",
        run.stderr
    );
    assert!(
        gh.requests().iter().all(|r| !r.path.contains("/comments")),
        "no comment is read or written"
    );
    assert!(tfgate_comments(&gh).is_empty());
}

/// The labels follow the comments on the pull request: when a person deletes one root's
/// comment, that root's plan no longer counts (apply would not apply it either without a new
/// plan), and the root's next plan posts it again and restores the label.
#[test]
fn a_deleted_comment_no_longer_counts_for_the_labels_until_its_root_plans_again() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let (quiet, destroys) = (quiet_root(&env), destroying_root(&env));
    let labelled = ["plan", "--labels"];
    destroys.run(&env, &labelled).assert_code(0);
    quiet.run(&env, &labelled).assert_code(0);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:changes", "tfgate:destroy"]);

    let destroying = tfgate_comments(&gh)
        .into_iter()
        .find(|c| c.body.contains("root-destroys"))
        .unwrap();
    gh.delete_comment(destroying.id);
    let run = quiet.run(&env, &labelled);
    run.assert_code(0);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:no-changes"], "{}", run.stderr);
    destroys.run(&env, &labelled).assert_code(0);
    assert_eq!(gh.labels(REPO, PR), ["tfgate:changes", "tfgate:destroy"]);
}

/// Findings do not make a comment of a plan `--comment` keeps quiet: with `changes`, a plan
/// without changes posts none (the step summary shows the findings), and with `never` a
/// failing `--fail-on-checks` still fails the plan and says why where the workflow reads.
#[test]
fn findings_follow_the_comment_mode_and_still_fail_the_plan_without_a_comment() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let quiet = quiet_root(&env);
    let sarif = env.path().join("checkov.sarif");
    std::fs::write(&sarif, serde_json::to_vec(&big_sarif(3)).unwrap()).unwrap();
    let sarif = sarif.to_str().unwrap();

    let run = quiet.run(&env, &["plan", "--comment", "changes", "--checks", sarif]);
    run.assert_code(0);
    assert!(tfgate_comments(&gh).is_empty(), "{}", run.stderr);
    let summary = step_summary(&env);
    assert!(summary.contains("CKV_AWS_0"), "{summary}");

    let run = quiet.run(
        &env,
        &[
            "plan",
            "--comment",
            "never",
            "--checks",
            sarif,
            "--fail-on-checks",
            "warning",
        ],
    );
    run.assert_code(1);
    assert!(tfgate_comments(&gh).is_empty());
    let out = outputs(&env);
    assert!(
        out["failure_reason"].starts_with("checks_failed: "),
        "{out:?}"
    );
    assert!(run.stderr.contains("::error"), "{}", run.stderr);
}

/// Everything a hostile value may try, in one string.
const HOSTILE: &str = "a`b|c\n</details><img src=x> ::error::x ##[error]y @org/team [link](http://x)\n# h *e* _e_ %0A::warning::z";

/// The workflow commands a run's output would make the runner carry out, tfgate's own
/// (stop, resume, groups, its `::error::`/`::warning::` annotations) aside; and its annotations'
/// texts.
fn foreign_commands(run: &Run) -> (Vec<(String, String)>, Vec<String>) {
    let mut runner = crate::support::workflow::Runner::new();
    runner.feed(&run.stdout);
    runner.feed(&run.stderr);
    let mut foreign = Vec::new();
    let mut annotations = Vec::new();
    for (name, data) in runner.commands() {
        match name.as_str() {
            "group" | "endgroup" => {}
            "error" | "warning" | "notice" => annotations.push(data),
            _ => foreign.push((name, data)),
        }
    }
    (foreign, annotations)
}

/// No hostile value became markup: no image, no link to it, no heading or emphasis of it, no
/// live mention, and every table row has its header's cells.
#[track_caller]
fn assert_inert(markdown: &str) {
    let doc = gfm::render(markdown);
    assert!(doc.injected(&["img", "script"]).is_empty(), "{}", doc.html);
    for h in ["h1", "h2", "h3", "h4", "h5", "h6"]
        .iter()
        .flat_map(|h| doc.root.all(h))
    {
        assert!(
            !h.text().starts_with('h'),
            "a hostile heading: {}",
            doc.html
        );
    }
    for a in doc.root.all("a") {
        let href = a.attr("href").unwrap_or_default();
        assert!(
            !href.contains("http://x"),
            "a link to a hostile value: {}",
            doc.html
        );
    }
    for tag in ["em", "strong"] {
        for e in doc.root.all(tag) {
            assert_ne!(e.text(), "e", "hostile emphasis: {}", doc.html);
        }
    }
    assert!(
        !doc.root.text_outside_code().contains("@org/team"),
        "a live mention: {}",
        doc.html
    );
    for t in doc.tables() {
        for row in &t.rows {
            assert_eq!(row.len(), t.header.len(), "{row:?} in {}", doc.html);
        }
    }
}

/// A refusal whose attribute paths (map keys) and values are hostile, reviewed with one value
/// and found with another: the comment, the step summary and the terminal keep them inert.
#[test]
fn a_refusal_with_hostile_keys_and_values_stays_inert_everywhere() {
    let gh = GitHubFake::start();
    let archive = new_archive();
    let mut env = pr_run(&gh);
    on_s3(&mut env, &archive);
    let stand = Stand::new(&env, "hostile");
    let key = |v: &str| json!({ HOSTILE: v, "size": v });
    let reviewed = plan_of(vec![update(
        &format!(
            "terraform_data.x[\"{}\"]",
            HOSTILE.replace('\n', "\\n").replace('"', "\\\"")
        ),
        key("small"),
        key("large"),
    )]);
    stand.set(&reviewed, "  ~ x\n");
    let run = stand.run(&env, &["plan"]);
    run.assert_code(0);
    let (foreign, _) = foreign_commands(&run);
    assert!(foreign.is_empty(), "{foreign:?}");
    let planned = only_comment(&gh);
    assert_inert(&planned);

    let now = plan_of(vec![update(
        &format!(
            "terraform_data.x[\"{}\"]",
            HOSTILE.replace('\n', "\\n").replace('"', "\\\"")
        ),
        key(HOSTILE),
        key("large"),
    )]);
    stand.set(&now, "  ~ x\n");
    gh.merge_pr(REPO, PR, MERGE);
    let mut env = push_run(&gh);
    on_s3(&mut env, &archive);
    let run = stand.run(&env, &["apply"]);
    run.assert_code(3);
    let (foreign, annotations) = foreign_commands(&run);
    assert!(foreign.is_empty(), "{foreign:?}\n{}", run.transcript());
    assert_eq!(
        annotations.len(),
        1,
        "{annotations:?}\n{}",
        run.transcript()
    );
    let body = only_comment(&gh);
    assert_inert(&body);
    assert_inert(&step_summary(&env));
    let doc = gfm::render(&body);
    assert!(
        doc.visible_text()
            .contains("was changed outside Terraform since review"),
        "{}",
        doc.visible_text()
    );
}

/// A finding in a file whose name holds a space, `#`, `)` and `%` links to that file, and its
/// link text and address stay whole; the terminal under Actions carries out no command from
/// SARIF.
#[test]
fn a_finding_in_a_file_with_an_awkward_name_links_to_it_whole() {
    let gh = GitHubFake::start();
    let mut env = pr_run(&gh);
    let workspace = env.path().display().to_string();
    env.set("GITHUB_WORKSPACE", workspace);
    std::fs::create_dir_all(env.path().join(".git")).unwrap();
    let stand = Stand::new(&env, "awkward");
    stand.set(&plan_of(vec![delete("old")]), "  - old\n");
    let dir = stand.root.join("my dir");
    std::fs::create_dir_all(&dir).unwrap();
    let name = "ma)in #2 100%.tf";
    std::fs::write(dir.join(name), "resource {}\n").unwrap();
    let sarif = json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "tflint\n::error::tool", "rules": []}},
        "results": [{
            "ruleId": "R)1](http://x)\n::warning::rule", "level": "error",
            "message": {"text": HOSTILE},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": format!("my dir/{name}")},
                "region": {"startLine": 7}}}],
        }],
    }]});
    let path = env.path().join("awkward.sarif");
    std::fs::write(&path, serde_json::to_vec(&sarif).unwrap()).unwrap();
    let run = stand.run(&env, &["plan", "--checks", path.to_str().unwrap()]);
    run.assert_code(0);
    let (foreign, annotations) = foreign_commands(&run);
    assert!(foreign.is_empty(), "{foreign:?}");
    assert!(
        annotations.iter().all(|a| !a.contains("::")),
        "{annotations:?}\n{}",
        run.transcript()
    );
    let body = only_comment(&gh);
    assert_inert(&body);
    assert_inert(&step_summary(&env));
    let doc = gfm::render(&body);
    let findings = doc
        .tables()
        .into_iter()
        .find(|t| t.header == ["Level", "Tool", "Rule", "Where", "Message"])
        .unwrap_or_else(|| panic!("{}", doc.html));
    assert_eq!(findings.rows.len(), 1, "{:?}", findings.rows);
    assert_eq!(
        findings.rows[0][3],
        format!("root-awkward/my dir/{name}:7"),
        "{}",
        doc.html
    );
    let hrefs: Vec<String> = doc
        .root
        .all("a")
        .iter()
        .filter_map(|a| a.attr("href").map(str::to_string))
        .filter(|h| h.contains("/blob/"))
        .collect();
    assert_eq!(
        hrefs,
        [format!(
            "https://github.com/{REPO}/blob/{HEAD}/root-awkward/my%20dir/ma%29in%20%232%20100%25.tf#L7"
        )],
        "{}",
        doc.html
    );
}

const SECRET: &str = "S3CRET-db-pass-5e1f";
const SECRET_NOW: &str = "S3CRET-rotated-by-hand-77aa";
const SECRET_NEXT: &str = "S3CRET-next-password-0b0b";
const MASKED: &str = "AKIAABCDEFGHIJKLMNOP";

/// An update of the sensitive `input.password` from `before` to [`SECRET_NEXT`], beside a
/// `config` that is not marked but quotes the password JSON-escaped, and a `key` only `--mask`
/// catches.
fn secret_update(before: &str) -> Value {
    let config = |pw: &str| serde_json::to_string(&json!({"db": {"password": pw}})).unwrap();
    json!({
        "address": "terraform_data.db", "mode": "managed", "type": "terraform_data", "name": "db",
        "provider_name": "terraform.io/builtin/terraform",
        "change": {"actions": ["update"],
                   "before": {"id": "x", "input": {"password": before, "config": config(before),
                                                   "key": MASKED, "size": "small"}},
                   "after": {"id": "x", "input": {"password": SECRET_NEXT,
                                                  "config": config(SECRET_NEXT),
                                                  "key": MASKED, "size": "large"}},
                   "after_unknown": {},
                   "before_sensitive": {"input": {"password": true}},
                   "after_sensitive": {"input": {"password": true}}},
    })
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in [SECRET, SECRET_NOW, SECRET_NEXT, MASKED] {
        assert!(!text.contains(secret), "{secret} in the {what}:\n{text}");
        let escaped = serde_json::to_string(secret).unwrap();
        assert!(!text.contains(escaped.trim_matches('"')), "{what}");
    }
}

/// A sensitive value, the same value JSON-escaped inside an unmarked string, and a `--mask`
/// pattern's match: quoted by a SARIF finding, changed by hand after review (so the apply is
/// refused), never shown in the comment, the step summary, the terminal, the step outputs or
/// `show --format json`.
#[test]
fn secrets_stay_hidden_through_checks_and_a_refusal() {
    let gh = GitHubFake::start();
    let archive = new_archive();
    let mut env = pr_run(&gh);
    on_s3(&mut env, &archive);
    env.set("TFGATE_MASK", "AKIA[0-9A-Z]{16}");
    let stand = Stand::new(&env, "secret");
    stand.set(
        &plan_of(vec![secret_update(SECRET)]),
        "  ~ input = (sensitive value)\n",
    );
    let sarif = json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "checkov", "rules": []}},
        "results": [{
            "ruleId": "CKV_SECRET_6", "level": "error",
            "message": {"text": format!("hard-coded password {SECRET} and key {MASKED}")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "main.tf"},
                                                "region": {"startLine": 1}}}],
        }],
    }]});
    let path = env.path().join("secrets.sarif");
    std::fs::write(&path, serde_json::to_vec(&sarif).unwrap()).unwrap();
    let run = stand.run(&env, &["plan", "--checks", path.to_str().unwrap()]);
    run.assert_code(0);
    assert_no_secret("plan's terminal", &run.transcript());
    assert_no_secret("comment", &only_comment(&gh));
    assert_no_secret("plan's step summary", &step_summary(&env));
    assert_no_secret("plan's outputs", &format!("{:?}", outputs(&env)));
    let show = env.run(&[
        "show",
        stand.dir.join("plan.json").to_str().unwrap(),
        "--format",
        "json",
        "--mask",
        "AKIA[0-9A-Z]{16}",
    ]);
    show.assert_code(0);
    assert_no_secret("show JSON", &show.stdout);

    stand.set(
        &plan_of(vec![secret_update(SECRET_NOW)]),
        "  ~ input = (sensitive value)\n",
    );
    gh.merge_pr(REPO, PR, MERGE);
    let mut env = push_run(&gh);
    on_s3(&mut env, &archive);
    env.set("TFGATE_MASK", "AKIA[0-9A-Z]{16}");
    let run = stand.run(&env, &["apply"]);
    run.assert_code(3);
    assert_no_secret("apply's terminal", &run.transcript());
    let body = only_comment(&gh);
    assert!(body.contains("\"status\":\"refused\""), "{body}");
    assert_no_secret("refused comment", &body);
    assert_no_secret("apply's step summary", &step_summary(&env));
    assert_no_secret("apply's outputs", &format!("{:?}", outputs(&env)));
    let doc = gfm::render(&body);
    let visible = doc.visible_text();
    // The values differ only in the secret: they are not shown as the same value twice.
    assert!(
        visible.contains(
            "Apply refused: terraform_data.db: input.config was changed outside Terraform since review (sensitive)"
        ),
        "{visible}"
    );
    let report = doc
        .tables()
        .into_iter()
        .find(|t| t.header.first().is_some_and(|h| h == "Resource"))
        .unwrap_or_else(|| panic!("{}", doc.html));
    assert!(
        report.rows[0][3].contains("input.config: sensitive value changed (current value)"),
        "{:?}",
        report.rows
    );
}

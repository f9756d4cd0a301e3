//! Secrets in the forms encodings give them: a sensitive value that reaches output unmarked
//! (through `nonsensitive()`) comes out of terraform escaped (`\"`, `\\`, `\u003c`, nested in
//! `jsonencode()`), and tfgate escapes again (JSON, markdown, HTML). No form of it reaches any
//! channel. And values of sensitive variables that a failing precondition prints before any
//! plan exists are masked all the same, wherever the value was supplied.

use std::path::{Path, PathBuf};

use crate::support::*;

/// The `escaped-secret` fixture's secret: `S3CRET"q\<b>&z'-zq9w`. Its two ends survive every
/// escaping unchanged, so looking for them finds the secret in any form, whole or in part.
const SECRET: &str = "S3CRET\"q\\<b>&z'-zq9w";
const ENDS: [&str; 2] = ["S3CRET", "zq9w"];

/// The files terraform owns in a bundle: they hold secrets by design.
const TERRAFORMS_OWN: [&str; 3] = ["tfplan", "plan.json", "reviewed-plan.json"];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn assert_no_secret(what: &str, text: &[u8]) {
    for end in ENDS {
        assert!(
            !contains(text, end),
            "the secret leaked into {what}:\n{}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn escaped_forms_of_secrets_appear_in_no_channel() {
    let mut env = TestEnv::new();
    let outputs = env.path().join("github_output");
    let step_summary = env.path().join("step_summary");
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_OUTPUT", outputs.display().to_string())
        .set("GITHUB_STEP_SUMMARY", step_summary.display().to_string());
    let root = env.stage("escaped-secret");
    let chdir = ["--chdir", s(&root)];

    let mut runs: Vec<(String, Run)> = Vec::new();
    for format in ["human", "markdown", "json"] {
        let run = env.run(&[&["plan", "--format", format, "-vv"], &chdir[..]].concat());
        run.assert_code(0);
        runs.push((format!("plan --format {format}"), run));
    }
    let reviewed = only_plan_bundles(&root)[0].clone();
    // The fixture does what it says: terraform itself shows the secret escaped, in the JSON
    // (Go's escapes) and in the plan text (`\"`, `\\`, doubly inside jsonencode).
    let go_form = "S3CRET\\\"q\\\\\\u003cb\\u003e\\u0026z'-zq9w";
    assert!(
        contains(&std::fs::read(reviewed.join("plan.json")).unwrap(), go_form),
        "plan.json lacks {go_form}: the fixture changed"
    );
    let text = terraform_show(&env, &root, &reviewed.join("tfplan"));
    for form in [
        r#"by_key["S3CRET\"q\\<b>&z'-zq9w"]"#,
        r#"S3CRET\\\\\\\"q\\\\\\\\\\\\u003cb\\\\u003e"#,
    ] {
        assert!(
            text.contains(form),
            "terraform's text lacks {form}:\n{text}"
        );
    }
    assert!(
        !text.contains(SECRET),
        "terraform printed the secret raw:\n{text}"
    );

    for format in ["human", "markdown", "json"] {
        let run = env.run(&["show", s(&reviewed), "--format", format, "-vv"]);
        run.assert_code(0);
        runs.push((format!("show --format {format}"), run));
    }
    // A second plan that differs, to compare with.
    let run = env.run(&[&["plan", "-vv"], &chdir[..], &["--", "-var", "replicas=3"]].concat());
    run.assert_code(0);
    runs.push(("plan -var replicas=3".into(), run));
    let other = only_plan_bundles(&root).pop().unwrap();
    for format in ["human", "markdown", "json"] {
        let run = env.run(&["diff", s(&reviewed), s(&other), "--format", format, "-vv"]);
        run.assert_code(3);
        runs.push((format!("diff --format {format}"), run));
    }
    let run = env.run(&[&["apply", "--reviewed", s(&reviewed), "-vv"], &chdir[..]].concat());
    run.assert_code(0);
    runs.push(("apply".into(), run));

    for (what, run) in &runs {
        assert_no_secret(&format!("the stdout of {what}"), run.stdout.as_bytes());
        assert_no_secret(&format!("the stderr of {what}"), run.stderr.as_bytes());
    }
    // Masked where it was: the for_each key, in the table and in terraform's streamed output.
    let (_, human) = &runs[0];
    assert!(
        human
            .stdout
            .contains("terraform_data.by_key[\"(sensitive value)\"]"),
        "{}",
        human.transcript()
    );

    let mut checked = Vec::new();
    for (path, bytes) in files_under(&root.join(".tfgate")).into_iter().chain(
        files_under(env.path())
            .into_iter()
            .filter(|(p, _)| *p == outputs || *p == step_summary),
    ) {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if TERRAFORMS_OWN.contains(&name.as_str()) {
            continue;
        }
        assert_no_secret(&path.display().to_string(), &bytes);
        checked.push(name);
    }
    for name in [
        "plan.txt",
        "summary.json",
        "comment.md",
        "apply.log",
        "github_output",
        "step_summary",
    ] {
        assert!(
            checked.iter().any(|c| c == name),
            "no {name} was checked: {checked:?}"
        );
    }
}

/// The complete plan bundles of a root, oldest first (their names start with the time).
fn only_plan_bundles(root: &Path) -> Vec<PathBuf> {
    bundles(root)
        .into_iter()
        .filter(|(b, complete)| *complete && b.to_str().unwrap().contains("-plan-"))
        .map(|(b, _)| b)
        .collect()
}

/// `terraform show -no-color PLANFILE` in the root, run directly.
fn terraform_show(env: &TestEnv, root: &Path, plan: &Path) -> String {
    let out = std::process::Command::new("terraform")
        .args(["show", "-no-color", s(plan)])
        .current_dir(root)
        .env_clear()
        .envs(env.vars())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Where the value of `var.api_key` comes from.
enum Supply {
    /// `-var api_key=…` after `--`.
    Var,
    /// `-var-file=given.tfvars` after `--`.
    VarFile,
    /// `TF_VAR_api_key`.
    Env,
    /// A file terraform reads by itself: `.json` or HCL by its name.
    File(&'static str),
}

#[test]
fn a_failing_precondition_does_not_print_sensitive_variables() {
    let cases = [
        ("S3CRET-cli-var-1", Supply::Var),
        ("S3CRET-var-file-2", Supply::VarFile),
        ("S3CRET-tf-var-3", Supply::Env),
        ("S3CRET<\"tfvars\">-4", Supply::File("terraform.tfvars")),
        ("S3CRET-auto-5", Supply::File("secret.auto.tfvars")),
        (
            "S3CRET-tfvars-json-6",
            Supply::File("terraform.tfvars.json"),
        ),
        (
            "S3CRET-auto-json-7",
            Supply::File("secret.auto.tfvars.json"),
        ),
    ];
    for (secret, supply) in cases {
        let mut env = TestEnv::new();
        env.set("GITHUB_ACTIONS", "true");
        let root = env.stage("sensitive-precondition");
        // A JSON string is an HCL string too.
        let quoted = serde_json::to_string(secret).unwrap();
        let var = format!("api_key={secret}");
        let mut args = vec!["plan", "--chdir", s(&root)];
        match supply {
            Supply::Var => args.extend(["--", "-var", &var]),
            Supply::VarFile => {
                std::fs::write(root.join("given.tfvars"), format!("api_key = {quoted}\n")).unwrap();
                args.extend(["--", "-var-file=given.tfvars"]);
            }
            Supply::Env => {
                env.set("TF_VAR_api_key", secret);
            }
            Supply::File(name) if name.ends_with(".json") => {
                std::fs::write(root.join(name), format!("{{\"api_key\": {quoted}}}")).unwrap()
            }
            Supply::File(name) => {
                std::fs::write(root.join(name), format!("api_key = {quoted}\n")).unwrap()
            }
        }
        let run = env.run(&args);
        run.assert_code(1);
        // terraform's message got through, with the secret masked in it.
        assert!(
            run.stderr
                .contains("visible-label-5a1e: the api key (sensitive value) is too long."),
            "{secret}: {}",
            run.transcript()
        );
        let annotation = run
            .stderr
            .lines()
            .find(|l| l.starts_with("::error::"))
            .unwrap_or_else(|| panic!("no ::error:: annotation:\n{}", run.transcript()));
        assert!(
            annotation.contains("visible-label-5a1e"),
            "{secret}: {annotation}"
        );
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains("S3CRET"),
                "{secret} leaked:\n{}",
                run.transcript()
            );
        }
    }
}

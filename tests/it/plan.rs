//! `tfgate plan` on the embedded default: local root, local archive, rendered comment.

use crate::support::*;

#[test]
fn demo_plan_summarizes_archives_and_renders_the_comment() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    assert!(run.stdout.contains("7 to add"), "{}", run.transcript());
    // terraform's own output is streamed live on stderr.
    assert!(
        run.stderr
            .contains("Terraform has been successfully initialized"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Plan: 7 to add, 0 to change, 0 to destroy"),
        "{}",
        run.stderr
    );

    let bundle = only_bundle(&root);
    for f in [
        "tfplan",
        "plan.json",
        "plan.txt",
        "summary.json",
        "comment.md",
        "manifest.json",
    ] {
        assert!(
            bundle.join(f).is_file(),
            "{f} missing in {}",
            bundle.display()
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "plan");
    assert_eq!(manifest["workspace"], "default");
    assert_eq!(manifest["counts"]["create"], 7);
    assert!(
        manifest["terraform_version"]
            .as_str()
            .unwrap()
            .starts_with('1')
    );
    let files = manifest["files"].as_object().unwrap();
    assert_eq!(
        files.len(),
        5,
        "every file but the manifest is listed: {files:?}"
    );
    for (name, entry) in files {
        let bytes = std::fs::read(bundle.join(name)).unwrap();
        assert_eq!(entry["size"], bytes.len(), "{name}");
    }

    let comment = std::fs::read_to_string(bundle.join("comment.md")).unwrap();
    assert!(comment.starts_with("<!-- tfgate:"), "{comment}");
    assert!(comment.contains("<details>"), "{comment}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["fingerprint"], manifest["fingerprint"]);
    assert!(
        summary["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn detailed_exitcode_reports_changes_with_2() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    env.run(&[
        "plan",
        "--detailed-exitcode",
        "--chdir",
        root.to_str().unwrap(),
    ])
    .assert_code(2);

    let root = env.stage("nochange");
    let run = env.run(&[
        "plan",
        "--detailed-exitcode",
        "--chdir",
        root.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes"), "{}", run.transcript());
}

#[test]
fn every_kind_of_change_is_counted_from_the_plan_json() {
    let env = TestEnv::new();
    let root = env.stage("changes");
    let run = env.run(&[
        "plan",
        "--format",
        "json",
        "--chdir",
        root.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let s = run.json();
    let c = &s["counts"];
    assert_eq!(c["create"], 1, "{s:#}");
    assert_eq!(c["update"], 2, "{s:#}");
    assert_eq!(c["replace"], 3, "{s:#}");
    // legacy_cron, worker[2] and the deposed object of tls_cert.
    assert_eq!(c["delete"], 3, "{s:#}");
    assert_eq!(c["import"], 2, "{s:#}");
    assert_eq!(c["move"], 1, "{s:#}");
    assert_eq!(c["forget"], 1, "{s:#}");
    let resources = s["resources"].as_array().unwrap();
    let find = |addr: &str| {
        resources
            .iter()
            .find(|r| r["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} not in {resources:#?}"))
    };
    assert_eq!(
        find("terraform_data.queue_primary")["previous_address"],
        "terraform_data.queue"
    );
    assert_eq!(find("terraform_data.queue_primary")["action"], "no-op");
    assert_eq!(find("terraform_data.dns_record")["action"], "forget");
    assert_eq!(find("terraform_data.cache_warmer")["reason"], "tainted");
    assert_eq!(
        find("terraform_data.legacy_cron")["reason"],
        "no longer in the configuration"
    );
    assert_eq!(find("terraform_data.archive")["action"], "no-op");
    let outputs: Vec<(&str, &str)> = s["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["action"].as_str().unwrap()))
        .collect();
    assert!(
        outputs.contains(&("feature_flags_id", "create")),
        "{outputs:?}"
    );
    assert!(
        outputs.contains(&("legacy_cron_id", "delete")),
        "{outputs:?}"
    );
    assert!(outputs.contains(&("app_image", "update")), "{outputs:?}");
}

#[test]
fn failing_checks_are_reported_and_do_not_fail_the_plan() {
    let env = TestEnv::new();
    let root = env.stage("failing-check");
    let run = env.run(&[
        "plan",
        "--format",
        "json",
        "--chdir",
        root.to_str().unwrap(),
    ]);
    run.assert_code(0);
    let failed = run.json()["checks"]["failed"].clone();
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed:#}");
    assert!(run.stderr.contains("warning: check"), "{}", run.stderr);
    let comment = std::fs::read_to_string(only_bundle(&root).join("comment.md")).unwrap();
    let message = failed[0]["messages"][0].as_str().unwrap();
    assert!(
        comment.contains(message),
        "check message missing from the comment"
    );
}

#[test]
fn arguments_after_double_dash_reach_terraform_plan() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    let run = env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--",
        "-var=environment=production",
    ]);
    run.assert_code(0);
    let text = std::fs::read_to_string(only_bundle(&root).join("plan.txt")).unwrap();
    assert!(text.contains("api.production.example.com"), "{text}");
}

#[test]
fn github_actions_gets_outputs_step_summary_and_annotations() {
    let mut env = TestEnv::new();
    let out = env.path().join("github_output");
    let summary = env.path().join("step_summary");
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_OUTPUT", out.display().to_string())
        .set("GITHUB_STEP_SUMMARY", summary.display().to_string())
        .set("GITHUB_SERVER_URL", "https://github.com")
        .set("GITHUB_REPOSITORY", "acme/infra")
        .set("GITHUB_RUN_ID", "7")
        .set("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567");
    let root = env.stage("changes");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("::warning::this plan deletes or replaces 6 resource(s)"),
        "{}",
        run.stderr
    );

    let outputs = std::fs::read_to_string(&out).unwrap();
    let bundle = only_bundle(&root);
    assert!(
        bundle
            .to_str()
            .unwrap()
            .contains("/commit-0123456789abcdef0123456789abcdef01234567/")
    );
    let expected = [
        "has_changes=true",
        "add=1",
        "change=2",
        "destroy=3",
        "replace=3",
        "import=2",
        "move=1",
        "forget=1",
    ];
    for line in expected {
        assert!(
            outputs.lines().any(|l| l == line),
            "{line} not in\n{outputs}"
        );
    }
    assert!(outputs.contains("fingerprint=sha256:"), "{outputs}");
    assert!(
        outputs.contains(&format!("bundle={}", bundle.display())),
        "{outputs}"
    );

    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        !md.starts_with("<!--"),
        "the marker is not for the step summary"
    );
    assert!(
        md.contains("https://github.com/acme/infra/actions/runs/7"),
        "{md}"
    );
}

#[test]
fn terraform_errors_show_the_stderr_tail_and_leave_no_complete_bundle() {
    let mut env = TestEnv::new();
    env.set("GITHUB_ACTIONS", "true");
    let root = env.stage("error");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("error: `terraform plan` failed (exit status 1)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: terraform said:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Reference to undeclared input variable"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("::error::"), "{}", run.stderr);
    assert!(
        bundles(&root).iter().all(|(_, complete)| !complete),
        "{:?}",
        bundles(&root)
    );
}

#[test]
fn bad_roots_and_binaries_are_clear_errors() {
    let env = TestEnv::new();
    let run = env.run(&["plan", "--chdir", "does/not/exist"]);
    run.assert_code(1);
    insta::assert_snapshot!("missing_root", run.transcript());

    let root = env.stage("demo");
    let run = env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--terraform",
        "/nonexistent/terraform",
    ]);
    run.assert_code(1);
    insta::assert_snapshot!("missing_terraform", run.transcript());
}

#[test]
fn settings_file_is_read_and_flags_win() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    let fake = env.script(
        "fake-terraform",
        "echo \"fake terraform: $*\" >&2\nexit 1\n",
    );
    std::fs::write(
        root.join(".tfgate.toml"),
        format!("terraform = \"{}\"\ninit = false\n", fake.display()),
    )
    .unwrap();
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(1);
    // init = false in the file: the first terraform command is plan.
    assert!(
        run.stderr.contains("fake terraform: plan -input=false"),
        "{}",
        run.stderr
    );

    let mut env2 = TestEnv::new();
    env2.set("TFGATE_TERRAFORM", "terraform");
    let run = env2.run(&["plan", "--chdir", root.to_str().unwrap(), "--no-init"]);
    run.assert_code(0);
}

#[test]
fn non_utf8_terraform_output_does_not_crash() {
    let env = TestEnv::new();
    let root = env.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let plan_json = plans_dir().join("demo.json");
    // A stand-in terraform that writes invalid UTF-8 on every stream.
    let fake = env.script(
        "fake-terraform",
        &format!(
            r#"case "$1" in
  plan) printf 'planning \xff\xfe\n' ; printf 'warn \xc3\x28\n' >&2; for a in "$@"; do case "$a" in -out=*) printf 'PK\003\004' > "${{a#-out=}}";; esac; done ;;
  show) if [ "$2" = "-json" ]; then cat '{}'; else printf '  # x will be created\n  + resource "t" "x" {{\n      + input = "\xff"\n    }}\n'; fi ;;
esac
"#,
            plan_json.display()
        ),
    );
    let run = env.run(&[
        "plan",
        "--no-init",
        "--chdir",
        root.to_str().unwrap(),
        "--terraform",
        fake.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("planning \u{FFFD}\u{FFFD}"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(only_bundle(&root).join("plan.txt")).unwrap();
    assert!(text.contains('\u{FFFD}'));
}

#[test]
fn workspace_is_passed_to_terraform_and_names_the_bundle_folder() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    let run = env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--workspace",
        "staging",
    ]);
    run.assert_code(0);
    // terraform saw TF_WORKSPACE=staging: init created the workspace's state folder.
    assert!(
        root.join("terraform.tfstate.d/staging").is_dir(),
        "{}",
        run.transcript()
    );
    let bundle = only_bundle(&root);
    assert!(
        bundle.to_str().unwrap().contains("/archive/staging/local/"),
        "{}",
        bundle.display()
    );
    let manifest = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("\"workspace\": \"staging\""),
        "{manifest}"
    );
}

#[test]
fn verbose_accounts_for_time_in_terraform_and_in_tfgate() {
    let env = TestEnv::new();
    let root = env.stage("nochange");
    let run = env.run(&["plan", "-v", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    let line = run
        .stderr
        .lines()
        .find(|l| l.ends_with(" ms in tfgate"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let numbers: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 3, "{line}");
    let (all, terraform, own) = (numbers[0], numbers[1], numbers[2]);
    assert!(terraform > 0.0 && own > 0.0, "{line}");
    assert!((all - terraform - own).abs() < 0.5, "{line}");
    // Without -v there is no such line.
    let quiet = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    assert!(!quiet.stderr.contains("ms in tfgate"), "{}", quiet.stderr);
}

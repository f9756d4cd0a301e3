//! No sensitive value reaches any output: terminal, comment, summary.json, plan.txt, step
//! summary, step outputs. Only terraform's own `tfplan` and `plan.json` hold them.

use crate::support::*;

#[test]
fn sensitive_values_appear_nowhere_but_terraforms_own_files() {
    let mut env = TestEnv::new();
    let out = env.path().join("github_output");
    let summary = env.path().join("step_summary");
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_OUTPUT", out.display().to_string())
        .set("GITHUB_STEP_SUMMARY", summary.display().to_string());
    let root = env.stage("sensitive");

    let mut runs = Vec::new();
    for format in ["human", "markdown", "json"] {
        let run = env.run(&[
            "plan",
            "--chdir",
            root.to_str().unwrap(),
            "--format",
            format,
            "--mask",
            AKIA_MASK,
            "-v",
        ]);
        run.assert_code(0);
        runs.push(run);
    }
    // The plan really does contain the secrets (or this test proves nothing).
    let bundles = bundles(&root);
    assert_eq!(bundles.len(), 3);
    for (bundle, _) in &bundles {
        let json = std::fs::read(bundle.join("plan.json")).unwrap();
        for s in SENSITIVE_SECRETS {
            assert!(
                contains(&json, s),
                "{s} is not in plan.json: the fixture changed"
            );
        }
    }

    for run in &runs {
        for s in SENSITIVE_SECRETS {
            assert!(
                !run.stdout.contains(s),
                "{s} leaked to stdout:\n{}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(s),
                "{s} leaked to stderr:\n{}",
                run.stderr
            );
        }
        assert!(run.stdout.contains("app_secrets") || run.stdout.contains("\"address\""));
    }
    let mut checked = 0;
    for (path, bytes) in files_under(&root.join(".tfgate")).into_iter().chain(
        files_under(env.path())
            .into_iter()
            .filter(|(p, _)| p == &out || p == &summary),
    ) {
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "tfplan" || name == "plan.json" {
            continue;
        }
        checked += 1;
        for s in SENSITIVE_SECRETS {
            assert!(!contains(&bytes, s), "{s} leaked into {}", path.display());
        }
    }
    assert!(checked >= 3 * 4 + 2, "only {checked} files checked");
    // Masked, not dropped: the reader sees where a value was hidden.
    let text = std::fs::read_to_string(bundles[0].0.join("plan.txt")).unwrap();
    assert!(
        text.contains("***"),
        "the --mask pattern left no trace:\n{text}"
    );
}

#[test]
fn mask_patterns_apply_to_terraforms_streamed_output() {
    let env = TestEnv::new();
    let root = env.stage("sensitive");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    // Without --mask, the unmarked key is visible (Terraform does not know it is a secret)...
    assert!(
        run.stderr.contains("AKIAFAKEKEY000000001")
            || run.stdout.contains("AKIAFAKEKEY000000001")
            || std::fs::read_to_string(only_bundle(&root).join("plan.txt"))
                .unwrap()
                .contains("AKIAFAKEKEY000000001")
    );
    // ...and with it, masked everywhere, including the live stream.
    let mut env = TestEnv::new();
    env.set("TFGATE_MASK", AKIA_MASK);
    let root = env.stage("sensitive");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    assert!(
        !run.stderr.contains("AKIAFAKEKEY000000001"),
        "{}",
        run.stderr
    );
    // --help shows that TFGATE_MASK is read, not what it holds.
    let help = env.run(&["plan", "--help"]);
    assert!(help.stdout.contains("TFGATE_MASK"), "{}", help.stdout);
    assert!(!help.stdout.contains("AKIA[0-9A-Z]"), "{}", help.stdout);
}

#[test]
fn show_redacts_plans_it_reads() {
    let env = TestEnv::new();
    let plan = plans_dir().join("sensitive.json");
    // The summary shows short plain values that change: the key no sensitivity mark covers is
    // hidden by its --mask pattern, as in every other output.
    let mask = AKIA_MASK;
    for format in ["human", "markdown", "json"] {
        let run = env.run(&[
            "show",
            plan.to_str().unwrap(),
            "--format",
            format,
            "--mask",
            mask,
        ]);
        run.assert_code(0);
        for s in SENSITIVE_SECRETS {
            assert!(
                !run.stdout.contains(s) && !run.stderr.contains(s),
                "{s} leaked:\n{}",
                run.transcript()
            );
        }
    }
}

/// A plan of `n` updates whose sensitive variable's value `secret` is also, unmarked, in the
/// index key of a few resources spread over the list.
fn plan_with_secret_keys(n: usize, secret: &str) -> String {
    let changes: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let key = if i % 700 == 3 {
                secret.to_string()
            } else {
                format!("k{i}")
            };
            serde_json::json!({
                "address": format!("terraform_data.x[{}]", serde_json::to_string(&key).unwrap()),
                "change": {"actions": ["update"], "before": {"input": "a"}, "after": {"input": "b"},
                           "after_unknown": {}},
            })
        })
        .collect();
    serde_json::json!({
        "format_version": "1.2",
        "variables": {"token": {"value": secret}},
        "resource_changes": changes,
        "configuration": {"root_module": {"variables": {"token": {"sensitive": true}}}},
    })
    .to_string()
}

/// `show --format json` masks the summary of a large plan as it writes it, in pieces on both
/// cores; the text is the same as when it is masked as a whole (under GitHub Actions, or when a
/// secret spans lines), and no secret is in either.
#[test]
fn show_json_of_a_large_plan_is_masked_as_it_is_written() {
    let mut env = TestEnv::new();
    for secret in ["s3cr3t-t0ken-value", "line one\nline-two-of-the-secret"] {
        let plan = env.path().join("plan.json");
        std::fs::write(&plan, plan_with_secret_keys(3_000, secret)).unwrap();
        let show = |env: &TestEnv| {
            let run = env.run(&["show", plan.to_str().unwrap(), "--format", "json"]);
            run.assert_code(0);
            run
        };
        env.set("GITHUB_ACTIONS", "false");
        let piecewise = show(&env);
        env.set("GITHUB_ACTIONS", "true");
        let whole = show(&env);
        assert_eq!(piecewise.stdout, whole.stdout, "{secret:?}");
        let summary = piecewise.json();
        let resources = summary["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 3_000);
        let masked = resources
            .iter()
            .filter(|r| r["address"] == r#"terraform_data.x["(sensitive value)"]"#)
            .count();
        assert_eq!(masked, 5, "{secret:?}");
        for part in secret.lines() {
            assert!(!piecewise.stdout.contains(part), "{part} leaked");
        }
    }
}

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

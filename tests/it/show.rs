//! `tfgate show`: every plan source, every format, and bad input.

use crate::support::*;

fn plan(name: &str) -> String {
    plans_dir().join(name).display().to_string()
}

#[test]
fn json_output_has_the_documented_fields() {
    let env = TestEnv::new();
    let run = env.run(&["show", &plan("changes.json"), "--format", "json"]);
    run.assert_code(0);
    let s = run.json();
    for field in [
        "format_version",
        "terraform_version",
        "has_changes",
        "fingerprint",
        "counts",
        "resources",
        "drift",
        "outputs",
        "checks",
    ] {
        assert!(s.get(field).is_some(), "{field} missing: {s:#}");
    }
    for count in [
        "create", "update", "delete", "replace", "import", "move", "forget", "read",
    ] {
        assert!(s["counts"][count].is_u64(), "counts.{count} missing");
    }
    for r in s["resources"].as_array().unwrap() {
        for field in [
            "address",
            "action",
            "reason",
            "previous_address",
            "changed_attributes",
        ] {
            assert!(r.get(field).is_some(), "{field} missing in {r}");
        }
    }
    assert!(s["drift"]["relevant"].is_array() && s["drift"]["other"].is_u64());
    assert!(s["checks"]["failed"].is_array() && s["checks"]["errors"].is_array());
    assert!(s["fingerprint"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn the_same_plan_in_another_json_order_has_the_same_fingerprint() {
    let env = TestEnv::new();
    let a = env
        .run(&["show", &plan("changes.json"), "--format", "json"])
        .json();
    let b = env
        .run(&["show", &plan("reordered.json"), "--format", "json"])
        .json();
    assert_eq!(a["fingerprint"], b["fingerprint"]);
    let c = env
        .run(&["show", &plan("demo.json"), "--format", "json"])
        .json();
    assert_ne!(a["fingerprint"], c["fingerprint"]);
}

#[test]
fn drift_relevant_to_the_plan_is_shown() {
    let env = TestEnv::new();
    // Built-in resources cannot drift for real (terraform_data reads back what it stored), so
    // this plan is a real one with drift entries added by scripts/make-drift-synthetic.py.
    let s = env
        .run(&["show", &plan("drift-synthetic.json"), "--format", "json"])
        .json();
    let relevant = s["drift"]["relevant"].as_array().unwrap();
    assert_eq!(relevant.len(), 1, "{s:#}");
    assert_eq!(relevant[0]["address"], "terraform_data.app_config", "{s:#}");
    assert_eq!(
        relevant[0]["attributes"],
        serde_json::json!(["input.image"]),
        "{s:#}"
    );
    assert_eq!(s["drift"]["other"], 1, "{s:#}");
    // A refresh-only plan's moves are not changes outside Terraform.
    let s = env
        .run(&["show", &plan("drift.json"), "--format", "json"])
        .json();
    assert_eq!(s["drift"]["relevant"], serde_json::json!([]), "{s:#}");
}

#[test]
fn human_and_markdown_formats() {
    let env = TestEnv::new();
    let run = env.run(&["show", &plan("changes.json")]);
    run.assert_code(0);
    insta::assert_snapshot!("show_changes_human", run.stdout);
    let run = env.run(&["show", &plan("changes.json"), "--format", "markdown"]);
    run.assert_code(0);
    insta::assert_snapshot!("show_changes_markdown", run.stdout);
}

#[test]
fn bundle_and_binary_plan_sources_agree_with_the_plan() {
    let env = TestEnv::new();
    let root = env.stage("changes");
    let planned = env.run(&[
        "plan",
        "--format",
        "json",
        "--chdir",
        root.to_str().unwrap(),
    ]);
    planned.assert_code(0);
    let fingerprint = planned.json()["fingerprint"].clone();
    let bundle = only_bundle(&root);

    let from_bundle = env.run(&["show", bundle.to_str().unwrap(), "--format", "json"]);
    from_bundle.assert_code(0);
    assert_eq!(from_bundle.json()["fingerprint"], fingerprint);

    let binary = bundle.join("tfplan");
    let from_binary = env.run(&[
        "show",
        binary.to_str().unwrap(),
        "--chdir",
        root.to_str().unwrap(),
        "--format",
        "json",
    ]);
    from_binary.assert_code(0);
    assert_eq!(from_binary.json()["fingerprint"], fingerprint);
}

#[test]
fn a_tampered_bundle_is_refused_with_exit_4() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let bundle = only_bundle(&root);
    let json = bundle.join("plan.json");
    let text = std::fs::read_to_string(&json).unwrap();
    std::fs::write(&json, text.replace("ghcr.io/acme/api", "ghcr.io/evil/api")).unwrap();
    let run = env.run(&["show", bundle.to_str().unwrap()]);
    run.assert_code(4);
    assert!(
        run.stderr
            .contains("plan.json does not match its manifest checksum"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_binary_plan_from_another_root() {
    let env = TestEnv::new();
    let demo = env.stage("demo");
    env.run(&["plan", "--chdir", demo.to_str().unwrap()])
        .assert_code(0);
    let binary = only_bundle(&demo).join("tfplan");
    let other = env.stage("changes");
    let run = env.run(&[
        "show",
        binary.to_str().unwrap(),
        "--chdir",
        other.to_str().unwrap(),
        "--format",
        "json",
    ]);
    // A saved plan carries its own configuration and state snapshot: terraform reads it in any
    // initialised root, and what tfgate shows is the saved plan, never the other root's.
    run.assert_code(0);
    let s = run.json();
    assert_eq!(s["counts"]["create"], 7, "{}", run.transcript());
    assert!(s["resources"].as_array().unwrap().iter().all(|r| {
        r["address"]
            .as_str()
            .unwrap()
            .starts_with("terraform_data.service")
            || r["address"] == "terraform_data.database"
    }));
}

#[test]
fn bad_plan_json_is_a_clear_error() {
    let env = TestEnv::new();
    for (name, snapshot) in [
        ("truncated.json", "bad_truncated"),
        ("not-json.txt", "bad_not_json"),
        ("empty-object.json", "bad_empty_object"),
        ("format-9.0.json", "bad_unknown_version"),
    ] {
        let run = env.run(&["show", &plan(name)]);
        run.assert_code(1);
        let transcript = run
            .transcript()
            .replace(&plans_dir().display().to_string(), "[PLANS]");
        insta::assert_snapshot!(snapshot, transcript);
    }
    // The 0.x format still reads.
    env.run(&["show", &plan("format-0.2.json")]).assert_code(0);
    let run = env.run(&["show", "no/such/plan.json"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot read no/such/plan.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_is_stable() {
    let env = TestEnv::new();
    let run = env.run(&["--help"]);
    run.assert_code(0);
    insta::assert_snapshot!("help", run.stdout);
    let run = env.run(&["plan", "--help"]);
    run.assert_code(0);
    insta::assert_snapshot!("plan_help", run.stdout);
}

#[test]
fn completions_and_man_page() {
    let env = TestEnv::new();
    let run = env.run(&["completions", "bash"]);
    run.assert_code(0);
    assert!(run.stdout.contains("_tfgate()"), "{}", run.stdout);
    let run = env.run(&["man"]);
    run.assert_code(0);
    assert!(run.stdout.contains(".TH tfgate"), "{}", run.stdout);
}

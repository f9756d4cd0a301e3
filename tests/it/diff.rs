//! `tfgate diff`: every source kind, plans of the same configuration from different runs, every
//! kind of difference, ignore rules, secrets, and the formats a user reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

/// Secrets of the `sensitive` fixture, plus the password its second plan is given.
fn secrets() -> impl Iterator<Item = &'static str> {
    SENSITIVE_SECRETS.iter().copied().chain([NEW_PASSWORD])
}
const NEW_PASSWORD: &str = "S3CRET-rotated-password-5e5e";

fn data(name: &str) -> PathBuf {
    plans_dir().join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of a stored plan, edited as JSON, written into the test directory.
fn edited(env: &TestEnv, from: &str, to: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut plan: Value = serde_json::from_slice(&std::fs::read(data(from)).unwrap()).unwrap();
    edit(&mut plan);
    let path = env.path().join(to);
    std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
    path
}

/// The resource change with this address (and no deposed key).
fn resource<'v>(plan: &'v mut Value, address: &str) -> &'v mut Value {
    plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["address"] == address && r.get("deposed").is_none())
        .unwrap_or_else(|| panic!("no {address}"))
}

/// Stages fixture NAME into its own folder DEST (so one fixture can be staged twice).
fn stage_as(env: &TestEnv, name: &str, dest: &str) -> PathBuf {
    let dest = env.path().join(dest);
    let out = Command::new("bash")
        .arg(project_dir().join("scripts/stage-fixture.sh"))
        .arg(name)
        .arg(&dest)
        .env_clear()
        .envs(env.vars())
        .output()
        .expect("run stage-fixture.sh");
    assert!(
        out.status.success(),
        "staging {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dest
}

/// Plans ROOT with `tfgate plan` (terraform arguments after `--`) and returns its bundle.
fn plan_bundle(env: &TestEnv, root: &Path, terraform_args: &[&str]) -> PathBuf {
    let mut args = vec!["plan", "--chdir", s(root)];
    if !terraform_args.is_empty() {
        args.push("--");
        args.extend_from_slice(terraform_args);
    }
    env.run(&args).assert_code(0);
    only_bundle(root)
}

fn diff_json(env: &TestEnv, a: &Path, b: &Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["diff", s(a), s(b), "--format", "json"];
    args.extend_from_slice(extra);
    let run = env.run(&args);
    let json = run.json();
    (run, json)
}

/// (address, kind, paths) of every difference.
fn kinds(v: &Value) -> Vec<(String, String, Vec<String>)> {
    v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["address"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
                d["paths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn entry(address: &str, kind: &str, paths: &[&str]) -> (String, String, Vec<String>) {
    (
        address.to_string(),
        kind.to_string(),
        paths.iter().map(|p| p.to_string()).collect(),
    )
}

#[test]
fn a_plan_against_itself_and_in_another_json_order_is_identical() {
    let env = TestEnv::new();
    let changes = data("changes.json");
    let (run, v) = diff_json(&env, &changes, &changes, &[]);
    run.assert_code(0);
    assert_eq!(v["identical"], json!(true));
    assert_eq!(v["differences"], json!([]));
    let (run, v) = diff_json(&env, &changes, &data("reordered.json"), &[]);
    run.assert_code(0);
    assert_eq!(v["identical"], json!(true), "{v:#}");
    let run = env.run(&["diff", s(&changes), s(&changes)]);
    run.assert_code(0);
    assert!(
        run.stdout.starts_with("The plans are identical.\n"),
        "{}",
        run.transcript()
    );
}

#[test]
fn every_local_source_kind_reads_the_same_plan() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    let bundle = plan_bundle(&env, &root, &[]);
    let json_file = bundle.join("plan.json");
    let binary = bundle.join("tfplan");
    for (a, b) in [
        (&json_file, &bundle),
        (&bundle, &binary),
        (&binary, &json_file),
    ] {
        let run = env.run(&["diff", s(a), s(b), "--chdir", s(&root), "--format", "json"]);
        run.assert_code(0);
        assert_eq!(run.json()["identical"], json!(true), "{}", run.transcript());
    }
    let run = env.run(&["diff", "pr:x", s(&json_file)]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("not a pull request reference"),
        "{}",
        run.transcript()
    );
    let run = env.run(&["diff", "missing.json", s(&json_file)]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot read missing.json"),
        "{}",
        run.transcript()
    );
}

#[test]
fn archive_references_find_the_newest_bundle() {
    const HEAD: &str = "abc1234def5678abc1234def5678abc1234def56";
    // The local archive (the embedded default).
    let env = TestEnv::new();
    let root = env.stage("demo");
    let run = env.run(&[
        "plan",
        "--chdir",
        s(&root),
        "--repo",
        "acme/infra",
        "--pr",
        "12",
        "--head-sha",
        HEAD,
    ]);
    run.assert_code(0);
    let json_file = crate::support::only_bundle(&root).join("plan.json");
    for reference in ["pr:12", "commit:abc1234"] {
        let run = env.run(&[
            "diff",
            reference,
            s(&json_file),
            "--chdir",
            s(&root),
            "--repo",
            "acme/infra",
            "--format",
            "json",
        ]);
        run.assert_code(0);
        assert_eq!(run.json()["identical"], json!(true), "{}", run.transcript());
    }
    let run = env.run(&["diff", "pr:99", s(&json_file), "--chdir", s(&root)]);
    run.assert_code(4);
    assert!(
        run.stderr.contains("no complete plan bundle for pr:99"),
        "{}",
        run.transcript()
    );

    // The S3 archive: by URI and by reference.
    let m = crate::support::moto::moto();
    let mut env = TestEnv::new();
    m.configure(&mut env);
    let bucket = m.unique("archive");
    m.create_bucket(&bucket);
    let archive = format!("s3://{bucket}/tfgate");
    env.set("TFGATE_ARCHIVE", archive.clone());
    let root = env.stage("demo");
    env.run(&[
        "plan",
        "--chdir",
        s(&root),
        "--repo",
        "acme/infra",
        "--pr",
        "12",
        "--head-sha",
        HEAD,
    ])
    .assert_code(0);
    let other = env.stage("nochange");
    let run = env.run(&[
        "diff",
        "pr:12",
        s(&crate::support::only_bundle(&root).join("plan.json")),
        "--chdir",
        s(&root),
        "--repo",
        "acme/infra",
        "--format",
        "json",
    ]);
    run.assert_code(0);
    let uri = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("tfgate: pr:12 is "))
        .unwrap_or_else(|| panic!("{}", run.transcript()))
        .to_string();
    assert!(uri.starts_with(&archive), "{uri}");
    let run = env.run(&["diff", &uri, s(&other.join("main.tf")), "--chdir", s(&root)]);
    // main.tf is no plan: the S3 side was read, the other side is refused.
    run.assert_code(1);
    assert!(run.stderr.contains("main.tf"), "{}", run.transcript());
    let run = env.run(&[
        "diff",
        &uri,
        "pr:12",
        "--chdir",
        s(&root),
        "--repo",
        "acme/infra",
    ]);
    run.assert_code(0);
}

#[test]
fn plans_of_the_same_configuration_from_different_runs_are_identical() {
    let env = TestEnv::new();
    // Different staging: other ids in the state (of unchanged things), another prior_state,
    // another timestamp. demo creates everything, nochange changes nothing, sensitive updates
    // resources whose ids stay the same.
    for fixture in ["demo", "nochange", "sensitive"] {
        let one = plan_bundle(&env, &stage_as(&env, fixture, &format!("{fixture}-1")), &[]);
        let two = plan_bundle(&env, &stage_as(&env, fixture, &format!("{fixture}-2")), &[]);
        let (a, b) = (
            std::fs::read_to_string(one.join("plan.json")).unwrap(),
            std::fs::read_to_string(two.join("plan.json")).unwrap(),
        );
        // demo plans from empty state: its two plans differ at most in their timestamp.
        if fixture != "demo" {
            assert!(
                a != b,
                "{fixture}: both runs wrote the same JSON; this test proves nothing"
            );
        }
        let (run, v) = diff_json(&env, &one, &two, &[]);
        run.assert_code(0);
        assert_eq!(v["identical"], json!(true), "{fixture}: {v:#}");
    }
}

#[test]
fn a_different_variable_is_an_after_difference() {
    let env = TestEnv::new();
    let staging = plan_bundle(&env, &stage_as(&env, "demo", "staging"), &[]);
    let prod = plan_bundle(
        &env,
        &stage_as(&env, "demo", "prod"),
        &["-var=environment=prod"],
    );
    let (run, v) = diff_json(&env, &staging, &prod, &[]);
    run.assert_code(3);
    let found = kinds(&v);
    assert!(
        found.contains(&entry("terraform_data.database", "after", &["input.host"])),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|(a, k, _)| a == "output.service_urls" && k == "output"),
        "{found:#?}"
    );
    let host = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["address"] == "terraform_data.database" && d["paths"] == json!(["input.host"]))
        .unwrap();
    assert_eq!(
        (&host["a"], &host["b"]),
        (
            &json!("db.staging.example.com"),
            &json!("db.prod.example.com")
        )
    );
}

#[test]
fn every_kind_of_difference_is_reported() {
    let env = TestEnv::new();
    let b = edited(&env, "changes.json", "b.json", |p| {
        // after: a new image; before: the migration's real object changed since review.
        resource(p, "terraform_data.app_config")["change"]["after"]["input"]["image"] =
            json!("registry.example.com/app:1.6.0");
        let migration = &mut resource(p, "terraform_data.db_migration")["change"];
        migration["before"]["input"] = json!("migrate up to v40");
        // replace_paths: replaced because of another attribute.
        migration["replace_paths"] = json!([["input"]]);
        // actions: destroy before create instead of create before destroy.
        resource(p, "terraform_data.tls_cert")["change"]["actions"] = json!(["delete", "create"]);
        // moved from elsewhere; imported with another id.
        resource(p, "terraform_data.queue_primary")["previous_address"] =
            json!("terraform_data.queue_old");
        resource(p, "terraform_data.archive")["change"]["importing"] =
            json!({"id": "archive-9999"});
        let list = p["resource_changes"].as_array_mut().unwrap();
        // only in A: the deposed object and legacy_cron; only in B: a new resource.
        list.retain(|r| r.get("deposed").is_none() && r["address"] != "terraform_data.legacy_cron");
        list.push(json!({"address": "terraform_data.extra", "mode": "managed", "type": "terraform_data",
            "change": {"actions": ["create"], "before": null, "after": {"input": "x"},
                       "after_unknown": {"id": true}, "before_sensitive": false, "after_sensitive": {}}}));
        // output: another value.
        p["output_changes"]["app_image"]["after"] = json!("registry.example.com/app:1.6.0");
    });
    let (run, v) = diff_json(&env, &data("changes.json"), &b, &[]);
    run.assert_code(3);
    assert_eq!(v["identical"], json!(false));
    let found = kinds(&v);
    for expected in [
        entry("terraform_data.app_config", "after", &["input.image"]),
        entry("terraform_data.db_migration", "before", &["input"]),
        entry(
            "terraform_data.db_migration",
            "replace_paths",
            &["input", "triggers_replace"],
        ),
        entry("terraform_data.tls_cert", "actions", &[]),
        entry("terraform_data.tls_cert", "only_in_a", &[]),
        entry(
            "terraform_data.queue_primary",
            "actions",
            &["previous_address"],
        ),
        entry("terraform_data.archive", "actions", &["importing.id"]),
        entry("terraform_data.legacy_cron", "only_in_a", &[]),
        entry("terraform_data.extra", "only_in_b", &[]),
        entry("output.app_image", "output", &["after"]),
    ] {
        assert!(
            found.contains(&expected),
            "{expected:?} missing from {found:#?}"
        );
    }
    let deposed: Vec<&Value> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["deposed"] == "1a2b3c4d")
        .collect();
    assert_eq!(deposed.len(), 1);
    assert_eq!(deposed[0]["kind"], "only_in_a");
    for d in v["differences"].as_array().unwrap() {
        for field in ["address", "kind", "paths", "a", "b"] {
            assert!(d.get(field).is_some(), "{field} missing in {d}");
        }
    }
    // The human report names them all too.
    let run = env.run(&["diff", s(&data("changes.json")), s(&b)]);
    run.assert_code(3);
    for text in [
        "8 resources and 1 output differ.",
        "terraform_data.tls_cert (deposed 1a2b3c4d)",
        "moved from: A \"terraform_data.queue\", B \"terraform_data.queue_old\"",
        "only in B",
        "input: before A \"migrate up to v41\", B \"migrate up to v40\"",
    ] {
        assert!(run.stdout.contains(text), "{text:?} not in\n{}", run.stdout);
    }
}

fn edited_changes(env: &TestEnv) -> PathBuf {
    edited(env, "changes.json", "now.json", |p| {
        resource(p, "terraform_data.app_config")["change"]["after"]["input"]["image"] =
            json!("registry.example.com/app:1.6.0");
        resource(p, "terraform_data.app_config")["change"]["after"]["input"]["replicas"] = json!(4);
        p["output_changes"]["app_image"]["after"] = json!("registry.example.com/app:1.6.0");
        resource(p, "terraform_data.feature_flags")["change"]["after"]["input"]["dark_mode"] =
            json!(true);
    })
}

#[test]
fn ignore_rules_from_flags_env_and_settings() {
    let mut env = TestEnv::new();
    let now = edited_changes(&env);
    let reviewed = data("changes.json");
    let (run, v) = diff_json(&env, &reviewed, &now, &[]);
    run.assert_code(3);
    assert_eq!(v["differences"].as_array().unwrap().len(), 4, "{v:#}");

    let (run, v) = diff_json(
        &env,
        &reviewed,
        &now,
        &[
            "--ignore",
            "terraform_data.app_config:input.image",
            "--ignore",
            "output.*",
        ],
    );
    run.assert_code(3);
    assert_eq!(
        kinds(&v),
        vec![
            entry("terraform_data.app_config", "after", &["input.replicas"]),
            entry(
                "terraform_data.feature_flags",
                "after",
                &["input.dark_mode"]
            ),
        ]
    );
    assert_eq!(v["ignored"], json!(2));

    // Rules in .tfgate.toml (next to the root) add up with the command line's.
    let root = env.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join(".tfgate.toml"),
        "ignore = [\"terraform_data.app_config\", \"output.app_image\"]\n",
    )
    .unwrap();
    let (run, v) = diff_json(&env, &reviewed, &now, &["--chdir", s(&root)]);
    run.assert_code(3);
    assert_eq!(
        kinds(&v),
        vec![entry(
            "terraform_data.feature_flags",
            "after",
            &["input.dark_mode"]
        )]
    );
    let (run, v) = diff_json(
        &env,
        &reviewed,
        &now,
        &[
            "--chdir",
            s(&root),
            "--ignore",
            "terraform_data.feature_*:input",
        ],
    );
    run.assert_code(0);
    assert_eq!(v["identical"], json!(true));
    assert_eq!(v["ignored"], json!(4));

    env.set("TFGATE_IGNORE", "terraform_data.*\noutput.app_image");
    let (run, v) = diff_json(&env, &reviewed, &now, &[]);
    run.assert_code(0);
    assert_eq!(v["identical"], json!(true), "{v:#}");

    let run = env.run(&["diff", s(&reviewed), s(&now), "--ignore", "x.y:tags["]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("invalid ignore rule `x.y:tags[`: unterminated `[`"),
        "{}",
        run.transcript()
    );
    std::fs::write(root.join(".tfgate.toml"), "ignore = [\":oops\"]\n").unwrap();
    let run = env.run(&["diff", s(&reviewed), s(&now), "--chdir", s(&root)]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("invalid settings in") && run.stderr.contains("`:oops`"),
        "{}",
        run.transcript()
    );
}

#[test]
fn sensitive_differences_are_redacted_in_every_format() {
    let env = TestEnv::new();
    let reviewed = plan_bundle(&env, &stage_as(&env, "sensitive", "reviewed"), &[]);
    let rotated = plan_bundle(
        &env,
        &stage_as(&env, "sensitive", "rotated"),
        &[&format!("-var=db_password={NEW_PASSWORD}")],
    );
    // The plans really hold the secrets (or this test proves nothing).
    let json = std::fs::read(rotated.join("plan.json")).unwrap();
    assert!(contains(&json, NEW_PASSWORD) && contains(&json, "S3CRET-db-password-old-4d21"));

    for format in ["human", "markdown", "json"] {
        let run = env.run(&[
            "diff",
            s(&reviewed),
            s(&rotated),
            "--format",
            format,
            "--mask",
            AKIA_MASK,
            "-v",
        ]);
        run.assert_code(3);
        for secret in secrets() {
            assert!(
                !run.stdout.contains(secret),
                "{secret} leaked ({format}):\n{}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(secret),
                "{secret} leaked ({format}):\n{}",
                run.stderr
            );
        }
        if format == "json" {
            let v = run.json();
            let found = kinds(&v);
            assert!(
                found.contains(&entry(
                    "terraform_data.app_secrets",
                    "after",
                    &["input.creds.password"]
                )),
                "{found:#?}"
            );
            assert!(
                found.contains(&entry(
                    "terraform_data.db_password_only",
                    "after",
                    &["input"]
                )),
                "{found:#?}"
            );
            for d in v["differences"].as_array().unwrap() {
                assert_eq!(d["sensitive"], json!(true), "{d}");
                assert_eq!(d["b"], json!("(sensitive value)"), "{d}");
            }
        } else {
            assert!(
                run.stdout.contains("sensitive value changed"),
                "{}",
                run.transcript()
            );
        }
    }
}

/// The `sensitive` plan with its resource changes repeated in modules to about 1 MiB (a few
/// thousand changes, spread over several of the chunks the cores share), edited, written
/// into the test directory.
fn grown_plan(env: &TestEnv, to: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut plan: Value =
        serde_json::from_slice(&std::fs::read(data("sensitive.json")).unwrap()).unwrap();
    let changes = plan["resource_changes"].as_array().unwrap().clone();
    let copies = (1 << 20) / serde_json::to_vec(&changes).unwrap().len() + 1;
    let grown: Vec<Value> = (0..copies)
        .flat_map(|i| {
            changes.iter().map(move |rc| {
                let mut rc = rc.clone();
                rc["address"] =
                    format!("module.copy_{i}.{}", rc["address"].as_str().unwrap()).into();
                rc
            })
        })
        .collect();
    plan["resource_changes"] = grown.into();
    edit(&mut plan);
    let path = env.path().join(to);
    std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn large_plans_that_differ_in_one_resource() {
    let env = TestEnv::new();
    let a = grown_plan(&env, "a.json", |_| {});
    let same = grown_plan(&env, "same.json", |_| {});
    let (run, v) = diff_json(&env, Path::new(&a), Path::new(&same), &[]);
    run.assert_code(0);
    assert_eq!(v["identical"], json!(true), "{v:#}");
    assert_eq!(v["fingerprint_a"], v["fingerprint_b"]);
    // One copy's password rotated: only B holds the new secret.
    let address = "module.copy_7.terraform_data.app_secrets";
    let b = grown_plan(&env, "b.json", |plan| {
        resource(plan, address)["change"]["after"]["input"]["creds"]["password"] =
            json!(NEW_PASSWORD);
    });
    let (run, v) = diff_json(&env, Path::new(&a), Path::new(&b), &[]);
    run.assert_code(3);
    assert_eq!(
        kinds(&v),
        vec![entry(address, "after", &["input.creds.password"])],
        "{v:#}"
    );
    assert_eq!(v["differences"][0]["b"], json!("(sensitive value)"));
    let shown = |p: &str| env.run(&["show", p, "--format", "json"]).json()["fingerprint"].clone();
    assert_eq!(v["fingerprint_a"], shown(&a));
    assert_eq!(v["fingerprint_b"], shown(&b));
    for format in ["human", "markdown", "json"] {
        let mask = AKIA_MASK;
        let run = env.run(&["diff", &a, &b, "--format", format, "--mask", mask]);
        run.assert_code(3);
        for secret in secrets() {
            assert!(!run.stdout.contains(secret), "{secret} leaked ({format})");
        }
    }
}

#[test]
fn plans_of_different_roots_are_compared_with_a_warning() {
    let env = TestEnv::new();
    let demo = plan_bundle(&env, &env.stage("demo"), &[]);
    let nochange = plan_bundle(&env, &env.stage("nochange"), &[]);
    let run = env.run(&["diff", s(&demo), s(&nochange)]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("comparing them anyway"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("root-demo") && run.stderr.contains("root-nochange"));
    // Without manifests: plans that share no resource.
    let run = env.run(&["diff", s(&data("demo.json")), s(&data("changes.json"))]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("have no resource in common"),
        "{}",
        run.transcript()
    );
}

/// A line without its code spans (GitHub shows their content literally; a span's closing run
/// has exactly as many backticks as its opening one).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let n = rest[start..].bytes().take_while(|b| *b == b'`').count();
        let after = &rest[start + n..];
        let mut search = 0;
        let mut close = None;
        while let Some(i) = after[search..].find('`') {
            let at = search + i;
            let len = after[at..].bytes().take_while(|b| *b == b'`').count();
            if len == n {
                close = Some(at);
                break;
            }
            search = at + len;
        }
        match close {
            Some(c) => rest = &after[c + n..],
            None => {
                out.push_str(&rest[start..start + n]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every fence closed, every `<details>` closed, every table row as wide as its head, and no
/// HTML tag but `<details>`, `<summary>` and `<br>` outside code.
fn assert_valid_markdown(text: &str) {
    let leading = |l: &str| {
        l.trim_start_matches([' ', '\t'])
            .bytes()
            .take_while(|b| *b == b'`')
            .count()
    };
    let mut fence: Option<usize> = None;
    let mut details = 0i32;
    let mut width: Option<usize> = None;
    for line in text.lines() {
        let run = leading(line);
        if let Some(open) = fence {
            if run >= open && line.trim().trim_start_matches('`').is_empty() {
                fence = None;
            }
            continue;
        }
        if run >= 3 {
            fence = Some(run);
            width = None;
            continue;
        }
        let plain = without_code_spans(line);
        details += plain.matches("<details>").count() as i32;
        details -= plain.matches("</details>").count() as i32;
        assert!(details >= 0, "</details> before <details>:\n{text}");
        let tags = plain
            .replace("<details>", "")
            .replace("</details>", "")
            .replace("<summary>", "")
            .replace("</summary>", "")
            .replace("<br>", "");
        assert!(!tags.contains('<'), "raw HTML in {line:?}");
        if plain.starts_with('|') {
            let mut pipes = 0;
            let mut escaped = false;
            for c in plain.chars() {
                if c == '|' && !escaped {
                    pipes += 1;
                }
                escaped = c == '\\' && !escaped;
            }
            match width {
                None => width = Some(pipes),
                Some(w) => assert_eq!(pipes, w, "row {line:?} is not as wide as its table"),
            }
        } else {
            width = None;
        }
    }
    assert!(fence.is_none(), "unclosed fence:\n{text}");
    assert_eq!(details, 0, "unbalanced <details>:\n{text}");
}

#[test]
fn human_and_markdown_reports() {
    let env = TestEnv::new();
    let now = edited_changes(&env);
    std::fs::copy(data("changes.json"), env.path().join("reviewed.json")).unwrap();
    assert!(now.starts_with(env.path()));
    // Relative paths (the test directory is the working directory) keep the labels stable.
    let run = env.run(&["diff", "reviewed.json", "now.json"]);
    run.assert_code(3);
    insta::assert_snapshot!("diff_human", run.transcript());
    let run = env.run(&["diff", "reviewed.json", "now.json", "--format", "markdown"]);
    run.assert_code(3);
    assert_valid_markdown(&run.stdout);
    insta::assert_snapshot!("diff_markdown", run.transcript());

    // The tricky fixture's values cannot break the markdown.
    let tricky = edited(&env, "tricky.json", "tricky-b.json", |p| {
        for r in p["resource_changes"].as_array_mut().unwrap() {
            let input = r["change"]["after"]["input"].take();
            r["change"]["after"]["input"] = json!({"was": input, "now": "```\n</details>\n| x |"});
        }
    });
    let run = env.run(&[
        "diff",
        s(&data("tricky.json")),
        s(&tricky),
        "--format",
        "markdown",
    ]);
    run.assert_code(3);
    assert_valid_markdown(&run.stdout);
    assert!(run.stdout.len() <= 60_000);

    // --context sets the unified diff's context.
    let lines = |context: &str| {
        let run = env.run(&["diff", "reviewed.json", "now.json", "--context", context]);
        run.assert_code(3);
        run.stdout.lines().count()
    };
    assert!(lines("0") < lines("3"), "{} {}", lines("0"), lines("3"));
}

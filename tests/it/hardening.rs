//! Hardening: plans that used to fool the gate. A value nested deeper than serde_json's default
//! limit (the `deep` fixture, 130 levels) is compared and fingerprinted at every level; a plan
//! nested deeper than tfgate reads is refused with exit 1; an unknown action is refused with
//! exit 1; a full disk says so. Real terraform, local mode.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// How many levels the `deep` fixture nests its input.
const FIXTURE_LEVELS: usize = 130;
/// tfgate's limit (`plan::node::MAX_DEPTH`), as the error message states it.
const LIMIT: usize = 1000;

fn run_in(env: &TestEnv, args: &[&str], root: &Path) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--chdir", root.to_str().unwrap()]);
    env.run(&all)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The complete bundles of a root whose manifest says `kind`.
fn bundles_of_kind(root: &Path, kind: &str) -> Vec<PathBuf> {
    bundles(root)
        .into_iter()
        .filter(|(dir, complete)| {
            *complete && {
                let m: Value =
                    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap())
                        .unwrap();
                m["kind"] == kind
            }
        })
        .map(|(dir, _)| dir)
        .collect()
}

/// `tfgate show --format json`'s fingerprint of a plan.
fn fingerprint(env: &TestEnv, plan: &Path) -> String {
    let run = env.run(&["show", s(plan), "--format", "json"]);
    run.assert_code(0);
    run.json()["fingerprint"].as_str().unwrap().to_string()
}

/// `{"l":{"l":…LEAF…}}`, `levels` objects deep.
fn nest(levels: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", "{\"l\":".repeat(levels), "}".repeat(levels))
}

/// A plan JSON file whose one resource's `after` nests `levels` levels below its input.
fn synthetic_deep_plan(env: &TestEnv, name: &str, levels: usize) -> PathBuf {
    let text = format!(
        r#"{{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[{{"address":"terraform_data.deep","mode":"managed","type":"terraform_data","change":{{"actions":["update"],"before":{{"triggers_replace":"x","input":"flat"}},"after":{{"triggers_replace":"y","input":{}}},"after_unknown":{{}}}}}}]}}"#,
        nest(levels, "\"one\"")
    );
    let path = env.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A terraform that is the real one, except that `show -json` output goes through `sed EXPR`.
fn terraform_editing_show_json(env: &TestEnv, sed_expr: &str) -> PathBuf {
    env.script(
        "terraform-edited",
        &format!(
            "if [ \"$1\" = show ] && [ \"$2\" = -json ]; then\n  set -o pipefail\n  terraform \"$@\" | sed '{sed_expr}'\nelse\n  exec terraform \"$@\"\nfi\n"
        ),
    )
}

/// Reviewed with the leaf 130 levels down at "one", changed to "two" after review: the gate
/// refuses, the fingerprints differ, and `diff` names the deep path.
#[test]
fn a_change_130_levels_deep_after_review_is_refused() {
    let env = TestEnv::new();
    let root = env.stage("deep");
    run_in(&env, &["plan"], &root).assert_code(0);
    let reviewed = bundles_of_kind(&root, "plan").pop().expect("a plan bundle");

    std::fs::write(root.join("terraform.tfvars"), "leaf = \"two\"\n").unwrap();
    let run = run_in(&env, &["apply", "--reviewed", s(&reviewed)], &root);
    run.assert_code(3);
    assert!(
        run.stdout.contains("terraform_data.deep"),
        "{}",
        run.transcript()
    );
    assert!(
        !run.stderr
            .contains("the plan now is the plan that was reviewed"),
        "{}",
        run.transcript()
    );
    // Nothing was applied: no state holds "two" (or anything).
    let state = std::fs::read_to_string(root.join("terraform.tfstate")).unwrap_or_default();
    assert!(!state.contains("\"two\""), "{state}");

    let applied = bundles_of_kind(&root, "apply")
        .pop()
        .expect("an apply bundle");
    let (before, now) = (reviewed.join("plan.json"), applied.join("plan.json"));
    assert_ne!(fingerprint(&env, &before), fingerprint(&env, &now));

    let run = env.run(&["diff", s(&before), s(&now), "--format", "json"]);
    run.assert_code(3);
    let d = run.json();
    let deep_path = format!("input{}", ".l".repeat(FIXTURE_LEVELS));
    let differences = d["differences"].as_array().unwrap();
    assert!(
        differences
            .iter()
            .any(|x| x["address"] == "terraform_data.deep"
                && x["kind"] == "after"
                && x["paths"][0] == deep_path.as_str()
                && x["a"] == "one"
                && x["b"] == "two"),
        "{d:#}"
    );
    let run = env.run(&["diff", s(&before), s(&now)]);
    run.assert_code(3);
    let line = |leaf: &str| format!("{deep_path} = null -> \"{leaf}\"");
    assert!(
        run.stdout
            .contains(&format!("-terraform_data.deep: {}", line("one"))),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("+terraform_data.deep: {}", line("two"))),
        "{}",
        run.stdout
    );
}

/// A plan nested deeper than tfgate reads is exit 1 with the limit in the message, for show,
/// diff and plan alike; 100,000 levels too (no crash, no "not JSON").
#[test]
fn a_plan_nested_deeper_than_the_limit_is_exit_1() {
    let env = TestEnv::new();
    let expected = format!("the plan nests deeper than {LIMIT} levels");
    for levels in [LIMIT, 100_000] {
        let deep = synthetic_deep_plan(&env, &format!("deep-{levels}.json"), levels);
        for args in [
            vec!["show", s(&deep)],
            vec!["show", s(&deep), "--format", "json"],
            vec!["diff", s(&deep), s(&deep)],
        ] {
            let run = env.run(&args);
            run.assert_code(1);
            assert!(
                run.stderr.contains(&expected),
                "{args:?}\n{}",
                run.transcript()
            );
            assert!(
                run.stderr.contains("terraform_data.deep, after"),
                "{}",
                run.transcript()
            );
        }
    }
    // The whole document nested 100,000 levels: the same error, not "not a plan".
    let arrays = env.path().join("arrays.json");
    std::fs::write(
        &arrays,
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let run = env.run(&["show", s(&arrays)]);
    run.assert_code(1);
    assert!(run.stderr.contains(&expected), "{}", run.transcript());

    // Just inside the limit: read and compared.
    let inside = synthetic_deep_plan(&env, "inside.json", LIMIT - 2);
    env.run(&["show", s(&inside)]).assert_code(0);
    env.run(&["diff", s(&inside), s(&inside)]).assert_code(0);

    // A real terraform plan nested beyond the limit: `tfgate plan` refuses it and keeps no bundle.
    let root = env.stage("deep");
    let main = std::fs::read_to_string(root.join("main.tf")).unwrap();
    let levels = LIMIT + 5;
    let body = format!("{}var.leaf{}", "{ l = ".repeat(levels), " }".repeat(levels));
    let nested = main
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("input = ") {
                format!("  input = {body}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(root.join("main.tf"), nested).unwrap();
    let run = run_in(&env, &["plan"], &root);
    run.assert_code(1);
    assert!(run.stderr.contains(&expected), "{}", run.transcript());
    assert!(
        bundles(&root).iter().all(|(_, complete)| !complete),
        "{:?}",
        bundles(&root)
    );
}

/// An action list Terraform does not write is exit 1 naming the action and the address, for
/// show, diff, plan and apply; the resource never silently vanishes.
#[test]
fn an_unknown_action_is_exit_1_naming_it() {
    let env = TestEnv::new();
    let mut plan: Value =
        serde_json::from_slice(&std::fs::read(plans_dir().join("changes.json")).unwrap()).unwrap();
    let rc = plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["address"] == "terraform_data.app_config")
        .unwrap();
    rc["change"]["actions"] = serde_json::json!(["explode"]);
    let edited = env.path().join("explode.json");
    std::fs::write(&edited, serde_json::to_vec(&plan).unwrap()).unwrap();
    let good = plans_dir().join("changes.json");
    let named = |run: &Run| {
        assert!(
            run.stderr
                .contains(r#"terraform_data.app_config has the unknown action ["explode"]"#),
            "{}",
            run.transcript()
        );
    };
    for args in [
        vec!["show", s(&edited)],
        vec!["show", s(&edited), "--format", "json"],
        vec!["diff", s(&good), s(&edited)],
        vec!["diff", s(&edited), s(&good)],
    ] {
        let run = env.run(&args);
        run.assert_code(1);
        named(&run);
    }

    // plan and apply, through a terraform whose `show -json` says "explode".
    let root = env.stage("deep");
    let wrapper =
        terraform_editing_show_json(&env, r#"s/"actions":\["create"\]/"actions":["explode"]/g"#);
    let run = run_in(&env, &["--terraform", s(&wrapper), "plan"], &root);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains(r#"terraform_data.deep has the unknown action ["explode"]"#),
        "{}",
        run.transcript()
    );
    run_in(&env, &["plan"], &root).assert_code(0);
    let reviewed = bundles_of_kind(&root, "plan").pop().unwrap();
    let run = run_in(
        &env,
        &[
            "--terraform",
            s(&wrapper),
            "apply",
            "--reviewed",
            s(&reviewed),
        ],
        &root,
    );
    run.assert_code(1);
    assert!(
        run.stderr
            .contains(r#"terraform_data.deep has the unknown action ["explode"]"#),
        "{}",
        run.transcript()
    );
    assert!(!root.join("terraform.tfstate").exists(), "nothing applied");
}

/// A tmpfs mounted for the length of a test (unmounted on drop, also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                s(dir),
            ])
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test needs a small full file system: mounting a tmpfs needs root (CAP_SYS_ADMIN). \
             mount said: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The archive's file system fills up while terraform's `show -json` is written into the
/// bundle: the error says "No space left on device" (not "the JSON ends early"), and no
/// bundle is left behind.
#[test]
fn a_full_disk_says_no_space_left_and_cleans_up() {
    let env = TestEnv::new();
    // ~40 KB of tfplan fits in 256 KiB; ~520 KB of plan.json does not.
    let root = env.stage("large");
    let tmpfs = Tmpfs::mount(&root.join(".tfgate"), "256k");
    let run = run_in(&env, &["plan"], &root);
    run.assert_code(1);
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("plan.json"), "{}", run.transcript());
    assert!(!run.stderr.contains("ends early"), "{}", run.transcript());
    assert!(run.stderr.contains("is full"), "{}", run.transcript());
    assert_eq!(
        bundles(&root),
        Vec::<(PathBuf, bool)>::new(),
        "the bundle was not removed"
    );
    drop(tmpfs);
}

/// `tags = {}` against `tags = null`, and a list longer by a `null`, are differences: a missing
/// value used to read as `null` and hide them.
#[test]
fn null_against_an_empty_map_or_a_missing_list_item_differs() {
    let env = TestEnv::new();
    let write = |name: &str, after: &str| {
        let path = env.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"{{"format_version":"1.2","resource_changes":[{{"address":"terraform_data.x","change":{{"actions":["update"],"before":{{"t":"x","tags":null,"l":["a"]}},"after":{after},"after_unknown":{{}}}}}}]}}"#
            ),
        )
        .unwrap();
        path
    };
    let base = write("base.json", r#"{"t":"y","tags":null,"l":["a"]}"#);
    let empty_map = write("map.json", r#"{"t":"y","tags":{},"l":["a"]}"#);
    let longer = write("list.json", r#"{"t":"y","tags":null,"l":["a",null]}"#);
    for (other, path) in [(&empty_map, "tags"), (&longer, "l")] {
        let run = env.run(&["diff", s(&base), s(other), "--format", "json"]);
        run.assert_code(3);
        let d = run.json();
        assert_eq!(d["differences"][0]["paths"][0], path, "{d:#}");
        assert_ne!(fingerprint(&env, &base), fingerprint(&env, other));
    }
}

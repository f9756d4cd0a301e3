//! What an update or a replacement changes, shown where a reviewer decides: the Details cell of
//! the comment's resource table (rendered as GitHub renders it), the terminal table and
//! `show --format json`; and a 50,000-resource plan, whose comment groups the instances of a
//! resource into one row, lists every deletion and replacement on a row of its own, and stays
//! within GitHub's size limit.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::actions::{pr_run, tfgate_comments};
use crate::support::gfm::{self, Node, Table};
use crate::support::github::GitHubFake;
use crate::support::*;

/// Plans `fixture` for the PR and returns the root and tfgate's one comment on it.
fn planned(gh: &GitHubFake, env: &TestEnv, fixture: &str, extra: &[&str]) -> (String, String) {
    let root = env.stage(fixture);
    env.plan(&root, extra).assert_code(0);
    let ours = tfgate_comments(gh);
    assert_eq!(ours.len(), 1, "one tfgate comment");
    (root.display().to_string(), ours[0].body.clone())
}

/// The comment's resource table, every row of which has its three cells (nothing taken from
/// the plan split one).
fn resource_table(doc: &gfm::Rendered) -> Table {
    let table = doc
        .tables()
        .into_iter()
        .find(|t| t.header == ["Action", "Resource", "Details"])
        .unwrap_or_else(|| panic!("a resource table:\n{}", doc.html));
    for row in &table.rows {
        assert_eq!(row.len(), 3, "{row:?}");
    }
    table
}

/// The Details cell of `address`'s row.
fn details<'t>(table: &'t Table, address: &str) -> &'t Node {
    let i = table
        .rows
        .iter()
        .position(|r| r[1] == address)
        .unwrap_or_else(|| panic!("a row for {address}: {:?}", table.rows));
    &table.cells[i][2]
}

fn codes(cell: &Node) -> Vec<String> {
    cell.all("code").into_iter().map(Node::text).collect()
}

#[test]
fn the_details_cell_lists_what_an_update_or_a_replacement_changes() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let (root, body) = planned(&gh, &env, "changes", &[]);
    let doc = gfm::render(&body);
    let table = resource_table(&doc);

    let cell = details(&table, "terraform_data.app_config");
    assert_eq!(
        codes(cell),
        [
            "input.image",
            r#""registry.example.com/app:1.4.0""#,
            r#""registry.example.com/app:1.5.0""#,
            "input.replicas",
            "2",
            "3",
            "output"
        ],
        "{}",
        doc.html
    );
    let text = cell.text();
    assert!(
        text.contains(r#"input.replicas: 2 → 3"#) && text.contains("output (known after apply)"),
        "{text}"
    );
    // The attribute that forces the replacement is marked as such.
    let cell = details(&table, "terraform_data.db_migration");
    assert!(
        cell.text()
            .contains(r#"triggers_replace: "schema-v41" → "schema-v42" (forces replacement)"#),
        "{}",
        cell.text()
    );
    assert!(
        !cell
            .text()
            .contains("input: \"migrate up to v41\" → \"migrate up to v42\" (forces")
    );
    // Creates and deletes list no attributes.
    assert_eq!(details(&table, "terraform_data.feature_flags").text(), "");

    // The same in the terminal table and in `show --format json`, from the bundle.
    let bundle = only_bundle(Path::new(&root));
    let run = env.run(&["show", bundle.to_str().unwrap()]);
    run.assert_code(0);
    for line in [
        r#"input.image: "registry.example.com/app:1.4.0" → "registry.example.com/app:1.5.0""#,
        "input.replicas: 2 → 3",
        r#"triggers_replace: "schema-v41" → "schema-v42" (forces replacement)"#,
    ] {
        assert!(run.stdout.contains(line), "{line}:\n{}", run.stdout);
    }
    let s = env
        .run(&["show", bundle.to_str().unwrap(), "--format", "json"])
        .json();
    let resource = |address: &str| {
        s["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address && r["action"] != "delete")
            .cloned()
            .unwrap_or_else(|| panic!("{address} in {s:#}"))
    };
    assert_eq!(
        resource("terraform_data.app_config")["changed_attributes"],
        json!([
            {"path": "input.image", "before": "registry.example.com/app:1.4.0",
             "after": "registry.example.com/app:1.5.0", "sensitive": false, "unknown": false,
             "forces_replacement": false},
            {"path": "input.replicas", "before": 2, "after": 3, "sensitive": false,
             "unknown": false, "forces_replacement": false},
            // An object is not copied into the summary.
            {"path": "output", "sensitive": false, "unknown": true, "forces_replacement": false}
        ])
    );
    let migration = resource("terraform_data.db_migration");
    let forced: Vec<&Value> = migration["changed_attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["forces_replacement"] == true)
        .collect();
    assert_eq!(forced.len(), 1);
    assert_eq!(forced[0]["path"], "triggers_replace");
    assert_eq!(
        resource("terraform_data.feature_flags")["changed_attributes"],
        json!([])
    );
}

#[test]
fn a_sensitive_attribute_shows_as_sensitive_and_its_value_nowhere() {
    let gh = GitHubFake::start();
    let env = pr_run(&gh);
    let (root, body) = planned(&gh, &env, "sensitive", &["--mask", AKIA_MASK]);
    let doc = gfm::render(&body);
    let table = resource_table(&doc);
    let cell = details(&table, "terraform_data.app_secrets");
    let text = cell.text();
    for line in [
        "input.creds.password (sensitive)",
        "input.tokens[1] (sensitive)",
        // Not marked sensitive, but the --mask pattern matches its values.
        "input.aws_access_key_id (sensitive)",
    ] {
        assert!(text.contains(line), "{line} in {text:?}");
    }
    assert!(codes(cell).contains(&"input.creds.password".to_string()));
    // terraform_data's `output` holds the old secret without a sensitivity mark: the masker
    // knows it, so it is not shown either.
    let text = details(&table, "terraform_data.db_password_only").text();
    assert!(
        text.contains("input (sensitive)") && text.contains("output (sensitive)"),
        "{text}"
    );

    let bundle = only_bundle(Path::new(&root));
    let bundle = bundle.to_str().unwrap();
    let human = env.run(&["show", bundle, "--mask", AKIA_MASK]);
    human.assert_code(0);
    assert!(human.stdout.contains("input.creds.password (sensitive)"));
    let json = env.run(&["show", bundle, "--format", "json", "--mask", AKIA_MASK]);
    json.assert_code(0);
    let s = json.json();
    let attrs = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "terraform_data.app_secrets")
        .map(|r| r["changed_attributes"].clone())
        .unwrap();
    let password = attrs
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "input.creds.password")
        .unwrap();
    assert_eq!(
        password,
        &json!({"path": "input.creds.password", "sensitive": true, "unknown": false,
                "forces_replacement": false})
    );
    let summary_json = std::fs::read_to_string(Path::new(bundle).join("summary.json")).unwrap();
    for (what, text) in [
        ("the comment", body.as_str()),
        ("the terminal table", human.stdout.as_str()),
        ("the JSON", json.stdout.as_str()),
        ("summary.json", summary_json.as_str()),
    ] {
        for secret in SENSITIVE_SECRETS.iter().chain(&["AKIAFAKEKEY"]) {
            assert!(!text.contains(secret), "{secret} in {what}");
        }
    }
}

#[test]
fn hostile_values_stay_inside_their_code_spans() {
    let env = TestEnv::new();
    let hostile = "a`b|c</details><img src=x>\n@org/team";
    let mut plan: Value =
        serde_json::from_slice(&std::fs::read(plans_dir().join("changes.json")).unwrap()).unwrap();
    let app = plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["address"] == "terraform_data.app_config")
        .unwrap();
    app["change"]["after"]["input"]["image"] = json!(hostile);
    app["change"]["before"]["input"]["log_level"] = json!("`");
    app["change"]["after"]["input"]["log_level"] = json!("::error::x");
    let path = env.path().join("hostile.json");
    std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();

    let run = env.run(&["show", path.to_str().unwrap(), "--format", "markdown"]);
    run.assert_code(0);
    let doc = gfm::render(&run.stdout);
    let table = resource_table(&doc);
    let cell = details(&table, "terraform_data.app_config");
    assert_eq!(
        codes(cell),
        [
            "input.image",
            r#""registry.example.com/app:1.4.0""#,
            r#""a`b|c</details><img src=x>\n@org/team""#,
            "input.log_level",
            r#""`""#,
            r#""::error::x""#,
            "input.replicas",
            "2",
            "3",
            "output",
        ],
        "{}",
        doc.html
    );
    assert!(doc.injected(&["img", "a", "h1", "h2", "script"]).is_empty());
    assert!(!doc.root.text_outside_code().contains("@org/team"));
    // No fold was closed early: the only <details> are tfgate's own (none in show's markdown).
    assert!(doc.root.all("details").is_empty(), "{}", doc.html);
}

/// How the 50,000-resource plan is made: every action, in one module, over `count` and
/// `for_each`, plus `gone` deletes at the root.
struct Fleet {
    updates: usize,
    creates: usize,
    deletes: usize,
    replaces: usize,
    gone: usize,
}

impl Fleet {
    fn destroyed(&self) -> usize {
        self.deletes + self.replaces + self.gone
    }

    /// The plan JSON and the plan text.
    fn plan(&self) -> (Vec<u8>, String) {
        let mut changes = Vec::new();
        let mut text = String::new();
        let mut add = |address: String, actions: Value, change: Value, reason: Option<&str>| {
            let _ = writeln!(text, "  # {address} changes\n      ~ input = (changed)");
            let mut rc = json!({
                "address": address, "mode": "managed", "type": "terraform_data",
                "name": "x", "provider_name": "terraform.io/builtin/terraform",
                "change": change,
            });
            rc["change"]["actions"] = actions;
            if let Some(r) = reason {
                rc["action_reason"] = json!(r);
            }
            changes.push(rc);
        };
        for i in 0..self.updates {
            add(
                format!("module.fleet.terraform_data.node[{i}]"),
                json!(["update"]),
                json!({"before": {"id": format!("n{i}"), "input": {"size": "small"}},
                       "after": {"id": format!("n{i}"), "input": {"size": "large"}},
                       "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}),
                None,
            );
        }
        for i in 0..self.replaces {
            add(
                format!("module.fleet.terraform_data.node[{}]", self.updates + i),
                json!(["delete", "create"]),
                json!({"before": {"id": format!("r{i}"), "triggers_replace": "v1"},
                       "after": {"triggers_replace": "v2"}, "after_unknown": {"id": true},
                       "before_sensitive": {}, "after_sensitive": {},
                       "replace_paths": [["triggers_replace"]]}),
                Some("replace_because_cannot_update"),
            );
        }
        for i in 0..self.creates {
            add(
                format!("module.fleet.terraform_data.cfg[\"key-{i}\"]"),
                json!(["create"]),
                json!({"before": null, "after": {"input": format!("v{i}")},
                       "after_unknown": {"id": true}, "before_sensitive": false,
                       "after_sensitive": {}}),
                None,
            );
        }
        for i in 0..self.deletes {
            add(
                format!("module.fleet.terraform_data.old[{i}]"),
                json!(["delete"]),
                json!({"before": {"id": format!("o{i}")}, "after": null,
                       "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}),
                Some("delete_because_count_index"),
            );
        }
        for i in 0..self.gone {
            add(
                format!("terraform_data.gone[{i}]"),
                json!(["delete"]),
                json!({"before": {"id": format!("g{i}")}, "after": null,
                       "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}),
                Some("delete_because_no_resource_config"),
            );
        }
        let plan = json!({
            "format_version": "1.2", "terraform_version": "1.11.4",
            "resource_changes": changes, "applyable": true, "complete": true, "errored": false,
        });
        (serde_json::to_vec(&plan).unwrap(), text)
    }

    /// `comment`, which fits GitHub's 65,536 characters, as GitHub renders it, and its resource
    /// table.
    fn rendered(&self, env: &TestEnv, name: &str) -> (gfm::Rendered, Table) {
        let body = self.comment(env, name);
        assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
        let doc = gfm::render(&body);
        let table = resource_table(&doc);
        (doc, table)
    }

    /// `tfgate plan` of this plan, through a stand-in terraform that hands it out; the comment
    /// tfgate wrote into the bundle.
    fn comment(&self, env: &TestEnv, name: &str) -> String {
        let (json, text) = self.plan();
        let json_path = env.path().join(format!("{name}.json"));
        let text_path = env.path().join(format!("{name}.txt"));
        std::fs::write(&json_path, json).unwrap();
        std::fs::write(&text_path, text).unwrap();
        let fake = env.script(
            &format!("terraform-{name}"),
            &format!(
                r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) printf 'PK\003\004' > "${{a#-out=}}";; esac; done ;;
  show) if [ "$2" = "-json" ]; then cat '{}'; else cat '{}'; fi ;;
esac
"#,
                json_path.display(),
                text_path.display()
            ),
        );
        let root = env.path().join(format!("root-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        let run = env.run(&[
            "plan",
            "--no-init",
            "--chdir",
            root.to_str().unwrap(),
            "--terraform",
            fake.to_str().unwrap(),
        ]);
        run.assert_code(0);
        std::fs::read_to_string(only_bundle(&root).join("comment.md")).unwrap()
    }
}

/// Rows of `table` whose action cell says `word`.
fn rows_of<'t>(table: &'t Table, word: &str) -> Vec<&'t Vec<String>> {
    table.rows.iter().filter(|r| r[0].contains(word)).collect()
}

#[test]
fn a_fifty_thousand_resource_plan_is_grouped_never_cut() {
    let env = TestEnv::new();
    let fleet = Fleet {
        updates: 25_000,
        creates: 24_900,
        deletes: 60,
        replaces: 40,
        gone: 0,
    };
    let (doc, table) = fleet.rendered(&env, "fleet");
    let groups = rows_of(&table, "group");
    assert_eq!(
        groups,
        [
            &vec![
                "📦 group".to_string(),
                "module.fleet.terraform_data.node[*]".to_string(),
                "25,000 instances: 25,000 update; 40 more deleted or replaced, not in this row"
                    .to_string()
            ],
            &vec![
                "📦 group".to_string(),
                "module.fleet.terraform_data.cfg[*]".to_string(),
                "24,900 instances: 24,900 create".to_string()
            ],
        ]
    );
    // Every deletion and replacement has its own row, and the caution counts them all.
    let destroyed: Vec<&String> = table
        .rows
        .iter()
        .filter(|r| r[0].contains("delete") || r[0].contains("replace"))
        .map(|r| &r[1])
        .collect();
    assert_eq!(destroyed.len(), fleet.destroyed());
    for i in 0..fleet.deletes {
        let address = format!("module.fleet.terraform_data.old[{i}]");
        assert!(destroyed.contains(&&address), "{address} listed");
    }
    let replaced = details(&table, "module.fleet.terraform_data.node[25039]");
    assert_eq!(
        replaced.text(),
        "an attribute forces replacement; id, triggers_replace (forces replacement)"
    );
    let visible = doc.visible_text();
    assert!(
        visible.contains("This plan destroys 100 resources"),
        "{visible}"
    );
    assert!(visible.contains("50,000 resources change, too many for a row each"));
    assert!(!visible.contains("more resource"), "nothing is left out");
    assert!(
        doc.fold_summaries().iter().any(|s| s.starts_with("Plan: ")),
        "{:?}",
        doc.fold_summaries()
    );
}

#[test]
fn deletions_beyond_the_budget_are_counted_and_never_grouped() {
    let env = TestEnv::new();
    let fleet = Fleet {
        updates: 25_000,
        creates: 19_900,
        deletes: 60,
        replaces: 40,
        gone: 5_000,
    };
    let (doc, table) = fleet.rendered(&env, "gone");
    let listed = rows_of(&table, "delete").len() + rows_of(&table, "replace").len();
    assert!(listed >= 50 && listed < fleet.destroyed(), "{listed}");
    assert!(
        !table
            .rows
            .iter()
            .any(|r| r[0].contains("group") && r[1].contains("gone")),
        "deletions are never grouped"
    );
    assert_eq!(rows_of(&table, "group").len(), 2, "{:?}", table.rows);
    let visible = doc.visible_text();
    assert!(
        visible.contains("This plan destroys 5100 resources"),
        "{visible}"
    );
    let rest = fleet.destroyed() - listed;
    let rest = format!("{},{:03}", rest / 1000, rest % 1000);
    assert!(
        visible.contains(&format!(
            "… and {rest} more resources deleted or replaced, left out for room (the caution above counts them all"
        )),
        "{rest}: {visible}"
    );
}

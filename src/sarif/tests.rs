//! SARIF as checkov and tflint write it (tests/data/sarif/), and what tools do wrong.

use std::path::{Path, PathBuf};

use super::*;

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sarif")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A repository with a Terraform root at `envs/prod` holding `main.tf`, and a `README.md` at
/// the top.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("envs/prod")).unwrap();
        std::fs::write(dir.path().join("envs/prod/main.tf"), "").unwrap();
        std::fs::write(dir.path().join("README.md"), "").unwrap();
        Repo { dir }
    }

    fn path(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.path()).unwrap()
    }

    fn read(&self, text: &str) -> Result<Vec<Run>, String> {
        let repo = self.path();
        let root = repo.join("envs/prod");
        let real = real_file;
        read(
            text,
            &Places {
                repo: Some(&repo),
                root: &root,
                real_path: &real,
            },
        )
    }
}

/// What the plan command gives `Places`: the real path of an existing file.
fn real_file(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok().filter(|p| p.is_file())
}

fn report(repo: &Repo, files: &[&str]) -> Report {
    let runs = files
        .iter()
        .flat_map(|f| repo.read(&data(f)).unwrap())
        .collect();
    summarise(runs, Vec::new())
}

#[test]
fn checkov_findings_by_level_with_rule_defaults_and_suppressions() {
    let repo = Repo::new();
    let r = report(&repo, &["checkov.sarif"]);
    assert_eq!(r.tools.len(), 1);
    let checkov = &r.tools[0];
    assert_eq!(checkov.tool, "Checkov");
    assert_eq!(checkov.count(Level::Error), 1);
    // CKV2_AWS_62 has no level of its own: its rule's default, `warning`, applies.
    assert_eq!(checkov.count(Level::Warning), 1);
    assert_eq!(checkov.suppressed, 2);
    assert_eq!(
        r.suppressed,
        [(
            "Checkov".to_string(),
            vec!["CKV_AWS_144".to_string(), "CKV_AWS_18".to_string()]
        )]
    );
    let first = &r.findings[0];
    assert_eq!(first.rule.as_deref(), Some("CKV_AWS_20"));
    assert_eq!(first.level, Level::Error);
    assert_eq!(
        first.location,
        Some(Location {
            file: Some("envs/prod/main.tf".into()),
            shown: "envs/prod/main.tf".into(),
            line: Some(12),
        })
    );
    assert_eq!(r.at_or_above(Level::Error), 1);
    assert_eq!(r.at_or_above(Level::Warning), 2);
}

#[test]
fn tflint_runs_merge_with_checkov_and_the_most_severe_come_first() {
    let repo = Repo::new();
    let r = report(&repo, &["tflint.sarif", "checkov.sarif"]);
    let names: Vec<&str> = r.tools.iter().map(|t| t.tool.as_str()).collect();
    assert_eq!(names, ["tflint", "tflint-errors", "Checkov"]);
    assert_eq!(r.tools[0].count(Level::Warning), 2);
    assert_eq!(r.tools[1].by_level, [0; 4]);
    let order: Vec<(&str, Level)> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_deref().unwrap(), f.level))
        .collect();
    assert_eq!(
        order,
        [
            ("CKV_AWS_20", Level::Error),
            ("terraform_required_providers", Level::Warning),
            ("terraform_unused_declarations", Level::Warning),
            ("CKV2_AWS_62", Level::Warning),
        ]
    );
    assert_eq!(r.findings[2].location.as_ref().unwrap().line, Some(45));
    assert_eq!(
        r.at_or_above_by_tool(Level::Warning),
        [("tflint", 2), ("Checkov", 2)]
    );
    assert_eq!(r.at_or_above_by_tool(Level::Error), [("Checkov", 1)]);
}

#[test]
fn hostile_text_is_kept_as_text_and_paths_outside_the_repository_get_no_file() {
    let repo = Repo::new();
    let r = report(&repo, &["hostile.sarif"]);
    let by_rule = |id: &str| {
        r.findings
            .iter()
            .find(|f| f.rule.as_deref() == Some(id))
            .unwrap()
            .clone()
    };
    let evil = by_rule("X`Y|</details>");
    assert!(evil.message.contains("</details>") && evil.message.contains("::error::"));
    assert!(
        !evil.message.contains("never rendered"),
        "markdown is not used"
    );
    assert_eq!(
        evil.location.unwrap().file.as_deref(),
        Some("envs/prod/main.tf")
    );
    for id in ["TRAVERSAL", "ABSOLUTE", "REMOTE"] {
        let loc = by_rule(id).location.unwrap();
        assert_eq!(loc.file, None, "{id}: {loc:?}");
    }
    assert_eq!(
        by_rule("TRAVERSAL").location.unwrap().shown,
        "../../../../../../../../etc/passwd"
    );
    assert_eq!(
        by_rule("REMOTE").location.unwrap().shown,
        "https://evil.example/x.tf"
    );
}

/// One result at `uri` (with `base`), and `bases` as the run's `originalUriBaseIds`.
fn one(uri: &str, base: Option<&str>, bases: &str) -> String {
    let base = base.map_or(String::new(), |b| format!(r#","uriBaseId":"{b}""#));
    format!(
        r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"t"}}}},"originalUriBaseIds":{{{bases}}},
        "results":[{{"ruleId":"R","message":{{"text":"m"}},"locations":[{{"physicalLocation":{{
        "artifactLocation":{{"uri":"{uri}"{base}}},"region":{{"startLine":4}}}}}}]}}]}}]}}"#
    )
}

fn file_of(repo: &Repo, text: &str) -> Option<String> {
    let runs = repo.read(text).unwrap();
    runs[0].findings[0].location.clone().unwrap().file
}

#[test]
fn paths_resolve_against_the_root_the_repository_base_ids_and_file_uris() {
    let repo = Repo::new();
    let top = repo.path();
    let top_uri = format!("file://{}", top.display());
    let cases: Vec<(String, Option<&str>, String, Option<&str>)> = vec![
        // Relative to the root (tflint), then to the repository (checkov -d .).
        (
            "main.tf".into(),
            None,
            String::new(),
            Some("envs/prod/main.tf"),
        ),
        (
            "envs/prod/main.tf".into(),
            None,
            String::new(),
            Some("envs/prod/main.tf"),
        ),
        ("README.md".into(), None, String::new(), Some("README.md")),
        (
            "./envs/./prod/../prod/main.tf".into(),
            None,
            String::new(),
            Some("envs/prod/main.tf"),
        ),
        (
            "envs%2Fprod/main.tf".into(),
            None,
            String::new(),
            Some("envs/prod/main.tf"),
        ),
        // Absolute file URIs and paths, inside and outside.
        (
            format!("{top_uri}/envs/prod/main.tf"),
            None,
            String::new(),
            Some("envs/prod/main.tf"),
        ),
        (
            format!("{}/README.md", top.display()),
            None,
            String::new(),
            Some("README.md"),
        ),
        ("file:///etc/hostname".into(), None, String::new(), None),
        ("/etc/hostname".into(), None, String::new(), None),
        // A base id the run maps, one it maps relative to another, and GitHub's %SRCROOT%.
        (
            "main.tf".into(),
            Some("ROOT"),
            format!(r#""ROOT":{{"uri":"{top_uri}/envs/prod/"}}"#),
            Some("envs/prod/main.tf"),
        ),
        (
            "main.tf".into(),
            Some("PROD"),
            format!(
                r#""SRC":{{"uri":"{top_uri}/"}},"PROD":{{"uri":"envs/prod/","uriBaseId":"SRC"}}"#
            ),
            Some("envs/prod/main.tf"),
        ),
        (
            "README.md".into(),
            Some("%SRCROOT%"),
            String::new(),
            Some("README.md"),
        ),
        ("main.tf".into(), Some("%SRCROOT%"), String::new(), None),
        // Missing files, escapes and other schemes.
        ("gone.tf".into(), None, String::new(), None),
        (
            "../../../../../../etc/hostname".into(),
            None,
            String::new(),
            None,
        ),
        (
            "https://example.com/main.tf".into(),
            None,
            String::new(),
            None,
        ),
        ("".into(), None, String::new(), None),
    ];
    for (uri, base, bases, want) in cases {
        let got = file_of(&repo, &one(&uri, base, &bases));
        assert_eq!(got.as_deref(), want, "{uri} (base {base:?})");
    }
}

#[test]
fn a_symbolic_link_out_of_the_repository_is_outside() {
    let repo = Repo::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.tf"), "").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.tf"),
        repo.path().join("envs/prod/link.tf"),
    )
    .unwrap();
    assert_eq!(file_of(&repo, &one("link.tf", None, "")), None);
}

#[test]
fn without_a_known_repository_nothing_is_placed() {
    let repo = Repo::new();
    let root = repo.path().join("envs/prod");
    let real = real_file;
    let runs = read(
        &one("main.tf", None, ""),
        &Places {
            repo: None,
            root: &root,
            real_path: &real,
        },
    )
    .unwrap();
    let loc = runs[0].findings[0].location.clone().unwrap();
    assert_eq!((loc.file, loc.shown.as_str()), (None, "main.tf"));
}

#[test]
fn levels_follow_kind_result_rule_then_the_sarif_default() {
    let repo = Repo::new();
    let text = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t","rules":[
        {"id":"A","defaultConfiguration":{"level":"note"}},
        {"id":"B","shortDescription":{"text":"rule B's words"}}]}},
      "results":[
        {"ruleId":"A","message":{"text":"rule default"}},
        {"ruleIndex":1,"message":{}},
        {"rule":{"id":"A"},"level":"error","message":{"text":"own level"}},
        {"ruleId":"A","kind":"pass","level":"error","message":{"text":"a pass"}},
        {"ruleId":"C","level":"bogus","message":{"text":"unknown level"}},
        {"ruleId":"D","suppressions":[{"kind":"inSource","status":"rejected"}],"message":{"text":"rejected suppression"}}
      ]}]}"#;
    let runs = repo.read(text).unwrap();
    let got: Vec<(Option<&str>, Level, &str, bool)> = runs[0]
        .findings
        .iter()
        .map(|f| (f.rule.as_deref(), f.level, f.message.as_str(), f.suppressed))
        .collect();
    assert_eq!(
        got,
        [
            (Some("A"), Level::Note, "rule default", false),
            (Some("B"), Level::Warning, "rule B's words", false),
            (Some("A"), Level::Error, "own level", false),
            (Some("A"), Level::None, "a pass", false),
            (Some("C"), Level::Warning, "unknown level", false),
            (Some("D"), Level::Warning, "rejected suppression", false),
        ]
    );
}

#[test]
fn what_is_not_sarif_2_1_0_says_why() {
    let repo = Repo::new();
    let err = repo.read(&data("truncated.sarif")).unwrap_err();
    assert!(err.starts_with("not SARIF: "), "{err}");
    let err = repo.read("[1, 2]").unwrap_err();
    assert!(err.starts_with("not SARIF: "), "{err}");
    let err = repo.read(r#"{"version":"2.0.0","runs":[]}"#).unwrap_err();
    assert_eq!(err, "SARIF version 2.0.0; tfgate reads 2.1.0");
    // A byte-order mark and a run without results are fine.
    let runs = repo
        .read("\u{feff}{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\"}},\"results\":null}]}")
        .unwrap();
    assert_eq!(runs[0].findings, []);
}

//! The "Checks" section: its tables, links, budget and escaping.

use super::*;
use crate::render::comment::tests::{empty_summary, kitchen_sink};
use crate::render::comment::{CommentInput, MAX_COMMENT_BYTES, Reach, render_comment};
use crate::render::testing::outside_code_spans;
use crate::sarif::{Location, Run, Unreadable, summarise};

const BLOB: &str = "https://github.com/acme/infra/blob/1111111111111111111111111111111111111111";

fn finding(tool: &str, rule: &str, level: Level, file: Option<&str>, line: Option<u64>) -> Finding {
    Finding {
        tool: tool.into(),
        rule: Some(rule.into()),
        level,
        message: format!("{rule} says so"),
        location: Some(Location {
            file: file.map(str::to_string),
            shown: file.unwrap_or("../elsewhere.tf").to_string(),
            line,
        }),
        suppressed: false,
    }
}

fn sample() -> Report {
    let mut suppressed = finding(
        "Checkov",
        "CKV_AWS_18",
        Level::Error,
        Some("envs/prod/main.tf"),
        Some(12),
    );
    suppressed.suppressed = true;
    summarise(
        vec![
            Run {
                tool: "tflint".into(),
                findings: vec![
                    finding(
                        "tflint",
                        "terraform_required_providers",
                        Level::Warning,
                        Some("envs/prod/main.tf"),
                        Some(2),
                    ),
                    finding(
                        "tflint",
                        "terraform_unused_declarations",
                        Level::Warning,
                        Some("envs/prod/main.tf"),
                        Some(45),
                    ),
                ],
            },
            Run {
                tool: "Checkov".into(),
                findings: vec![
                    finding(
                        "Checkov",
                        "CKV_AWS_20",
                        Level::Error,
                        Some("envs/prod/main.tf"),
                        Some(12),
                    ),
                    finding("Checkov", "CKV2_AWS_62", Level::Note, None, None),
                    suppressed,
                ],
            },
        ],
        vec![Unreadable {
            file: "missing.sarif".into(),
            reason: "cannot read it: No such file or directory (os error 2)".into(),
        }],
    )
}

fn section(report: &Report, blob: Option<&str>, fail_on: Option<Level>, masker: &Masker) -> String {
    checks_section(
        &ChecksInput {
            report,
            blob_base: blob,
            fail_on,
        },
        masker,
    )
}

#[test]
fn the_section_counts_per_tool_lists_the_worst_first_and_links_to_the_head() {
    let report = sample();
    let text = section(&report, Some(BLOB), Some(Level::Error), &Masker::default());
    assert!(
        text.contains(&format!("]({BLOB}/envs/prod/main.tf#L12)")),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn without_the_head_or_outside_the_repository_a_path_is_text() {
    let report = sample();
    let text = section(&report, None, None, &Masker::default());
    assert!(!text.contains("](http"), "{text}");
    assert!(text.contains("`envs/prod/main.tf:12`"), "{text}");
    assert!(
        !text.contains("[!CAUTION]"),
        "no --fail-on-checks, no caution"
    );
    let outside = summarise(
        vec![Run {
            tool: "t".into(),
            findings: vec![finding("t", "R", Level::Error, None, Some(3))],
        }],
        Vec::new(),
    );
    let text = section(&outside, Some(BLOB), None, &Masker::default());
    assert!(
        text.contains("`../elsewhere.tf:3`") && !text.contains("](http"),
        "{text}"
    );
}

#[test]
fn a_path_is_percent_encoded_in_its_link() {
    let report = summarise(
        vec![Run {
            tool: "t".into(),
            findings: vec![finding(
                "t",
                "R",
                Level::Error,
                Some("a b/c#d?e)(f|g.tf"),
                Some(7),
            )],
        }],
        Vec::new(),
    );
    let text = section(&report, Some(BLOB), None, &Masker::default());
    assert!(
        text.contains(&format!("({BLOB}/a%20b/c%23d%3Fe%29%28f%7Cg.tf#L7)")),
        "{text}"
    );
}

#[test]
fn hostile_text_stays_text_and_secrets_are_masked() {
    let hostile = "x`|</details><img src=x> @org/team ::error::bad\n# h";
    let mut f = finding(hostile, hostile, Level::Error, Some("main.tf"), Some(1));
    f.message = format!("{hostile} hunter2 see HTTPS://evil.example/x or WWW.evil.example");
    let report = summarise(
        vec![Run {
            tool: hostile.into(),
            findings: vec![f],
        }],
        vec![Unreadable {
            file: hostile.into(),
            reason: hostile.into(),
        }],
    );
    let masker = Masker::new(&["hunter2".to_string()]).unwrap();
    let text = section(&report, Some(BLOB), Some(Level::Note), &masker);
    assert!(!text.contains("hunter2"), "{text}");
    // Outside code spans, nothing is markup.
    let outside = outside_code_spans(&text);
    assert!(
        !outside.contains("</details>") && !outside.contains("<img"),
        "{outside}"
    );
    assert!(!outside.contains("@org"), "a live mention: {outside}");
    assert!(text.contains("&lt;/details&gt;"), "{text}");
    // Web addresses in a message are no links.
    assert!(
        text.contains("HTTPS:\u{200B}//evil.example/x or WWW\u{200B}.evil.example"),
        "{text}"
    );
    for line in text.lines().filter(|l| l.starts_with('|')) {
        // Every row has as many cell borders as its header: no `|` from SARIF split one.
        let borders = line.replace("\\|", "").matches('|').count();
        assert!(borders == 7 || borders == 6, "{borders} in {line:?}");
    }
    assert!(
        !text.contains("\n# h"),
        "a line break became a heading: {text}"
    );
}

#[test]
fn the_section_stays_within_its_budget() {
    let long = "ü".repeat(5_000);
    let runs = (0..100)
        .map(|t| Run {
            tool: format!("{long}{t}"),
            findings: (0..50)
                .map(|i| {
                    let mut f = finding(
                        &long,
                        &format!("{long}{i}"),
                        Level::Error,
                        Some(&long),
                        Some(i),
                    );
                    f.message = long.clone();
                    f.suppressed = i % 2 == 0;
                    f
                })
                .collect(),
        })
        .collect();
    let unreadable = (0..50)
        .map(|i| Unreadable {
            file: format!("{long}{i}"),
            reason: long.clone(),
        })
        .collect();
    let report = summarise(runs, unreadable);
    let text = section(&report, Some(BLOB), Some(Level::Error), &Masker::default());
    assert!(text.len() <= CHECKS_BUDGET, "{} bytes", text.len());
    // Each part shows what fits, at least one item, and says how many more there are.
    for part in [
        "more tools.",
        "more findings (see each tool's own report).",
        "more.",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
    assert!(
        text.contains("\n> - ``") || text.contains("\n> - `"),
        "{text}"
    );
    assert!(text.contains("Suppressed: `"), "{text}");
    assert!(text.contains("> - … and 4"), "{text}");
}

#[test]
fn a_comment_with_checks_keeps_the_comment_limit() {
    let report = sample();
    let meta = crate::github::marker::tests::meta("infra/prod");
    let plan = "  ~ update\n".repeat(20_000);
    for summary in [kitchen_sink(), empty_summary()] {
        let body = render_comment(
            &CommentInput {
                meta: &meta,
                summary: &summary,
                plan_text: &plan,
                tfgate_version: "0.0.0-test",
                reach: Reach::Known,
                checks: Some(ChecksInput {
                    report: &report,
                    blob_base: Some(BLOB),
                    fail_on: None,
                }),
            },
            &Masker::default(),
        );
        assert!(body.len() <= MAX_COMMENT_BYTES);
        let checks = body.find("#### Checks").expect("the section is there");
        assert!(checks < body.find("<details>").expect("the plan is folded"));
    }
}

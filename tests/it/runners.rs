//! Two runners, one truth: the plan job and the apply job run on different, fresh runners (two
//! checkouts of the same root in separate folders) that share only the state in S3 with its
//! DynamoDB lock table (moto_server) and GitHub (the fake): the PR comment, and, without an S3
//! archive, the workflow artifact the plan job uploads. The apply runner gets its AWS
//! credentials through web identity (an OIDC token file and a role, moto's STS), as GitHub's
//! runners do.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::actions::{
    BOT, HEAD, MERGE, PR, REPO, marker, outputs, pr_run, push_run, step_summary,
};
use crate::support::github::GitHubFake;
use crate::support::moto::{Moto, moto};
use crate::support::*;

/// The pull request's workflow run, which plans, and the push's, which applies.
const PLAN_RUN: u64 = 5_550_001;
const APPLY_RUN: u64 = 5_550_002;
/// What `tfgate plan` names the artifact of the root `root-demo` (see `Runner::new`).
const DEFAULT_ARTIFACT: &str = "tfgate-root-demo-default";
/// AWS's static keys, which the apply runner does not have.
const STATIC_KEYS: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

/// What both runners share: GitHub, and the state bucket and lock table on moto.
struct World {
    gh: GitHubFake,
    moto: &'static Moto,
    state_bucket: String,
    table: String,
}

/// One runner: its own folder, with a checkout of the repository holding the `demo` root.
struct Runner {
    env: TestEnv,
    root: PathBuf,
    /// Variables this runner does not have (removed from the test environment).
    without: Vec<&'static str>,
}

impl World {
    fn new() -> World {
        let gh = GitHubFake::start();
        gh.add_pr(REPO, PR, HEAD);
        let m = moto();
        let state_bucket = m.unique("rstate");
        let table = m.unique("rlocks");
        m.create_bucket(&state_bucket);
        m.create_lock_table(&table);
        World {
            gh,
            moto: m,
            state_bucket,
            table,
        }
    }

    /// A fresh runner with the Actions environment `env` (`pr_run`, `push_run`), in run
    /// `run_id`.
    fn runner_for(&self, mut env: TestEnv, run_id: u64) -> Runner {
        self.moto.configure(&mut env);
        // The checkout: `.git` at the top, so both runners name the root `root-demo`.
        std::fs::create_dir(env.path().join(".git")).unwrap();
        let tmp = env.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        env.set("GITHUB_RUN_ID", run_id.to_string())
            .set("GITHUB_RUN_ATTEMPT", "1")
            .set("TMPDIR", tmp.display().to_string());
        let root = env.stage("demo");
        std::fs::write(
            root.join("backend.tf"),
            self.moto.backend_block(
                &self.state_bucket,
                "demo/terraform.tfstate",
                Some(&self.table),
                false,
            ),
        )
        .unwrap();
        Runner {
            env,
            root,
            without: Vec::new(),
        }
    }

    /// The plan job's runner, on PR 7.
    fn pr_runner(&self) -> Runner {
        self.runner_for(pr_run(&self.gh), PLAN_RUN)
    }

    /// The apply job's runner, on the push of the merge commit, with web identity credentials.
    fn push_runner(&self) -> Runner {
        let mut r = self.runner_for(push_run(&self.gh), APPLY_RUN);
        r.web_identity();
        r
    }

    /// tfgate's comment on PR 7.
    fn comment(&self) -> String {
        self.gh.only_comment_by(REPO, PR, BOT)
    }

    /// The comment's marker, as JSON.
    fn marker(&self) -> serde_json::Value {
        marker(&self.comment())
    }

    /// Uploads a zip as the plan run's artifact, as actions/upload-artifact would.
    fn upload(&self, name: &str, zip: Vec<u8>) -> u64 {
        self.gh.add_artifact(REPO, PLAN_RUN, name, zip)
    }
}

impl Runner {
    /// Credentials as on GitHub's runners: an OIDC token file and a role to assume with it
    /// (moto's STS answers AssumeRoleWithWebIdentity), no static keys.
    fn web_identity(&mut self) {
        let token = self.env.path().join("oidc-token");
        std::fs::write(
            &token,
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvaW5mcmE6cmVmOnJlZnMvaGVhZHMvbWFpbiJ9.c2ln",
        )
        .unwrap();
        self.env
            .set("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string())
            .set(
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/tfgate-apply",
            )
            .set("AWS_ROLE_SESSION_NAME", "tfgate-apply");
        self.without.extend(STATIC_KEYS);
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.env.tfgate();
        cmd.args(args)
            .args(["--chdir", self.root.to_str().unwrap()]);
        for name in &self.without {
            cmd.env_remove(name);
        }
        Run::from(cmd.output().expect("run tfgate"))
    }

    /// The step outputs written so far (the last value of each name).
    fn outputs(&self) -> BTreeMap<String, String> {
        outputs(&self.env)
    }

    /// Whatever tfgate left in this runner's temporary folder.
    fn temp_leftovers(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.env.path().join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

/// A folder's files as a zip with the files at its top level, as actions/upload-artifact makes
/// of a single folder path.
fn zip_folder(dir: &Path) -> Vec<u8> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let entries: Vec<(String, Vec<u8>)> = names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    zip_of(&entries, &[])
}

/// A zip of plain files, then `links` (name, target) as symbolic links.
fn zip_of(files: &[(String, Vec<u8>)], links: &[(&str, &str)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    for (name, target) in links {
        w.add_symlink(*name, *target, opts).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A bundle folder's files, for building hostile zips around a genuine bundle.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A zip with the bundle's files and `plan.txt` replaced by `actual` zero bytes whose headers
/// (local and central) declare `declared`.
fn lying_zip(bundle: &[(String, Vec<u8>)], actual: usize, declared: u32) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = bundle
        .iter()
        .filter(|(n, _)| n != "plan.txt")
        .cloned()
        .collect();
    files.push(("plan.txt".into(), vec![0u8; actual]));
    let mut bytes = zip_of(&files, &[]);
    let name = b"plan.txt";
    for (sig, size_at) in [(b"PK\x03\x04", 22usize), (b"PK\x01\x02", 24)] {
        // The header whose name is plan.txt: name at 30 (local) or 46 (central).
        let name_at = if sig == b"PK\x03\x04" { 30 } else { 46 };
        let pos = (0..bytes.len() - 4)
            .find(|&i| {
                &bytes[i..i + 4] == sig
                    && bytes.get(i + name_at..i + name_at + name.len()) == Some(name)
            })
            .unwrap();
        let field = &mut bytes[pos + size_at..pos + size_at + 4];
        assert_eq!(u32::from_le_bytes(field.try_into().unwrap()), actual as u32);
        field.copy_from_slice(&declared.to_le_bytes());
    }
    bytes
}

/// Every file named `name` under `dir`.
fn found_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .collect()
}

/// (a) No S3 archive: the plan says, loudly, that the workflow must upload its bundle as the
/// artifact it names; once uploaded, the apply runner finds it through GitHub's API, follows
/// the download's redirect to the storage host without the token, verifies it and applies.
#[test]
fn the_workflow_artifact_carries_the_plan_to_the_apply_runner() {
    let w = World::new();
    let a = w.pr_runner();
    let plan = a.run(&["plan"]);
    plan.assert_code(0);
    assert!(
        plan.stderr.contains(&format!(
            "::warning::the apply job, on another runner, will look for this plan in the workflow artifact `{DEFAULT_ARTIFACT}` of run {PLAN_RUN}, and nothing says this workflow uploads it"
        )),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("--artifact-name") && plan.stderr.contains("--archive s3://"),
        "the warning names both fixes:\n{}",
        plan.stderr
    );
    let marker = w.marker();
    assert_eq!(
        marker["artifact"],
        serde_json::json!({ "run_id": PLAN_RUN, "name": DEFAULT_ARTIFACT })
    );
    assert!(
        marker["archive"].is_null(),
        "no folder of the plan runner in the marker: {marker}"
    );
    let comment = w.comment();
    assert!(
        comment.contains("> [!WARNING]\n> The apply job can find this plan only in the workflow artifact `tfgate-root-demo-default`"),
        "{comment}"
    );
    let outputs = a.outputs();
    assert_eq!(outputs["artifact_name"], DEFAULT_ARTIFACT);
    let bundle = PathBuf::from(&outputs["bundle"]);
    assert!(bundle.join("manifest.json").is_file(), "{outputs:?}");

    // The workflow's upload step; the plan runner goes away with its folder; the merge.
    w.upload(DEFAULT_ARTIFACT, zip_folder(&bundle));
    drop(a);
    assert!(!bundle.exists());
    w.gh.merge_pr(REPO, PR, MERGE);

    let b = w.push_runner();
    assert!(!b.root.join(".tfgate").exists(), "a fresh runner");
    let apply = b.run(&["apply"]);
    apply.assert_code(0);
    assert!(
        apply.stderr.contains(&format!(
            "downloading the workflow artifact {DEFAULT_ARTIFACT} of run {PLAN_RUN}"
        )),
        "{}",
        apply.stderr
    );
    assert!(
        apply
            .stderr
            .contains("the plan now is the plan that was reviewed"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("Apply complete! Resources: 7 added"),
        "{}",
        apply.stderr
    );
    assert!(w.comment().contains("\"status\":\"applied\""));
    // GitHub's API was asked as documented, and the storage host never saw the token.
    let listed = w.gh.requests();
    assert!(
        listed.iter().any(
            |r| r.path == format!("/repos/{REPO}/actions/runs/{PLAN_RUN}/artifacts")
                && r.query
                    .contains(&format!("name={}", DEFAULT_ARTIFACT.replace('-', "%2D")))
        ),
        "{listed:#?}"
    );
    let storage = w.gh.storage_requests();
    assert_eq!(storage.len(), 1, "{storage:#?}");
    assert!(!storage[0].authorization, "{storage:#?}");
    assert_eq!(storage[0].status, 200);
    assert!(
        b.temp_leftovers().is_empty(),
        "the download is removed: {:?}",
        b.temp_leftovers()
    );
}

/// Plans PR 7 on a runner with `--artifact-name` (the workflow says it uploads the bundle), and
/// merges; returns the runner and the bundle folder.
fn declared_plan(w: &World, name: &str) -> (Runner, PathBuf) {
    let a = w.pr_runner();
    let plan = a.run(&["plan", "--artifact-name", name]);
    plan.assert_code(0);
    assert!(
        !plan.stderr.contains("::warning::"),
        "a declared upload needs no warning:\n{}",
        plan.stderr
    );
    assert!(!w.comment().contains("[!WARNING]"), "{}", w.comment());
    assert_eq!(w.marker()["artifact"]["name"], name);
    let bundle = PathBuf::from(&a.outputs()["bundle"]);
    w.gh.merge_pr(REPO, PR, MERGE);
    (a, bundle)
}

/// (b) A missing or expired artifact stops the apply with exit 4, saying which and what to do.
#[test]
fn a_missing_or_expired_artifact_is_exit_4_with_the_fix() {
    let w = World::new();
    let (_a, bundle) = declared_plan(&w, "plan-of-demo");
    let b = w.push_runner();

    let missing = b.run(&["apply"]);
    missing.assert_code(4);
    assert!(
        missing.stderr.contains(&format!(
            "the workflow artifact `plan-of-demo` of run {PLAN_RUN} does not exist"
        )),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("actions/upload-artifact")
            && missing.stderr.contains("--archive s3://"),
        "{}",
        missing.stderr
    );
    // The PR comment says why, with the apply's run; so do the summary and the outputs.
    let run_link =
        format!("([run](https://github.com/{REPO}/actions/runs/{APPLY_RUN}/attempts/1))");
    let comment = w.comment();
    assert!(comment.contains("\"status\":\"not_applied\""), "{comment}");
    assert!(
        comment.contains(&format!(
            "The workflow artifact \\`plan-of-demo\\` of run {PLAN_RUN} does not exist: that run uploaded no artifact of that name {run_link}."
        )),
        "{comment}"
    );
    let summary = step_summary(&b.env);
    assert!(
        summary.starts_with("### tfgate apply: not_applied\n") && summary.contains(&run_link),
        "{summary}"
    );
    let out = b.outputs();
    assert_eq!(out["verdict"], "not_applied", "{out:?}");
    assert!(
        out["failure_reason"].starts_with("bundle_missing: the workflow artifact `plan-of-demo`"),
        "{out:?}"
    );
    let id = w.gh.comments(REPO, PR)[0].id;
    assert_eq!(
        out["comment_url"],
        format!("https://github.com/{REPO}/pull/{PR}#issuecomment-{id}")
    );

    let id = w.upload("plan-of-demo", zip_folder(&bundle));
    w.gh.expire_artifact(id);
    let expired = b.run(&["apply"]);
    expired.assert_code(4);
    assert!(expired.stderr.contains("has expired"), "{}", expired.stderr);
    assert!(
        expired.stderr.contains("retention-days")
            && expired
                .stderr
                .contains("Re-run the pull request's plan job"),
        "{}",
        expired.stderr
    );
    let comment = w.comment();
    assert!(
        comment.contains("\"status\":\"not_applied\"") && comment.contains("has expired"),
        "{comment}"
    );
    assert!(
        !comment.contains("does not exist"),
        "the status is replaced: {comment}"
    );
    assert!(
        b.outputs()["failure_reason"].starts_with("bundle_expired: "),
        "{:?}",
        b.outputs()
    );
    assert_eq!(
        w.gh.count("GET", &format!("/repos/{REPO}/actions/artifacts/{id}/zip")),
        0,
        "an artifact listed as expired is not downloaded"
    );

    // Listed as live, gone by the time it is downloaded: GitHub answers 410.
    let id = w.upload("plan-of-demo", zip_folder(&bundle));
    w.gh.expire_artifact_on_download(id);
    let gone = b.run(&["apply"]);
    gone.assert_code(4);
    assert!(gone.stderr.contains("has expired"), "{}", gone.stderr);
    assert!(
        w.gh.requests().iter().any(|r| r.status == 410),
        "the download was answered 410"
    );
    assert!(!gone.stderr.contains("terraform apply"), "{}", gone.stderr);
}

/// (c) An artifact whose zip holds anything a bundle never does is refused (exit 4: the
/// reviewed plan cannot be trusted, like a checksum mismatch), and nothing lands outside the
/// private temporary folder, which is removed.
#[test]
fn a_hostile_artifact_is_refused_and_nothing_escapes() {
    let w = World::new();
    let (a, bundle) = declared_plan(&w, "plan-of-demo");
    let genuine = files_of(&bundle);
    let b = w.push_runner();
    let abs = b.env.path().join("abs-evil");
    let with = |name: &str, bytes: &[u8]| {
        let mut files = genuine.clone();
        files.push((name.to_string(), bytes.to_vec()));
        files
    };
    let cases: Vec<(&str, Vec<u8>, Vec<&str>, &str)> = vec![
        (
            "../evil",
            zip_of(&with("../evil", b"x"), &[]),
            vec![],
            "leads out of the folder",
        ),
        (
            "../../../../evil",
            zip_of(&with("../../../../evil", b"x"), &[]),
            vec![],
            "leads out of the folder",
        ),
        (
            "an absolute path",
            zip_of(&with(abs.to_str().unwrap(), b"x"), &[]),
            vec![],
            "is an absolute path",
        ),
        (
            "a symbolic link",
            zip_of(&genuine, &[("evil", "../../../../../etc/passwd")]),
            vec![],
            "is a symbolic link",
        ),
        (
            "an entry larger than the cap",
            zip_of(&with("padding", &vec![7u8; 200 * 1024]), &[]),
            vec!["--max-artifact-size", "128KiB"],
            "is larger than --max-artifact-size",
        ),
        (
            "an entry larger than it declares",
            lying_zip(&genuine, 512 * 1024, 64),
            vec![],
            "declared",
        ),
        (
            "a file the manifest does not list",
            zip_of(&with("extra.sh", b"#!/bin/sh\n"), &[]),
            vec![],
            "which its manifest does not list",
        ),
    ];
    for (what, zip, flags, expect) in cases {
        w.upload("plan-of-demo", zip);
        let mut args = vec!["apply"];
        args.extend(flags);
        let run = b.run(&args);
        run.assert_code(4);
        assert!(
            run.stderr.contains("of run 5550001 cannot be trusted")
                || run.stderr.contains("is larger than"),
            "{what}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(expect), "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("terraform apply"), "{what}");
        assert!(
            b.temp_leftovers().is_empty(),
            "{what}: left {:?}",
            b.temp_leftovers()
        );
        assert!(!abs.exists(), "{what}");
        for dir in [b.env.path(), a.env.path()] {
            assert_eq!(found_named(dir, "evil"), Vec::<PathBuf>::new(), "{what}");
        }
    }
    // The genuine bundle, uploaded last, is the newest: it applies.
    w.upload("plan-of-demo", zip_folder(&bundle));
    b.run(&["apply"]).assert_code(0);
}

/// (d) `--archive s3://…` on the plan is enough: the apply runner, with web identity
/// credentials and no `--archive`, takes the location from the marker, and archives its apply
/// bundle there too; an `--archive` that names another place is refused (exit 4).
#[test]
fn an_s3_archive_on_the_plan_is_enough_for_the_apply() {
    let w = World::new();
    let archive_bucket = w.moto.unique("rarchive");
    w.moto.create_bucket(&archive_bucket);
    let archive = format!("s3://{archive_bucket}/tfgate");
    let a = w.pr_runner();
    let plan = a.run(&["plan", "--archive", &archive]);
    plan.assert_code(0);
    assert!(!plan.stderr.contains("::warning::"), "{}", plan.stderr);
    let marker = w.marker();
    assert!(
        marker["archive"].as_str().is_some_and(
            |u| u.starts_with(&format!("{archive}/acme/infra/root-demo/default/pr-7/"))
        ),
        "{marker}"
    );
    assert!(marker.get("artifact").is_none(), "{marker}");
    // The artifact name is still offered, for a pipeline that keeps the bundle as an artifact
    // too; the marker does not depend on it.
    assert_eq!(
        a.outputs().get("artifact_name").map(String::as_str),
        Some("tfgate-root-demo-default"),
        "{:?}",
        a.outputs()
    );
    w.gh.merge_pr(REPO, PR, MERGE);

    let mut b = w.push_runner();
    // Another prefix of the same bucket is another archive.
    let elsewhere = format!("s3://{archive_bucket}/other");
    let differs = b.run(&["apply", "--archive", &elsewhere]);
    differs.assert_code(4);
    assert!(
        differs.stderr.contains(&format!(
            "--archive {elsewhere} differs from where the reviewed plan is: {archive}/"
        )),
        "{}",
        differs.stderr
    );

    // Without its web identity, this runner has no AWS credentials at all.
    let token_file = b.env.vars()["AWS_WEB_IDENTITY_TOKEN_FILE"].clone();
    b.without.push("AWS_WEB_IDENTITY_TOKEN_FILE");
    let no_credentials = b.run(&["apply"]);
    no_credentials.assert_code(1);
    assert!(
        no_credentials.stderr.to_lowercase().contains("credentials"),
        "{}",
        no_credentials.stderr
    );
    b.without.retain(|v| *v != "AWS_WEB_IDENTITY_TOKEN_FILE");
    assert!(Path::new(&token_file).is_file());

    let apply = b.run(&["apply"]);
    apply.assert_code(0);
    assert!(
        apply.stderr.contains("Apply complete! Resources: 7 added"),
        "{}",
        apply.stderr
    );
    let keys: Vec<String> = w
        .moto
        .block_on(w.moto.s3().list_objects_v2().bucket(&archive_bucket).send())
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert!(
        keys.iter().any(
            |k| k.starts_with("tfgate/acme/infra/root-demo/default/pr-7/")
                && k.contains("-apply-")
                && k.ends_with("manifest.json")
        ),
        "the apply bundle went to the plan's archive: {keys:#?}"
    );
}

/// Without an S3 archive and outside any workflow run the plan may travel by, a PR plan under
/// GitHub Actions says that no other runner can reach it; the apply runner's error names the
/// fix instead of a folder it does not have.
#[test]
fn a_plan_no_other_runner_can_reach_is_said_loudly() {
    let w = World::new();
    let mut a = w.pr_runner();
    a.env.unset("GITHUB_RUN_ID");
    let plan = a.run(&["plan"]);
    plan.assert_code(0);
    assert!(
        plan.stderr
            .contains("::warning::no other runner can reach this plan"),
        "{}",
        plan.stderr
    );
    assert!(
        w.comment().contains("No other runner can reach this plan"),
        "{}",
        w.comment()
    );
    // The plan runner is gone with its folder, as a hosted runner is after its job.
    drop(a);
    w.gh.merge_pr(REPO, PR, MERGE);
    let b = w.push_runner();
    let apply = b.run(&["apply"]);
    apply.assert_code(4);
    assert!(
        apply
            .stderr
            .contains("the reviewed plan cannot be reached from this runner"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("actions/upload-artifact")
            && apply.stderr.contains("--archive s3://BUCKET/PREFIX"),
        "{}",
        apply.stderr
    );
    assert!(
        !apply.stderr.contains("archive list --all"),
        "{}",
        apply.stderr
    );
}

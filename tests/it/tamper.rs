//! Altered bundles, local and in S3: every command that reads a bundle (`apply --reviewed`,
//! `show`, `diff`, `comment`) refuses one whose files and manifest do not make a whole bundle
//! (exit 4) before anything runs; bundle files are private; `tfgate comment` posts what the
//! bundle's plan says, whatever its comment.md claims.

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use tfgate::archive::bundle::bytes_entry;

use crate::support::actions::{Actions, BOT, HEAD, MERGE, PR, REPO, TOKEN, marker};
use crate::support::github::{GitHubFake, Kind};
use crate::support::moto::{Moto, moto};
use crate::support::*;

/// What an attacker or an accident does to a finished bundle.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    /// Bytes appended to the binary plan (what apply would apply).
    AppendToTfplan,
    /// The comment edited after the fact.
    EditComment,
    /// plan.txt deleted.
    DeletePlanText,
    /// The manifest lists a file that is not there.
    ListMissingFile,
    /// The manifest's `files` emptied, and plan.json edited.
    EmptyFilesAndEditedPlan,
    /// The manifest names `../x`, a file next to the bundle with the recorded checksum.
    ParentName,
    /// The manifest names an absolute path (like `/etc/hostname`) with the recorded checksum.
    AbsoluteName,
    /// The manifest names `a/../b`, which resolves to a file inside the bundle.
    DotDotInside,
}

const ALL: [Tamper; 8] = [
    Tamper::AppendToTfplan,
    Tamper::EditComment,
    Tamper::DeletePlanText,
    Tamper::ListMissingFile,
    Tamper::EmptyFilesAndEditedPlan,
    Tamper::ParentName,
    Tamper::AbsoluteName,
    Tamper::DotDotInside,
];

/// Content an outside file gets, with its checksum in the manifest.
const OUTSIDE: &[u8] = b"not part of any bundle\n";

impl Tamper {
    /// What the error names.
    fn says(self) -> &'static str {
        match self {
            Tamper::AppendToTfplan => "tfplan does not match its manifest checksum",
            Tamper::EditComment => "comment.md does not match its manifest checksum",
            Tamper::DeletePlanText => "lists plan.txt, which is missing",
            Tamper::ListMissingFile => "lists apply.log, which is missing",
            Tamper::EmptyFilesAndEditedPlan => "does not list tfplan, plan.json",
            Tamper::ParentName | Tamper::AbsoluteName | Tamper::DotDotInside => {
                "which is not a file of a tfgate bundle"
            }
        }
    }

    /// The manifest name this tampering adds, when it adds one (for an S3 bundle, the key
    /// it would resolve to is stored too).
    fn added_name(self, outside_abs: &str) -> Option<String> {
        match self {
            Tamper::ListMissingFile => Some("apply.log".into()),
            Tamper::ParentName => Some("../x".into()),
            Tamper::AbsoluteName => Some(outside_abs.to_string()),
            Tamper::DotDotInside => Some("a/../b".into()),
            _ => None,
        }
    }
}

/// Edits a manifest's JSON in place.
fn edit_manifest(
    bytes: &[u8],
    f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Vec<u8> {
    let mut m: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    f(m["files"].as_object_mut().unwrap());
    serde_json::to_vec_pretty(&m).unwrap()
}

fn entry_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::to_value(bytes_entry(bytes)).unwrap()
}

fn edited_plan(json: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(json.to_vec()).unwrap();
    assert!(text.contains("ghcr.io/acme/api"));
    text.replace("ghcr.io/acme/api", "ghcr.io/evil/api")
        .into_bytes()
}

/// Copies a bundle folder.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A copy of `pristine` at `dir`, tampered with.
fn tamper_local(pristine: &Path, dir: &Path, t: Tamper, outside_abs: &Path) {
    copy_dir(pristine, dir);
    let manifest = dir.join("manifest.json");
    let add = |name: &str, bytes: &[u8]| {
        let m = std::fs::read(&manifest).unwrap();
        let entry = entry_json(bytes);
        std::fs::write(
            &manifest,
            edit_manifest(&m, |files| {
                files.insert(name.to_string(), entry);
            }),
        )
        .unwrap();
    };
    match t {
        Tamper::AppendToTfplan => {
            let mut bytes = std::fs::read(dir.join("tfplan")).unwrap();
            bytes.extend_from_slice(b"appended");
            std::fs::write(dir.join("tfplan"), bytes).unwrap();
        }
        Tamper::EditComment => {
            let text = std::fs::read_to_string(dir.join("comment.md")).unwrap();
            std::fs::write(dir.join("comment.md"), text.replace("to add", "to keep")).unwrap();
        }
        Tamper::DeletePlanText => std::fs::remove_file(dir.join("plan.txt")).unwrap(),
        Tamper::ListMissingFile => add("apply.log", b"x"),
        Tamper::EmptyFilesAndEditedPlan => {
            let m = std::fs::read(&manifest).unwrap();
            std::fs::write(&manifest, edit_manifest(&m, |files| files.clear())).unwrap();
            let json = std::fs::read(dir.join("plan.json")).unwrap();
            std::fs::write(dir.join("plan.json"), edited_plan(&json)).unwrap();
        }
        Tamper::ParentName => {
            std::fs::write(dir.parent().unwrap().join("x"), OUTSIDE).unwrap();
            add("../x", OUTSIDE);
        }
        Tamper::AbsoluteName => add(outside_abs.to_str().unwrap(), OUTSIDE),
        Tamper::DotDotInside => {
            std::fs::create_dir(dir.join("a")).unwrap();
            std::fs::write(dir.join("b"), OUTSIDE).unwrap();
            add("a/../b", OUTSIDE);
        }
    }
}

/// `tfgate comment BUNDLE` against the fake, with a token that may write.
fn comment(env: &TestEnv, gh: &GitHubFake, bundle: &str) -> Run {
    Run::from(
        env.tfgate()
            .args(["comment", bundle, "--pr", "7", "--repo", REPO])
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", gh.url())
            .output()
            .unwrap(),
    )
}

fn apply(env: &TestEnv, root: &Path, reviewed: &str) -> Run {
    env.run(&[
        "apply",
        "--reviewed",
        reviewed,
        "--chdir",
        root.to_str().unwrap(),
    ])
}

/// The four commands that read a bundle each refuse `bundle` with exit 4, naming the problem;
/// nothing is shown, posted or applied.
#[track_caller]
fn assert_refused_everywhere(
    env: &TestEnv,
    gh: &GitHubFake,
    root: &Path,
    bundle: &str,
    good: &Path,
    t: Tamper,
) {
    let check = |what: &str, run: &Run| {
        run.assert_code(4);
        assert!(
            run.stderr.contains(t.says()),
            "{t:?}, {what}: expected {:?}\n{}",
            t.says(),
            run.transcript()
        );
    };
    let run = env.run(&["show", bundle, "--format", "json"]);
    check("show", &run);
    assert!(run.stdout.is_empty(), "{t:?}: show printed a tampered plan");

    let run = env.run(&["diff", bundle, good.to_str().unwrap()]);
    check("diff", &run);
    assert!(run.stdout.is_empty(), "{t:?}: diff printed a tampered plan");

    gh.clear_requests();
    check("comment", &comment(env, gh, bundle));
    assert!(
        gh.requests().is_empty(),
        "{t:?}: GitHub was called: {:?}",
        gh.requests()
    );

    let run = apply(env, root, bundle);
    check("apply", &run);
    assert!(
        !run.stderr.contains("terraform"),
        "{t:?}: terraform ran:\n{}",
        run.transcript()
    );
    assert!(
        !root.join("terraform.tfstate").exists(),
        "{t:?}: the state was written"
    );
    assert!(
        bundles(root)
            .iter()
            .all(|(d, _)| !d.to_str().unwrap().contains("-apply-")),
        "{t:?}: an apply bundle was written: {:?}",
        bundles(root)
    );
}

fn fake() -> GitHubFake {
    let gh = GitHubFake::start();
    gh.add_user(TOKEN, BOT, Kind::Installation);
    gh.add_pr(REPO, PR, HEAD);
    gh
}

#[test]
fn a_tampered_local_bundle_is_refused_by_every_command_before_anything_runs() {
    let gh = fake();
    let env = TestEnv::new();
    let root = env.stage("demo");
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let pristine = only_bundle(&root);
    let outside_abs = env.path().join("outside");
    std::fs::write(&outside_abs, OUTSIDE).unwrap();

    for (i, t) in ALL.into_iter().enumerate() {
        let dir = env.path().join(format!("tampered-{i}")).join("bundle");
        tamper_local(&pristine, &dir, t, &outside_abs);
        assert_refused_everywhere(&env, &gh, &root, dir.to_str().unwrap(), &pristine, t);
    }
    assert!(gh.comments(REPO, PR).is_empty());

    // The same bundle untouched: shown and applied.
    env.run(&["show", pristine.to_str().unwrap()])
        .assert_code(0);
    let run = apply(&env, &root, pristine.to_str().unwrap());
    run.assert_code(0);
    assert!(run.stderr.contains("Apply complete!"), "{}", run.stderr);

    // An apply bundle is no reviewed plan, whole or not.
    let apply_bundle = bundles(&root)
        .into_iter()
        .map(|(d, _)| d)
        .find(|d| d.to_str().unwrap().contains("-apply-"))
        .unwrap();
    env.run(&["show", apply_bundle.to_str().unwrap()])
        .assert_code(0);
    let run = apply(&env, &root, apply_bundle.to_str().unwrap());
    run.assert_code(4);
    assert!(
        run.stderr
            .contains("is an apply bundle, not a reviewed plan"),
        "{}",
        run.transcript()
    );
}

/// The S3 side: a bucket on moto, tampered through the S3 API.
struct S3Bundle<'m> {
    m: &'m Moto,
    bucket: String,
    /// Key of the pristine bundle (no trailing `/`).
    key: String,
}

impl S3Bundle<'_> {
    fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self
            .m
            .block_on(
                self.m
                    .s3()
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .send(),
            )
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    fn get(&self, key: &str) -> Vec<u8> {
        let out = self
            .m
            .block_on(
                self.m
                    .s3()
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        self.m
            .block_on(out.body.collect())
            .unwrap()
            .into_bytes()
            .to_vec()
    }

    fn put(&self, key: &str, bytes: &[u8]) {
        self.m
            .block_on(
                self.m
                    .s3()
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .body(ByteStream::from(bytes.to_vec()))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }

    fn delete(&self, key: &str) {
        self.m
            .block_on(
                self.m
                    .s3()
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send(),
            )
            .unwrap();
    }

    /// A copy of the pristine bundle under `copy`, tampered with; its URI.
    fn tampered(&self, copy: &str, t: Tamper, outside_abs: &str) -> String {
        for key in self.keys(&format!("{}/", self.key)) {
            let name = key.rsplit('/').next().unwrap();
            self.put(&format!("{copy}/{name}"), &self.get(&key));
        }
        let file = |name: &str| format!("{copy}/{name}");
        match t {
            Tamper::AppendToTfplan => {
                let mut bytes = self.get(&file("tfplan"));
                bytes.extend_from_slice(b"appended");
                self.put(&file("tfplan"), &bytes);
            }
            Tamper::EditComment => {
                let text = String::from_utf8(self.get(&file("comment.md"))).unwrap();
                self.put(
                    &file("comment.md"),
                    text.replace("to add", "to keep").as_bytes(),
                );
            }
            Tamper::DeletePlanText => self.delete(&file("plan.txt")),
            Tamper::EmptyFilesAndEditedPlan => {
                let m = self.get(&file("manifest.json"));
                self.put(&file("manifest.json"), &edit_manifest(&m, |f| f.clear()));
                let json = self.get(&file("plan.json"));
                self.put(&file("plan.json"), &edited_plan(&json));
            }
            Tamper::ListMissingFile
            | Tamper::ParentName
            | Tamper::AbsoluteName
            | Tamper::DotDotInside => {
                let name = t.added_name(outside_abs).unwrap();
                if !matches!(t, Tamper::ListMissingFile) {
                    // Both the literal key and the one a normalising server would resolve to
                    // hold the bytes the manifest records.
                    self.put(&format!("{copy}/{name}"), OUTSIDE);
                    let resolved = match t {
                        Tamper::ParentName => {
                            format!("{}/x", copy.rsplit_once('/').unwrap().0)
                        }
                        Tamper::DotDotInside => file("b"),
                        _ => name.trim_start_matches('/').to_string(),
                    };
                    self.put(&resolved, OUTSIDE);
                }
                let m = self.get(&file("manifest.json"));
                let bytes: &[u8] = if matches!(t, Tamper::ListMissingFile) {
                    b"x"
                } else {
                    OUTSIDE
                };
                let entry = entry_json(bytes);
                self.put(
                    &file("manifest.json"),
                    &edit_manifest(&m, |f| {
                        f.insert(name, entry);
                    }),
                );
            }
        }
        format!("s3://{}/{copy}", self.bucket)
    }
}

#[test]
fn a_tampered_s3_bundle_is_refused_by_every_command_before_anything_runs() {
    let gh = fake();
    let m = moto();
    let mut env = TestEnv::new();
    m.configure(&mut env);
    let bucket = m.unique("tamper");
    m.create_bucket(&bucket);
    let root = env.stage("demo");
    env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--archive",
        &format!("s3://{bucket}/x"),
    ])
    .assert_code(0);
    let local = only_bundle(&root);
    // The S3 bundle's key: the local bundle's id under the archive's layout.
    let id = local.file_name().unwrap().to_str().unwrap();
    let s3 = S3Bundle {
        m,
        bucket: bucket.clone(),
        key: format!(
            "x/local/local/{}/default/local/{id}",
            root.to_str().unwrap().trim_start_matches('/')
        ),
    };
    assert!(
        s3.keys(&s3.key)
            .iter()
            .any(|k| k.ends_with("/manifest.json")),
        "{:?}",
        s3.keys("x/")
    );
    let pristine = format!("s3://{bucket}/{}", s3.key);

    for (i, t) in ALL.into_iter().enumerate() {
        let uri = s3.tampered(&format!("tampered/case-{i}/bundle"), t, "/etc/hostname");
        assert_refused_everywhere(&env, &gh, &root, &uri, &local, t);
    }
    assert!(gh.comments(REPO, PR).is_empty());

    // The same bundle untouched: shown, commented (naming its S3 place), applied.
    env.run(&["show", &pristine]).assert_code(0);
    comment(&env, &gh, &pristine).assert_code(0);
    let posted = gh.comments(REPO, PR);
    assert_eq!(posted.len(), 1);
    assert_eq!(marker(&posted[0].body)["archive"], pristine.as_str());
    let run = apply(&env, &root, &pristine);
    run.assert_code(0);
    assert!(run.stderr.contains("Apply complete!"), "{}", run.stderr);
}

#[test]
fn bundle_files_are_0600_and_bundle_folders_0700() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let env = TestEnv::new();
    let root = env.stage("demo");
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let reviewed = only_bundle(&root);
    apply(&env, &root, reviewed.to_str().unwrap()).assert_code(0);

    let all = bundles(&root);
    assert_eq!(all.len(), 2, "a plan and an apply bundle: {all:?}");
    let tfgate = root.join(".tfgate");
    let mut folders: Vec<PathBuf> = vec![tfgate.clone(), tfgate.join("archive")];
    for (bundle, _) in &all {
        folders.extend(bundle.ancestors().take(3).map(Path::to_path_buf));
        let names: Vec<String> = std::fs::read_dir(bundle)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().any(|n| n == "tfplan") && names.iter().any(|n| n == "plan.json"),
            "{names:?}"
        );
        for name in names {
            let path = bundle.join(&name);
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    for folder in folders {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
}

#[test]
fn files_downloaded_from_s3_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    use tfgate::archive::store::{BundleAddress, Files, RootAddress};
    use tfgate::aws::s3_archive::{Encryption, S3Archive, S3Location};

    let m = moto();
    let env = TestEnv::new();
    let bucket = m.unique("private");
    m.create_bucket(&bucket);
    let root = env.stage("demo");
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let local = only_bundle(&root);
    let location = S3Location::parse(&format!("s3://{bucket}/p")).unwrap();
    let store = S3Archive::new(m.s3().clone(), location, Encryption::Aes256);
    let address = BundleAddress::new(RootAddress::new(None, "demo", "default"), "local", "b");
    let uri = m.block_on(store.upload_bundle(&local, &address)).unwrap();
    let into = tempfile::tempdir().unwrap();
    m.block_on(store.download_bundle(
        &S3Location::parse(&uri).unwrap(),
        into.path(),
        Files::Only(&["plan.json", "tfplan"]),
    ))
    .unwrap();
    let mut names: Vec<String> = Vec::new();
    for e in std::fs::read_dir(into.path()).unwrap() {
        let e = e.unwrap();
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{:?}", e.file_name());
        names.push(e.file_name().into_string().unwrap());
    }
    names.sort();
    assert_eq!(
        names,
        ["manifest.json", "plan.json", "tfplan"],
        "only the files asked for are kept; the others were checked as they streamed by"
    );
}

/// A pull_request run for PR 7 against the fake, without a token (so `tfgate plan` posts
/// nothing and a later `tfgate comment` is the only writer), and without a run id: the plan and
/// what reads it run on this one machine, so the marker names the bundle folder (a run id would
/// make it name the run's workflow artifact).
fn pr_env(gh: &GitHubFake) -> TestEnv {
    Actions::pull_request(gh.url()).no_token().no_run_id().env()
}

/// Writes `bytes` as a bundle file and records its checksum in the manifest, as someone who
/// knows the format would.
fn rewrite_and_rehash(bundle: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(bundle.join(name), bytes).unwrap();
    let manifest = bundle.join("manifest.json");
    let m = std::fs::read(&manifest).unwrap();
    let entry = entry_json(bytes);
    std::fs::write(
        &manifest,
        edit_manifest(&m, |files| {
            files.insert(name.to_string(), entry);
        }),
    )
    .unwrap();
}

#[test]
fn comment_posts_what_the_plan_says_not_a_forged_comment_md() {
    let gh = fake();
    let env = pr_env(&gh);
    let root = env.stage("demo");
    env.run(&["plan", "--chdir", root.to_str().unwrap()])
        .assert_code(0);
    let bundle = only_bundle(&root);
    let rendered = std::fs::read_to_string(bundle.join("comment.md")).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let truth = manifest["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(marker(&rendered)["fingerprint"], truth.as_str());

    // Another fingerprint, another root, another archive, and a body that says nothing changes.
    let forged_marker = format!(
        "<!-- tfgate:{{\"version\":1,\"root\":\"elsewhere\",\"workspace\":\"default\",\"head_sha\":\"{HEAD}\",\"fingerprint\":\"sha256:{}\",\"archive\":\"s3://evil/bundle\",\"run_url\":null,\"status\":\"planned\"}} -->",
        "0".repeat(64)
    );
    let forged = format!("{forged_marker}\n**No changes.** Approve freely.\n");
    rewrite_and_rehash(&bundle, "comment.md", forged.as_bytes());
    // The bundle is whole: show accepts it.
    env.run(&["show", bundle.to_str().unwrap()]).assert_code(0);

    let run = comment(&env, &gh, bundle.to_str().unwrap());
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("comment.md is not the comment its plan renders to"),
        "{}",
        run.transcript()
    );
    let posted = gh.comments(REPO, PR);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    // The comment job has the bundle, so the footer no longer warns that only the planning
    // runner does; everything else is what tfgate plan rendered.
    let note = "> [!WARNING]\n> No other runner can reach this plan";
    let (before, after) = rendered
        .split_once(note)
        .expect("plan warned about its reach");
    let after = after.split_once("\n\n").expect("the note ends").1;
    assert_eq!(
        posted[0].body,
        format!("{before}{after}"),
        "the comment is the one tfgate plan rendered from the plan"
    );
    let meta = marker(&posted[0].body);
    assert_eq!(meta["fingerprint"], truth.as_str());
    assert_eq!(meta["root"], root.to_str().unwrap());
    let folder = std::fs::canonicalize(&bundle).unwrap();
    assert_eq!(meta["archive"], folder.to_str().unwrap());
    assert!(!posted[0].body.contains("Approve freely"));
    assert!(!posted[0].body.contains("evil"));

    // A manifest whose fingerprint is not its plan's: the bundle was altered.
    let manifest_path = bundle.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(
        &manifest_path,
        text.replace(&truth, &format!("sha256:{}", "0".repeat(64))),
    )
    .unwrap();
    gh.clear_requests();
    let run = comment(&env, &gh, bundle.to_str().unwrap());
    run.assert_code(4);
    assert!(
        run.stderr.contains("its manifest records the fingerprint"),
        "{}",
        run.transcript()
    );
    assert!(gh.requests().is_empty(), "{:?}", gh.requests());
}

#[test]
fn apply_refuses_an_archive_that_holds_another_plan_than_the_comment_shows() {
    let gh = fake();
    let env = pr_env(&gh);
    let root = env.stage("demo");
    let run = Run::from(
        env.tfgate()
            .args(["plan", "--chdir", root.to_str().unwrap()])
            .env("GITHUB_TOKEN", TOKEN)
            .output()
            .unwrap(),
    );
    run.assert_code(0);
    let posted = gh.comments(REPO, PR);
    assert_eq!(posted.len(), 1);
    let shown = marker(&posted[0].body)["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let other = format!("sha256:{}", "1".repeat(64));
    gh.set_comment_body(posted[0].id, &posted[0].body.replacen(&shown, &other, 1));
    gh.merge_pr(REPO, PR, MERGE);

    let push = Actions::push(gh.url()).no_run_id().env();
    let run = push.run(&["apply", "--chdir", root.to_str().unwrap()]);
    run.assert_code(4);
    assert!(
        run.stderr
            .contains(&format!("but the PR comment shows the plan {other}")),
        "{}",
        run.transcript()
    );
    assert!(!run.stderr.contains("terraform"), "{}", run.transcript());
    assert!(!root.join("terraform.tfstate").exists());

    // The comment as tfgate wrote it: applied.
    gh.set_comment_body(posted[0].id, &posted[0].body);
    let run = push.run(&["apply", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
}

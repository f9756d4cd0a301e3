//! The S3 archive and `tfgate archive list`: real terraform, the tfgate binary, and moto_server
//! as S3. What is checked is what a user (or `tfgate apply`) relies on: every file in S3,
//! encrypted; the manifest only once everything else is there; listings; a tampered object
//! caught on download; one-line errors with hints, in bounded time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::support::actions::marker;
use crate::support::moto::{Moto, moto};
use crate::support::stub::{response, s3_error, stub};
use crate::support::*;

const FILES: [&str; 6] = [
    "comment.md",
    "manifest.json",
    "plan.json",
    "plan.txt",
    "summary.json",
    "tfplan",
];
const HEAD_A: &str = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
const HEAD_B: &str = "bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222";
const COMMIT_C: &str = "cccc3333cccc3333cccc3333cccc3333cccc3333";

/// A test environment pointed at moto, with a fresh bucket, and a `.git` folder so roots are
/// named by their path in the "repository" (`root-demo`).
fn s3_env() -> (TestEnv, &'static Moto, String) {
    let m = moto();
    let mut env = TestEnv::new();
    m.configure(&mut env);
    std::fs::create_dir_all(env.path().join(".git")).unwrap();
    let bucket = m.unique("archive");
    m.create_bucket(&bucket);
    (env, m, bucket)
}

fn keys(m: &Moto, bucket: &str, prefix: &str) -> Vec<String> {
    let out = m
        .block_on(
            m.s3()
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .send(),
        )
        .unwrap();
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

fn get(m: &Moto, bucket: &str, key: &str) -> Vec<u8> {
    let out = m
        .block_on(m.s3().get_object().bucket(bucket).key(key).send())
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    m.block_on(out.body.collect())
        .unwrap()
        .into_bytes()
        .to_vec()
}

fn put(m: &Moto, bucket: &str, key: &str, bytes: &[u8]) {
    m.block_on(
        m.s3()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .send(),
    )
    .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

fn names(keys: &[String]) -> Vec<&str> {
    keys.iter().map(|k| k.rsplit('/').next().unwrap()).collect()
}

fn plan(env: &TestEnv, root: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["plan", "--chdir", root.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = env.run(&args);
    run.assert_code(0);
    run
}

fn list(env: &TestEnv, root: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["archive", "list", "--chdir", root.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = env.run(&args);
    run.assert_code(0);
    run
}

fn bundles(run: &Run) -> Vec<serde_json::Value> {
    run.json()["bundles"].as_array().unwrap().clone()
}

#[test]
fn plan_uploads_every_file_encrypted_and_names_the_s3_bundle_in_the_comment() {
    let (env, m, bucket) = s3_env();
    let root = env.stage("demo");
    let archive = format!("s3://{bucket}/team/plans/");
    let run = plan(
        &env,
        &root,
        &[
            "--archive",
            &archive,
            "--repo",
            "acme/infra",
            "--pr",
            "7",
            "--head-sha",
            HEAD_A,
        ],
    );

    let prefix = "team/plans/acme/infra/root-demo/default/pr-7/";
    let keys = keys(m, &bucket, prefix);
    assert_eq!(names(&keys), FILES, "{keys:?}");
    let bundle_key = keys[0].rsplit_once('/').unwrap().0.to_string();
    let uri = format!("s3://{bucket}/{bundle_key}");
    assert!(
        run.stderr
            .contains(&format!("uploading the bundle to {uri}")),
        "{}",
        run.stderr
    );
    for key in &keys {
        let head = m
            .block_on(m.s3().head_object().bucket(&bucket).key(key).send())
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::Aes256),
            "{key}"
        );
    }

    // The local bundle is still written, and S3 holds the same bytes.
    let local = only_bundle(&root);
    for name in FILES {
        let key = format!("{bundle_key}/{name}");
        assert_eq!(
            get(m, &bucket, &key),
            std::fs::read(local.join(name)).unwrap(),
            "{name} differs"
        );
    }
    let comment = std::fs::read_to_string(local.join("comment.md")).unwrap();
    assert_eq!(marker(&comment)["archive"], uri.as_str());
    assert!(
        comment.contains(&uri),
        "the footer names the archived bundle:\n{comment}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&get(m, &bucket, &format!("{bundle_key}/manifest.json"))).unwrap();
    assert_eq!(manifest["pr"], 7);
    assert_eq!(manifest["pr_head_sha"], HEAD_A);
    assert_eq!(manifest["files"].as_object().unwrap().len(), 5);
}

#[test]
fn a_kms_key_from_the_environment_encrypts_every_object_with_sse_kms() {
    // moto records the key of an SSE-KMS request without checking that the key exists or
    // encrypting with it: this proves what tfgate asks S3 for, not what KMS does.
    let (mut env, m, bucket) = s3_env();
    let key_arn = "arn:aws:kms:eu-west-1:123456789012:key/0b7e4c56-1f2a-4e3b-9c8d-7a6b5c4d3e2f";
    env.set("TFGATE_KMS_KEY", key_arn);
    // The archive from .tfgate.toml at the repository's top level.
    std::fs::write(
        env.path().join(".tfgate.toml"),
        format!("archive = \"s3://{bucket}/kms\"\n"),
    )
    .unwrap();
    let root = env.stage("demo");
    plan(&env, &root, &[]);
    let keys = keys(m, &bucket, "kms/local/local/root-demo/default/local/");
    assert_eq!(names(&keys), FILES, "{keys:?}");
    for key in &keys {
        let head = m
            .block_on(m.s3().head_object().bucket(&bucket).key(key).send())
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms),
            "{key}"
        );
        assert_eq!(head.ssekms_key_id(), Some(key_arn), "{key}");
    }
}

#[test]
fn archive_list_shows_complete_bundles_newest_first_and_filters_them() {
    let (mut env, m, bucket) = s3_env();
    let root = env.stage("demo");
    let archive = format!("s3://{bucket}/p");
    env.set("TFGATE_ARCHIVE", archive.as_str())
        .set("TFGATE_REPO", "acme/infra");
    plan(&env, &root, &["--pr", "7", "--head-sha", HEAD_A]);
    plan(
        &env,
        &root,
        &["--no-init", "--pr", "8", "--head-sha", HEAD_B],
    );
    env.set("GITHUB_SHA", COMMIT_C);
    plan(&env, &root, &["--no-init"]);
    // An upload that stopped halfway: files, no manifest.
    let broken = "p/acme/infra/root-demo/default/pr-7/20200101T000000000Z-plan-1";
    put(m, &bucket, &format!("{broken}/plan.json"), b"{}");

    let run = list(&env, &root, &[]);
    let rows: Vec<&str> = run.stdout.lines().filter(|l| l.contains("s3://")).collect();
    assert_eq!(rows.len(), 3, "{}", run.transcript());
    assert!(
        rows[0].contains("commit-cccc"),
        "newest first:\n{}",
        run.stdout
    );
    assert!(
        rows[1].contains("#8") && rows[1].contains("bbbb2222bbbb"),
        "{}",
        run.stdout
    );
    assert!(
        rows[2].contains("#7") && rows[2].contains("+7"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("20200101T"),
        "incomplete bundles are hidden"
    );

    let all = bundles(&list(&env, &root, &["--format", "json"]));
    assert_eq!(all.len(), 3);
    let newest = &all[0];
    for field in [
        "uri",
        "kind",
        "created_at",
        "pr",
        "commit",
        "fingerprint",
        "complete",
    ] {
        assert!(newest.get(field).is_some(), "{field} missing: {newest:#}");
    }
    assert_eq!(newest["kind"], "plan");
    assert_eq!(newest["complete"], true);
    assert_eq!(newest["commit"], COMMIT_C);
    assert_eq!(newest["pr"], serde_json::Value::Null);
    assert!(newest["created_at"].as_str().unwrap().ends_with('Z'));
    let uri = newest["uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!(
            "{archive}/acme/infra/root-demo/default/commit-{COMMIT_C}/"
        )),
        "{uri}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(&get(
        m,
        &bucket,
        &format!("{}/manifest.json", &uri[5 + bucket.len() + 1..]),
    ))
    .unwrap();
    assert_eq!(newest["fingerprint"], manifest["fingerprint"]);

    let pr7 = bundles(&list(&env, &root, &["--format", "json", "--pr", "7"]));
    assert_eq!(pr7.len(), 1);
    assert_eq!(pr7[0]["pr"], 7);
    let at_b = bundles(&list(
        &env,
        &root,
        &["--format", "json", "--commit", "bbbb2222"],
    ));
    assert_eq!(at_b.len(), 1, "a PR bundle is found by its head commit");
    assert_eq!(at_b[0]["pr"], 8);
    let at_c = bundles(&list(
        &env,
        &root,
        &["--format", "json", "--commit", COMMIT_C],
    ));
    assert_eq!(at_c.len(), 1);
    assert_eq!(at_c[0]["uri"], newest["uri"]);

    let everything = bundles(&list(&env, &root, &["--format", "json", "--all"]));
    assert_eq!(everything.len(), 4);
    let incomplete = everything.last().unwrap();
    assert_eq!(incomplete["complete"], false);
    assert_eq!(incomplete["pr"], 7);
    assert_eq!(incomplete["created_at"], "2020-01-01T00:00:00Z");
    assert_eq!(incomplete["fingerprint"], serde_json::Value::Null);
    assert_eq!(
        incomplete["uri"],
        format!("s3://{bucket}/{broken}").as_str()
    );
    let run = list(&env, &root, &["--all", "--pr", "7"]);
    assert_eq!(
        run.stdout.matches("INCOMPLETE").count(),
        1,
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.matches("complete ").count(), 1, "{}", run.stdout);

    let none = list(&env, &root, &["--pr", "99"]);
    assert_eq!(none.stdout, "No bundles.\n");
}

#[test]
fn without_an_s3_archive_the_local_archive_is_listed() {
    let env = TestEnv::new();
    let root = env.stage("demo");
    plan(&env, &root, &[]);
    plan(&env, &root, &["--no-init"]);
    let listed = bundles(&list(&env, &root, &["--format", "json"]));
    assert_eq!(listed.len(), 2);
    let on_disk: Vec<PathBuf> = crate::support::bundles(&root)
        .into_iter()
        .map(|(dir, _)| dir)
        .collect();
    let newest = PathBuf::from(listed[0]["uri"].as_str().unwrap());
    assert_eq!(newest, on_disk[1], "newest first");
    assert_eq!(listed[0]["kind"], "plan");
    assert_eq!(listed[0]["complete"], true);

    // A bundle whose manifest is gone is incomplete: shown only with --all.
    std::fs::remove_file(on_disk[0].join("manifest.json")).unwrap();
    assert_eq!(bundles(&list(&env, &root, &["--format", "json"])).len(), 1);
    let all = bundles(&list(&env, &root, &["--format", "json", "--all"]));
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["complete"], false);
    let human = list(&env, &root, &["--all"]);
    assert!(human.stdout.contains("INCOMPLETE"), "{}", human.stdout);
    assert!(
        human.stdout.contains(".tfgate/archive/default/local/"),
        "{}",
        human.stdout
    );
}

#[test]
fn show_reads_an_s3_bundle_and_catches_a_tampered_object() {
    let (env, m, bucket) = s3_env();
    let root = env.stage("demo");
    let run = plan(
        &env,
        &root,
        &["--archive", &format!("s3://{bucket}/x"), "--format", "json"],
    );
    let fingerprint = run.json()["fingerprint"].clone();
    let keys = keys(m, &bucket, "x/");
    let bundle_key = keys[0].rsplit_once('/').unwrap().0.to_string();
    let uri = format!("s3://{bucket}/{bundle_key}");

    // No AWS_REGION: the bucket's region is asked of S3.
    let out = env
        .tfgate()
        .args(["show", &uri, "--format", "json"])
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .unwrap();
    let run = Run::from(out);
    run.assert_code(0);
    assert_eq!(run.json()["fingerprint"], fingerprint);

    let plan_key = format!("{bundle_key}/plan.json");
    // Same size, different bytes: only the sha256 can tell.
    let json = String::from_utf8(get(m, &bucket, &plan_key)).unwrap();
    assert!(json.contains("\"create\""));
    put(
        m,
        &bucket,
        &plan_key,
        json.replacen("\"create\"", "\"delete\"", 1).as_bytes(),
    );
    let run = env.run(&["show", &uri]);
    run.assert_code(4);
    assert!(
        run.stderr.contains(&format!(
            "the bundle {uri} was altered: plan.json does not match"
        )),
        "{}",
        run.transcript()
    );
    assert!(
        run.stdout.is_empty(),
        "nothing from a tampered plan is shown"
    );
}

/// Fails every upload of one file, as a network or permission failure halfway through would.
#[derive(Debug)]
struct FailUploadOf(&'static str);

impl aws_sdk_s3::config::Intercept for FailUploadOf {
    fn name(&self) -> &'static str {
        "FailUploadOf"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request();
        let path = request.uri().split('?').next().unwrap_or_default();
        if request.method() == "PUT" && path.ends_with(&format!("/{}", self.0)) {
            Err("injected failure".into())
        } else {
            Ok(())
        }
    }
}

#[test]
fn an_upload_that_fails_halfway_leaves_no_manifest() {
    use tfgate::archive::store::{BundleAddress, RootAddress};
    use tfgate::aws::s3_archive::{Encryption, S3Archive, S3Location};

    let (env, m, bucket) = s3_env();
    let root = env.stage("demo");
    plan(&env, &root, &[]);
    let local = only_bundle(&root);
    let id = local.file_name().unwrap().to_str().unwrap();
    let address = BundleAddress::new(RootAddress::new(None, "root-demo", "default"), "local", id);
    let location = S3Location::parse(&format!("s3://{bucket}/half")).unwrap();
    let failing = aws_sdk_s3::Client::from_conf(
        m.s3()
            .config()
            .to_builder()
            .interceptor(FailUploadOf("plan.txt"))
            .build(),
    );
    let store = S3Archive::new(failing, location.clone(), Encryption::Aes256);
    let err = m
        .block_on(store.upload_bundle(&local, &address))
        .expect_err("the upload fails");
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("plan.txt"), "{err}");

    let uri = store.bundle_uri(&address);
    let prefix = format!("{}/", &uri[5 + bucket.len() + 1..]);
    let stored = keys(m, &bucket, &prefix);
    assert_eq!(
        names(&stored),
        ["comment.md", "plan.json", "summary.json", "tfplan"],
        "every other file was uploaded, and no manifest"
    );

    let archive = format!("s3://{bucket}/half");
    let run = list(&env, &root, &["--archive", &archive]);
    assert_eq!(run.stdout, "No bundles.\n", "{}", run.transcript());
    let run = list(
        &env,
        &root,
        &["--archive", &archive, "--all", "--format", "json"],
    );
    let listed = bundles(&run);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["uri"], uri.as_str());
    assert_eq!(listed[0]["complete"], false);
    let run = env.run(&["show", &uri]);
    run.assert_code(4);
    assert!(
        run.stderr.contains(&format!("no complete bundle at {uri}")),
        "{}",
        run.stderr
    );

    // Uploading again completes it.
    let healthy = S3Archive::new(m.s3().clone(), location, Encryption::Aes256);
    assert_eq!(
        m.block_on(healthy.upload_bundle(&local, &address)).unwrap(),
        uri
    );
    let listed = bundles(&list(
        &env,
        &root,
        &["--archive", &archive, "--format", "json"],
    ));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["complete"], true);
}

#[track_caller]
fn assert_one_line_error(run: &Run, cause: &str, hint: &str) {
    run.assert_code(1);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.transcript());
    assert!(errors[0].contains(cause), "{}", run.transcript());
    let hints: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("hint:"))
        .collect();
    assert_eq!(hints.len(), 1, "{}", run.transcript());
    assert!(hints[0].contains(hint), "{}", run.transcript());
}

#[test]
fn a_missing_bucket_fails_the_plan_before_terraform_runs() {
    let (env, m, _) = s3_env();
    let root = env.stage("demo");
    let missing = m.unique("never-created");
    let run = env.run(&[
        "plan",
        "--chdir",
        root.to_str().unwrap(),
        "--archive",
        &format!("s3://{missing}/plans"),
    ]);
    assert_one_line_error(
        &run,
        &format!("the bucket {missing} does not exist"),
        "create the bucket",
    );
    assert!(!run.stderr.contains("terraform init"), "{}", run.stderr);
    assert!(crate::support::bundles(&root).is_empty());
}

#[test]
fn an_unreachable_endpoint_and_missing_credentials_fail_fast_with_a_hint() {
    let (mut env, _, bucket) = s3_env();
    let root = env.stage("demo");
    let archive = format!("s3://{bucket}/p");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY";
    env.set("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .set("AWS_SECRET_ACCESS_KEY", secret);
    let started = Instant::now();
    let run = env.run(&[
        "archive",
        "list",
        "--chdir",
        root.to_str().unwrap(),
        "--archive",
        &archive,
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_one_line_error(
        &run,
        "cannot reach",
        &format!("could not talk to S3 at http://127.0.0.1:{closed}"),
    );
    assert!(!run.stderr.contains(secret), "{}", run.stderr);

    let started = Instant::now();
    let out = env
        .tfgate()
        .args([
            "archive",
            "list",
            "--chdir",
            root.to_str().unwrap(),
            "--archive",
            &archive,
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_one_line_error(
        &Run::from(out),
        "no AWS credentials",
        "configure-aws-credentials",
    );

    let run = env.run(&[
        "archive",
        "list",
        "--chdir",
        root.to_str().unwrap(),
        "--archive",
        "bucket/p",
    ]);
    assert_one_line_error(&run, "is not an S3 location", "s3://BUCKET/PREFIX");
}

#[test]
fn refused_credentials_are_reported_as_credentials_not_permissions() {
    // S3 answers a key it does not know, a secret that does not belong to the key, or an
    // expired session with 403 or 400 and a code that says so (HEAD gets the bare status).
    // That is a matter of credentials, and the hint says so, as `lock` does for the same codes.
    let (mut env, _, bucket) = s3_env();
    let root = env.stage("demo");
    let cases = [
        (
            "403 Forbidden",
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            "belong together and are current",
        ),
        (
            "403 Forbidden",
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            "belong together and are current",
        ),
        (
            "400 Bad Request",
            "ExpiredToken",
            "The provided token has expired.",
            "the credentials have expired",
        ),
    ];
    for (status, code, message, hint) in cases {
        env.set(
            "AWS_ENDPOINT_URL",
            stub(move |req| match req.method.as_str() {
                "HEAD" => response(status, &[], ""),
                _ => s3_error(status, code, message),
            }),
        );
        let run = env.run(&[
            "archive",
            "list",
            "--chdir",
            root.to_str().unwrap(),
            "--archive",
            &format!("s3://{bucket}/p"),
        ]);
        assert_one_line_error(&run, &format!("{code}: "), hint);
        assert!(
            !run.stderr.contains("s3:ListBucket"),
            "{}",
            run.transcript()
        );
    }
}

//! The S3/DynamoDB harness itself: terraform's real S3 backend, with DynamoDB locking and with
//! `use_lockfile`, works against moto_server.

use crate::support::moto::moto;
use crate::support::*;

#[test]
fn terraform_s3_backend_works_against_moto() {
    let m = moto();
    let mut env = TestEnv::new();
    m.configure(&mut env);
    let bucket = m.unique("state");
    let table = m.unique("locks");
    m.create_bucket(&bucket);
    m.create_lock_table(&table);
    let root = env.stage("demo");
    std::fs::write(
        root.join("backend.tf"),
        m.backend_block(&bucket, "prod/terraform.tfstate", Some(&table), true),
    )
    .unwrap();
    let run = env.run(&["plan", "--chdir", root.to_str().unwrap()]);
    run.assert_code(0);
    let out = std::process::Command::new("terraform")
        .args(["apply", "-auto-approve", "-input=false", "-no-color"])
        .current_dir(&root)
        .env_clear()
        .envs(env.vars())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = m
        .block_on(m.s3().list_objects_v2().bucket(&bucket).send())
        .unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["prod/terraform.tfstate"]);
    let digest = m
        .block_on(
            m.dynamodb()
                .get_item()
                .table_name(&table)
                .key(
                    "LockID",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!(
                        "{bucket}/prod/terraform.tfstate-md5"
                    )),
                )
                .send(),
        )
        .unwrap();
    assert!(digest.item().is_some(), "terraform wrote its digest item");
}

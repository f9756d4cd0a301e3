//! S3 and DynamoDB as real protocol peers: one `moto_server` (from PyPI's `moto[server]`,
//! installed by scripts/test.sh) per test binary, on a free loopback port. Tests keep out of
//! each other's way with their own bucket and table names (`Moto::unique`).
//!
//! The server is started from a thread that lives as long as the test process, with
//! `PR_SET_PDEATHSIG`, so it dies with the test binary even though statics are never dropped.

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::TestEnv;

pub const REGION: &str = "eu-west-1";

pub struct Moto {
    port: u16,
    runtime: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The shared server, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(Moto::start)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("moto_server".into())
            .spawn(move || {
                use std::os::unix::process::CommandExt;
                let mut cmd = Command::new("moto_server");
                cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                            .map_err(std::io::Error::from)
                    });
                }
                let child = cmd.spawn();
                let ok = child.is_ok();
                let _ = tx.send(child.map(|_| ()).map_err(|e| e.to_string()));
                if ok {
                    // Keep this thread (the server's parent for PDEATHSIG) alive.
                    loop {
                        std::thread::park();
                    }
                }
            })
            .expect("spawn the moto thread");
        rx.recv()
            .expect("moto thread")
            .unwrap_or_else(|e| panic!("cannot start moto_server ({e}); scripts/test.sh installs it: pip install 'moto[server]'"));
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(tfgate::aws::http_client(None).unwrap())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(&endpoint)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "testing", "testing", None, None, "moto",
                ))
                .load(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        Moto {
            port,
            runtime,
            s3,
            dynamodb,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A name no other test uses, e.g. for a bucket or a table.
    pub fn unique(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// Points tfgate (and terraform, and the AWS SDK) at this server.
    pub fn configure(&self, env: &mut TestEnv) {
        env.set("AWS_ENDPOINT_URL", self.endpoint())
            .set("AWS_ACCESS_KEY_ID", "testing")
            .set("AWS_SECRET_ACCESS_KEY", "testing")
            .set("AWS_REGION", REGION)
            .set("AWS_DEFAULT_REGION", REGION)
            .set("AWS_EC2_METADATA_DISABLED", "true");
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    pub fn create_bucket(&self, bucket: &str) {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        self.block_on(
            self.s3
                .create_bucket()
                .bucket(bucket)
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(REGION))
                        .build(),
                )
                .send(),
        )
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
    }

    /// A table like Terraform's lock table: string hash key `LockID`.
    pub fn create_lock_table(&self, table: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.block_on(
            self.dynamodb
                .create_table()
                .table_name(table)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("LockID")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("LockID")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .billing_mode(BillingMode::PayPerRequest)
                .send(),
        )
        .unwrap_or_else(|e| panic!("create table {table}: {e:?}"));
    }

    /// A `backend "s3"` block for this server, with literal values (as `lock status` reads
    /// them). `table`: DynamoDB locking; `lockfile`: S3-native locking.
    pub fn backend_block(
        &self,
        bucket: &str,
        key: &str,
        table: Option<&str>,
        lockfile: bool,
    ) -> String {
        let mut s = format!(
            r#"terraform {{
  backend "s3" {{
    bucket                      = "{bucket}"
    key                         = "{key}"
    region                      = "{REGION}"
    access_key                  = "testing"
    secret_key                  = "testing"
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    endpoints = {{
      s3       = "{endpoint}"
      dynamodb = "{endpoint}"
    }}
"#,
            endpoint = self.endpoint()
        );
        if let Some(t) = table {
            s.push_str(&format!("    dynamodb_table              = \"{t}\"\n"));
        }
        if lockfile {
            s.push_str("    use_lockfile                = true\n");
        }
        s.push_str("  }\n}\n");
        s
    }
}

/// One repository's AWS on the shared server: a state bucket with a DynamoDB lock table, and
/// an S3 archive for tfgate's bundles.
pub struct Repository {
    pub moto: &'static Moto,
    pub state_bucket: String,
    pub table: String,
    /// `s3://BUCKET/tfgate`.
    pub archive: String,
}

impl Repository {
    pub fn new() -> Repository {
        let m = moto();
        let state_bucket = m.unique("state");
        let archive_bucket = m.unique("archive");
        let table = m.unique("locks");
        m.create_bucket(&state_bucket);
        m.create_bucket(&archive_bucket);
        m.create_lock_table(&table);
        Repository {
            moto: m,
            state_bucket,
            table,
            archive: format!("s3://{archive_bucket}/tfgate"),
        }
    }

    /// `env` with AWS on moto and the S3 archive.
    pub fn on_aws(&self, mut env: TestEnv) -> TestEnv {
        self.moto.configure(&mut env);
        env.set("TFGATE_ARCHIVE", self.archive.clone());
        env
    }

    /// Writes `root/backend.tf`: the state at `key` in the state bucket, locked in the table.
    pub fn write_backend(&self, root: &std::path::Path, key: &str) {
        std::fs::write(
            root.join("backend.tf"),
            self.moto
                .backend_block(&self.state_bucket, key, Some(&self.table), false),
        )
        .unwrap();
    }
}

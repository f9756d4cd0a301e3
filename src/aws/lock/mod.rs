//! The S3 backend's lock and digest as AWS holds them, in three parts: this module connects
//! (clients for the backend's region, profile and endpoints) and maps SDK errors to tfgate's;
//! `read` reads the DynamoDB lock item, the S3 `.tflock` object, the state object and the
//! `-md5` digest item (concurrently, at most four requests in the common case); `write` makes
//! the careful writes `tfgate lock` makes — deleting a lock only while it is exactly the one
//! that was read (DynamoDB condition on the whole `Info` string, S3 `If-Match` on the lock
//! object's ETag), and writing the digest only while it still holds the value that was read.
//!
//! What it reads is `state_lock`'s facts. Errors become tfgate's (missing table or bucket,
//! access denied, wrong region, refused credentials, unreachable endpoint) through
//! `aws::errors`, from AWS's error codes and status, never from request data, so no credential
//! reaches a message. It decides nothing (whether to release, whether a lock is too young,
//! whether to ask first: that is `commands::lock`) and prints nothing.

mod read;
mod write;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::aws::errors::{self, Kind, Service};
use crate::aws::{one_line, one_line_chain};
use crate::error::Error;
use crate::state_lock::BackendFacts;
use crate::terraform::backend::{S3Backend, StatePaths};

/// What became of a lock `remove` was asked to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// It was already gone when the delete arrived (its holder released it meanwhile).
    AlreadyGone,
}

/// The lock, digest and state of one workspace, with clients for both services. Cloning is
/// cheap (the clients share their connections).
#[derive(Clone)]
pub struct LockStore {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    backend: S3Backend,
    paths: StatePaths,
    region: String,
    s3_endpoint: String,
    dynamodb_endpoint: String,
}

/// One AWS call, for its error message.
struct Call<'a> {
    service: Service,
    operation: &'static str,
    resource: &'a str,
}

impl LockStore {
    /// Clients for the backend: region from the backend (else the SDK's chain), credentials
    /// from the backend's `profile` (else the chain), endpoints from the backend's `endpoints`
    /// (else the SDK's `AWS_ENDPOINT_URL*`). Makes no request.
    pub async fn connect(backend: S3Backend, paths: StatePaths) -> Result<LockStore, Error> {
        let sdk = crate::aws::sdk_config(backend.region.as_deref()).await?;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or(Error::AwsNoRegion)?;
        let fallback = |service: &str| {
            sdk.endpoint_url()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the AWS {service} endpoint of {region}"))
        };
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk);
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        // The backend's `profile` wins over AWS_PROFILE, as in Terraform. A role it assumes
        // (STS) goes through the same HTTP client as everything else, in the backend's region.
        if let Some(p) = &backend.profile {
            let mut config = aws_config::provider_config::ProviderConfig::without_region()
                .with_region(sdk.region().cloned());
            if let Some(client) = sdk.http_client() {
                config = config.with_http_client(client);
            }
            let provider = aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .configure(&config)
                    .profile_name(p)
                    .build(),
            );
            s3 = s3.credentials_provider(provider.clone());
            dynamodb = dynamodb.credentials_provider(provider);
        }
        if let Some(e) = &backend.s3_endpoint {
            s3 = s3.endpoint_url(e);
        }
        if backend.use_path_style {
            s3 = s3.force_path_style(true);
        }
        if let Some(e) = &backend.dynamodb_endpoint {
            dynamodb = dynamodb.endpoint_url(e);
        }
        Ok(LockStore {
            s3_endpoint: backend
                .s3_endpoint
                .clone()
                .unwrap_or_else(|| fallback("S3")),
            dynamodb_endpoint: backend
                .dynamodb_endpoint
                .clone()
                .unwrap_or_else(|| fallback("DynamoDB")),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            backend,
            paths,
            region,
        })
    }

    /// A store on clients built elsewhere (tests on loopback servers; a caller that already has
    /// clients). `region` is for messages; the clients' own configuration decides.
    pub fn from_clients(
        s3: aws_sdk_s3::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        backend: S3Backend,
        paths: StatePaths,
        region: &str,
    ) -> LockStore {
        LockStore {
            s3,
            dynamodb,
            s3_endpoint: backend.s3_endpoint.clone().unwrap_or_else(|| "S3".into()),
            dynamodb_endpoint: backend
                .dynamodb_endpoint
                .clone()
                .unwrap_or_else(|| "DynamoDB".into()),
            backend,
            paths,
            region: region.to_string(),
        }
    }

    /// The DynamoDB client, for other items in the lock table (the apply queue's).
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    /// A DynamoDB error as tfgate's (see `classify`), for calls made with `dynamodb()`.
    pub fn dynamodb_error<E>(&self, operation: &'static str, table: &str, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let call = Call {
            service: Service::DynamoDb,
            operation,
            resource: table,
        };
        self.classify(&call, err)
    }

    pub fn backend(&self) -> &S3Backend {
        &self.backend
    }

    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    /// The region the clients use.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// What a lock report names about the backend and this workspace.
    pub fn facts(&self) -> BackendFacts {
        BackendFacts {
            bucket: self.backend.bucket.clone(),
            key: self.backend.key.clone(),
            region: self.region.clone(),
            dynamodb_table: self.backend.dynamodb_table.clone(),
            use_lockfile: self.backend.use_lockfile,
            workspace_key_prefix: self.backend.workspace_key_prefix.clone(),
            source: self.backend.source.to_string(),
            workspace: self.paths.workspace.clone(),
            state_key: self.paths.state_key.clone(),
            lockfile_key: self.paths.lockfile_key.clone(),
            digest_id: self.paths.digest_id.clone(),
        }
    }

    /// An SDK error as tfgate's, of the kind `aws::errors` finds. Only AWS's error code,
    /// status, message and the transport's error chain are used: nothing from the request
    /// (where the credentials are).
    fn classify<E>(&self, call: &Call<'_>, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let failure = errors::classify(call.service, Some(&self.region), &err);
        let service = call.service.name();
        let resource = call.resource.to_string();
        // AWS's message, else the status it came with; without an answer, what failed.
        let message = match (failure.message, failure.status) {
            (Some(m), _) => m,
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => root_cause(&err),
        };
        match failure.kind {
            Kind::Credentials if failure.code.is_empty() => Error::AwsCredentials {
                code: "NoCredentials".into(),
                message,
            },
            Kind::Credentials => Error::AwsCredentials {
                code: failure.code,
                message,
            },
            Kind::WrongRegion => Error::AwsWrongRegion {
                bucket: self.backend.bucket.clone(),
                region: self.region.clone(),
                actual: failure.bucket_region,
            },
            Kind::AccessDenied => Error::AwsAccessDenied {
                operation: call.operation,
                resource,
                message,
            },
            Kind::NoSuchTable => Error::LockTableNotFound {
                table: resource,
                region: self.region.clone(),
            },
            Kind::NoSuchBucket => Error::BucketNotFound {
                bucket: self.backend.bucket.clone(),
            },
            Kind::Unreachable => Error::AwsUnreachable {
                service,
                endpoint: match call.service {
                    Service::S3 => self.s3_endpoint.clone(),
                    Service::DynamoDb => self.dynamodb_endpoint.clone(),
                },
                message: match &err {
                    SdkError::TimeoutError(_) => format!(
                        "no answer within {} s",
                        crate::aws::OPERATION_TIMEOUT.as_secs()
                    ),
                    _ => message,
                },
            },
            Kind::Other => Error::Aws {
                service,
                operation: call.operation,
                resource,
                message: match failure.status {
                    None => one_line_chain(&err),
                    Some(_) if failure.code.is_empty() => message,
                    Some(_) => format!("{}: {message}", failure.code),
                },
            },
        }
    }
}

/// The innermost error's message ("Connection refused (os error 111)"), without the layers
/// of "dispatch failure: io error: client error (Connect)" around it.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    one_line(&last.to_string())
}

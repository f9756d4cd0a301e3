//! AWS's error answers, classified once for every store (`lock`, `s3_archive`, `queue_store`):
//! which mean that the credentials are the problem, which a missing permission, a bucket in
//! another region, a missing bucket or table, an endpoint that does not answer, and which are
//! worth another try.
//!
//! Only AWS's error code, the HTTP status, the `x-amz-bucket-region` header and the transport's
//! error chain are read: nothing from the request (where the credentials are). Each store words
//! the result for its users (`Error::Aws*` for the lock, `Error::Archive` and a hint for the
//! archive); this module decides only what kind of failure it was.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::aws::{one_line, one_line_chain};

/// The service a call went to: some answers mean different things from each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    DynamoDb,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::DynamoDb => "DynamoDB",
        }
    }
}

/// What went wrong, whichever store asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The credentials, not the permissions: none found, expired, unknown to AWS, or signed
    /// wrongly (a secret that does not belong to the key, a clock that is off).
    Credentials,
    /// The identity may not do this.
    AccessDenied,
    /// S3: the bucket is in another region than the request went to.
    WrongRegion,
    /// S3: no such bucket.
    NoSuchBucket,
    /// DynamoDB: no such table.
    NoSuchTable,
    /// No answer: refused connection, unknown host, timeout.
    Unreachable,
    Other,
}

/// AWS error codes that mean the credentials (not the permissions) are the problem, from
/// every service (STS, S3, DynamoDB spell them differently).
pub const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "RequestExpired",
    "RequestTimeTooSkewed",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "InvalidSecurity",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "InvalidToken",
];

/// AWS error codes that mean the identity lacks a permission.
pub const ACCESS_DENIED_CODES: &[&str] =
    &["AccessDenied", "AccessDeniedException", "AllAccessDisabled"];

/// S3 error codes that mean the request went to the wrong region.
const WRONG_REGION_CODES: &[&str] = &[
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
];

/// DynamoDB error codes worth another try later (any 5xx is, too).
const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "ServiceUnavailable",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
];

/// An SDK error, classified, with the facts a message may quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    /// AWS's error code; empty when there was no answer or it had none (a HEAD response has no
    /// body).
    pub code: String,
    /// AWS's message on one line, when it gave one.
    pub message: Option<String>,
    /// The HTTP status, when AWS answered.
    pub status: Option<u16>,
    /// `x-amz-bucket-region`, when S3 said where the bucket is.
    pub bucket_region: Option<String>,
}

/// Classifies an SDK error from `service`. `region` is where the request went, when the caller
/// knows it: an S3 answer that names another region for the bucket is then `WrongRegion`.
pub fn classify<E>(service: Service, region: Option<&str>, err: &SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let without_answer = |kind| Failure {
        kind,
        code: String::new(),
        message: None,
        status: None,
        bucket_region: None,
    };
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().unwrap_or_default().to_string();
            let bucket_region = ctx
                .raw()
                .headers()
                .get("x-amz-bucket-region")
                .map(str::to_string)
                .filter(|r| !r.is_empty());
            Failure {
                kind: kind_of(service, status, &code, bucket_region.as_deref(), region),
                message: ctx.err().message().map(one_line).filter(|m| !m.is_empty()),
                code,
                status: Some(status),
                bucket_region,
            }
        }
        SdkError::TimeoutError(_) => without_answer(Kind::Unreachable),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            without_answer(Kind::Unreachable)
        }
        _ => {
            // The credential chain's failures (no credentials found, a web identity refused)
            // surface here, before any request was sent.
            let chain = one_line_chain(err);
            if chain.contains("credentials") || chain.contains("identity") {
                without_answer(Kind::Credentials)
            } else {
                without_answer(Kind::Other)
            }
        }
    }
}

/// What AWS's answer means. The order matters: a code that names the credentials wins over the
/// status that comes with it (S3 answers `InvalidAccessKeyId` with 403, like a denial).
fn kind_of(
    service: Service,
    status: u16,
    code: &str,
    bucket_region: Option<&str>,
    region: Option<&str>,
) -> Kind {
    let s3 = service == Service::S3;
    let elsewhere = bucket_region
        .zip(region)
        .is_some_and(|(bucket, asked)| bucket != asked && status >= 300);
    if CREDENTIAL_CODES.contains(&code) {
        Kind::Credentials
    } else if s3 && (WRONG_REGION_CODES.contains(&code) || status == 301 || elsewhere) {
        Kind::WrongRegion
    } else if ACCESS_DENIED_CODES.contains(&code) {
        Kind::AccessDenied
    } else if service == Service::DynamoDb && code == "ResourceNotFoundException" {
        Kind::NoSuchTable
    } else if s3 && (code == "NoSuchBucket" || (status == 404 && matches!(code, "" | "NotFound"))) {
        // HEAD responses have no body: HeadBucket's 404 comes as `NotFound` or with no code.
        Kind::NoSuchBucket
    } else if s3 && status == 403 {
        // S3 answers 403 only to refuse (AccessDenied, AccountProblem, InvalidObjectState…),
        // and to HEAD with no code at all.
        Kind::AccessDenied
    } else {
        Kind::Other
    }
}

/// Worth another try later: throttling, a server error, no answer, an answer cut short.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().as_u16() >= 500
                || ctx
                    .err()
                    .code()
                    .is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}

/// AWS's error code, when it answered with one.
pub fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

/// The HTTP status, when AWS answered.
pub fn status_of<E>(err: &SdkError<E>) -> Option<u16> {
    match err {
        SdkError::ServiceError(ctx) => Some(ctx.raw().status().as_u16()),
        _ => None,
    }
}

/// 404 for a key, not for the bucket (HEAD responses have no body, so no code: a caller that
/// must tell a missing bucket apart asks HeadBucket).
pub fn is_missing_key<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    code_of(err) != Some("NoSuchBucket")
        && (code_of(err) == Some("NoSuchKey") || status_of(err) == Some(404))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::*;
    use Service::{DynamoDb, S3};

    fn kind(service: Service, status: u16, code: &str) -> Kind {
        kind_of(service, status, code, None, Some("eu-west-1"))
    }

    /// An answer as the SDK hands it over: status, headers, and the error its body held.
    fn answer(
        status: u16,
        code: Option<&str>,
        headers: &[(&'static str, &'static str)],
    ) -> SdkError<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error> {
        use aws_sdk_s3::config::http::HttpResponse;
        let mut raw = HttpResponse::new(
            http::StatusCode::from_u16(status).unwrap().into(),
            aws_sdk_s3::primitives::SdkBody::empty(),
        );
        for (name, value) in headers {
            raw.headers_mut().insert(*name, *value);
        }
        let mut meta = aws_sdk_s3::error::ErrorMetadata::builder().message("it is\n refused");
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let err = aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error::generic(meta.build());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn sdk_answers_are_read_for_code_status_message_and_region() {
        let f = classify(
            S3,
            Some("eu-west-1"),
            &answer(403, Some("InvalidAccessKeyId"), &[]),
        );
        assert_eq!(f.kind, Credentials);
        assert_eq!(f.code, "InvalidAccessKeyId");
        assert_eq!(f.message.as_deref(), Some("it is refused"));
        assert_eq!(f.status, Some(403));
        let moved = answer(301, None, &[("x-amz-bucket-region", "us-east-2")]);
        let f = classify(S3, Some("eu-west-1"), &moved);
        assert_eq!(
            (f.kind, f.bucket_region.as_deref()),
            (WrongRegion, Some("us-east-2"))
        );
        assert_eq!(f.code, "");
        let timeout =
            SdkError::<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error>::timeout_error(
                "no answer",
            );
        assert_eq!(classify(S3, None, &timeout).kind, Unreachable);
    }

    #[test]
    fn what_is_worth_another_try() {
        assert!(is_transient(&answer(500, Some("InternalError"), &[])));
        assert!(is_transient(&answer(400, Some("ThrottlingException"), &[])));
        assert!(!is_transient(&answer(
            400,
            Some("ValidationException"),
            &[]
        )));
        assert!(!is_transient(&answer(403, Some("AccessDenied"), &[])));
    }

    #[test]
    fn missing_keys_are_not_missing_buckets() {
        assert!(is_missing_key(&answer(404, Some("NoSuchKey"), &[])));
        assert!(is_missing_key(&answer(404, None, &[])));
        assert!(!is_missing_key(&answer(404, Some("NoSuchBucket"), &[])));
        assert!(!is_missing_key(&answer(403, None, &[])));
    }

    #[test]
    fn credential_codes_are_credential_errors_from_every_service() {
        for code in [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "RequestTimeTooSkewed",
            "MissingAuthenticationTokenException",
        ] {
            for (service, status) in [(S3, 403), (S3, 400), (DynamoDb, 400)] {
                assert_eq!(kind(service, status, code), Credentials, "{code} {status}");
            }
        }
    }

    #[test]
    fn denials_are_access_denied() {
        assert_eq!(kind(S3, 403, "AccessDenied"), AccessDenied);
        assert_eq!(kind(S3, 403, "AllAccessDisabled"), AccessDenied);
        assert_eq!(kind(DynamoDb, 400, "AccessDeniedException"), AccessDenied);
        // S3's answer to HEAD has no body, so no code.
        assert_eq!(kind(S3, 403, ""), AccessDenied);
        assert_eq!(kind(S3, 403, "InvalidObjectState"), AccessDenied);
        // DynamoDB says what it means with a code; a bare 403 is not read as a denial.
        assert_eq!(kind(DynamoDb, 403, ""), Other);
    }

    #[test]
    fn wrong_regions_missing_buckets_and_tables() {
        assert_eq!(kind(S3, 301, "PermanentRedirect"), WrongRegion);
        assert_eq!(kind(S3, 301, ""), WrongRegion);
        assert_eq!(kind(S3, 400, "AuthorizationHeaderMalformed"), WrongRegion);
        assert_eq!(
            kind_of(S3, 400, "", Some("us-east-2"), Some("eu-west-1")),
            WrongRegion
        );
        assert_eq!(
            kind_of(S3, 400, "", Some("eu-west-1"), Some("eu-west-1")),
            Other
        );
        // Without a region to compare with (the archive learns the bucket's), the header alone
        // says nothing.
        assert_eq!(kind_of(S3, 400, "", Some("us-east-2"), None), Other);
        assert_eq!(kind(DynamoDb, 400, "AuthorizationHeaderMalformed"), Other);
        assert_eq!(kind(S3, 404, "NoSuchBucket"), NoSuchBucket);
        assert_eq!(kind(S3, 404, "NotFound"), NoSuchBucket);
        assert_eq!(kind(S3, 404, ""), NoSuchBucket);
        assert_eq!(kind(S3, 404, "NoSuchKey"), Other);
        assert_eq!(
            kind(DynamoDb, 400, "ResourceNotFoundException"),
            NoSuchTable
        );
        assert_eq!(kind(S3, 400, "ResourceNotFoundException"), Other);
        assert_eq!(kind(DynamoDb, 400, "ValidationException"), Other);
        assert_eq!(kind(S3, 500, "InternalError"), Other);
    }
}

//! Where an S3 archive or one of its bundles is: `s3://BUCKET/PREFIX`, parsed and laid out as
//! keys. A plain value, so the workflows can read and compare archive addresses (a PR comment's
//! marker names one) without knowing the S3 adapter (`aws::s3_archive`) that uses them.

use crate::error::Error;

/// A bucket and a key prefix (without leading or trailing `/`; may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub const SCHEME: &'static str = "s3://";

    /// Parses `s3://BUCKET[/PREFIX]` (a trailing `/` is allowed).
    pub fn parse(uri: &str) -> Result<S3Location, Error> {
        let bad = |why: &str| {
            Error::usage(
                format!("`{uri}` is not an S3 location: {why}"),
                "give the archive as s3://BUCKET/PREFIX, e.g. --archive s3://acme-tfgate/plans",
            )
        };
        let rest = uri
            .strip_prefix(Self::SCHEME)
            .ok_or_else(|| bad("it does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=255).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !bucket_ok {
            return Err(bad("the bucket name is missing or invalid"));
        }
        let mut parts = Vec::new();
        for part in prefix.split('/').filter(|p| !p.is_empty()) {
            if part == "." || part == ".." || part.chars().any(char::is_control) {
                return Err(bad("the prefix holds `.`, `..` or control characters"));
            }
            parts.push(part);
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: parts.join("/"),
        })
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn uri(&self) -> String {
        if self.prefix.is_empty() {
            format!("{}{}", Self::SCHEME, self.bucket)
        } else {
            format!("{}{}/{}", Self::SCHEME, self.bucket, self.prefix)
        }
    }

    /// This location with more key segments appended.
    pub fn join<S: AsRef<str>>(&self, segments: &[S]) -> S3Location {
        let mut parts: Vec<&str> = Vec::new();
        if !self.prefix.is_empty() {
            parts.push(&self.prefix);
        }
        parts.extend(segments.iter().map(AsRef::as_ref));
        S3Location {
            bucket: self.bucket.clone(),
            prefix: parts.join("/"),
        }
    }

    /// The key of an object directly under this location.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// The prefix as a "folder" for listing: ends with `/` unless empty.
    pub fn folder(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri())
    }
}

//! Uploads: every file a finished bundle's manifest lists, in parallel and server-side
//! encrypted (SSE-S3, or SSE-KMS with the given key), then `manifest.json` last, and only once
//! every other file is stored, so a bundle whose upload failed has no manifest and is never
//! trusted.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::{Encryption, S3Archive, transfer_config};
use crate::archive::bundle::{self, MANIFEST, Manifest};
use crate::archive::store::BundleAddress;
use crate::aws::one_line_chain;
use crate::error::Error;

impl S3Archive {
    /// Uploads a finished local bundle folder: every file its manifest lists, in parallel,
    /// encrypted; then `manifest.json` (the same bytes as on disk), only if all of them were
    /// stored. Returns the bundle's URI. On failure the uploaded files stay, without a
    /// manifest: an incomplete bundle, listed only by `archive list --all`.
    pub async fn upload_bundle(&self, dir: &Path, addr: &BundleAddress) -> Result<String, Error> {
        let manifest_path = dir.join(MANIFEST);
        let manifest = Manifest::load(dir)?.ok_or_else(|| Error::BundleMissing {
            uri: dir.display().to_string(),
            reason: "it has no manifest.json, so it is not finished".into(),
        })?;
        let manifest_bytes =
            std::fs::read(&manifest_path).map_err(|e| Error::io("read", &manifest_path, e))?;
        let target = self.bundle_location(addr);

        bundle::check_manifest(&dir.display().to_string(), &manifest)?;
        let mut uploads = tokio::task::JoinSet::new();
        for name in manifest.files.keys() {
            let this = self.clone();
            let path = dir.join(name);
            let key = target.key(name);
            let uri = format!("{target}/{name}");
            let name = name.to_string();
            uploads.spawn(async move { this.put_file(&path, &key, &name, &uri).await });
        }
        // Every upload is waited for, so what is in S3 afterwards does not depend on timing.
        let mut first_error = None;
        while let Some(joined) = uploads.join_next().await {
            let result = joined.unwrap_or_else(|e| {
                Err(Error::Archive {
                    action: "upload",
                    uri: target.uri(),
                    cause: format!("an upload task failed: {e}"),
                    hint: "plan again; the bundle in S3 has no manifest and will not be used"
                        .into(),
                })
            });
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        if let Some(mut e) = first_error {
            if let Error::Archive { hint, .. } = &mut e {
                hint.push_str(
                    "; the files uploaded so far have no manifest, so that bundle is never used",
                );
            }
            return Err(e);
        }

        self.put(
            &target.key(MANIFEST),
            MANIFEST,
            ByteStream::from(manifest_bytes),
        )
        .send()
        .await
        .map_err(|e| self.error("upload", &format!("{target}/{MANIFEST}"), &e))?;
        Ok(target.uri())
    }

    async fn put_file(&self, path: &Path, key: &str, name: &str, uri: &str) -> Result<(), Error> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| Error::io("read", path, std::io::Error::other(one_line_chain(&e))))?;
        self.put(key, name, body)
            .customize()
            .config_override(transfer_config())
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("upload", uri, &e))
    }

    fn put(
        &self,
        key: &str,
        name: &str,
        body: ByteStream,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let request = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(key)
            .content_type(content_type(name))
            .body(body);
        match &self.encryption {
            Encryption::Aes256 => request.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms { key_id } => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("txt" | "log") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("plan.json"), "application/json");
        assert_eq!(content_type("tfplan"), "application/octet-stream");
        assert_eq!(content_type("apply.log"), "text/plain; charset=utf-8");
    }
}

//! Listings: every bundle of a root and workspace, complete (with its manifest, read a few at
//! a time) or not, newest first.

use std::collections::BTreeMap;

use super::S3Archive;
use crate::archive::bundle::{MANIFEST, Manifest};
use crate::archive::store::{self, BundleState, ListedBundle, RootAddress, segment};
use crate::error::Error;

/// A listed bundle and its manifest's bytes (`None`: gone since the listing).
type ManifestRead = (ListedBundle, Result<Option<Vec<u8>>, Error>);

/// Manifests read at once while listing.
const LIST_CONCURRENCY: usize = 8;

impl S3Archive {
    /// Every bundle of a root and workspace (of one scope, when given), complete or not, newest
    /// first. Complete bundles carry their manifest.
    pub async fn list(
        &self,
        at: &RootAddress,
        scope: Option<&str>,
    ) -> Result<Vec<ListedBundle>, Error> {
        let mut base = self.location.join(&at.key_segments());
        if let Some(scope) = scope {
            base = base.join(&[segment(scope)]);
        }
        let folder = base.folder();
        // (scope, id) → has a manifest
        let mut found: BTreeMap<(String, String), bool> = BTreeMap::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&folder)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("list", &base.uri(), &e))?;
            for object in page.contents() {
                let Some(rest) = object.key().and_then(|k| k.strip_prefix(&folder)) else {
                    continue;
                };
                let parts: Vec<&str> = rest.split('/').collect();
                // SCOPE/ID/FILE, or ID/FILE under a scope; anything else is not a bundle's
                // file (e.g. another root whose name continues this one's path).
                let (bundle_scope, id, file) = match (scope, parts.as_slice()) {
                    (None, [s, id, file]) => (s.to_string(), *id, *file),
                    (Some(s), [id, file]) => (segment(s), *id, *file),
                    _ => continue,
                };
                let complete = found.entry((bundle_scope, id.to_string())).or_default();
                *complete |= file == MANIFEST;
            }
        }

        let mut out = Vec::with_capacity(found.len());
        let mut reads = tokio::task::JoinSet::new();
        for ((bundle_scope, id), complete) in found {
            let mut segments = at.key_segments();
            segments.extend([bundle_scope.clone(), id.clone()]);
            let location = self.location.join(&segments);
            let listed = ListedBundle {
                uri: location.uri(),
                scope: bundle_scope,
                id,
                state: BundleState::Incomplete,
            };
            if !complete {
                out.push(listed);
                continue;
            }
            while reads.len() >= LIST_CONCURRENCY {
                if let Some(done) = reads.join_next().await {
                    out.push(self.finish_read(done, at)?);
                }
            }
            let this = self.clone();
            reads.spawn(async move {
                let uri = format!("{}/{MANIFEST}", listed.uri);
                let bytes = this.get_small(&location.key(MANIFEST), &uri).await;
                (listed, bytes)
            });
        }
        while let Some(done) = reads.join_next().await {
            out.push(self.finish_read(done, at)?);
        }
        store::sort_newest_first(&mut out);
        Ok(out)
    }

    fn finish_read(
        &self,
        done: Result<ManifestRead, tokio::task::JoinError>,
        at: &RootAddress,
    ) -> Result<ListedBundle, Error> {
        let (mut listed, bytes) = done.map_err(|e| Error::Archive {
            action: "list",
            uri: self.location.uri(),
            cause: format!("reading a manifest failed: {e}"),
            hint: "run the command again".into(),
        })?;
        listed.state = match bytes? {
            // Deleted between the listing and the read.
            None => BundleState::Incomplete,
            Some(bytes) => match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) => BundleState::Complete(Box::new(m)),
                Err(e) => BundleState::Unreadable {
                    reason: format!("its manifest is not valid: {e}"),
                },
            },
        };
        Ok(listed.check_owner(at, true))
    }
}

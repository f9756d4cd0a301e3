//! The file store: the queue of a root's local state, for the embedded default and for runs
//! that share one machine.
//!
//! The document is `.tfgate/queue/WORKSPACE.json` in the root, replaced atomically (a
//! temporary file renamed over it) while an exclusive `flock` on `WORKSPACE.lock` is held, so
//! the compare-and-swap of a write is exact between processes. Reads take no lock: a rename
//! never shows half a file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::store::segment;
use crate::error::Error;
use crate::queue::doc::QueueDoc;
use crate::queue::store::{QueueStore, StoreError, Versioned, Written, parse_doc};

pub struct FileStore {
    path: PathBuf,
    lock: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    version: u64,
    queue: T,
}

/// The folder of a root's queue files.
pub fn queue_dir(root: &Path) -> PathBuf {
    root.join(".tfgate").join("queue")
}

impl FileStore {
    pub fn new(root: &Path, workspace: &str) -> FileStore {
        let dir = queue_dir(root);
        let name = segment(workspace);
        FileStore {
            path: dir.join(format!("{name}.json")),
            lock: dir.join(format!("{name}.lock")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_now(&self) -> Result<Versioned, Error> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Versioned {
                    doc: QueueDoc::new(),
                    version: None,
                });
            }
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        let origin = self.path.display().to_string();
        let stored: Stored<serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| Error::QueueDocument {
                origin: origin.clone(),
                message: e.to_string(),
            })?;
        Ok(Versioned {
            doc: parse_doc(&stored.queue.to_string(), &origin)?,
            version: Some(stored.version),
        })
    }

    fn write_now(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, Error> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(|e| Error::io("open", &self.lock, e))?;
        lock.lock().map_err(|e| Error::io("lock", &self.lock, e))?;
        let result = self.swap_locked(dir, doc, expected);
        // Closing the file releases the lock too; unlocking first says so.
        let _ = File::unlock(&lock);
        result
    }

    fn swap_locked(
        &self,
        dir: &Path,
        doc: &QueueDoc,
        expected: Option<u64>,
    ) -> Result<Written, Error> {
        let current = self.read_now()?.version;
        if current != expected {
            return Ok(Written::Conflict);
        }
        let stored = Stored {
            version: expected.map_or(1, |v| v + 1),
            queue: doc,
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(|e| Error::QueueDocument {
            origin: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io("create a file in", dir, e))?;
        tmp.write_all(&json)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
        tmp.persist(&self.path)
            .map_err(|e| Error::io("replace", &self.path, e.error))?;
        Ok(Written::Done)
    }
}

impl QueueStore for FileStore {
    fn describe(&self) -> String {
        format!("the file {}", self.path.display())
    }

    async fn read(&self) -> Result<Versioned, StoreError> {
        self.read_now().map_err(StoreError::permanent)
    }

    async fn write(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, StoreError> {
        self.write_now(doc, expected).map_err(StoreError::permanent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn compare_and_swap_between_two_handles() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileStore::new(dir.path(), "default");
        let b = FileStore::new(dir.path(), "default");
        rt().block_on(async {
            let first = a.read().await.unwrap();
            assert_eq!(first.version, None);
            let mut doc = first.doc.clone();
            doc.last_applied = None;
            assert_eq!(a.write(&doc, None).await.unwrap(), Written::Done);
            // b read before a wrote: its write is refused.
            assert_eq!(b.write(&doc, None).await.unwrap(), Written::Conflict);
            let now = b.read().await.unwrap();
            assert_eq!(now.version, Some(1));
            assert_eq!(b.write(&doc, Some(1)).await.unwrap(), Written::Done);
            assert_eq!(a.write(&doc, Some(1)).await.unwrap(), Written::Conflict);
        });
    }

    #[test]
    fn workspaces_have_their_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileStore::new(dir.path(), "default");
        let b = FileStore::new(dir.path(), "staging/eu");
        assert_ne!(a.path(), b.path());
        assert!(b.path().starts_with(queue_dir(dir.path())));
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_queue() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::new(dir.path(), "default");
        std::fs::create_dir_all(queue_dir(dir.path())).unwrap();
        std::fs::write(s.path(), "{not json").unwrap();
        let err = rt().block_on(s.read()).unwrap_err();
        assert!(!err.transient);
        assert!(
            err.error.to_string().contains("default.json"),
            "{}",
            err.error
        );
    }
}

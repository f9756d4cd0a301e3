//! The Terraform root, resolved once: the folder as given (messages keep a relative path
//! relative) and its stable name (its path inside the repository), which the archive, the
//! queue, the PR comment's marker and the artifact name all use.
//!
//! Naming never fails, so commands that do not need the folder (`diff`, `show` of a file) work
//! with any `--chdir`; `dir` is what checks that the folder exists.

use std::path::{Path, PathBuf};

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The root, as given.
    pub path: PathBuf,
    /// Its path inside the repository when there is one (so every runner names it the same),
    /// else the path as given.
    pub name: String,
}

impl Root {
    pub fn new(path: PathBuf) -> Root {
        let name = name_of(&path);
        Root { path, name }
    }

    /// The root's absolute path; an error when it is missing or not a folder.
    pub fn dir(&self) -> Result<PathBuf, Error> {
        let root = &self.path;
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {
                std::fs::canonicalize(root).map_err(|e| Error::io("resolve", root, e))
            }
            Ok(_) => Err(Error::RootNotADirectory { path: root.clone() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::RootNotFound { path: root.clone() })
            }
            Err(e) => Err(Error::io("read", root, e)),
        }
    }

    /// The repository holding the root: the nearest folder above it (or the root itself) that
    /// holds `.git`, as a real path; `None` when there is none.
    pub fn repository(&self) -> Option<PathBuf> {
        let abs = std::fs::canonicalize(&self.path).ok()?;
        abs.ancestors()
            .find(|d| d.join(".git").exists())
            .map(Path::to_path_buf)
    }
}

fn name_of(root: &Path) -> String {
    let Ok(abs) = std::fs::canonicalize(root) else {
        return root.display().to_string();
    };
    match abs.ancestors().find(|d| d.join(".git").exists()) {
        Some(repo) => {
            let rel = abs.strip_prefix(repo).unwrap_or(&abs);
            if rel.as_os_str().is_empty() {
                ".".to_string()
            } else {
                rel.display().to_string()
            }
        }
        None => root.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_is_named_by_its_path_inside_the_repository() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join(".git")).unwrap();
        std::fs::create_dir_all(repo.path().join("envs/prod")).unwrap();
        let root = Root::new(repo.path().join("envs/prod"));
        assert_eq!(root.name, "envs/prod");
        assert_eq!(
            root.repository(),
            Some(std::fs::canonicalize(repo.path()).unwrap())
        );
        assert_eq!(Root::new(repo.path().to_path_buf()).name, ".");
        assert!(root.dir().unwrap().is_absolute());
    }

    #[test]
    fn a_missing_root_has_a_name_but_no_folder() {
        let root = Root::new(PathBuf::from("/nonexistent-root"));
        assert_eq!(root.name, "/nonexistent-root");
        assert!(matches!(root.dir(), Err(Error::RootNotFound { .. })));
    }
}

//! Recognises hashicorp/setup-terraform's wrapper: with `terraform_wrapper: true` (its
//! default) the `terraform` on PATH is a Node script that runs the real binary, renamed
//! `terraform-bin`, buffers its output and does not pass signals on. tfgate then cannot stream
//! terraform's output, and a cancelled workflow cannot make terraform release its state lock.
//!
//! Only looks at files; says nothing itself (the caller warns).

use std::io::Read;
use std::path::{Path, PathBuf};

/// The wrapper script that `binary` resolves to on `path_var`, if it is one.
pub fn setup_terraform_wrapper(binary: &str, path_var: Option<&str>) -> Option<PathBuf> {
    let found = resolve(binary, path_var)?;
    is_wrapper(&found).then_some(found)
}

/// A binary name as the shell finds it: a path as it is, a bare name on `PATH`.
fn resolve(binary: &str, path_var: Option<&str>) -> Option<PathBuf> {
    if binary.contains('/') {
        let p = PathBuf::from(binary);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
}

/// setup-terraform installs the real binary beside the script as `terraform-bin`, and the
/// script itself starts with a `node` shebang.
fn is_wrapper(path: &Path) -> bool {
    let renamed_beside = path.file_name().is_some_and(|name| {
        let mut bin = name.to_os_string();
        bin.push("-bin");
        path.with_file_name(bin).is_file()
    });
    renamed_beside || node_shebang(path)
}

fn node_shebang(path: &Path) -> bool {
    let mut head = [0u8; 128];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let first_line = head[..n].split(|b| *b == b'\n').next().unwrap_or_default();
    first_line.starts_with(b"#!") && first_line.windows(4).any(|w| w == b"node")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_script_or_a_renamed_binary_beside_it_is_the_wrapper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let tf = dir.path().join("terraform");
        std::fs::write(&tf, "\x7fELF real binary").unwrap();
        assert_eq!(setup_terraform_wrapper("terraform", Some(&path)), None);
        std::fs::write(&tf, "#!/usr/bin/env node\nrequire('x')\n").unwrap();
        assert_eq!(
            setup_terraform_wrapper("terraform", Some(&path)),
            Some(tf.clone())
        );
        std::fs::write(&tf, "#!/bin/sh\nexec terraform-bin \"$@\"\n").unwrap();
        std::fs::write(dir.path().join("terraform-bin"), "\x7fELF").unwrap();
        assert_eq!(setup_terraform_wrapper("terraform", Some(&path)), Some(tf));
        assert_eq!(setup_terraform_wrapper("tofu", Some(&path)), None);
    }
}

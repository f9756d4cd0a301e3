//! GitHub Actions' step files: `$GITHUB_OUTPUT` (step outputs) and `$GITHUB_STEP_SUMMARY`.
//!
//! Values written here come from a `Summary` and paths tfgate chose, never from attribute
//! values; the step summary is the already-masked comment body.

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// GitHub rejects a step summary over 1 MiB.
pub const STEP_SUMMARY_LIMIT: u64 = 1024 * 1024;

/// Appends `name=value` lines to the step output file. Values are single-line: a newline would
/// let one output forge another, so it is replaced.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<(), Error> {
    let mut text = String::new();
    for (name, value) in outputs {
        text.push_str(name);
        text.push('=');
        text.push_str(&value.replace(['\n', '\r'], " "));
        text.push('\n');
    }
    append(path, &text)
}

/// Appends markdown to the step summary, keeping the file under GitHub's limit: when it would
/// not fit, a short note is appended instead.
pub fn append_step_summary(path: &Path, markdown: &str) -> Result<(), Error> {
    let existing = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if existing + text.len() as u64 > STEP_SUMMARY_LIMIT {
        text = "tfgate: the plan summary did not fit in the step summary (1 MiB limit); see the job log and the archived bundle.\n".to_string();
        if existing + text.len() as u64 > STEP_SUMMARY_LIMIT {
            return Ok(());
        }
    }
    append(path, &text)
}

fn append(path: &Path, text: &str) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_cannot_forge_other_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        write_outputs(
            &p,
            &[("a", "1".into()), ("b", "x\nhas_changes=false".into())],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "a=1\nb=x has_changes=false\n"
        );
    }

    #[test]
    fn step_summary_stays_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary");
        std::fs::write(&p, vec![b'x'; (STEP_SUMMARY_LIMIT - 100) as usize]).unwrap();
        append_step_summary(&p, &"y".repeat(1000)).unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len <= STEP_SUMMARY_LIMIT, "{len}");
        append_step_summary(&p, "small").unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().ends_with("small\n"));
    }
}

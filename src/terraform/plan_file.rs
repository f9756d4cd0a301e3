//! Reading a plan JSON file into memory: memory-mapped when it is large, so a 70 MB plan is
//! not copied. Its pages are mapped as the parser first reads them, by the thread that reads
//! them: `diff` parses its two plans on two cores, each mapping its own. Once the plan is
//! parsed, the pages it no longer refers to are handed back (`release_unborrowed`), so that
//! the summary is built while only the plan's changes are in memory.

use std::ops::Deref;
use std::path::Path;

use memmap2::UncheckedAdvice;

use crate::error::Error;
use crate::plan::{self, Analysis};
use crate::terraform::plan_json::{self, Plan, PlanJsonError};

/// Files at least this large are mapped rather than read.
pub const MMAP_THRESHOLD: u64 = 16 * 1024 * 1024;

/// Stretches of a mapped plan shorter than this are not handed back (not worth a system call).
const MIN_RELEASE: usize = 1 << 20;

/// What is handed back starts and ends on a multiple of this: a page boundary for every page
/// size Linux uses (4 KiB to 64 KiB), so no page holding a byte the plan refers to is touched.
const RELEASE_ALIGN: usize = 64 * 1024;

/// The bytes of a plan file.
pub enum PlanBytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Deref for PlanBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            PlanBytes::Read(v) => v,
            PlanBytes::Mapped(m) => m,
        }
    }
}

impl PlanBytes {
    /// Unmaps the whole pages of `from..until` (a mapped plan's; bytes read in memory are one
    /// allocation, kept whole) from this process, if there are enough of them to matter.
    fn release(&self, from: usize, until: usize) {
        let PlanBytes::Mapped(map) = self else {
            return;
        };
        let start = from.next_multiple_of(RELEASE_ALIGN);
        let end = until.min(map.len()) / RELEASE_ALIGN * RELEASE_ALIGN;
        if end >= start + MIN_RELEASE {
            // SAFETY: the map is a shared, read-only mapping of the file. Unmapping its pages
            // is what the kernel does to clean file pages under memory pressure: the memory
            // stays valid, and a page read again is mapped back in with the file's same bytes,
            // never zeros (plan files are written once, then only read; see `read`). A failure
            // leaves the pages mapped, which costs only the memory it would have saved.
            let _ = unsafe {
                map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }

    /// Hands the pages of a mapped plan that `plan` (parsed from these bytes) no longer refers
    /// to back to the kernel: the process's memory shrinks by them at once. For a large plan
    /// that is more than half of it (`planned_values`, `prior_state`, `configuration`), which
    /// the summary, the fingerprint and the comparison then do not hold while they work. Bytes
    /// read in memory are kept: they are one allocation.
    fn release_unborrowed(&self, plan: &Plan<'_>) {
        // The gaps before, between and after the ranges the plan refers to.
        let kept = plan.borrowed(self);
        let mut from: usize = 0;
        for (until, next) in kept
            .iter()
            .map(|r| (r.start, r.end))
            .chain([(self.len(), 0)])
        {
            self.release(from, until);
            from = next;
        }
    }

    /// `plan_json::parse` of these bytes, then the pages the plan does not refer to handed back
    /// (`release_unborrowed`): for a plan that is compared rather than summarized.
    pub fn parse(&self) -> Result<Plan<'_>, PlanJsonError> {
        let plan = plan_json::parse(self)?;
        self.release_unborrowed(&plan);
        Ok(plan)
    }

    /// `plan::analyze` of these bytes, handing pages back as the reading goes: those of each
    /// field tfgate does not read (`planned_values`, `prior_state`) once it is read past, while
    /// the changes are digested on the other cores; once all is read, all the plan does not
    /// refer to (`release_unborrowed`), before the rest of the summary takes its memory.
    pub fn analyze(&self) -> Result<Analysis, PlanJsonError> {
        plan::analyze_then(
            self,
            |skipped| self.release(skipped.start, skipped.end),
            |plan| self.release_unborrowed(plan),
        )
    }
}

pub fn read(path: &Path) -> Result<PlanBytes, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .len();
    if len >= MMAP_THRESHOLD {
        // SAFETY: the map is read-only and lives no longer than this process reads the plan.
        // If another process truncated the file meanwhile, reads past its new end would fault;
        // plan files are written once (by terraform or by tfgate's bundle writer) and then only
        // read, as ripgrep assumes for the files it searches.
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().map(&file) } {
            return Ok(PlanBytes::Mapped(map));
        }
    }
    std::fs::read(path)
        .map(PlanBytes::Read)
        .map_err(|e| Error::io("read", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How much of the mapping that starts at `at` is in this process's memory (Linux's
    /// /proc/self/smaps), in KiB.
    fn resident_kib(at: *const u8) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let start = format!("{:x}-", at as usize);
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start)).skip(1);
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// 24 MB of planned values nothing reads again, then the changes, then 8 MB of state; a
    /// sensitive variable before them all.
    fn large_plan() -> String {
        let filler = |n: usize| format!(r#"{{"values":{{"blob":"{}"}}}}"#, "p".repeat(n));
        format!(
            r#"{{"format_version":"1.2","variables":{{"token":{{"value":"s3cr3t-t0ken"}}}},"planned_values":{},"resource_changes":[{}],"prior_state":{},"configuration":{{"root_module":{{"variables":{{"token":{{"sensitive":true}}}}}}}}}}"#,
            filler(24 << 20),
            (0..2000)
                .map(|i| format!(r#"{{"address":"a.r{i}","change":{{"actions":["update"],"before":{{"n":0}},"after":{{"n":{i}}}}}}}"#))
                .collect::<Vec<_>>()
                .join(","),
            filler(8 << 20),
        )
    }

    /// `text` written to a file of a temporary folder, and read from it: mapped.
    fn mapped(text: &str) -> (tempfile::TempDir, PlanBytes) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, text).unwrap();
        let bytes = read(&path).unwrap();
        assert!(matches!(bytes, PlanBytes::Mapped(_)));
        (dir, bytes)
    }

    #[test]
    fn a_mapped_plan_is_analyzed_with_only_the_pages_it_refers_to_kept() {
        let text = large_plan();
        let (_dir, bytes) = mapped(&text);
        let analysis = bytes.analyze().unwrap();
        // What the summary reads after the release is mapped back in, and the kernel may map
        // a file's page with its neighbours (up to 2 MiB at a time).
        let resident = resident_kib(bytes.as_ptr());
        assert!(
            resident < 5 << 10,
            "{resident} KiB of 32 MiB still mapped in"
        );
        // The same as from the bytes in memory.
        let expected = crate::plan::analyze(text.as_bytes()).unwrap();
        assert_eq!(analysis.summary, expected.summary);
        assert_eq!(analysis.secrets, vec!["s3cr3t-t0ken".to_string()]);
        assert_eq!(analysis.summary.resources.len(), 2000);
    }

    #[test]
    fn a_parsed_mapped_plan_keeps_only_the_pages_it_refers_to() {
        let text = large_plan();
        let (_dir, bytes) = mapped(&text);
        let plan = crate::terraform::plan_json::parse(&bytes).unwrap();
        let before = resident_kib(bytes.as_ptr());
        assert!(
            before > 30 << 10,
            "the parser read every page: {before} KiB"
        );
        bytes.release_unborrowed(&plan);
        let after = resident_kib(bytes.as_ptr());
        assert!(after < 1 << 10, "only the changes' pages stay: {after} KiB");
        // What the plan refers to reads as before, and so would anything else.
        let last = plan.resource_changes.last().unwrap();
        assert_eq!(last.change.after.unwrap().get(), r#"{"n":1999}"#);
        assert_eq!(
            &bytes[text.len() - 10..],
            &text.as_bytes()[text.len() - 10..]
        );
        let filler = text.find("ppp").unwrap();
        assert!(bytes[filler..filler + 100].iter().all(|b| *b == b'p'));
    }

    #[test]
    fn fields_not_read_are_handed_back_while_the_plan_is_read() {
        let text = large_plan();
        let (_dir, bytes) = mapped(&text);
        let mut resident = None;
        crate::plan::analyze_then(
            &bytes,
            |skipped| bytes.release(skipped.start, skipped.end),
            |_| resident = Some(resident_kib(bytes.as_ptr())),
        )
        .unwrap();
        // Read, not yet released as a whole: the 32 MiB of planned values and state are gone.
        let resident = resident.unwrap();
        assert!(resident < 5 << 10, "{resident} KiB mapped in once read");
    }

    #[test]
    fn bytes_read_into_memory_are_kept() {
        let text = br#"{"format_version":"1.2"}"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, text).unwrap();
        let bytes = read(&path).unwrap();
        let plan = crate::terraform::plan_json::parse(&bytes).unwrap();
        bytes.release_unborrowed(&plan);
        assert_eq!(&bytes[..], text);
    }
}

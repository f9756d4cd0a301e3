//! Reading a plan JSON file into memory: memory-mapped when it is large, so a 70 MB plan is
//! not copied. Its pages are mapped as the parser first reads them, by the thread that reads
//! them: `diff` parses its two plans on two cores, each mapping its own.

use std::ops::Deref;
use std::path::Path;

use crate::error::Error;

/// Files at least this large are mapped rather than read.
pub const MMAP_THRESHOLD: u64 = 16 * 1024 * 1024;

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

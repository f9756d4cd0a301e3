//! An in-memory `QueueStore` for tests: the document and its version in a cell, with the
//! compare-and-swap of the real stores, and knobs for what the real ones do at their worst —
//! errors that pass, errors that do not, writes whose answer is lost, and other runs writing
//! between a read and the write that follows it.
//!
//! Every call yields to the runtime first, as a real store's network round trip would, so runs
//! sharing one store on one runtime interleave between their reads and their writes. It is
//! single-threaded (a current-thread runtime, several runs joined on it) and knows nothing of
//! tickets or time: the runs' clocks are theirs, moved by tokio's paused clock.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use crate::error::Error;
use crate::queue::doc::QueueDoc;
use crate::queue::store::{QueueStore, StoreError, Versioned, Written};

/// What an injected failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Throttling or a server error: nothing happened, and the same call may succeed later.
    Transient,
    /// Access denied: nothing happened, and trying again will not help.
    Permanent,
    /// For writes: the write is done, but its answer is lost (a timeout), so the caller sees a
    /// transient error.
    LostAnswer,
}

/// Another run's change, made between a read and the write that follows it.
type Change = Box<dyn FnMut(&mut QueueDoc)>;

#[derive(Default)]
pub struct MemoryStore {
    stored: RefCell<Option<(QueueDoc, u64)>>,
    read_faults: RefCell<VecDeque<Fault>>,
    write_faults: RefCell<VecDeque<Fault>>,
    interference: RefCell<Option<(u32, Change)>>,
    reads: Cell<u32>,
    writes: Cell<u32>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The document as stored (an empty queue when nothing is).
    pub fn doc(&self) -> QueueDoc {
        self.stored
            .borrow()
            .as_ref()
            .map_or_else(QueueDoc::new, |(doc, _)| doc.clone())
    }

    /// Another run's change, written at once (the version moves on).
    pub fn edit(&self, change: impl FnOnce(&mut QueueDoc)) {
        let mut stored = self.stored.borrow_mut();
        let (mut doc, version) = stored.take().unwrap_or_else(|| (QueueDoc::new(), 0));
        change(&mut doc);
        *stored = Some((doc, version + 1));
    }

    /// The next `n` reads fail with `fault`.
    pub fn fail_reads(&self, n: usize, fault: Fault) {
        self.read_faults
            .borrow_mut()
            .extend(std::iter::repeat_n(fault, n));
    }

    /// The next `n` writes fail with `fault`.
    pub fn fail_writes(&self, n: usize, fault: Fault) {
        self.write_faults
            .borrow_mut()
            .extend(std::iter::repeat_n(fault, n));
    }

    /// The next `n` writes each find that another run made `change` since the document was
    /// read, and so conflict.
    pub fn interfere(&self, n: u32, change: impl FnMut(&mut QueueDoc) + 'static) {
        *self.interference.borrow_mut() = Some((n, Box::new(change)));
    }

    /// Reads and writes tried so far, failed ones included.
    pub fn calls(&self) -> (u32, u32) {
        (self.reads.get(), self.writes.get())
    }

    fn version(&self) -> Option<u64> {
        self.stored.borrow().as_ref().map(|(_, v)| *v)
    }

    /// Another run's write, if one is due before this write lands.
    fn interfere_now(&self) {
        let mut slot = self.interference.borrow_mut();
        let Some((left, change)) = slot.as_mut() else {
            return;
        };
        *left -= 1;
        self.edit(|doc| change(doc));
        if *left == 0 {
            *slot = None;
        }
    }
}

fn failure(fault: Fault, what: &str) -> StoreError {
    let (transient, message) = match fault {
        Fault::Transient => (true, format!("{what} was throttled")),
        Fault::Permanent => (false, format!("{what} was denied")),
        Fault::LostAnswer => (true, format!("{what} timed out")),
    };
    StoreError {
        transient,
        error: Error::QueueDocument {
            origin: "memory".to_string(),
            message,
        },
    }
}

impl QueueStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_string()
    }

    async fn read(&self) -> Result<Versioned, StoreError> {
        tokio::task::yield_now().await;
        self.reads.set(self.reads.get() + 1);
        if let Some(fault) = self.read_faults.borrow_mut().pop_front() {
            return Err(failure(fault, "the read"));
        }
        Ok(Versioned {
            doc: self.doc(),
            version: self.version(),
        })
    }

    async fn write(&self, doc: &QueueDoc, expected: Option<u64>) -> Result<Written, StoreError> {
        tokio::task::yield_now().await;
        self.writes.set(self.writes.get() + 1);
        let fault = self.write_faults.borrow_mut().pop_front();
        if let Some(f @ (Fault::Transient | Fault::Permanent)) = fault {
            return Err(failure(f, "the write"));
        }
        self.interfere_now();
        if self.version() != expected {
            return Ok(Written::Conflict);
        }
        *self.stored.borrow_mut() = Some((doc.clone(), expected.map_or(1, |v| v + 1)));
        match fault {
            Some(f) => Err(failure(f, "the write")),
            None => Ok(Written::Done),
        }
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
    fn a_write_lands_only_on_the_version_it_read() {
        let s = MemoryStore::new();
        rt().block_on(async {
            let first = s.read().await.unwrap();
            assert_eq!(first.version, None);
            assert_eq!(s.write(&first.doc, None).await.unwrap(), Written::Done);
            assert_eq!(s.write(&first.doc, None).await.unwrap(), Written::Conflict);
            s.edit(|doc| doc.last_applied = None);
            assert_eq!(s.read().await.unwrap().version, Some(2));
            assert_eq!(
                s.write(&first.doc, Some(1)).await.unwrap(),
                Written::Conflict
            );
            assert_eq!(s.write(&first.doc, Some(2)).await.unwrap(), Written::Done);
        });
    }

    #[test]
    fn faults_come_in_order_and_a_lost_answer_still_writes() {
        let s = MemoryStore::new();
        rt().block_on(async {
            s.fail_reads(1, Fault::Permanent);
            s.fail_writes(1, Fault::LostAnswer);
            assert!(!s.read().await.unwrap_err().transient);
            let mut doc = s.read().await.unwrap().doc;
            doc.tickets.clear();
            assert!(s.write(&doc, None).await.unwrap_err().transient);
            assert_eq!(s.read().await.unwrap().version, Some(1));
            s.interfere(2, |_| {});
            assert_eq!(s.write(&doc, Some(1)).await.unwrap(), Written::Conflict);
            assert_eq!(s.write(&doc, Some(2)).await.unwrap(), Written::Conflict);
            assert_eq!(s.write(&doc, Some(3)).await.unwrap(), Written::Done);
            assert_eq!(s.calls(), (3, 4));
        });
    }
}

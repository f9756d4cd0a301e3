//! Reading a plan and digesting its resource changes at the same time: while this thread
//! reads the document, the other cores digest the changes read so far (`summary::digest_chunk`:
//! the fingerprint's digest, the summary's entry and its changed attributes). For a
//! 50,000-resource plan, reading the document on one core and digesting its changes on all of
//! them then overlap instead of following each other.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};

use crate::plan::summary::{self, Digested};
use crate::terraform::plan_json::{self, Plan, PlanJsonError, ResourceChange};

/// How many resource changes are handed over at a time.
const CHUNK: usize = 512;

type Numbered<T> = (usize, T);

/// The plan in `bytes` and its resource changes digested, as `plan_json::parse` and then
/// `Summary::from_plan`'s digesting would give them, errors included: the document's first,
/// then the first resource's in the plan's order. `skipped` is told of each part of `bytes`
/// that the plan will not refer to (a field tfgate does not read) once the reading is past it.
pub fn read_and_digest<'a>(
    bytes: &'a [u8],
    mut skipped: impl FnMut(Range<usize>),
) -> Result<(Plan<'a>, Digested), PlanJsonError> {
    let (to_helpers, queue) = mpsc::channel::<Numbered<Vec<ResourceChange<'a>>>>();
    let queue = Mutex::new(queue);
    let (to_main, done) = mpsc::channel();
    // Taken (and so the queue closed) when the document is read, or reading it failed.
    let handing = RefCell::new(Some(to_helpers));
    let work = || {
        loop {
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok((i, chunk)) = next else {
                return;
            };
            let digested = summary::digest_chunk(&chunk);
            if to_main.send((i, (chunk, digested))).is_err() {
                return;
            }
        }
    };
    let helpers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .saturating_sub(1)
        .max(1);
    let mut digested = None;
    let plan = std::thread::scope(|scope| {
        let _close = CloseOnDrop(&handing);
        let running: Vec<_> = (0..helpers).map(|_| scope.spawn(work)).collect();
        let mut handed = 0;
        let mut hand = |chunk| {
            if let Some(to_helpers) = &*handing.borrow() {
                // The helpers only stop once the queue is closed.
                let _ = to_helpers.send((handed, chunk));
            }
            handed += 1;
        };
        let take_back = || {
            handing.borrow_mut().take();
            // This thread joins in with what is left.
            work();
            for helper in running {
                helper
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
            let mut parts: Vec<_> = done.try_iter().collect();
            parts.sort_unstable_by_key(|(i, _)| *i);
            let mut changes = Vec::with_capacity(parts.iter().map(|(_, (c, _))| c.len()).sum());
            let mut results = Vec::with_capacity(parts.len());
            for (_, (chunk, result)) in parts {
                changes.extend(chunk);
                results.push(result);
            }
            digested = Some(Digested::join(results));
            changes
        };
        plan_json::parse_handing_over(bytes, CHUNK, &mut hand, &mut skipped, take_back)
    })?;
    let digested = digested.expect("a plan read without error was taken back")?;
    Ok((plan, digested))
}

/// Closes the queue when reading ends, by an error or a panic too, so that no helper waits on
/// it forever (the scope waits for them).
struct CloseOnDrop<'q, T>(&'q RefCell<Option<Sender<T>>>);

impl<T> Drop for CloseOnDrop<'_, T> {
    fn drop(&mut self) {
        self.0.borrow_mut().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::node::MAX_DEPTH;
    use crate::plan::summary::Summary;

    /// `n` resource changes of every kind; `change(i)` replaces the `i`-th's change where it
    /// gives one.
    fn document(n: usize, change: impl Fn(usize) -> Option<String>) -> String {
        let changes: Vec<String> = (0..n)
            .map(|i| {
                let plain = match i % 4 {
                    0 => format!(
                        r#"{{"actions":["update"],"before":{{"s":"a{i}","l":[1]}},"after":{{"s":"b{i}","l":[2]}},"after_unknown":{{}}}}"#
                    ),
                    1 => r#"{"actions":["delete","create"],"before":{"k":1},"after":{"k":2},"replace_paths":[["k"]]}"#.to_string(),
                    2 => r#"{"actions":["create"],"after":{"k":"v"}}"#.to_string(),
                    _ => r#"{"actions":["no-op"],"before":{},"after":{}}"#.to_string(),
                };
                let change = change(i).unwrap_or(plain);
                format!(r#"{{"address":"a.r[{i}]","previous_address":"a.o[{}]","change":{change}}}"#, i % 8)
            })
            .collect();
        format!(
            r#"{{"format_version":"1.2","resource_changes":[{}],"output_changes":{{"o":{{"actions":["create"],"after":1}}}}}}"#,
            changes.join(",")
        )
    }

    fn too_deep(levels: usize) -> String {
        let value = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        format!(r#"{{"actions":["update"],"before":{{"v":1}},"after":{{"v":{value}}}}}"#)
    }

    fn one_at_a_time(text: &str) -> Result<Summary, PlanJsonError> {
        Summary::from_plan(&plan_json::parse(text.as_bytes())?)
    }

    fn at_once(text: &str) -> Result<Summary, PlanJsonError> {
        let (plan, digested) = read_and_digest(text.as_bytes(), |_| {})?;
        Summary::from_digested(&plan, digested)
    }

    #[test]
    fn digesting_while_reading_gives_the_summary_of_reading_then_digesting() {
        for n in [0, 1, CHUNK, 5 * CHUNK + 3] {
            let text = document(n, |_| None);
            let summary = at_once(&text).unwrap();
            assert_eq!(summary, one_at_a_time(&text).unwrap(), "{n}");
            assert_eq!(summary.resources.len(), n, "{n}");
        }
    }

    #[test]
    fn skipped_is_told_of_each_field_not_read() {
        let text = document(3 * CHUNK, |_| None).replacen(
            "{",
            r#"{"planned_values":{"a":[1,"x"]},"prior_state":{},"#,
            1,
        );
        let mut told = Vec::new();
        read_and_digest(text.as_bytes(), |range| told.push(&text[range])).unwrap();
        assert_eq!(told, vec![r#"{"a":[1,"x"]}"#, "{}"]);
    }

    #[test]
    fn errors_come_in_the_same_order() {
        // The first resource that cannot be digested, in the plan's order, whichever thread
        // digests it first.
        let two_bad = document(4 * CHUNK, |i| {
            [CHUNK + 7, 3 * CHUNK]
                .contains(&i)
                .then(|| too_deep(MAX_DEPTH + i))
        });
        let err = at_once(&two_bad).unwrap_err();
        assert_eq!(err, one_at_a_time(&two_bad).unwrap_err());
        assert!(
            matches!(&err, PlanJsonError::TooDeep { at, .. } if at.contains(&format!("a.r[{}]", CHUNK + 7))),
            "{err:?}"
        );
        // The document's own errors before any resource's: an unknown action, a cut document.
        let unknown = document(2 * CHUNK, |i| match i {
            3 => Some(too_deep(MAX_DEPTH + 1)),
            700 => Some(r#"{"actions":["explode"]}"#.to_string()),
            _ => None,
        });
        let err = at_once(&unknown).unwrap_err();
        assert!(
            matches!(err, PlanJsonError::UnknownAction { .. }),
            "{err:?}"
        );
        assert_eq!(err, one_at_a_time(&unknown).unwrap_err());
        let whole = document(2 * CHUNK, |_| None);
        let cut = &whole[..whole.len() - 30];
        let err = at_once(cut).unwrap_err();
        assert!(matches!(err, PlanJsonError::Truncated { .. }), "{err:?}");
        assert_eq!(
            at_once(&unknown[..unknown.len() - 30]).unwrap_err(),
            one_at_a_time(&unknown[..unknown.len() - 30]).unwrap_err()
        );
    }
}

//! One function over the chunks of a slice, on every core: how the fingerprint and the
//! comparison of two plans spread their work over tens of thousands of resource changes.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many items a thread takes at a time.
const CHUNK: usize = 512;

/// `f(start, chunk)` for every chunk of `items` (`start`: the index of its first item), on all
/// cores; the results in the order of the chunks. Each thread takes the next chunk when it is
/// done with one, so that a thread whose core is busy with other work holds up no one.
pub fn map_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &[T]) -> R + Sync) -> Vec<R> {
    let chunks = items.len().div_ceil(CHUNK);
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(chunks);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= chunks {
                return done;
            }
            let start = i * CHUNK;
            done.push((i, f(start, &items[start..items.len().min(start + CHUNK)])));
        }
    };
    let mut parts = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut parts = work();
        for w in workers {
            parts.extend(w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        parts
    });
    parts.sort_unstable_by_key(|(i, _)| *i);
    parts.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_order() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7] {
            let items: Vec<usize> = (0..n).collect();
            let parts = map_chunks(&items, |start, part| {
                assert_eq!(part.first().copied().unwrap_or(start), start);
                part.iter().map(|x| x * 2).collect::<Vec<_>>()
            });
            let doubled: Vec<usize> = parts.concat();
            assert_eq!(
                doubled,
                items.iter().map(|x| x * 2).collect::<Vec<_>>(),
                "{n}"
            );
        }
    }
}

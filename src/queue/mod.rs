//! The apply queue (§7): one `tfgate apply` per state at a time, in the order the runs
//! arrived, none cancelled, none blocked for longer than a lease by a run that died.
//!
//! The queue's decisions live here and in `doc` (who is first, whose lease ran out, when to
//! renew), as changes to one document; `store` is the port the document is kept behind. The
//! waiting itself, with its polls, progress lines and signals, is the workflow in
//! `ops::queue`. Nothing here does I/O or knows what is being applied.

pub mod ancestry;
pub mod doc;
pub mod file;
pub mod store;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::duration::age_words;
use crate::queue::doc::{QueueDoc, Standing, Ticket};

/// The default lease: how long a run that stopped renewing blocks the others at most.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(180);
/// The shortest lease a run may ask for: it must outlast a few polls, or waiting runs would
/// drop each other's tickets between renewals.
pub const MIN_LEASE: Duration = Duration::from_secs(2);
/// How often a waiting run prints where it stands (§7: about every 30 s).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// How often a waiting run looks whether it is its turn: the handoff delay is at most this
/// plus one read. Every waiting run polls this often, wherever it stands: one that was far
/// back may be next a few seconds later, when the applies before it are short. The cost is
/// one strongly consistent read a second per waiting run.
pub const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct QueueOptions {
    pub lease: Duration,
    /// Give up waiting after this long (exit 5); `None`: wait as long as it takes.
    pub timeout: Option<Duration>,
}

/// What the ticket says about the run, for `queue status` and the other runs' progress lines.
#[derive(Debug, Clone, Default)]
pub struct TicketInfo {
    pub commit: Option<String>,
    pub pr: Option<u64>,
    pub run_url: Option<String>,
    pub who: String,
}

/// What one poll found.
pub struct Polled {
    pub standing: Standing,
    pub expired: Vec<Ticket>,
    pub rejoined: bool,
}

/// One poll as a change to the document: drop expired tickets, put this one back if others
/// dropped it, acquire the queue if it is this ticket's turn, and renew its lease when a third
/// of it has passed. Writes only when something changed.
pub fn poll(
    doc: &mut QueueDoc,
    ticket: &Ticket,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> (Polled, bool) {
    let expired = doc.expire(now, Some(&ticket.id));
    let rejoined = doc.rejoin(Ticket {
        lease_expires: now + lease,
        ..ticket.clone()
    });
    let (standing, acquired) = doc
        .acquire(&ticket.id, now, lease)
        .unwrap_or((Standing::Waiting { ahead: 0 }, false));
    let mut renewed = false;
    if let Some(t) = doc.find(&ticket.id)
        && t.lease_expires - now < lease * 2 / 3
    {
        renewed = doc.renew(&ticket.id, now, lease);
    }
    let changed = !expired.is_empty() || rejoined || acquired || renewed;
    (
        Polled {
            standing,
            expired,
            rejoined,
        },
        changed,
    )
}

/// "waiting 1m 30s in the apply queue: position 3 of 4 (2 ahead); applying now: abc1234 of
/// #42 for 2m 5s (run URL)".
pub fn waiting_line(doc: &QueueDoc, ahead: usize, waited: Duration, now: DateTime<Utc>) -> String {
    let holder = match doc.holder() {
        Some(t) => format!(
            "applying now: {} for {}",
            describe(t),
            age_words(now - t.holding_since.unwrap_or(now))
        ),
        None => "nobody is applying yet".to_string(),
    };
    format!(
        "waiting {} in the apply queue: position {} of {} ({ahead} ahead); {holder}",
        age_words(chrono::Duration::from_std(waited).unwrap_or_default()),
        ahead + 1,
        doc.tickets.len(),
    )
}

/// "abc1234 of #42 (https://…/runs/1)", or the ticket when nothing else is known.
pub fn describe(t: &Ticket) -> String {
    let mut out = match &t.commit {
        Some(c) => c.chars().take(12).collect(),
        None => format!("ticket {}", t.id),
    };
    if let Some(pr) = t.pr {
        out.push_str(&format!(" of #{pr}"));
    }
    if let Some(url) = &t.run_url {
        out.push_str(&format!(" ({url})"));
    } else {
        out.push_str(&format!(" on {}", t.who));
    }
    out
}

/// A ticket ID that sorts by enqueue time: milliseconds since the epoch, then random bits.
pub fn ticket_id(now: DateTime<Utc>) -> String {
    format!("{:013}-{:08x}", now.timestamp_millis(), random_u64() as u32)
}

/// Randomness without a dependency: the standard library's randomly keyed hasher.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// `base` plus up to as much again, so runs that collided do not collide again in step.
pub fn jitter(base: Duration) -> Duration {
    base + Duration::from_nanos(random_u64() % (base.as_nanos() as u64).max(1))
}

/// The in-memory store the workflow's tests run on.
#[cfg(test)]
pub mod memory;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn ticket(id: &str, s: i64) -> Ticket {
        Ticket {
            id: id.into(),
            commit: Some(format!("{id}0000000000000000")),
            pr: Some(1),
            run_url: None,
            who: "runner pid 1".into(),
            enqueued_at: at(s),
            holding_since: None,
            lease_expires: at(s + 60),
        }
    }

    #[test]
    fn ticket_ids_sort_by_time() {
        let a = ticket_id(at(0));
        let b = ticket_id(at(1));
        assert!(a < b, "{a} < {b}");
        assert_eq!(a.len(), 22);
    }

    #[test]
    fn a_poll_renews_only_after_a_third_of_the_lease() {
        let lease = chrono::Duration::seconds(60);
        let mut doc = QueueDoc::new();
        doc.enqueue(ticket("h", 0));
        doc.acquire("h", at(0), lease);
        let me = ticket("w", 1);
        doc.enqueue(me.clone());
        let (p, changed) = poll(&mut doc, &me, at(10), lease);
        assert_eq!(p.standing, Standing::Waiting { ahead: 1 });
        assert!(!changed);
        let (_, changed) = poll(&mut doc, &me, at(30), lease);
        assert!(changed);
        assert_eq!(doc.find("w").unwrap().lease_expires, at(90));
    }

    #[test]
    fn a_poll_takes_over_from_a_dead_holder_and_puts_a_dropped_ticket_back() {
        let lease = chrono::Duration::seconds(60);
        let mut doc = QueueDoc::new();
        doc.enqueue(ticket("dead", 0));
        doc.acquire("dead", at(0), lease);
        let me = ticket("me", 1);
        // Not in the document: dropped while this run was out of touch.
        let (p, changed) = poll(&mut doc, &me, at(61), lease);
        assert!(changed && p.rejoined);
        assert_eq!(p.expired.len(), 1);
        assert_eq!(p.standing, Standing::Holding);
    }

    #[test]
    fn the_waiting_line_says_position_holder_and_time() {
        let lease = chrono::Duration::seconds(60);
        let mut doc = QueueDoc::new();
        let mut h = ticket("abc", 0);
        h.pr = Some(42);
        h.run_url = Some("https://github.com/o/r/actions/runs/9".into());
        doc.enqueue(h);
        doc.acquire("abc", at(0), lease);
        doc.enqueue(ticket("x", 1));
        doc.enqueue(ticket("me", 2));
        let line = waiting_line(&doc, 2, Duration::from_secs(90), at(125));
        assert_eq!(
            line,
            "waiting 1m 30s in the apply queue: position 3 of 3 (2 ahead); applying now: abc000000000 of #42 (https://github.com/o/r/actions/runs/9) for 2m 5s"
        );
    }
}

//! The apply queue of one state, as one document, and every change made to it.
//!
//! A store keeps the document whole and replaces it only if nobody replaced it since it was
//! read (`store`), so each change here is a pure function of the document and the time, run
//! again on a fresh copy when another run got there first. That makes every change
//! idempotent by ticket ID: a write whose response was lost and is retried finds its own
//! ticket already in place and changes nothing.
//!
//! Tickets are kept in the order they were enqueued; the first one holds the queue once it
//! has acquired it (`holding_since`). Every ticket carries a lease, renewed by its run (waiting
//! or holding); any run that sees a lease expired removes that ticket, which is how a dead
//! runner stops blocking the others. Nothing here reads the clock or does I/O.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The format of the stored document; a newer one is refused rather than misread.
pub const DOC_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDoc {
    pub doc_version: u32,
    /// In enqueue order. The first may hold the queue.
    pub tickets: Vec<Ticket>,
    /// The last commit applied to this state through the queue.
    pub last_applied: Option<Applied>,
}

/// One run's place in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Unique; it begins with the time the run took it, in milliseconds.
    pub id: String,
    pub commit: Option<String>,
    pub pr: Option<u64>,
    pub run_url: Option<String>,
    /// Host and process, to tell runs apart on one machine.
    pub who: String,
    pub enqueued_at: DateTime<Utc>,
    /// Set when the ticket acquired the queue.
    pub holding_since: Option<DateTime<Utc>>,
    pub lease_expires: DateTime<Utc>,
}

/// What the queue last applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub commit: String,
    pub ticket: String,
    pub pr: Option<u64>,
    pub at: DateTime<Utc>,
}

/// Where a ticket stands after a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// It holds the queue (it just acquired it, or already did).
    Holding,
    /// `ahead` tickets are before it; the first of them may hold the queue.
    Waiting { ahead: usize },
}

impl QueueDoc {
    pub fn new() -> QueueDoc {
        QueueDoc {
            doc_version: DOC_VERSION,
            ..QueueDoc::default()
        }
    }

    pub fn find(&self, id: &str) -> Option<&Ticket> {
        self.tickets.iter().find(|t| t.id == id)
    }

    fn find_mut(&mut self, id: &str) -> Option<&mut Ticket> {
        self.tickets.iter_mut().find(|t| t.id == id)
    }

    /// The ticket holding the queue, if one does.
    pub fn holder(&self) -> Option<&Ticket> {
        self.tickets.first().filter(|t| t.holding_since.is_some())
    }

    /// The tickets waiting, in order.
    pub fn waiting(&self) -> &[Ticket] {
        let skip = usize::from(self.holder().is_some());
        &self.tickets[skip..]
    }

    /// Removes the tickets whose lease ran out before `now` (their runs died or lost touch),
    /// except `keep` (the caller's own, which it is about to renew). Returns them.
    pub fn expire(&mut self, now: DateTime<Utc>, keep: Option<&str>) -> Vec<Ticket> {
        let (expired, live): (Vec<Ticket>, Vec<Ticket>) = std::mem::take(&mut self.tickets)
            .into_iter()
            .partition(|t| t.lease_expires < now && Some(t.id.as_str()) != keep);
        self.tickets = live;
        expired
    }

    /// Adds a ticket at the end; `false` when it is already there (a retried write). Its
    /// enqueue time is raised to the last ticket's if that is later (another run's clock, or
    /// a run that read the time first and wrote second), so the queue's order is always the
    /// order of enqueue times.
    pub fn enqueue(&mut self, mut ticket: Ticket) -> bool {
        if self.find(&ticket.id).is_some() {
            return false;
        }
        if let Some(last) = self.tickets.last() {
            ticket.enqueued_at = ticket.enqueued_at.max(last.enqueued_at);
        }
        self.tickets.push(ticket);
        true
    }

    /// Puts back a waiting ticket that others removed as expired (its run lost touch for
    /// longer than its lease), in its enqueue-time order among the waiting, never before the
    /// holder. `false` when it is still there.
    pub fn rejoin(&mut self, mut ticket: Ticket) -> bool {
        if self.find(&ticket.id).is_some() {
            return false;
        }
        ticket.holding_since = None;
        let first_waiting = usize::from(self.holder().is_some());
        let at = self.tickets[first_waiting..]
            .iter()
            .position(|t| t.enqueued_at > ticket.enqueued_at)
            .map_or(self.tickets.len(), |p| p + first_waiting);
        self.tickets.insert(at, ticket);
        true
    }

    /// Where `id` stands, acquiring the queue when it is first and nobody holds it. `None`:
    /// the ticket is not in the queue. The second value says whether the document changed.
    pub fn acquire(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Option<(Standing, bool)> {
        let pos = self.tickets.iter().position(|t| t.id == id)?;
        if pos > 0 {
            return Some((Standing::Waiting { ahead: pos }, false));
        }
        let t = &mut self.tickets[0];
        if t.holding_since.is_some() {
            return Some((Standing::Holding, false));
        }
        t.holding_since = Some(now);
        t.lease_expires = now + lease;
        Some((Standing::Holding, true))
    }

    /// Extends `id`'s lease to `now + lease`. `false`: the ticket is gone.
    pub fn renew(&mut self, id: &str, now: DateTime<Utc>, lease: Duration) -> bool {
        match self.find_mut(id) {
            Some(t) => {
                t.lease_expires = t.lease_expires.max(now + lease);
                true
            }
            None => false,
        }
    }

    /// Whether `id` holds the queue.
    pub fn holds(&self, id: &str) -> bool {
        self.holder().is_some_and(|t| t.id == id)
    }

    /// Removes `id` (done, cancelled or timed out). `false`: it was not there.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.tickets.len();
        self.tickets.retain(|t| t.id != id);
        self.tickets.len() != before
    }

    /// The holder `id` is done and applied `commit`: records it and removes the ticket. Only a
    /// ticket that still holds the queue records what it applied; `false` otherwise.
    pub fn release_applied(&mut self, id: &str, commit: &str, now: DateTime<Utc>) -> bool {
        if self.last_applied.as_ref().is_some_and(|a| a.ticket == id) {
            // A retried write: already recorded.
            self.remove(id);
            return true;
        }
        if !self.holds(id) {
            return false;
        }
        let pr = self.find(id).and_then(|t| t.pr);
        self.last_applied = Some(Applied {
            commit: commit.to_string(),
            ticket: id.to_string(),
            pr,
            at: now,
        });
        self.remove(id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ticket(id: &str, at_secs: i64, lease_secs: i64) -> Ticket {
        Ticket {
            id: id.to_string(),
            commit: Some(format!("c-{id}")),
            pr: Some(7),
            run_url: None,
            who: "host pid 1".into(),
            enqueued_at: t0() + Duration::seconds(at_secs),
            holding_since: None,
            lease_expires: t0() + Duration::seconds(at_secs + lease_secs),
        }
    }

    fn ids(d: &QueueDoc) -> Vec<&str> {
        d.tickets.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn first_ticket_acquires_the_others_wait_in_order() {
        let lease = Duration::seconds(60);
        let mut d = QueueDoc::new();
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            assert!(d.enqueue(ticket(id, i as i64, 60)));
        }
        assert_eq!(
            d.acquire("b", t0(), lease),
            Some((Standing::Waiting { ahead: 1 }, false))
        );
        assert_eq!(d.acquire("a", t0(), lease), Some((Standing::Holding, true)));
        // Acquiring again (a retried write) changes nothing.
        assert_eq!(
            d.acquire("a", t0(), lease),
            Some((Standing::Holding, false))
        );
        assert_eq!(d.holder().map(|t| t.id.as_str()), Some("a"));
        assert_eq!(d.waiting().len(), 2);
        assert_eq!(d.acquire("zz", t0(), lease), None);
    }

    #[test]
    fn enqueue_is_idempotent() {
        let mut d = QueueDoc::new();
        assert!(d.enqueue(ticket("a", 0, 60)));
        assert!(!d.enqueue(ticket("a", 0, 60)));
        assert_eq!(ids(&d), ["a"]);
    }

    #[test]
    fn enqueue_times_follow_the_queue_order() {
        let mut d = QueueDoc::new();
        d.enqueue(ticket("late-clock", 5, 60));
        d.enqueue(ticket("wrote-second", 2, 60));
        assert_eq!(ids(&d), ["late-clock", "wrote-second"]);
        assert_eq!(d.tickets[1].enqueued_at, t0() + Duration::seconds(5));
    }

    #[test]
    fn expired_tickets_are_removed_but_not_the_callers_own() {
        let mut d = QueueDoc::new();
        d.enqueue(ticket("dead", 0, 10));
        d.enqueue(ticket("me", 1, 10));
        d.enqueue(ticket("live", 2, 100));
        let gone = d.expire(t0() + Duration::seconds(50), Some("me"));
        assert_eq!(
            gone.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["dead"]
        );
        assert_eq!(ids(&d), ["me", "live"]);
        // A lease that ends exactly now is still valid.
        let mut d2 = QueueDoc::new();
        d2.enqueue(ticket("edge", 0, 10));
        assert!(d2.expire(t0() + Duration::seconds(10), None).is_empty());
    }

    #[test]
    fn a_dead_holder_is_replaced_by_the_next_in_line() {
        let lease = Duration::seconds(10);
        let mut d = QueueDoc::new();
        d.enqueue(ticket("a", 0, 10));
        d.enqueue(ticket("b", 1, 100));
        d.acquire("a", t0(), lease);
        let later = t0() + Duration::seconds(11);
        d.expire(later, Some("b"));
        assert_eq!(
            d.acquire("b", later, lease),
            Some((Standing::Holding, true))
        );
        assert_eq!(d.find("b").unwrap().lease_expires, later + lease);
    }

    #[test]
    fn rejoin_keeps_enqueue_order_behind_the_holder() {
        let mut d = QueueDoc::new();
        d.enqueue(ticket("a", 0, 60));
        d.enqueue(ticket("c", 5, 60));
        d.acquire("a", t0(), Duration::seconds(60));
        let mut b = ticket("b", 3, 60);
        b.holding_since = Some(t0());
        assert!(d.rejoin(b.clone()));
        assert_eq!(ids(&d), ["a", "b", "c"]);
        assert!(d.find("b").unwrap().holding_since.is_none());
        assert!(!d.rejoin(b));
        // An early ticket never jumps ahead of the holder.
        let mut d = QueueDoc::new();
        d.enqueue(ticket("late", 9, 60));
        d.acquire("late", t0(), Duration::seconds(60));
        d.rejoin(ticket("early", 0, 60));
        assert_eq!(ids(&d), ["late", "early"]);
    }

    #[test]
    fn renew_extends_and_never_shortens() {
        let mut d = QueueDoc::new();
        d.enqueue(ticket("a", 0, 100));
        assert!(d.renew("a", t0(), Duration::seconds(10)));
        assert_eq!(d.tickets[0].lease_expires, t0() + Duration::seconds(100));
        assert!(d.renew("a", t0() + Duration::seconds(95), Duration::seconds(10)));
        assert_eq!(d.tickets[0].lease_expires, t0() + Duration::seconds(105));
        assert!(!d.renew("gone", t0(), Duration::seconds(10)));
    }

    #[test]
    fn only_the_holder_records_what_it_applied_and_a_retry_is_harmless() {
        let mut d = QueueDoc::new();
        d.enqueue(ticket("a", 0, 60));
        d.enqueue(ticket("b", 1, 60));
        assert!(!d.release_applied("b", "sha-b", t0()));
        d.acquire("a", t0(), Duration::seconds(60));
        assert!(d.release_applied("a", "sha-a", t0()));
        assert_eq!(d.last_applied.as_ref().unwrap().commit, "sha-a");
        assert_eq!(ids(&d), ["b"]);
        assert!(d.release_applied("a", "sha-a", t0()));
        assert_eq!(ids(&d), ["b"]);
        assert!(d.remove("b"));
        assert!(!d.remove("b"));
    }

    #[test]
    fn stored_form_round_trips() {
        let mut d = QueueDoc::new();
        d.enqueue(ticket("a", 0, 60));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<QueueDoc>(&json).unwrap(), d);
    }
}

//! The apply queue (§7): one `tfgate apply` per state at a time, in the order the runs
//! arrived, none cancelled, none blocked for longer than a lease by a run that died.
//!
//! A run takes a ticket (`wait_turn`), polls until it is first, acquires the queue and gets a
//! `Holding`; the holder renews its lease while terraform runs (`Holding::heartbeat`), checks
//! that it still holds the queue right before `terraform apply` (`Holding::confirm`), and gives
//! the queue back with the commit it applied (`Holding::release`). Waiters renew their own
//! leases too, and remove any ticket whose lease ran out. A signal while waiting removes the
//! ticket; a timeout does as well. Every change is a compare-and-swap of the whole document
//! (`doc`, `store`), retried on conflict and, a few times, on transient errors.
//!
//! This module decides and reports; it does not know what is being applied.

pub mod ancestry;
pub mod doc;
pub mod file;
pub mod store;

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::duration::age_words;
use crate::error::Error;
use crate::queue::doc::{Applied, QueueDoc, Standing, Ticket};
use crate::queue::store::{QueueStore, Store, StoreError, Written};
use crate::terraform::runner;
use crate::ui::Ui;

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
/// Tries of one change after a transient error, on top of the store's own retries.
const TRANSIENT_TRIES: u32 = 5;
/// Tries of one change that keeps meeting other runs' writes.
const CONFLICT_TRIES: u32 = 200;

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

/// The queue, held.
pub struct Holding<'a> {
    store: &'a Store,
    ui: &'a Ui,
    ticket: Ticket,
    lease: chrono::Duration,
    /// What the queue had applied last when this run acquired it.
    pub last_applied: Option<Applied>,
}

/// Waits for this run's turn: takes a ticket, then polls until it holds the queue. Removes
/// the ticket again on a signal (`Error::QueueCancelled`), a timeout (`Error::QueueTimeout`)
/// or an error.
pub async fn wait_turn<'a>(
    ui: &'a Ui,
    store: &'a Store,
    info: &TicketInfo,
    opts: &QueueOptions,
) -> Result<Holding<'a>, Error> {
    // From here on a signal must not end tfgate before the ticket is gone.
    runner::defer_signals();
    let lease = chrono::Duration::from_std(opts.lease).unwrap_or(chrono::Duration::MAX);
    let now = Utc::now();
    let ticket = Ticket {
        id: ticket_id(now),
        commit: info.commit.clone(),
        pr: info.pr,
        run_url: info.run_url.clone(),
        who: info.who.clone(),
        enqueued_at: now,
        holding_since: None,
        lease_expires: now + lease,
    };
    let id = ticket.id.clone();
    let started = Instant::now();
    let enqueued = mutate(store, |doc| {
        let expired = doc.expire(now, Some(&id));
        let changed = doc.enqueue(ticket.clone()) || !expired.is_empty();
        (expired, changed)
    })
    .await;
    let (expired, ticket) = match enqueued {
        // As stored: its enqueue time may have been moved up to keep the queue in order.
        Ok((expired, doc)) => (expired, doc.find(&id).cloned().unwrap_or(ticket)),
        Err(e) => {
            // The write may have landed although its answer was lost.
            leave(ui, store, &id).await;
            return Err(e.error);
        }
    };
    report_expired(ui, &expired);
    ui.status(&format!(
        "tfgate: joined the apply queue in {} as ticket {id}",
        store.describe()
    ));

    let mut progress = Progress {
        last_line: None,
        troubled_since: None,
    };
    loop {
        if let Some(sig) = runner::pending_signal() {
            leave(ui, store, &id).await;
            return Err(Error::QueueCancelled {
                signal: sig as i32,
                signal_name: sig.as_str().to_string(),
                ticket: id,
            });
        }
        let now = Utc::now();
        let polled = mutate(store, |doc| poll(doc, &ticket, now, lease)).await;
        match polled {
            Ok((p, doc)) => {
                progress.troubled_since = None;
                report_expired(ui, &p.expired);
                if p.rejoined {
                    ui.warning(&format!(
                        "the apply queue had dropped ticket {id} (it could not renew it for longer than its lease); it is back in its place"
                    ));
                }
                match p.standing {
                    Standing::Holding => {
                        ui.status(&format!(
                            "tfgate: acquired the apply queue after {} (ticket {id})",
                            age_words(
                                chrono::Duration::from_std(started.elapsed()).unwrap_or_default()
                            )
                        ));
                        let held = doc.find(&id).cloned().unwrap_or(ticket);
                        return Ok(Holding {
                            store,
                            ui,
                            ticket: held,
                            lease,
                            last_applied: doc.last_applied,
                        });
                    }
                    Standing::Waiting { ahead } => {
                        progress.show(ui, &doc, ahead, started.elapsed(), now);
                    }
                }
            }
            Err(e) if e.transient => {
                let since = *progress.troubled_since.get_or_insert_with(Instant::now);
                if since.elapsed() < POLL {
                    ui.warning(&format!(
                        "the apply queue cannot be read right now ({}); still waiting and trying again",
                        e.error
                    ));
                }
            }
            Err(e) => {
                leave(ui, store, &id).await;
                return Err(e.error);
            }
        };
        if let Some(limit) = opts.timeout
            && started.elapsed() >= limit
        {
            leave(ui, store, &id).await;
            return Err(Error::QueueTimeout {
                waited: age_words(chrono::Duration::from_std(limit).unwrap_or_default()),
                ticket: id,
            });
        }
        let mut pause = POLL;
        if let Some(limit) = opts.timeout {
            pause = pause.min(limit.saturating_sub(started.elapsed()));
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = runner::signalled() => {}
        }
    }
}

/// What one poll found.
struct Polled {
    standing: Standing,
    expired: Vec<Ticket>,
    rejoined: bool,
}

/// One poll as a change to the document: drop expired tickets, put this one back if others
/// dropped it, acquire the queue if it is this ticket's turn, and renew its lease when a third
/// of it has passed. Writes only when something changed.
fn poll(
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

impl Holding<'_> {
    /// Renews the lease every third of it, for as long as it is polled (run it beside the
    /// work with `select!`). Never returns. Says so loudly, once, if the queue was lost.
    pub async fn heartbeat(&self) -> std::convert::Infallible {
        let every = (self.lease / 3).to_std().unwrap_or(Duration::from_secs(60));
        let mut warned = false;
        loop {
            tokio::time::sleep(every).await;
            match self.renew().await {
                Ok(true) => {}
                Ok(false) if !warned => {
                    warned = true;
                    self.ui.warning(&format!(
                        "the apply queue no longer lists ticket {} as its holder (its lease ran out while tfgate could not renew it); another run may start",
                        self.ticket.id
                    ));
                }
                Ok(false) => {}
                Err(e) => self.ui.warning(&format!(
                    "could not renew the apply queue's lease: {}",
                    e.error
                )),
            }
        }
    }

    /// Renews the lease; `false` when this run no longer holds the queue.
    async fn renew(&self) -> Result<bool, StoreError> {
        let id = &self.ticket.id;
        let now = Utc::now();
        let lease = self.lease;
        mutate(self.store, |doc| {
            if doc.holds(id) {
                (true, doc.renew(id, now, lease))
            } else {
                (false, false)
            }
        })
        .await
        .map(|(held, _)| held)
    }

    /// Right before `terraform apply`: renews the lease, and fails if the queue was lost.
    pub async fn confirm(&self) -> Result<(), Error> {
        match self.renew().await {
            Ok(true) => Ok(()),
            Ok(false) => {
                let now = self
                    .store
                    .read()
                    .await
                    .ok()
                    .and_then(|v| v.doc.holder().cloned());
                Err(Error::LeaseLost {
                    ticket: self.ticket.id.clone(),
                    holder: now.map(|t| describe(&t)),
                })
            }
            Err(e) => Err(Error::LeaseUnconfirmed {
                ticket: self.ticket.id.clone(),
                message: e.error.to_string(),
            }),
        }
    }

    /// Gives the queue back, recording `applied` (the commit now in production) if any.
    pub async fn release(self, applied: Option<&str>) {
        let id = self.ticket.id.clone();
        let now = Utc::now();
        let result = mutate(self.store, |doc| match applied {
            Some(commit) => {
                let recorded = doc.release_applied(&id, commit, now);
                let removed = !recorded && doc.remove(&id);
                (recorded, recorded || removed)
            }
            None => (true, doc.remove(&id)),
        })
        .await;
        match result {
            Ok((true, _)) => self.ui.status("tfgate: released the apply queue"),
            Ok((false, _)) => self.ui.warning(&format!(
                "released the apply queue, but it no longer listed ticket {id} as its holder, so {} was not recorded as the last applied commit",
                applied.unwrap_or_default()
            )),
            Err(e) => self.ui.warning(&format!(
                "could not release the apply queue ({}); ticket {id} blocks the next run until its lease runs out, within {} of its last renewal",
                e.error,
                age_words(self.lease)
            )),
        }
    }
}

/// The queue as it stands, read with the same patience for transient errors as every change
/// (for `queue status` and `lock status`).
pub async fn read(store: &Store) -> Result<QueueDoc, Error> {
    mutate(store, |_| ((), false))
        .await
        .map(|((), doc)| doc)
        .map_err(|e| e.error)
}

/// Removes a ticket, best effort (the lease bounds the damage when it cannot be removed).
async fn leave(ui: &Ui, store: &Store, id: &str) {
    match mutate(store, |doc| ((), doc.remove(id))).await {
        Ok(_) => ui.status(&format!("tfgate: left the apply queue (ticket {id} removed)")),
        Err(e) => ui.warning(&format!(
            "could not remove ticket {id} from the apply queue ({}); it is dropped when its lease ends",
            e.error
        )),
    }
}

/// Reads the document, applies `change` (which says whether it changed anything) and writes
/// it back on the condition that nobody wrote meanwhile; on a conflict, again from a fresh
/// read. Transient errors are tried again a few times with a growing pause.
async fn mutate<R>(
    store: &Store,
    mut change: impl FnMut(&mut QueueDoc) -> (R, bool),
) -> Result<(R, QueueDoc), StoreError> {
    let mut transient = 0;
    let mut conflicts = 0;
    loop {
        let attempt = async {
            let mut read = store.read().await?;
            let (r, changed) = change(&mut read.doc);
            if !changed {
                return Ok(Some((r, read.doc)));
            }
            match store.write(&read.doc, read.version).await? {
                Written::Done => Ok(Some((r, read.doc))),
                Written::Conflict => Ok(None),
            }
        };
        let attempt: Result<Option<(R, QueueDoc)>, StoreError> = attempt.await;
        match attempt {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {
                conflicts += 1;
                if conflicts >= CONFLICT_TRIES {
                    return Err(StoreError {
                        transient: true,
                        error: Error::QueueContention {
                            store: store.describe(),
                            tries: conflicts,
                        },
                    });
                }
                tokio::time::sleep(jitter(Duration::from_millis(20))).await;
            }
            Err(e) if e.transient && transient + 1 < TRANSIENT_TRIES => {
                transient += 1;
                tracing::debug!(error = %e.error, transient, "queue store: trying again");
                tokio::time::sleep(jitter(Duration::from_millis(200) * 2u32.pow(transient))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Progress for the people waiting: a line every `PROGRESS_EVERY`, and a live line on a
/// terminal at each poll.
struct Progress {
    last_line: Option<Instant>,
    troubled_since: Option<Instant>,
}

impl Progress {
    fn show(
        &mut self,
        ui: &Ui,
        doc: &QueueDoc,
        ahead: usize,
        waited: Duration,
        now: DateTime<Utc>,
    ) {
        let line = waiting_line(doc, ahead, waited, now);
        if self.line_due(Instant::now()) {
            ui.status(&format!("tfgate: {line}"));
        } else {
            ui.progress(&line);
        }
    }

    /// Whether a logged line is due at `at` (the first poll, then every `PROGRESS_EVERY`);
    /// records it when it is.
    fn line_due(&mut self, at: Instant) -> bool {
        let due = self
            .last_line
            .is_none_or(|t| at.saturating_duration_since(t) >= PROGRESS_EVERY);
        if due {
            self.last_line = Some(at);
        }
        due
    }
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

fn report_expired(ui: &Ui, expired: &[Ticket]) {
    for t in expired {
        ui.warning(&format!(
            "removed {} from the apply queue: its lease ended at {} without renewal (its run stopped or lost touch)",
            describe(t),
            t.lease_expires.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
}

/// A ticket ID that sorts by enqueue time: milliseconds since the epoch, then random bits.
fn ticket_id(now: DateTime<Utc>) -> String {
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
fn jitter(base: Duration) -> Duration {
    base + Duration::from_nanos(random_u64() % (base.as_nanos() as u64).max(1))
}

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
    fn a_progress_line_at_once_then_every_thirty_seconds() {
        let mut p = Progress {
            last_line: None,
            troubled_since: None,
        };
        let t = Instant::now();
        let due: Vec<u64> = [0, 1, 29, 30, 31, 59, 61]
            .into_iter()
            .filter(|s| p.line_due(t + Duration::from_secs(*s)))
            .collect();
        assert_eq!(due, [0, 30, 61]);
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

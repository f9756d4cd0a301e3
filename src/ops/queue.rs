//! Waiting for a turn in the apply queue (§7): one `tfgate apply` per state at a time, in the
//! order the runs arrived, none cancelled, none blocked for longer than a lease by a run that
//! died.
//!
//! A run takes a ticket (`wait_turn`), polls until it is first, acquires the queue and gets a
//! `Holding`; the holder renews its lease while terraform runs (`Holding::heartbeat`), checks
//! that it still holds the queue right before `terraform apply` (`Holding::confirm`), and gives
//! the queue back with the commit it applied (`Holding::release`). Waiters renew their own
//! leases too, and remove any ticket whose lease ran out. A signal while waiting removes the
//! ticket; a timeout does as well. Every change is a compare-and-swap of the whole document
//! through the `QueueStore` port, retried on conflict and, a few times, on transient errors.
//! The decisions themselves are the queue's (`queue`, `queue::doc`); this module waits,
//! reports and handles signals.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::time::Instant;

use crate::duration::age_words;
use crate::error::Error;
use crate::queue::doc::{Applied, QueueDoc, Standing, Ticket};
use crate::queue::store::{QueueStore, StoreError, Written};
use crate::queue::{
    POLL, PROGRESS_EVERY, Polled, QueueOptions, TicketInfo, describe, jitter, poll, ticket_id,
    waiting_line,
};
use crate::terraform::runner;
use crate::ui::Ui;

/// Tries of one change after a transient error, on top of the store's own retries.
const TRANSIENT_TRIES: u32 = 5;
/// Tries of one change that keeps meeting other runs' writes.
const CONFLICT_TRIES: u32 = 200;

/// The queue, held.
pub struct Holding<'a, S: QueueStore> {
    store: &'a S,
    ui: &'a Ui,
    ticket: Ticket,
    lease: chrono::Duration,
    clock: Clock,
    /// What the queue had applied last when this run acquired it.
    pub last_applied: Option<Applied>,
}

/// Waits for this run's turn: takes a ticket, then polls until it holds the queue. Removes
/// the ticket again on a signal (`Error::QueueCancelled`), a timeout (`Error::QueueTimeout`)
/// or an error.
pub async fn wait_turn<'a, S: QueueStore>(
    ui: &'a Ui,
    store: &'a S,
    info: &TicketInfo,
    opts: &QueueOptions,
) -> Result<Holding<'a, S>, Error> {
    wait_turn_on(ui, store, info, opts, Clock::start()).await
}

/// `wait_turn` with the run's clock.
async fn wait_turn_on<'a, S: QueueStore>(
    ui: &'a Ui,
    store: &'a S,
    info: &TicketInfo,
    opts: &QueueOptions,
    clock: Clock,
) -> Result<Holding<'a, S>, Error> {
    // From here on a signal must not end tfgate before the ticket is gone.
    runner::defer_signals();
    let lease = chrono::Duration::from_std(opts.lease).unwrap_or(chrono::Duration::MAX);
    let started = Instant::now();
    let ticket = join(ui, store, info, lease, clock).await?;
    let id = ticket.id.clone();
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
        let now = clock.now();
        let polled = mutate(store, |doc| poll(doc, &ticket, now, lease)).await;
        match polled {
            Ok((p, doc)) => {
                progress.troubled_since = None;
                report_poll(ui, &p, &id);
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
                            clock,
                            last_applied: doc.last_applied,
                        });
                    }
                    Standing::Waiting { ahead } => {
                        progress.show(ui, &doc, ahead, started.elapsed(), now);
                    }
                }
            }
            Err(e) if e.transient => progress.trouble(ui, &e.error),
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
        let pause = opts.timeout.map_or(POLL, |limit| {
            POLL.min(limit.saturating_sub(started.elapsed()))
        });
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = runner::signalled() => {}
        }
    }
}

/// Takes a ticket at the end of the queue (removing expired ones on the way) and says so.
/// Returns the ticket as stored: its enqueue time may have been moved up to keep the queue
/// in order.
async fn join(
    ui: &Ui,
    store: &impl QueueStore,
    info: &TicketInfo,
    lease: chrono::Duration,
    clock: Clock,
) -> Result<Ticket, Error> {
    let now = clock.now();
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
    let enqueued = mutate(store, |doc| {
        let expired = doc.expire(now, Some(&id));
        let changed = doc.enqueue(ticket.clone()) || !expired.is_empty();
        (expired, changed)
    })
    .await;
    let (expired, ticket) = match enqueued {
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
    Ok(ticket)
}

/// The time as a run sees it: the wall clock when it joined the queue, moved on by the
/// monotonic clock since. Leases are compared with other runs' wall clocks, hence the wall
/// clock as the start; moving on by the monotonic clock keeps the run's own deadlines steady
/// if the wall clock is stepped while it waits or applies, and lets tests with tokio's time
/// paused run leases out in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Clock {
    wall: DateTime<Utc>,
    at: Instant,
}

impl Clock {
    fn start() -> Clock {
        Clock::starting_at(Utc::now())
    }

    fn starting_at(wall: DateTime<Utc>) -> Clock {
        Clock {
            wall,
            at: Instant::now(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.wall + chrono::Duration::from_std(self.at.elapsed()).unwrap_or_default()
    }
}

impl<S: QueueStore> Holding<'_, S> {
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
        let now = self.clock.now();
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
        let now = self.clock.now();
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
pub async fn read(store: &impl QueueStore) -> Result<QueueDoc, Error> {
    mutate(store, |_| ((), false))
        .await
        .map(|((), doc)| doc)
        .map_err(|e| e.error)
}

/// Removes a ticket, best effort (the lease bounds the damage when it cannot be removed).
async fn leave(ui: &Ui, store: &impl QueueStore, id: &str) {
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
    store: &impl QueueStore,
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

    /// A poll failed on an error that may pass: said once, when the trouble starts.
    fn trouble(&mut self, ui: &Ui, error: &Error) {
        let since = *self.troubled_since.get_or_insert_with(Instant::now);
        if since.elapsed() < POLL {
            ui.warning(&format!(
                "the apply queue cannot be read right now ({error}); still waiting and trying again"
            ));
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

/// What a poll changed that the people waiting should know: tickets removed as expired, and
/// this run's own put back.
fn report_poll(ui: &Ui, polled: &Polled, id: &str) {
    report_expired(ui, &polled.expired);
    if polled.rejoined {
        ui.warning(&format!(
            "the apply queue had dropped ticket {id} (it could not renew it for longer than its lease); it is back in its place"
        ));
    }
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

#[cfg(test)]
mod workflow_tests;

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! The waiting workflow run in-process against the in-memory store (`queue::memory`), with
//! tokio's clock paused: polls, leases and timeouts are waited out in virtual time, so each
//! test takes milliseconds. Several runs share one store by being joined on one runtime. The
//! snapshots show what a run's CI log shows, ticket IDs' random parts numbered in order.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::{Instant, sleep};

use super::*;
use crate::queue::memory::{Fault, MemoryStore};

const LEASE: Duration = Duration::from_secs(60);

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `secs` after the test started, on the runs' wall clock.
fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

/// The runs' clock: made once when the test starts, shared by its runs.
fn clock() -> Clock {
    Clock::starting_at(t0())
}

fn opts() -> QueueOptions {
    QueueOptions {
        lease: LEASE,
        timeout: None,
    }
}

fn commit(n: u64) -> String {
    n.to_string().repeat(40)
}

fn info(n: u64) -> TicketInfo {
    TicketInfo {
        commit: Some(commit(n)),
        pr: Some(n),
        run_url: Some(format!("https://github.com/o/r/actions/runs/{n}")),
        who: format!("runner pid {n}"),
    }
}

/// Another run's ticket, holding the queue since `since` with a lease that ends at `until`
/// (seconds from the start).
fn holder(since: i64, until: i64) -> Ticket {
    Ticket {
        id: ticket_id(at(since)),
        commit: Some(commit(9)),
        pr: Some(9),
        run_url: Some("https://github.com/o/r/actions/runs/9".to_string()),
        who: "runner pid 9".to_string(),
        enqueued_at: at(since),
        holding_since: Some(at(since)),
        lease_expires: at(until),
    }
}

/// Run `n` waits for its turn.
async fn turn<'a>(
    ui: &'a Ui,
    store: &'a MemoryStore,
    n: u64,
    opts: QueueOptions,
    clock: Clock,
) -> Result<Holding<'a, MemoryStore>, Error> {
    wait_turn_on(ui, store, &info(n), &opts, clock).await
}

/// What `ui` wrote, ticket IDs numbered (`log_of`).
fn log(ui: &Ui) -> String {
    log_of(&ui.stderr())
}

/// `text` with each ticket ID's random part numbered in the order it first appears.
fn log_of(text: &str) -> String {
    let id = regex::Regex::new(r"\b(\d{13})-([0-9a-f]{8})\b").unwrap();
    let mut seen: Vec<String> = Vec::new();
    id.replace_all(text, |c: &regex::Captures| {
        let random = c[2].to_string();
        let n = match seen.iter().position(|s| *s == random) {
            Some(n) => n + 1,
            None => {
                seen.push(random);
                seen.len()
            }
        };
        format!("{}-<{n}>", &c[1])
    })
    .into_owned()
}

#[tokio::test(start_paused = true)]
async fn a_run_joins_an_empty_queue_acquires_it_and_releases_it_with_its_commit() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    let held = turn(&ui, &store, 1, opts(), clock).await.unwrap();
    let doc = store.doc();
    assert!(doc.holds(&held.ticket.id), "{doc:#?}");
    assert_eq!(doc.tickets[0].holding_since, Some(t0()));
    assert_eq!(doc.tickets[0].lease_expires, at(60));
    assert_eq!(held.last_applied, None);
    let id = held.ticket.id.clone();
    held.release(Some(&commit(1))).await;
    let doc = store.doc();
    assert!(doc.tickets.is_empty());
    assert_eq!(
        doc.last_applied,
        Some(Applied {
            commit: commit(1),
            ticket: id,
            pr: Some(1),
            at: t0(),
        })
    );
    insta::assert_snapshot!(log(&ui));
}

#[tokio::test(start_paused = true)]
async fn a_second_run_waits_behind_the_holder_and_acquires_after_its_release() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (ui_1, ui_2) = (Ui::capture(), Ui::capture());
    let first = turn(&ui_1, &store, 1, opts(), clock).await.unwrap();
    let first_id = first.ticket.id.clone();
    let started = Instant::now();
    let applying = async {
        sleep(Duration::from_millis(45_500)).await;
        first.confirm().await.unwrap();
        first.release(Some(&commit(1))).await;
    };
    let (second, ()) = tokio::join!(turn(&ui_2, &store, 2, opts(), clock), applying);
    let second = second.unwrap();
    // At the first poll after the release.
    assert_eq!(started.elapsed(), Duration::from_secs(46));
    let seen = second.last_applied.clone().unwrap();
    assert_eq!((seen.commit, seen.ticket), (commit(1), first_id));
    assert!(store.doc().holds(&second.ticket.id));
    insta::assert_snapshot!(log_of(&format!(
        "--- the first run ---\n{}--- the second run ---\n{}",
        ui_1.stderr(),
        ui_2.stderr()
    )));
}

#[tokio::test(start_paused = true)]
async fn a_dead_holders_lease_runs_out_and_the_next_run_takes_over() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    let dead = holder(-120, 5);
    store.edit(|doc| {
        doc.enqueue(dead.clone());
    });
    let started = Instant::now();
    let held = turn(&ui, &store, 1, opts(), clock).await.unwrap();
    // A lease that ends at 5 s is still valid then; the poll at 6 s removes it.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    let doc = store.doc();
    assert!(doc.holds(&held.ticket.id));
    assert!(doc.find(&dead.id).is_none(), "{doc:#?}");
    insta::assert_snapshot!(log(&ui));
}

#[tokio::test(start_paused = true)]
async fn a_ticket_dropped_by_another_run_is_put_back_in_its_place() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    store.edit(|doc| {
        doc.enqueue(holder(-10, 600));
    });
    let others = async {
        sleep(Duration::from_millis(2_500)).await;
        // Another run found this run's lease over (it could not renew) and removed it.
        let mine = store.doc().tickets[1].clone();
        store.edit(|doc| {
            doc.remove(&mine.id);
        });
        sleep(Duration::from_secs(2)).await;
        // The holder is done.
        store.edit(|doc| {
            doc.tickets.remove(0);
        });
        mine
    };
    let (held, mine) = tokio::join!(turn(&ui, &store, 1, opts(), clock), others);
    let held = held.unwrap();
    assert_eq!(held.ticket.id, mine.id);
    assert_eq!(held.ticket.enqueued_at, mine.enqueued_at);
    insta::assert_snapshot!(log(&ui));
}

#[tokio::test(start_paused = true)]
async fn a_holder_that_lost_the_queue_is_told_so_and_records_nothing() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    let held = turn(&ui, &store, 1, opts(), clock).await.unwrap();
    sleep(Duration::from_secs(20)).await;
    held.confirm().await.unwrap();
    assert_eq!(store.doc().tickets[0].lease_expires, at(80));

    // Another run removed this one's ticket as expired and acquired the queue.
    let taker = holder(21, 81);
    store.edit(|doc| {
        doc.tickets.clear();
        doc.enqueue(taker.clone());
    });
    let err = held.confirm().await.unwrap_err();
    assert!(
        matches!(&err, Error::LeaseLost { ticket, holder }
            if *ticket == held.ticket.id && holder.as_deref() == Some(describe(&taker).as_str())),
        "{err:?}"
    );
    // The heartbeat says so, once.
    tokio::select! {
        _ = held.heartbeat() => unreachable!(),
        _ = sleep(LEASE * 2) => {}
    }
    held.release(Some(&commit(1))).await;
    let doc = store.doc();
    assert_eq!(doc.tickets, [taker]);
    assert_eq!(doc.last_applied, None);
    insta::assert_snapshot!(log_of(&format!("{}error: {err}", ui.stderr())));
}

#[tokio::test(start_paused = true)]
async fn transient_errors_and_a_lost_answer_are_tried_again_without_a_second_ticket() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    store.fail_reads(3, Fault::Transient);
    store.fail_writes(1, Fault::LostAnswer);
    let held = turn(&ui, &store, 1, opts(), clock).await.unwrap();
    let doc = store.doc();
    assert_eq!(doc.tickets.len(), 1, "{doc:#?}");
    assert!(doc.holds(&held.ticket.id));
    // Joining: 3 failed reads, a read and a write that landed unanswered, a read that finds
    // the ticket in place; acquiring: a read and a write.
    assert_eq!(store.calls(), (6, 2));
    assert!(!ui.stderr().contains("warning"), "{}", ui.stderr());
}

#[tokio::test(start_paused = true)]
async fn a_poll_that_keeps_failing_is_said_once_and_the_run_waits_on() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    store.edit(|doc| {
        doc.enqueue(holder(-10, 600));
    });
    let others = async {
        sleep(Duration::from_millis(2_500)).await;
        // More failures than one change tries: the poll at 3 s fails, the next one succeeds.
        store.fail_reads(7, Fault::Transient);
        sleep(Duration::from_secs(30)).await;
        store.edit(|doc| {
            doc.tickets.remove(0);
        });
    };
    let (held, ()) = tokio::join!(turn(&ui, &store, 1, opts(), clock), others);
    let held = held.unwrap();
    assert!(store.doc().holds(&held.ticket.id));
    let shown = ui.stderr();
    assert_eq!(
        shown.matches("warning: the apply queue cannot be read right now (the apply queue in memory cannot be read: the read was throttled); still waiting and trying again").count(),
        1,
        "{shown}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_leaves_no_ticket_behind() {
    // While waiting.
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    let first = holder(-10, 600);
    store.edit(|doc| {
        doc.enqueue(first.clone());
    });
    let others = async {
        sleep(Duration::from_millis(2_500)).await;
        store.fail_reads(1, Fault::Permanent);
    };
    let (waited, ()) = tokio::join!(turn(&ui, &store, 1, opts(), clock), others);
    let Err(err) = waited else {
        panic!("acquired despite a permanent error")
    };
    assert!(matches!(err, Error::QueueDocument { .. }), "{err:?}");
    assert_eq!(store.doc().tickets, [first]);
    insta::assert_snapshot!(log_of(&format!("{}error: {err}", ui.stderr())));

    // While joining.
    let (ui, store) = (Ui::capture(), MemoryStore::new());
    store.fail_writes(1, Fault::Permanent);
    let Err(err) = turn(&ui, &store, 1, opts(), clock).await else {
        panic!("joined despite a permanent error")
    };
    assert!(matches!(err, Error::QueueDocument { .. }), "{err:?}");
    assert!(store.doc().tickets.is_empty());
    assert!(
        ui.stderr().contains("left the apply queue"),
        "{}",
        ui.stderr()
    );
}

#[tokio::test(start_paused = true)]
async fn a_storm_of_other_runs_writes_is_outlasted() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    store.interfere(150, |_| {});
    let held = turn(&ui, &store, 1, opts(), clock).await.unwrap();
    assert!(store.doc().holds(&held.ticket.id));
    // 150 conflicting writes and the one that landed to join, one to acquire.
    assert_eq!(store.calls().1, 152);
}

#[tokio::test(start_paused = true)]
async fn writes_that_always_conflict_give_up_and_leave_no_ticket() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    store.interfere(CONFLICT_TRIES + 1, |_| {});
    let Err(err) = turn(&ui, &store, 1, opts(), clock).await else {
        panic!("joined despite endless conflicts")
    };
    assert!(
        matches!(
            err,
            Error::QueueContention {
                tries: CONFLICT_TRIES,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(store.doc().tickets.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_release_without_an_apply_keeps_what_was_applied_before() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    let before = Applied {
        commit: commit(7),
        ticket: ticket_id(at(-600)),
        pr: Some(7),
        at: at(-500),
    };
    store.edit(|doc| doc.last_applied = Some(before.clone()));
    let held = turn(&ui, &store, 1, opts(), clock).await.unwrap();
    assert_eq!(held.last_applied.as_ref(), Some(&before));
    held.release(None).await;
    let doc = store.doc();
    assert!(doc.tickets.is_empty());
    assert_eq!(doc.last_applied, Some(before));
}

#[tokio::test(start_paused = true)]
async fn giving_up_after_the_timeout_removes_the_ticket() {
    let (ui, store, clock) = (Ui::capture(), MemoryStore::new(), clock());
    let first = holder(-10, 600);
    store.edit(|doc| {
        doc.enqueue(first.clone());
    });
    let opts = QueueOptions {
        timeout: Some(Duration::from_secs(5)),
        ..opts()
    };
    let started = Instant::now();
    let Err(err) = turn(&ui, &store, 1, opts, clock).await else {
        panic!("acquired a held queue")
    };
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(
        matches!(&err, Error::QueueTimeout { waited, .. } if waited == "5s"),
        "{err:?}"
    );
    assert_eq!(store.doc().tickets, [first]);
    insta::assert_snapshot!(log_of(&format!("{}error: {err}", ui.stderr())));
}

/// One of several runs on one store: waits, applies for 10 s, releases. Records what it saw.
async fn take_a_turn(
    n: u64,
    store: &MemoryStore,
    clock: Clock,
    holders: &Cell<u32>,
    turns: &RefCell<Vec<(String, Option<String>)>>,
) {
    let ui = Ui::capture();
    let held = turn(&ui, store, n, opts(), clock).await.unwrap();
    holders.set(holders.get() + 1);
    assert_eq!(holders.get(), 1, "two runs hold the queue at once");
    turns.borrow_mut().push((
        commit(n),
        held.last_applied.as_ref().map(|a| a.commit.clone()),
    ));
    sleep(Duration::from_secs(10)).await;
    held.confirm().await.unwrap();
    holders.set(holders.get() - 1);
    held.release(Some(&commit(n))).await;
}

#[tokio::test(start_paused = true)]
async fn five_runs_arriving_at_once_take_turns_in_queue_order() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (holders, turns) = (Cell::new(0), RefCell::new(Vec::new()));
    let queued = async {
        sleep(Duration::from_millis(500)).await;
        let doc = store.doc();
        doc.tickets
            .iter()
            .map(|t| t.commit.clone().unwrap())
            .collect::<Vec<_>>()
    };
    let (queued, (), (), (), (), ()) = tokio::join!(
        queued,
        take_a_turn(1, &store, clock, &holders, &turns),
        take_a_turn(2, &store, clock, &holders, &turns),
        take_a_turn(3, &store, clock, &holders, &turns),
        take_a_turn(4, &store, clock, &holders, &turns),
        take_a_turn(5, &store, clock, &holders, &turns),
    );
    let turns = turns.into_inner();
    let order: Vec<String> = turns.iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(order, queued, "turns in the queue's order");
    // Each saw what the one before it applied.
    for pair in turns.windows(2) {
        assert_eq!(pair[1].1.as_ref(), Some(&pair[0].0));
    }
    assert_eq!(turns[0].1, None);
    let doc = store.doc();
    assert!(doc.tickets.is_empty());
    assert_eq!(doc.last_applied.map(|a| a.commit), order.last().cloned());
}

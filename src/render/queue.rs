//! `queue status` for people (a headline and a table) and for scripts (the §10 JSON), and the
//! queue head `lock status` shows.
//!
//! Data in, `String` out; the time to measure waits against is passed in. Ticket fields were
//! written by other runs, so control characters are replaced before they reach a terminal.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::duration::age_words;
use crate::queue::doc::{QueueDoc, Ticket};
use crate::render::lock::QueueHead;
use crate::render::table::{TableOptions, bold_header, clean, styled_table};

/// One ticket in the §10 JSON: `holder` and each of `waiting`. The fields `lock status` shows
/// for the holder (`ticket`, `commit`, `pr`, `run_url`, `since` — holding since, or waiting
/// since — and `lease_expires`), and more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketJson {
    #[serde(flatten)]
    pub head: QueueHead,
    pub who: String,
    pub enqueued_at: String,
    pub waited_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedJson {
    pub commit: String,
    pub pr: Option<u64>,
    pub at: String,
    pub ticket: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusJson {
    /// Where the queue lives.
    pub store: String,
    pub holder: Option<TicketJson>,
    pub waiting: Vec<TicketJson>,
    pub last_applied: Option<AppliedJson>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ticket_json(t: &Ticket, now: DateTime<Utc>) -> TicketJson {
    TicketJson {
        head: QueueHead {
            ticket: t.id.clone(),
            commit: t.commit.clone(),
            pr: t.pr,
            run_url: t.run_url.clone(),
            since: rfc3339(t.holding_since.unwrap_or(t.enqueued_at)),
            lease_expires: Some(rfc3339(t.lease_expires)),
        },
        who: t.who.clone(),
        enqueued_at: t.enqueued_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        waited_seconds: (now - t.enqueued_at).num_seconds().max(0),
    }
}

pub fn status_json(doc: &QueueDoc, store: &str, now: DateTime<Utc>) -> StatusJson {
    StatusJson {
        store: store.to_string(),
        holder: doc.holder().map(|t| ticket_json(t, now)),
        waiting: doc.waiting().iter().map(|t| ticket_json(t, now)).collect(),
        last_applied: doc.last_applied.as_ref().map(|a| AppliedJson {
            commit: a.commit.clone(),
            pr: a.pr,
            at: rfc3339(a.at),
            ticket: a.ticket.clone(),
        }),
    }
}

/// The holder, for `lock status`; `None` when nobody holds the queue.
pub fn head(doc: &QueueDoc, now: DateTime<Utc>) -> Option<QueueHead> {
    doc.holder().map(|t| ticket_json(t, now).head)
}

/// "Applying: abc1234 of #42 for 2m 5s. 2 waiting." and the like.
pub fn headline(doc: &QueueDoc, now: DateTime<Utc>) -> String {
    let waiting = doc.waiting().len();
    let waiting_words = match waiting {
        0 => "nobody waiting".to_string(),
        1 => "1 run waiting".to_string(),
        n => format!("{n} runs waiting"),
    };
    match doc.holder() {
        Some(t) => format!(
            "Applying: {} for {}; {waiting_words}.",
            clean(&crate::queue::describe(t), false),
            age_words((now - t.holding_since.unwrap_or(now)).max(chrono::Duration::zero()))
        ),
        None if waiting > 0 => format!("Nobody is applying; {waiting_words}."),
        None => "The apply queue is empty.".to_string(),
    }
}

/// The human report, ending in a newline.
pub fn status_text(doc: &QueueDoc, store: &str, now: DateTime<Utc>, color: bool) -> String {
    let mut out = headline(doc, now);
    out.push('\n');
    out.push_str(&format!("Queue: {}\n", clean(store, false)));
    if let Some(a) = &doc.last_applied {
        out.push_str(&format!(
            "Last applied: {}{} at {} ({} ago)\n",
            clean(&a.commit, false),
            a.pr.map(|p| format!(" of #{p}")).unwrap_or_default(),
            rfc3339(a.at),
            age_words((now - a.at).max(chrono::Duration::zero()))
        ));
    }
    if doc.tickets.is_empty() {
        return out;
    }
    let mut t = styled_table(&TableOptions { color, width: None });
    bold_header(
        &mut t,
        [
            "#",
            "State",
            "For",
            "Commit",
            "PR",
            "Lease ends",
            "Run",
            "Ticket",
        ],
        color,
    );
    for (i, tk) in doc.tickets.iter().enumerate() {
        let (state, since) = match tk.holding_since {
            Some(h) => ("applying", h),
            None => ("waiting", tk.enqueued_at),
        };
        let lease_left = tk.lease_expires - now;
        let lease = if lease_left < chrono::Duration::zero() {
            "expired".to_string()
        } else {
            format!("in {}", age_words(lease_left))
        };
        t.add_row(vec![
            i.to_string(),
            state.to_string(),
            age_words((now - since).max(chrono::Duration::zero())),
            tk.commit
                .as_deref()
                .map(|c| clean(&c.chars().take(12).collect::<String>(), false))
                .unwrap_or_default(),
            tk.pr.map(|p| format!("#{p}")).unwrap_or_default(),
            lease,
            tk.run_url
                .as_deref()
                .map(|u| clean(u, false))
                .unwrap_or_else(|| clean(&tk.who, false)),
            clean(&tk.id, false),
        ]);
    }
    out.push('\n');
    out.push_str(&t.trim_fmt());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn doc() -> QueueDoc {
        let mut d = QueueDoc::new();
        for (i, id) in ["0001-a", "0002-b", "0003-c"].iter().enumerate() {
            d.enqueue(Ticket {
                id: id.to_string(),
                commit: Some(format!("{i}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
                pr: Some(40 + i as u64),
                run_url: (i == 0).then(|| "https://github.com/o/r/actions/runs/1".into()),
                who: "runner-1 pid 7".into(),
                enqueued_at: at(i as i64 * 10),
                holding_since: None,
                lease_expires: at(200),
            });
        }
        d.acquire("0001-a", at(5), chrono::Duration::seconds(180));
        d
    }

    #[test]
    fn json_has_the_holder_and_the_waiting_in_order() {
        let j = status_json(&doc(), "the file q.json", at(65));
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["holder"]["ticket"], "0001-a");
        assert_eq!(v["holder"]["since"], rfc3339(at(5)));
        assert_eq!(v["holder"]["lease_expires"], rfc3339(at(185)));
        let waiting: Vec<_> = v["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["ticket"].as_str().unwrap())
            .collect();
        assert_eq!(waiting, ["0002-b", "0003-c"]);
        assert_eq!(v["waiting"][1]["waited_seconds"], 45);
        let empty = serde_json::to_value(status_json(&QueueDoc::new(), "s", at(0))).unwrap();
        assert_eq!(empty["holder"], serde_json::Value::Null);
        assert_eq!(empty["waiting"], serde_json::json!([]));
    }

    #[test]
    fn text_report() {
        insta::assert_snapshot!(status_text(&doc(), "the file q.json", at(65), false));
        assert_eq!(
            status_text(&QueueDoc::new(), "s", at(0), false),
            "The apply queue is empty.\nQueue: s\n"
        );
    }

    #[test]
    fn head_for_lock_status() {
        let h = head(&doc(), at(65)).unwrap();
        assert_eq!(h.ticket, "0001-a");
        assert_eq!(h.pr, Some(40));
        assert!(head(&QueueDoc::new(), at(65)).is_none());
    }
}

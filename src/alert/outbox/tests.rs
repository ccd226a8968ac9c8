//! Unit tests of the outbox over an in-memory store and in-process transports.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::alert::sink::{Delivery, Sink, SinkError, Summary, Transport};
use crate::telemetry::Metrics;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap()
}

fn line(s: &str) -> Payload {
    Payload::Line { text: s.into() }
}

/// Records what it was sent; fails while `fail` is above zero.
#[derive(Debug, Default)]
struct Recorder {
    fail: Mutex<u32>,
    sent: Mutex<Vec<(String, String)>>,
}

impl Transport for std::sync::Arc<Recorder> {
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError> {
        let mut f = self.fail.lock().unwrap();
        if *f > 0 {
            *f -= 1;
            return Err(SinkError::Transient("down".into()));
        }
        let Payload::Line { text } = d.payload else {
            return Err(SinkError::Permanent("not a line".into()));
        };
        self.sent
            .lock()
            .unwrap()
            .push((d.idempotency_key.to_owned(), text.clone()));
        Ok(())
    }
    fn summary(&self, s: &Summary) -> Payload {
        line(&format!("summary {}", s.suppressed))
    }
}

fn sink(r: &std::sync::Arc<Recorder>, limit: Option<RateLimit>) -> Sink {
    Sink {
        name: "s".into(),
        transport: Box::new(r.clone()),
        rate_limit: limit,
    }
}

fn outbox() -> Outbox {
    Outbox::new(Store::open_in_memory().unwrap()).with_jitter(|| 0.0)
}

#[test]
fn a_newer_version_supersedes_an_undelivered_one_and_keys_are_stable() {
    let mut o = outbox();
    o.enqueue("s", "k", AlertStatus::Firing, &line("v1"), t(0))
        .unwrap();
    o.enqueue("s", "k", AlertStatus::Firing, &line("v2"), t(1))
        .unwrap();
    o.enqueue("other", "k", AlertStatus::Firing, &line("x"), t(1))
        .unwrap();
    let due: Vec<_> = o
        .due(t(2))
        .unwrap()
        .into_iter()
        .filter(|r| r.sink == "s")
        .collect();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].version, &due[0].payload), (2, &line("v2")));
    assert_eq!(
        due[0].idempotency_key(),
        idempotency_key("k", AlertStatus::Firing, 2)
    );
    assert_ne!(
        idempotency_key("k", AlertStatus::Firing, 2),
        idempotency_key("k", AlertStatus::Resolved, 2)
    );
    assert_eq!(o.depth().unwrap(), [("other".into(), 1), ("s".into(), 1)]);
}

#[test]
fn failures_back_the_sink_off_and_nothing_is_lost() {
    let r = std::sync::Arc::new(Recorder::default());
    *r.fail.lock().unwrap() = 3;
    let s = [sink(&r, None)];
    let mut o = outbox().with_backoff(Backoff {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(8),
    });
    for i in 0..5 {
        o.enqueue(
            "s",
            &format!("k{i}"),
            AlertStatus::Firing,
            &line(&i.to_string()),
            t(0),
        )
        .unwrap();
    }
    let mut now = t(0);
    let mut retried = 0;
    while now < t(120) {
        let rep = o.deliver_due(&s, None, now).unwrap();
        retried += rep.retried;
        now += TimeDelta::seconds(1);
    }
    assert_eq!(retried, 3, "one probe per backoff, not one per row");
    let sent = r.sent.lock().unwrap().clone();
    let texts: Vec<_> = sent.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(texts, ["0", "1", "2", "3", "4"]);
    assert!(o.due(now).unwrap().is_empty());
    // The rows record their failed attempts.
    let attempts: i64 = o
        .store
        .connection()
        .query_row(
            "SELECT attempts FROM alert_outbox WHERE alert_key = 'k0'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 3);
}

#[test]
fn a_permanent_failure_does_not_block_the_queue() {
    let r = std::sync::Arc::new(Recorder::default());
    let s = [sink(&r, None)];
    let mut o = outbox();
    let email = Payload::Email {
        subject: "s".into(),
        text: "t".into(),
        html: None,
    };
    o.enqueue("s", "bad", AlertStatus::Firing, &email, t(0))
        .unwrap();
    o.enqueue("s", "good", AlertStatus::Firing, &line("ok"), t(0))
        .unwrap();
    let rep = o.deliver_due(&s, None, t(0)).unwrap();
    assert_eq!((rep.failed, rep.delivered), (1, 1));
    assert!(o.due(t(1)).unwrap().is_empty());
}

#[test]
fn the_rate_limit_suppresses_and_later_sends_one_summary() {
    let r = std::sync::Arc::new(Recorder::default());
    let limit = RateLimit {
        max: 2,
        per: Duration::from_secs(60),
    };
    let s = [sink(&r, Some(limit))];
    let mut o = outbox();
    let m = Metrics::new();
    for i in 0..5 {
        o.enqueue(
            "s",
            &format!("k{i}"),
            AlertStatus::Firing,
            &line(&i.to_string()),
            t(0),
        )
        .unwrap();
    }
    let rep = o.deliver_due(&s, Some(&m), t(0)).unwrap();
    assert_eq!((rep.delivered, rep.suppressed), (2, 0));
    let rep = o.deliver_due(&s, Some(&m), t(1)).unwrap();
    assert_eq!((rep.delivered, rep.suppressed), (0, 3));
    assert!(o.due(t(2)).unwrap().is_empty());
    let rep = o.deliver_due(&s, Some(&m), t(61)).unwrap();
    assert_eq!((rep.summaries, rep.delivered), (1, 1));
    let texts: Vec<_> = r.sent.lock().unwrap().iter().map(|s| s.1.clone()).collect();
    assert_eq!(texts, ["0", "1", "summary 3"]);
    let text = m.render();
    assert!(
        text.contains("loginwatch_alerts_total{result=\"suppressed\",sink=\"s\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("loginwatch_alert_outbox_depth{sink=\"s\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("loginwatch_alert_delivery_seconds_count{sink=\"s\"} 3"),
        "{text}"
    );
}

#[test]
fn enqueue_entry_commits_every_sink_and_prune_keeps_pending_rows() {
    let r = std::sync::Arc::new(Recorder::default());
    let s = [sink(&r, None)];
    let mut o = outbox();
    let json = |p: &Payload| serde_json::to_string(p).unwrap();
    let entry = OutboxEntry {
        alert_key: "k".into(),
        status: AlertStatus::Firing,
        per_sink: vec![
            ("s".into(), json(&line("a"))),
            ("later".into(), json(&line("b"))),
        ],
    };
    o.enqueue_entry(&entry, t(0)).unwrap();
    assert_eq!(o.depth().unwrap(), [("later".into(), 1), ("s".into(), 1)]);
    o.deliver_due(&s, None, t(0)).unwrap();
    assert_eq!(o.prune(t(0)).unwrap(), 0, "finished at t(0), not before");
    assert_eq!(o.prune(t(1)).unwrap(), 1);
    assert_eq!(o.depth().unwrap(), [("later".into(), 1)]);
}

#[test]
fn an_unreadable_row_is_failed_not_a_stall() {
    let mut o = outbox();
    o.enqueue("s", "bad", AlertStatus::Firing, &line("x"), t(0))
        .unwrap();
    o.enqueue("s", "good", AlertStatus::Firing, &line("y"), t(0))
        .unwrap();
    o.store
        .connection()
        .execute(
            "UPDATE alert_outbox SET payload = '{' WHERE alert_key = 'bad'",
            [],
        )
        .unwrap();
    let due = o.due(t(0)).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].alert_key, "good");
    assert_eq!(o.depth().unwrap(), [("s".into(), 1)]);
}

/// Enqueues `n` rows `k0`..`k{n-1}` with texts "0".."n-1" for sink "s".
fn backlog(o: &mut Outbox, n: usize) {
    for i in 0..n {
        o.enqueue(
            "s",
            &format!("k{i}"),
            AlertStatus::Firing,
            &line(&i.to_string()),
            t(0),
        )
        .unwrap();
    }
}

#[test]
fn a_backlog_of_several_pages_is_sent_in_order_in_one_pass() {
    let r = std::sync::Arc::new(Recorder::default());
    let s = [sink(&r, None)];
    let mut o = outbox();
    let n = 3 * rows::PAGE + 5;
    backlog(&mut o, n);
    // An unreadable row in the second page is failed and skipped, not counted.
    o.store
        .connection()
        .execute(
            "UPDATE alert_outbox SET payload = '{' WHERE alert_key = ?1",
            [format!("k{}", rows::PAGE + 3)],
        )
        .unwrap();
    let rep = o.deliver_due(&s, None, t(0)).unwrap();
    assert_eq!(rep.delivered as usize, n - 1);
    let texts: Vec<String> = r.sent.lock().unwrap().iter().map(|s| s.1.clone()).collect();
    let want: Vec<String> = (0..n)
        .filter(|i| *i != rows::PAGE + 3)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(texts, want);
    assert!(o.due(t(1)).unwrap().is_empty());
    let failed: i64 = o
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM alert_outbox WHERE state = 'failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 1);
}

#[test]
fn the_rate_limit_counts_across_pages_and_a_failure_stops_mid_page() {
    let r = std::sync::Arc::new(Recorder::default());
    let max = 2 * rows::PAGE as u32 + 1;
    let limit = RateLimit {
        max,
        per: Duration::from_secs(60),
    };
    let s = [sink(&r, Some(limit))];
    let mut o = outbox();
    let n = 3 * rows::PAGE;
    backlog(&mut o, n);
    let rep = o.deliver_due(&s, None, t(0)).unwrap();
    assert_eq!((rep.delivered, rep.suppressed), (max, 0));
    // The window is full: the rest is suppressed in the next pass, then summarised.
    let rep = o.deliver_due(&s, None, t(1)).unwrap();
    assert_eq!(
        (rep.delivered, rep.suppressed as usize),
        (0, n - max as usize)
    );
    let rep = o.deliver_due(&s, None, t(61)).unwrap();
    assert_eq!((rep.summaries, rep.delivered), (1, 1));
    let sent = r.sent.lock().unwrap();
    assert_eq!(sent.len(), max as usize + 1);
    assert_eq!(sent[max as usize - 1].1, (max - 1).to_string());
    assert_eq!(
        sent[max as usize].1,
        format!("summary {}", n - max as usize)
    );
    drop(sent);
    // A transient failure in the middle of a page stops the pass there.
    let r2 = std::sync::Arc::new(Recorder::default());
    let s2 = [sink(&r2, None)];
    let mut o2 = outbox();
    backlog(&mut o2, rows::PAGE + 10);
    let rep = o2.deliver_due(&s2, None, t(0)).unwrap();
    assert_eq!(rep.delivered as usize, rows::PAGE + 10);
    backlog(&mut o2, 3);
    *r2.fail.lock().unwrap() = 1;
    let rep = o2.deliver_due(&s2, None, t(1)).unwrap();
    assert_eq!((rep.delivered, rep.retried), (0, 1));
    assert_eq!(o2.due(t(100)).unwrap().len(), 3);
}

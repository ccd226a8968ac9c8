use std::sync::Arc;

use chrono::TimeZone;

use super::*;
use crate::decision::Mode;
use crate::event::{Action, AuthEvent, Outcome};
use crate::rules::Engine;

fn feed(resume: u64) -> (Feed, mpsc::Sender<Delivery>, mpsc::UnboundedReceiver<u64>) {
    let (out, deliveries) = mpsc::channel(64);
    let (acks, committed) = mpsc::unbounded_channel();
    let f = Feed::new(deliveries, acks, cursor_name("S", "c"), resume);
    (f, out, committed)
}

fn pipeline() -> Pipeline {
    let rules = Arc::new(crate::rules::builtin().unwrap());
    Pipeline::new(
        Engine::new(rules, Mode::Recommend),
        crate::pipeline::geoip_only(None),
    )
}

fn message(seq: u64, user: &str) -> Delivery {
    let t = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let mut ev = AuthEvent::new(t, Action::Login, Outcome::Failure);
    ev.user = Some(user.into());
    Delivery {
        seq,
        body: wire::encode("web1", "auth", &ev).into(),
    }
}

#[test]
fn events_move_the_position_and_redeliveries_are_dropped() {
    let (mut f, out, mut acks) = feed(3);
    let (mut p, m) = (pipeline(), Metrics::new());
    let mut made = Vec::new();
    assert_eq!(f.cursor().unwrap().cursor, "3", "resumes where it was");
    for d in [message(2, "a"), message(4, "b"), message(5, "c")] {
        out.try_send(d).unwrap();
    }
    let d = f.drain(100, &mut p, &m, &mut made);
    assert_eq!(
        d,
        Drained {
            taken: 3,
            advanced: 2
        }
    );
    assert_eq!(acks.try_recv(), Ok(3), "an old redelivery is acked again");
    let events = |o: &str| m.events.with_label_values(&[SOURCE, o]).get();
    assert_eq!(events("failure"), 2, "seq 2 was applied before the restart");
    assert_eq!(f.cursor().unwrap().cursor, "5");
    assert!(acks.try_recv().is_err(), "nothing acked before the commit");

    // Applied but not committed: a redelivery is dropped, not acked.
    out.try_send(message(5, "c")).unwrap();
    f.drain(100, &mut p, &m, &mut made);
    assert!(acks.try_recv().is_err());
    assert_eq!(events("failure"), 2);
    f.committed();
    assert_eq!(acks.try_recv(), Ok(5));
    f.committed();
    assert!(acks.try_recv().is_err(), "nothing new to ack");
}

#[test]
fn a_bad_message_is_counted_skipped_and_committed_past() {
    let (mut f, out, _acks) = feed(0);
    let (mut p, m) = (pipeline(), Metrics::new());
    let mut made = Vec::new();
    assert!(f.cursor().is_none(), "nothing applied: no position");
    for (seq, body) in [
        (1, &b"not json"[..]),
        (2, br#"{"v":2,"x":1}"#),
        (3, br#"{"v":1}"#),
    ] {
        out.try_send(Delivery {
            seq,
            body: bytes::Bytes::copy_from_slice(body),
        })
        .unwrap();
    }
    out.try_send(message(9, "a")).unwrap();
    let d = f.drain(100, &mut p, &m, &mut made);
    assert_eq!(d.advanced, 4);
    let bad = m
        .unparsed_lines
        .with_label_values(&[SOURCE, "malformed"])
        .get();
    assert_eq!(bad, 3);
    assert_eq!(f.cursor().unwrap().cursor, "9");
}

#[test]
fn resume_reads_the_committed_cursor() {
    let name = cursor_name("S", "c");
    let cursors = vec![
        Cursor {
            source: "journal".into(),
            cursor: "x".into(),
        },
        Cursor {
            source: name.clone(),
            cursor: "42".into(),
        },
    ];
    assert_eq!(Feed::resume_from(&cursors, &name), 42);
    assert_eq!(Feed::resume_from(&cursors[..1], &name), 0);
}

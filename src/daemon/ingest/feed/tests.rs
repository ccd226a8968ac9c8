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
    Delivery::live(seq, wire::encode("web1", "auth", &ev).into())
}

/// The one cursor's position.
fn position(f: &Feed) -> Option<String> {
    let c = f.cursors();
    assert!(c.len() <= 1, "{c:?}");
    c.into_iter().next().map(|c| c.cursor)
}

#[test]
fn events_move_the_position_and_redeliveries_are_dropped() {
    let (mut f, out, mut acks) = feed(3);
    let (mut p, m) = (pipeline(), Metrics::new());
    let mut made = Vec::new();
    assert_eq!(position(&f).unwrap(), "3", "resumes where it was");
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
    assert_eq!(position(&f).unwrap(), "5");
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
    assert!(position(&f).is_none(), "nothing applied: no position");
    for (seq, body) in [
        (1, &b"not json"[..]),
        (2, br#"{"v":2,"x":1}"#),
        (3, br#"{"v":1}"#),
    ] {
        out.try_send(Delivery::live(seq, bytes::Bytes::copy_from_slice(body)))
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
    assert_eq!(position(&f).unwrap(), "9");
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

fn failure(part: usize, seq: u64, user: &str, kind: Kind) -> Delivery {
    let t = chrono::Utc
        .with_ymd_and_hms(2026, 3, 1, 9, 0, seq as u32)
        .unwrap();
    let mut ev = AuthEvent::new(t, Action::Login, Outcome::Failure);
    ev.user = Some(user.into());
    ev.reason = Some(crate::event::Reason::BadPassword);
    Delivery {
        part,
        seq,
        body: wire::encode("web1", "auth", &ev).into(),
        kind,
    }
}

#[test]
fn partitions_keep_their_own_positions_and_a_rebuild_decides_nothing() {
    let (out, deliveries) = mpsc::channel(64);
    let (a_acks, mut a_committed) = mpsc::unbounded_channel();
    let (b_acks, mut b_committed) = mpsc::unbounded_channel();
    let parts = vec![
        FeedPart {
            acks: a_acks,
            cursor: cursor_name("S", "a"),
            resume: 0,
        },
        FeedPart {
            acks: b_acks,
            cursor: cursor_name("S", "b"),
            resume: 10,
        },
    ];
    let fence = Fence::always();
    let mut f = Feed::parts(deliveries, parts, fence);
    let (mut p, m) = (pipeline(), Metrics::new());
    let mut made = Vec::new();
    // Part b: its slot's last holder committed up to 14; 11..14 are read
    // again (and 12 twice, a rebuild tried again), then it goes live.
    for d in [
        failure(1, 11, "bob", Kind::Rebuild),
        failure(1, 12, "bob", Kind::Rebuild),
        failure(1, 12, "bob", Kind::Rebuild),
        failure(1, 13, "bob", Kind::Rebuild),
        failure(1, 14, "bob", Kind::Rebuild),
        Delivery {
            part: 1,
            seq: 14,
            body: bytes::Bytes::new(),
            kind: Kind::Rebuilt,
        },
        failure(0, 3, "ann", Kind::Live),
        failure(1, 15, "bob", Kind::Live),
    ] {
        out.try_send(d).unwrap();
    }
    let d = f.drain(100, &mut p, &m, &mut made);
    assert_eq!(d.taken, 8);
    assert_eq!(d.advanced, 3, "the marker and two live events");
    // The built-in lockout counts 5 failures of a user: 4 rebuilt + 1 live.
    let rules: Vec<&str> = made.iter().map(|d| &*d.rule).collect();
    assert!(
        !made.is_empty(),
        "the live fifth failure decides on rebuilt windows"
    );
    assert!(
        made.iter().all(|d| d.target.to_string().contains("bob")),
        "{rules:?}"
    );
    let events = m.events.with_label_values(&[SOURCE, "failure"]).get();
    assert_eq!(events, 2, "rebuilt events are not counted as new");
    let mut c = f.cursors();
    c.sort_by(|a, b| a.source.cmp(&b.source));
    let c: Vec<(&str, &str)> = c.iter().map(|c| (&*c.source, &*c.cursor)).collect();
    assert_eq!(c, [("fleet:S:a", "3"), ("fleet:S:b", "15")]);
    f.committed();
    assert_eq!(a_committed.try_recv(), Ok(3));
    assert_eq!(b_committed.try_recv(), Ok(15));
}

#[test]
fn nothing_is_taken_or_committed_without_the_slot() {
    let (out, deliveries) = mpsc::channel(64);
    let (acks, _committed) = mpsc::unbounded_channel();
    let parts = vec![FeedPart {
        acks,
        cursor: cursor_name("S", "a"),
        resume: 0,
    }];
    let mut f = Feed::parts(deliveries, parts, Fence::default());
    let (mut p, m) = (pipeline(), Metrics::new());
    out.try_send(message(1, "a")).unwrap();
    assert_eq!(f.drain(100, &mut p, &m, &mut Vec::new()).taken, 0);
    assert!(!f.may_commit());
}

//! Alerts committed in the transactions of their decisions and their ends.

use super::*;
use crate::state::*;

#[test]
fn alerts_are_committed_with_their_decisions_only_when_new() {
    let mut s = Store::open_in_memory().unwrap();
    let a = decision(
        "brute-force",
        DecisionAction::LockAccount,
        "alice",
        1,
        Some(30),
    );
    let b = decision(
        "brute-force",
        DecisionAction::LockAccount,
        "bob",
        2,
        Some(30),
    );
    let mut rendered: Vec<String> = Vec::new();
    let mut render = |d: &Decision| {
        rendered.push(d.id.clone());
        Some(OutboxEntry {
            alert_key: format!("{}:{}", d.rule, d.target),
            status: crate::state::AlertStatus::Firing,
            per_sink: vec![("hook".into(), "{}".into()), ("mail".into(), "{}".into())],
        })
    };
    let pending = |s: &mut Store| -> i64 {
        s.conn
            .query_row(
                "SELECT count(*) FROM alert_outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let one = Batch {
        decisions: vec![a.clone()],
        at: t(3),
        ..Batch::default()
    };
    s.commit_alerting(&one, &mut render).unwrap();
    assert_eq!(pending(&mut s), 2);
    // Re-derived `a` (known) is neither rendered nor alerted again; new `b` is.
    let two = Batch {
        decisions: vec![a.clone(), b.clone()],
        at: t(4),
        ..Batch::default()
    };
    s.commit_alerting(&two, &mut render).unwrap();
    assert_eq!(pending(&mut s), 4);
    assert_eq!(rendered, vec![a.id.clone(), b.id.clone()]);
    let keys: Vec<String> = s
        .conn
        .prepare("SELECT DISTINCT alert_key FROM alert_outbox ORDER BY alert_key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys, vec!["brute-force:user=alice", "brute-force:user=bob"]);
}

#[test]
fn a_failed_commit_writes_no_alert() {
    let mut s = Store::open_in_memory().unwrap();
    let a = decision(
        "brute-force",
        DecisionAction::LockAccount,
        "alice",
        1,
        Some(30),
    );
    s.conn
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON parser_snapshots
                 BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    let batch = Batch {
        decisions: vec![a.clone()],
        parser_snapshots: vec![("k".into(), vec![1])],
        at: t(3),
        ..Batch::default()
    };
    let r = s.commit_alerting(&batch, &mut |_| {
        Some(OutboxEntry {
            alert_key: "k".into(),
            status: crate::state::AlertStatus::Firing,
            per_sink: vec![("hook".into(), "{}".into())],
        })
    });
    assert!(r.is_err());
    let rows: i64 = s
        .conn
        .query_row("SELECT count(*) FROM alert_outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    assert!(s.decision(&a.id).unwrap().is_none());
}

#[test]
fn unlock_and_expiry_commit_their_resolved_alerts_with_them() {
    let mut s = Store::open_in_memory().unwrap();
    let a = decision(
        "brute-force",
        DecisionAction::LockAccount,
        "alice",
        1,
        Some(30),
    );
    let b = decision(
        "brute-force",
        DecisionAction::LockAccount,
        "bob",
        2,
        Some(10),
    );
    s.commit(&Batch {
        decisions: vec![a.clone(), b.clone()],
        at: t(3),
        ..Batch::default()
    })
    .unwrap();
    let render = |r: &DecisionRecord| {
        Some(OutboxEntry {
            alert_key: format!("{}:{}", r.decision.rule, r.decision.target),
            status: crate::state::AlertStatus::Resolved,
            per_sink: vec![("hook".into(), format!("\"{}\"", r.status))],
        })
    };
    s.unlock_alerting(&a.id, "root", "called", "token:test", t(5), &render)
        .unwrap();
    let expired = s.expire_due_alerting(t(20), &render).unwrap();
    assert_eq!(expired.len(), 1);
    let rows: Vec<(String, String, String)> = s
        .conn
        .prepare("SELECT alert_key, status, payload FROM alert_outbox ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "brute-force:user=alice".into(),
                "resolved".into(),
                "\"unlocked\"".into()
            ),
            (
                "brute-force:user=bob".into(),
                "resolved".into(),
                "\"expired\"".into()
            ),
        ]
    );
    // A refused unlock (not active any more) writes no alert.
    assert!(
        s.unlock_alerting(&a.id, "root", "again", "token:test", t(21), &render)
            .is_err()
    );
    let n: i64 = s
        .conn
        .query_row("SELECT count(*) FROM alert_outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

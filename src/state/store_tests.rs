//! Unit tests of the store over an in-memory database (the file-based and
//! multi-process behaviour is in the integration tests).

use std::sync::Arc;

use chrono::TimeZone;

use super::*;
use crate::decision::{DecisionAction, Evidence, Mode, Severity, Target, Unlock, decision_id};
use crate::state::{DecisionFilter, DecisionRecord, LockStatus};

fn t(min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, min, 0).unwrap()
}

fn decision(
    rule: &str,
    action: DecisionAction,
    user: &str,
    at: u32,
    until: Option<u32>,
) -> Decision {
    let target = Target::user(Arc::from(user));
    Decision {
        kind: "decision",
        id: decision_id(rule, &target, &t(at), Some(u64::from(at))),
        rule: Arc::from(rule),
        action,
        target,
        at: t(at),
        until: until.map(t),
        unlock: Unlock::Auto,
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: crate::decision::Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 5,
            first: t(0),
            last: t(at),
            source_ips: vec!["192.0.2.1".parse().unwrap()],
            users: vec![Arc::from(user)],
        },
    }
}

fn checkpoint(offset: u64) -> Checkpoint {
    Checkpoint {
        source: "auth".into(),
        path: "/var/log/auth.log".into(),
        fingerprint: Fingerprint {
            dev: 1,
            inode: u64::MAX - 1,
            head_hash: 1 << 63,
            head_len: 256,
        },
        offset,
    }
}

#[test]
fn a_fresh_store_resumes_from_nothing() {
    let s = Store::open_in_memory().unwrap();
    assert_eq!(s.load_resume().unwrap(), Resume::default());
    assert_eq!(s.next_expiry().unwrap(), None);
    s.check_writable().unwrap();
}

#[test]
fn commit_replaces_the_resume_point_and_round_trips_records() {
    let mut s = Store::open_in_memory().unwrap();
    let d = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        "alice",
        5,
        Some(20),
    );
    let batch = Batch {
        checkpoints: vec![checkpoint(10), checkpoint(20)],
        engine_snapshot: Some(b"engine-1".to_vec().into()),
        parser_snapshots: vec![("auth:1".into(), b"p".to_vec())],
        decisions: vec![d.clone()],
        facts: vec![],
        accounts: vec![],
        at: t(6),
    };
    let r = s.commit(&batch).unwrap();
    assert_eq!(r.new, vec![d.id.clone()]);
    let rec = s.decision(&d.id).unwrap().unwrap();
    assert_eq!(rec.decision, d);
    assert_eq!(rec.status, LockStatus::Active);
    let resume = s.load_resume().unwrap();
    assert_eq!(resume.checkpoints, batch.checkpoints);
    assert_eq!(resume.engine_snapshot.as_deref(), Some(&b"engine-1"[..]));
    assert_eq!(resume.committed_at, Some(t(6)));

    // The next batch replaces, it does not add.
    let next = Batch {
        checkpoints: vec![checkpoint(30)],
        at: t(7),
        ..Batch::default()
    };
    s.commit(&next).unwrap();
    let resume = s.load_resume().unwrap();
    assert_eq!(resume.checkpoints, vec![checkpoint(30)]);
    assert_eq!(resume.engine_snapshot, None);
    assert!(resume.parser_snapshots.is_empty());
    assert_eq!(s.decisions(&DecisionFilter::default()).unwrap().len(), 1);
}

/// A snapshot source that writes other than what it measured (a bug, or state
/// changing between the two passes) must fail the commit whole, never leave a
/// blob padded with zeros or cut short.
#[test]
fn a_streamed_snapshot_that_changes_length_fails_the_commit_and_keeps_the_old_one() {
    struct Liar(usize, usize);
    impl crate::snapshot::Streamed for Liar {
        fn encoded_len(&self) -> Result<usize, crate::snapshot::SnapshotError> {
            Ok(self.0)
        }
        fn write_to(
            &self,
            out: &mut dyn std::io::Write,
        ) -> Result<(), crate::snapshot::SnapshotError> {
            Ok(out.write_all(&vec![7; self.1])?)
        }
    }
    let mut s = Store::open_in_memory().unwrap();
    let first = Batch {
        engine_snapshot: Some(b"kept".to_vec().into()),
        at: t(6),
        ..Batch::default()
    };
    s.commit(&first).unwrap();
    for liar in [Liar(10, 4), Liar(4, 10), Liar(100_000, 99_999)] {
        let batch = Batch {
            engine_snapshot: Some(EngineSnapshot::Streamed(&liar)),
            checkpoints: vec![],
            at: t(7),
            ..Batch::default()
        };
        let err = s.commit(&batch).unwrap_err();
        assert!(err.to_string().contains("changed length"), "{err}");
        let resume = s.load_resume().unwrap();
        assert_eq!(resume.engine_snapshot.as_deref(), Some(&b"kept"[..]));
        assert_eq!(resume.committed_at, Some(t(6)));
    }
}

#[test]
fn engine_snapshots_of_any_size_round_trip_through_blob_io() {
    let mut s = Store::open_in_memory().unwrap();
    // Empty, one byte, and several megabytes spanning many overflow pages,
    // each replacing the one before.
    let big: Vec<u8> = (0..3_000_001u32).map(|i| (i * 7 % 251) as u8).collect();
    for data in [Vec::new(), vec![42], big] {
        let batch = Batch {
            engine_snapshot: Some(data.clone().into()),
            at: t(6),
            ..Batch::default()
        };
        s.commit(&batch).unwrap();
        assert_eq!(s.load_resume().unwrap().engine_snapshot, Some(data));
    }
}

#[test]
fn alerts_are_open_but_not_locks() {
    let mut s = Store::open_in_memory().unwrap();
    let lock = decision(
        "account-lockout",
        DecisionAction::LockAccount,
        "alice",
        5,
        Some(20),
    );
    let alert = decision("spray", DecisionAction::Alert, "bob", 6, None);
    let reset = decision("r", DecisionAction::RequirePasswordReset, "carol", 7, None);
    s.commit(&Batch {
        decisions: vec![lock.clone(), alert.clone(), reset],
        at: t(8),
        ..Batch::default()
    })
    .unwrap();
    let counts = s.active_counts().unwrap();
    assert_eq!(
        counts,
        vec![
            (DecisionAction::LockAccount, 1),
            (DecisionAction::BlockIp, 0),
            (DecisionAction::DisableAccount, 0),
        ]
    );
    let active = s
        .decisions(&DecisionFilter {
            active_only: true,
            ..DecisionFilter::default()
        })
        .unwrap();
    assert_eq!(active.len(), 3);
    let locks = s
        .decisions(&DecisionFilter {
            active_only: true,
            locks_only: true,
            ..DecisionFilter::default()
        })
        .unwrap();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].decision.id, lock.id);
    // An alert without end never expires by itself.
    assert_eq!(s.next_expiry().unwrap(), Some(t(20)));
    let expired = s.expire_due(t(59)).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        s.decision(&alert.id).unwrap().unwrap().status,
        LockStatus::Active
    );
}

#[test]
fn filters_select_by_rule_user_ip_action_and_limit() {
    let mut s = Store::open_in_memory().unwrap();
    let a = decision("lockout", DecisionAction::LockAccount, "alice", 1, Some(30));
    let b = decision("lockout", DecisionAction::LockAccount, "bob", 2, Some(30));
    let mut c = decision("brute", DecisionAction::BlockIp, "x", 3, Some(30));
    c.target = Target::ip("198.51.100.7".parse().unwrap());
    s.commit(&Batch {
        decisions: vec![a.clone(), b.clone(), c.clone()],
        at: t(4),
        ..Batch::default()
    })
    .unwrap();
    let ids = |f: DecisionFilter| -> Vec<String> {
        s.decisions(&f)
            .unwrap()
            .into_iter()
            .map(|r| r.decision.id)
            .collect()
    };
    // Newest first.
    assert_eq!(
        ids(DecisionFilter::default()),
        vec![c.id.clone(), b.id.clone(), a.id.clone()]
    );
    let rule = DecisionFilter {
        rule: Some("lockout".into()),
        ..DecisionFilter::default()
    };
    assert_eq!(ids(rule), vec![b.id.clone(), a.id.clone()]);
    let user = DecisionFilter {
        user: Some("alice".into()),
        ..DecisionFilter::default()
    };
    assert_eq!(ids(user), vec![a.id.clone()]);
    let ip = DecisionFilter {
        ip: Some("198.51.100.7".parse().unwrap()),
        ..DecisionFilter::default()
    };
    assert_eq!(ids(ip), vec![c.id.clone()]);
    let action = DecisionFilter {
        action: Some(DecisionAction::BlockIp),
        ..DecisionFilter::default()
    };
    assert_eq!(ids(action), vec![c.id.clone()]);
    let limit = DecisionFilter {
        limit: Some(1),
        ..DecisionFilter::default()
    };
    assert_eq!(ids(limit), vec![c.id.clone()]);
}

#[test]
fn unlocking_twice_or_an_unknown_id_is_an_error() {
    let mut s = Store::open_in_memory().unwrap();
    let d = decision("lockout", DecisionAction::LockAccount, "alice", 1, None);
    s.commit(&Batch {
        decisions: vec![d.clone()],
        at: t(2),
        ..Batch::default()
    })
    .unwrap();
    assert!(matches!(
        s.unlock("0000000000000000", "root", "x", "token:test", t(3)),
        Err(StateError::UnknownDecision(_))
    ));
    s.unlock(&d.id, "root", "verified by phone", "token:test", t(3))
        .unwrap();
    let e = s
        .unlock(&d.id, "root", "again", "token:test", t(4))
        .unwrap_err();
    assert!(
        matches!(
            e,
            StateError::NotActive {
                status: LockStatus::Unlocked,
                ..
            }
        ),
        "{e}"
    );
    let trail = s.audit(&d.id).unwrap();
    assert_eq!(trail.len(), 2);
    // The admin's line names the credential; loginwatch's own line has none.
    assert_eq!(trail[0].credential, None);
    assert_eq!(
        (trail[1].who.as_str(), trail[1].credential.as_deref()),
        ("root", Some("token:test"))
    );
}

#[test]
fn a_hand_edited_row_is_corrupt_not_a_panic() {
    let mut s = Store::open_in_memory().unwrap();
    let d = decision("lockout", DecisionAction::LockAccount, "alice", 1, None);
    s.commit(&Batch {
        decisions: vec![d.clone()],
        at: t(2),
        ..Batch::default()
    })
    .unwrap();
    s.conn
        .execute("UPDATE decisions SET action = 'explode'", [])
        .unwrap();
    let e = s.decision(&d.id).unwrap_err();
    assert!(
        matches!(e, StateError::Corrupt { what: "action", .. }),
        "{e}"
    );
}

#[test]
fn a_store_can_move_to_a_blocking_thread() {
    // The daemon hands the store to `spawn_blocking` / a mutex: it must be Send.
    fn send<T: Send>(_: T) {}
    send(Store::open_in_memory().unwrap());
}

#[test]
fn all_facts_lists_every_account_by_name() {
    use crate::event::{Action, AuthEvent, Outcome};
    let mut s = Store::open_in_memory().unwrap();
    assert!(s.all_facts().unwrap().is_empty());
    let mut acc = crate::state::FactsAccumulator::new();
    for (min, user) in [(1, "zoe"), (2, "adam"), (3, "zoe")] {
        let mut e = AuthEvent::new(t(min), Action::Login, Outcome::Success);
        e.user = Some(Arc::from(user));
        acc.observe(&e);
    }
    s.commit(&Batch {
        facts: acc.take(),
        accounts: vec![],
        at: t(4),
        ..Batch::default()
    })
    .unwrap();
    let all = s.all_facts().unwrap();
    let users: Vec<&str> = all.iter().map(|f| f.user.as_str()).collect();
    assert_eq!(users, ["adam", "zoe"]);
    assert_eq!(all[1].last_success, Some(t(3)));
    assert_eq!(s.account("zoe").unwrap().as_ref(), Some(&all[1]));
}

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

//! The SQLite state store on real files: migrations, reopening, atomic commits,
//! idempotent decisions, the lock lifecycle with its audit trail, expiry across
//! a restart, account facts, and concurrent readers and writers.

mod readers;
mod records;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use loginwatch::decision::{Decision, DecisionAction, Target, decision_id};
use loginwatch::event::{Action, AuthEvent, Outcome, Reason};
use loginwatch::source::{Checkpoint, Fingerprint};
use loginwatch::state::{Batch, DecisionFilter, FactsAccumulator, LockStatus, StateError, Store};

use crate::util::decision::decision;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

fn lock(user: &str, at: i64, until: Option<i64>) -> Decision {
    let target = Target::user(Arc::from(user));
    decision()
        .id(decision_id(
            "account-lockout",
            &target,
            &t(at),
            Some(at as u64),
        ))
        .target(target)
        .at(t(at))
        .until(until.map(t))
        .first(t(at - 1))
        .ips(&["192.0.2.1", "2001:db8::7"])
        .users(&[user])
        .build()
}

fn checkpoint(offset: u64) -> Checkpoint {
    Checkpoint {
        source: "auth".into(),
        path: "/var/log/auth.log".into(),
        fingerprint: Fingerprint {
            dev: 2049,
            inode: 131_077,
            head_hash: 0xdead_beef_0000_0001,
            head_len: 256,
        },
        offset,
    }
}

fn login(min: i64, user: &str, outcome: Outcome) -> AuthEvent {
    let mut e = AuthEvent::new(t(min), Action::Login, outcome);
    e.user = Some(Arc::from(user));
    e.source_ip = Some("192.0.2.44".parse().unwrap());
    if outcome == Outcome::Failure {
        e.reason = Some(Reason::BadPassword);
    }
    e
}

fn count_rows(path: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_file_is_created_migrated_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let s = Store::open(&path).unwrap();
    assert!(path.is_file());
    s.check_writable().unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(v >= 1);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn opening_refuses_a_missing_dir_a_newer_schema_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/state.db");
    let e = Store::open(&missing).err().unwrap();
    assert!(matches!(e, StateError::MissingDir { .. }), "{e}");
    assert!(e.to_string().contains("no/such/dir"), "{e}");
    assert!(!dir.path().join("no").exists(), "nothing created");

    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer).unwrap());
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 1000")
        .unwrap();
    let e = Store::open(&newer).err().unwrap();
    assert!(matches!(e, StateError::TooNew { found: 1000, .. }), "{e}");
    let e = Store::open_read_only(&newer).err().unwrap();
    assert!(matches!(e, StateError::TooNew { .. }), "{e}");

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, it is a text file of some length\n".repeat(20),
    )
    .unwrap();
    // Not a database at all: refused as damaged, with the way out (issue 11).
    let e = Store::open(&text).err().unwrap();
    assert!(matches!(e, StateError::Damaged { .. }), "{e}");
    assert!(e.to_string().contains("notes.txt"), "{e}");
    assert!(e.to_string().contains("state reset"), "{e}");

    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE mine (x)")
        .unwrap();
    let e = Store::open(&other).err().unwrap();
    assert!(matches!(e, StateError::NotOurs { .. }), "{e}");
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let d = lock("alice", 5, Some(20));
    let mut acc = FactsAccumulator::new();
    acc.observe(&login(1, "alice", Outcome::Success));
    acc.observe(&login(4, "alice", Outcome::Failure));
    let batch = Batch {
        checkpoints: vec![checkpoint(4096)],
        cursors: vec![],
        seen_rows: vec![],
        engine_snapshot: Some(vec![1, 2, 3].into()),
        parser_snapshots: vec![("auth/131077".into(), vec![9, 9])],
        decisions: vec![d.clone()],
        facts: acc.take(),
        accounts: vec![],
        at: t(6),
    };
    {
        let mut s = Store::open(&path).unwrap();
        s.commit(&batch).unwrap();
        s.unlock(
            &d.id,
            "root",
            "user called the help desk",
            "token:test",
            t(7),
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    let r = s.load_resume().unwrap();
    assert_eq!(r.checkpoints, batch.checkpoints);
    assert_eq!(r.engine_snapshot, Some(vec![1, 2, 3]));
    assert_eq!(r.parser_snapshots, batch.parser_snapshots);
    assert_eq!(r.committed_at, Some(t(6)));
    let rec = s.decision(&d.id).unwrap().unwrap();
    assert_eq!(rec.decision, d);
    assert_eq!(rec.status, LockStatus::Unlocked);
    assert_eq!(rec.unlocked_by.as_deref(), Some("root"));
    let f = s.account("alice").unwrap().unwrap();
    assert_eq!(f.consecutive_failures, 1);
    assert_eq!(f.last_success, Some(t(1)));
    assert_eq!(s.audit(&d.id).unwrap().len(), 2);
}

#[test]
fn a_failing_statement_leaves_nothing_of_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut s = Store::open(&path).unwrap();
    let first = Batch {
        checkpoints: vec![checkpoint(100)],
        engine_snapshot: Some(b"before".to_vec().into()),
        decisions: vec![lock("alice", 1, Some(30))],
        at: t(2),
        ..Batch::default()
    };
    s.commit(&first).unwrap();
    let before = s.load_resume().unwrap();

    // Make the audit insert of one particular decision fail, after the
    // decisions, facts and checkpoints of the batch have been written.
    let poison = lock("mallory", 3, Some(30));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TRIGGER fail BEFORE INSERT ON audit WHEN NEW.decision_id = '{}'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            poison.id
        ))
        .unwrap();
    let mut acc = FactsAccumulator::new();
    acc.observe(&login(3, "bob", Outcome::Failure));
    let second = Batch {
        checkpoints: vec![checkpoint(200), checkpoint(300)],
        cursors: vec![],
        seen_rows: vec![],
        engine_snapshot: Some(b"after".to_vec().into()),
        parser_snapshots: vec![("k".into(), vec![1])],
        decisions: vec![lock("bob", 3, Some(30)), poison],
        facts: acc.take(),
        accounts: vec![],
        at: t(4),
    };
    let e = s.commit(&second).unwrap_err();
    assert!(e.to_string().contains("injected failure"), "{e}");

    assert_eq!(s.load_resume().unwrap(), before);
    assert_eq!(s.decisions(&DecisionFilter::default()).unwrap().len(), 1);
    assert_eq!(s.account("bob").unwrap(), None);
    assert_eq!(count_rows(&path, "audit"), 1);
    // The store is still usable afterwards.
    s.commit(&Batch {
        checkpoints: vec![checkpoint(250)],
        at: t(5),
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(s.load_resume().unwrap().checkpoints, vec![checkpoint(250)]);
}

#[test]
fn the_same_batch_twice_records_each_decision_and_audit_line_once() {
    let mut s = Store::open_in_memory().unwrap();
    let a = lock("alice", 1, Some(30));
    let b = lock("bob", 2, None);
    let batch = Batch {
        checkpoints: vec![checkpoint(10)],
        decisions: vec![a.clone(), b.clone()],
        at: t(3),
        ..Batch::default()
    };
    let r1 = s.commit(&batch).unwrap();
    assert_eq!(r1.new, vec![a.id.clone(), b.id.clone()]);
    assert!(r1.known.is_empty());
    let r2 = s.commit(&batch).unwrap();
    assert!(r2.new.is_empty());
    assert_eq!(r2.known, vec![a.id.clone(), b.id.clone()]);
    assert_eq!(s.decisions(&DecisionFilter::default()).unwrap().len(), 2);
    for id in [&a.id, &b.id] {
        let trail = s.audit(id).unwrap();
        assert_eq!(trail.len(), 1, "{trail:?}");
        assert_eq!(trail[0].what, "decided");
    }

    // Re-derived after an admin unlocked it: it stays unlocked, not re-locked.
    s.unlock(&b.id, "root", "false positive", "token:test", t(4))
        .unwrap();
    let r3 = s.commit(&batch).unwrap();
    assert!(r3.new.is_empty());
    assert_eq!(
        s.decision(&b.id).unwrap().unwrap().status,
        LockStatus::Unlocked
    );
}

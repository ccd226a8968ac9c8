//! Committing batches and reading back the resume point.

use super::*;
use crate::state::*;

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
    let cursor = Cursor {
        source: "journal".into(),
        cursor: "s=1;i=2".into(),
    };
    let batch = Batch {
        checkpoints: vec![checkpoint(10), checkpoint(20)],
        cursors: vec![cursor.clone()],
        seen_rows: vec![],
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
    assert_eq!(resume.cursors, vec![cursor]);
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
    assert!(resume.cursors.is_empty());
    assert_eq!(resume.engine_snapshot, None);
    assert!(resume.parser_snapshots.is_empty());
    assert_eq!(s.decisions(&DecisionFilter::default()).unwrap().len(), 1);
}

#[test]
fn seen_rows_are_kept_until_they_expire() {
    use crate::source::rows::{RowId, SeenRow};
    let mut s = Store::open_in_memory().unwrap();
    let row = |line: &[u8], expires| SeenRow {
        source: "lw".into(),
        id: RowId::of_line(line),
        expires,
    };
    s.commit(&Batch {
        seen_rows: vec![row(b"a", t(10)), row(b"b", t(20))],
        at: t(1),
        ..Batch::default()
    })
    .unwrap();
    // Offered again (a retried commit): stored once.
    s.commit(&Batch {
        seen_rows: vec![row(b"a", t(10))],
        at: t(2),
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(
        s.seen_rows(&t(3)).unwrap(),
        vec![row(b"a", t(10)), row(b"b", t(20))]
    );
    // Not yet deleted, but not handed out once expired.
    assert_eq!(s.seen_rows(&t(15)).unwrap(), vec![row(b"b", t(20))]);
    // A commit after the expiry deletes it.
    s.commit(&Batch {
        at: t(15),
        ..Batch::default()
    })
    .unwrap();
    let n: i64 = s
        .conn
        .query_row("SELECT count(*) FROM seen_rows", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
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

//! The SQLite state store on real files: migrations, reopening, atomic commits,
//! idempotent decisions, the lock lifecycle with its audit trail, expiry across
//! a restart, account facts, and concurrent readers and writers.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use loginwatch::decision::{
    Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock, decision_id,
};
use loginwatch::event::{Action, AuthEvent, Outcome, Reason};
use loginwatch::source::{Checkpoint, Fingerprint};
use loginwatch::state::{Batch, DecisionFilter, FactsAccumulator, LockStatus, StateError, Store};

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

fn lock(user: &str, at: i64, until: Option<i64>) -> Decision {
    let target = Target::user(Arc::from(user));
    Decision {
        kind: "decision",
        id: decision_id("account-lockout", &target, &t(at), Some(at as u64)),
        rule: Arc::from("account-lockout"),
        action: DecisionAction::LockAccount,
        target,
        at: t(at),
        until: until.map(t),
        unlock: if until.is_some() {
            Unlock::Auto
        } else {
            Unlock::Admin
        },
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: loginwatch::decision::Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 5,
            first: t(at - 1),
            last: t(at),
            source_ips: vec!["192.0.2.1".parse().unwrap(), "2001:db8::7".parse().unwrap()],
            users: vec![Arc::from(user)],
        },
    }
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

#[test]
fn unlock_lifecycle_leaves_an_audit_trail() {
    let mut s = Store::open_in_memory().unwrap();
    let d = lock("alice", 1, None);
    s.commit(&Batch {
        decisions: vec![d.clone()],
        at: t(2),
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(
        s.active_counts().unwrap()[0],
        (DecisionAction::LockAccount, 1)
    );
    let active = DecisionFilter {
        active_only: true,
        ..DecisionFilter::default()
    };
    assert_eq!(s.decisions(&active).unwrap().len(), 1);
    // Admin-only lock: no expiry.
    assert_eq!(s.next_expiry().unwrap(), None);
    assert!(s.expire_due(t(10_000)).unwrap().is_empty());

    let rec = s
        .unlock(&d.id, "root", "verified by phone", "token:test", t(9))
        .unwrap();
    assert_eq!(rec.status, LockStatus::Unlocked);
    assert_eq!(rec.ended_at, Some(t(9)));
    assert_eq!(rec, s.decision(&d.id).unwrap().unwrap());
    assert!(s.decisions(&active).unwrap().is_empty());
    assert_eq!(
        s.active_counts().unwrap()[0],
        (DecisionAction::LockAccount, 0)
    );

    let trail = s.audit(&d.id).unwrap();
    let summary: Vec<(&str, &str, DateTime<Utc>)> = trail
        .iter()
        .map(|e| (e.what.as_str(), e.who.as_str(), e.at))
        .collect();
    assert_eq!(
        summary,
        vec![("decided", "loginwatch", t(2)), ("unlocked", "root", t(9))]
    );
    assert_eq!(trail[1].detail, "verified by phone");
    assert!(
        trail[0].detail.contains("lock_account user=alice"),
        "{}",
        trail[0].detail
    );
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(json["status"], "unlocked");
    assert_eq!(json["unlocked_by"], "root");
    assert_eq!(json["id"], d.id);
}

#[test]
fn expiry_after_a_restart_that_spanned_the_end_records_the_true_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let early = lock("alice", 1, Some(11));
    let late = lock("bob", 2, Some(500));
    let batch = Batch {
        decisions: vec![early.clone(), late.clone()],
        at: t(2),
        ..Batch::default()
    };
    {
        let mut s = Store::open(&path).unwrap();
        s.commit(&batch).unwrap();
        assert!(s.expire_due(t(10)).unwrap().is_empty());
        assert_eq!(s.next_expiry().unwrap(), Some(t(11)));
    }
    // Down from minute 10 to minute 60.
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.next_expiry().unwrap(), Some(t(11)));
    let expired = s.expire_due(t(60)).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].decision.id, early.id);
    assert_eq!(expired[0].status, LockStatus::Expired);
    assert_eq!(expired[0].ended_at, Some(t(11)), "the end, not the restart");
    assert_eq!(s.decision(&early.id).unwrap().unwrap(), expired[0]);
    let trail = s.audit(&early.id).unwrap();
    assert_eq!(trail.last().unwrap().what, "expired");
    assert_eq!(trail.last().unwrap().at, t(11));
    // Nothing more is due; the other lock was neither extended nor ended.
    assert!(s.expire_due(t(60)).unwrap().is_empty());
    assert_eq!(s.next_expiry().unwrap(), Some(t(500)));
    assert_eq!(
        s.decision(&late.id).unwrap().unwrap().decision.until,
        Some(t(500))
    );
    // Re-deriving the expired lock after the restart changes nothing.
    let r = s.commit(&batch).unwrap();
    assert!(r.new.is_empty());
    assert_eq!(
        s.decision(&early.id).unwrap().unwrap().status,
        LockStatus::Expired
    );
    assert_eq!(s.audit(&early.id).unwrap().len(), 2);
    // An expired lock cannot be unlocked.
    let e = s
        .unlock(&early.id, "root", "late", "token:test", t(61))
        .unwrap_err();
    assert!(
        matches!(
            e,
            StateError::NotActive {
                status: LockStatus::Expired,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        s.active_counts().unwrap()[0],
        (DecisionAction::LockAccount, 1)
    );
}

#[test]
fn facts_fold_across_commits_into_one_row_per_user() {
    let mut s = Store::open_in_memory().unwrap();
    let mut acc = FactsAccumulator::new();
    for (min, user, outcome) in [
        (1, "alice", Outcome::Success),
        (2, "alice", Outcome::Failure),
        (3, "bob", Outcome::Failure),
        (4, "alice", Outcome::Failure),
    ] {
        acc.observe(&login(min, user, outcome));
    }
    s.commit(&Batch {
        facts: acc.take(),
        accounts: vec![],
        at: t(5),
        ..Batch::default()
    })
    .unwrap();
    let alice = s.account("alice").unwrap().unwrap();
    assert_eq!(alice.first_success, Some(t(1)));
    assert_eq!(alice.last_failure, Some(t(4)));
    assert_eq!(alice.consecutive_failures, 2);
    assert_eq!(alice.last_source_ip, Some("192.0.2.44".parse().unwrap()));
    let bob = s.account("bob").unwrap().unwrap();
    assert_eq!((bob.first_success, bob.consecutive_failures), (None, 1));

    acc.observe(&login(6, "alice", Outcome::Failure));
    acc.observe(&login(7, "bob", Outcome::Success));
    s.commit(&Batch {
        facts: acc.take(),
        accounts: vec![],
        at: t(8),
        ..Batch::default()
    })
    .unwrap();
    let alice = s.account("alice").unwrap().unwrap();
    assert_eq!(alice.consecutive_failures, 3);
    assert_eq!(alice.first_success, Some(t(1)));
    let bob = s.account("bob").unwrap().unwrap();
    assert_eq!(bob.consecutive_failures, 0);
    assert_eq!(bob.first_success, Some(t(7)));
    assert_eq!(bob.last_failure, Some(t(3)));
    assert_eq!(s.account("carol").unwrap(), None);
}

#[test]
fn read_only_store_reads_but_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let e = Store::open_read_only(&path).err().unwrap();
    assert!(matches!(e, StateError::Open { .. }), "{e}");
    let mut w = Store::open(&path).unwrap();
    let d = lock("alice", 1, Some(30));
    w.commit(&Batch {
        decisions: vec![d.clone()],
        at: t(2),
        ..Batch::default()
    })
    .unwrap();
    let mut r = Store::open_read_only(&path).unwrap();
    assert_eq!(r.decision(&d.id).unwrap().unwrap().decision, d);
    assert!(r.check_writable().is_err());
    assert!(r.unlock(&d.id, "root", "x", "token:test", t(3)).is_err());
    assert_eq!(
        w.decision(&d.id).unwrap().unwrap().status,
        LockStatus::Active
    );
}

#[test]
fn a_reader_and_a_second_writer_work_while_the_daemon_commits() {
    const BATCHES: u64 = 150;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut daemon = Store::open(&path).unwrap();
    // The daemon commits batches: one lock each, resume point = batch number.
    let writer = std::thread::spawn(move || {
        for i in 1..=BATCHES {
            let d = lock(&format!("user{i}"), i as i64, None);
            daemon
                .commit(&Batch {
                    checkpoints: vec![checkpoint(i)],
                    engine_snapshot: Some(i.to_string().into_bytes().into()),
                    decisions: vec![d],
                    at: t(i as i64),
                    ..Batch::default()
                })
                .unwrap();
        }
        daemon
    });
    // An admin CLI (its own connection) unlocks locks as they appear.
    let admin_path = path.clone();
    let admin = std::thread::spawn(move || {
        let mut cli = Store::open(&admin_path).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut unlocked = 0;
        while unlocked < BATCHES && Instant::now() < deadline {
            let active = cli
                .decisions(&DecisionFilter {
                    active_only: true,
                    ..DecisionFilter::default()
                })
                .unwrap();
            for rec in active {
                cli.unlock(&rec.decision.id, "admin", "cleared", "token:test", t(1000))
                    .unwrap();
                unlocked += 1;
            }
            std::thread::yield_now();
        }
        unlocked
    });
    // A read-only reader sees only whole commits: offset and snapshot agree.
    let reader = Store::open_read_only(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = 0;
    while seen < BATCHES && Instant::now() < deadline {
        let r = reader.load_resume().unwrap();
        if let Some(c) = r.checkpoints.first() {
            let snap = String::from_utf8(r.engine_snapshot.clone().unwrap()).unwrap();
            assert_eq!(snap, c.offset.to_string(), "torn resume point");
            assert!(c.offset >= seen, "went backwards");
            seen = c.offset;
        }
    }
    assert_eq!(seen, BATCHES);
    let daemon = writer.join().unwrap();
    assert_eq!(admin.join().unwrap(), BATCHES);
    let all = daemon.decisions(&DecisionFilter::default()).unwrap();
    assert_eq!(all.len() as u64, BATCHES);
    assert!(all.iter().all(|r| r.status == LockStatus::Unlocked));
    assert_eq!(count_rows(&path, "audit") as u64, 2 * BATCHES);
}

/// `decisions list | head`: the reader goes away after one line; the command
/// ends quietly with success, never a panic about a broken pipe.
#[test]
fn decisions_list_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let decisions: Vec<Decision> = (0..3000)
        .map(|i| lock(&format!("user{i:04}"), i, Some(i + 30)))
        .collect();
    Store::open(&path)
        .unwrap()
        .commit(&Batch {
            decisions,
            at: t(1),
            ..Batch::default()
        })
        .unwrap();
    let config = dir.path().join("loginwatch.toml");
    // Nothing listens on port 1: the command reads the state file.
    std::fs::write(
        &config,
        format!(
            "state_path = {:?}\n[http]\nlisten = \"127.0.0.1:1\"\n",
            path.display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["decisions", "list", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("user"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

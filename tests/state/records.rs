//! What the store keeps over time: the unlock lifecycle with its audit trail,
//! expiry across a restart that spanned a lock's end, and account facts folded
//! across commits.

use super::*;

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

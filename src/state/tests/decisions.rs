//! Decisions: which are open, filters, unlocking, corrupt rows.

use super::*;
use crate::state::*;

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

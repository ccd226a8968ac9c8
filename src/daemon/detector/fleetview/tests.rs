use super::*;
use crate::decision::Target;
use crate::test_support::{decision, record, t};

fn rec(id: &str, at: i64, status: LockStatus) -> DecisionRecord {
    let mut d = decision();
    d.id = id.into();
    d.at = t(at);
    d.until = Some(t(at + 1800));
    let mut r = record(d, status, t(at + 60));
    r.unlock_reason = (status == LockStatus::Unlocked).then(|| "phoned".to_owned());
    r
}

/// The bucket's value of `r` as detector `by` writes it.
fn value(r: &DecisionRecord, by: &str) -> Vec<u8> {
    WireDecision::of(r, by).encode()
}

#[test]
fn bucket_values_become_records_marked_with_their_holder() {
    for status in [
        LockStatus::Active,
        LockStatus::Expired,
        LockStatus::Unlocked,
    ] {
        let r = rec("00aa", 0, status);
        let back = record_of(WireDecision::decode(&value(&r, "det-b")).unwrap()).unwrap();
        assert_eq!(back.status, status);
        assert_eq!(back.detector.as_deref(), Some("det-b"));
        assert_eq!(back.ended_at, r.ended_at);
        assert_eq!(back.unlocked_by, r.unlocked_by);
        assert_eq!(back.unlock_reason, r.unlock_reason);
        assert_eq!(back.decision.id, "00aa");
    }
    // Lifted as `gone`: its writer does not hold it; not shown.
    let w = WireDecision::of(&rec("00bb", 0, LockStatus::Active), "det-b").lift(
        t(9),
        How::Gone,
        "not in the detector's state",
    );
    assert!(record_of(w).is_none());
}

#[test]
fn the_view_follows_puts_and_deletes_and_skips_other_layouts() {
    let v = View::default();
    let a = rec("00aa", 0, LockStatus::Active);
    assert_eq!(v.set("00aa", Some(&value(&a, "det-b"))), Seen::Held);
    assert_eq!(v.get("00aa").unwrap().status, LockStatus::Active);
    assert!(v.get("00ab").is_none());
    // Lifted: kept, as lifted.
    let lifted = rec("00aa", 0, LockStatus::Unlocked);
    v.set("00aa", Some(&value(&lifted, "det-b")));
    assert_eq!(v.get("00aa").unwrap().status, LockStatus::Unlocked);
    // A value of another layout replaces what the key held: skipped.
    assert_eq!(
        v.set("00aa", Some(br#"{"v":2,"decision":{}}"#)),
        Seen::Skipped
    );
    assert!(v.get("00aa").is_none());
    assert_eq!(v.set("junk", Some(b"\xff")), Seen::Skipped);
    v.set(
        "00cc",
        Some(&value(&rec("00cc", 0, LockStatus::Active), "me")),
    );
    v.set(
        "00dd",
        Some(&value(&rec("00dd", 0, LockStatus::Active), "det-b")),
    );
    assert_eq!(v.set("00dd", None), Seen::Removed);
    assert!(v.get("00dd").is_none());
    // A key whose value names another id is not that id's.
    v.set(
        "00ee",
        Some(&value(&rec("00ff", 0, LockStatus::Active), "det-b")),
    );
    assert!(v.get("00ee").is_none());
    let others: Vec<String> = v.others("me").into_iter().map(|r| r.decision.id).collect();
    assert_eq!(
        others,
        vec!["00ff".to_owned()],
        "the view's own keys are not others'"
    );
}

#[test]
fn merge_marks_each_holder_prefers_the_own_state_and_sorts_newest_first() {
    let own = vec![
        rec("0002", 20, LockStatus::Active),
        rec("0001", 10, LockStatus::Unlocked),
    ];
    let mut theirs = vec![
        rec("0003", 30, LockStatus::Active),
        rec("0004", 5, LockStatus::Expired),
        // The same id as an own record (a decision made again by a slot's
        // new holder): the own state wins.
        rec("0002", 20, LockStatus::Unlocked),
    ];
    for r in &mut theirs {
        r.detector = Some("det-b".into());
    }
    let all = merge(own.clone(), theirs.clone(), "det-a", false);
    let row = |r: &DecisionRecord| (r.decision.id.clone(), r.detector.clone().unwrap(), r.status);
    assert_eq!(
        all.iter().map(row).collect::<Vec<_>>(),
        vec![
            ("0003".into(), "det-b".into(), LockStatus::Active),
            ("0002".into(), "det-a".into(), LockStatus::Active),
            ("0001".into(), "det-a".into(), LockStatus::Unlocked),
            ("0004".into(), "det-b".into(), LockStatus::Expired),
        ]
    );
    // Only what is in force: the own list is already filtered by the store.
    let active = merge(vec![own[0].clone()], theirs, "det-a", true);
    let ids: Vec<&str> = active.iter().map(|r| r.decision.id.as_str()).collect();
    assert_eq!(ids, ["0003", "0002"]);
}

#[test]
fn another_detectors_decision_shows_what_the_bucket_says_of_it() {
    let mut r = rec("00aa", 0, LockStatus::Unlocked);
    r.decision.target = Target::user("bob".into());
    r.detector = Some("det-b".into());
    let lines = trail(&r);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].what, "decided");
    assert!(lines[0].detail.contains("det-b"), "{}", lines[0].detail);
    assert_eq!(lines[1].what, "unlocked");
    assert_eq!(lines[1].who, "ann");
    assert_eq!(lines[1].detail, "phoned");
    r.status = LockStatus::Active;
    assert_eq!(trail(&r).len(), 1);
}

#[test]
fn a_forwarded_unlock_is_audited_with_the_asking_credential_and_detector() {
    let ask = crate::fleet::control::UnlockAsk {
        v: 1,
        id: "00aa".into(),
        by: "helpdesk".into(),
        reason: "phoned".into(),
        credential: "token:config".into(),
        from: "det-a".into(),
    };
    assert_eq!(
        super::super::control::credential_of(&ask),
        "token:config via fleet detector det-a"
    );
}

/// A sender of unlocks on a client that never reaches a server.
fn nowhere() -> (tokio::runtime::Runtime, super::super::control::Remote) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client = rt
        .block_on(
            async_nats::ConnectOptions::new()
                .retry_on_initial_connect()
                .connect("127.0.0.1:1"),
        )
        .unwrap();
    let remote = super::super::control::Remote {
        client,
        prefix: "loginwatch.events".into(),
        me: "det-a".into(),
        runtime: rt.handle().clone(),
    };
    (rt, remote)
}

fn unavailable(e: UnlockError) -> String {
    match e {
        UnlockError::Other(BackendError::Unavailable(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_holder_or_id_unfit_for_a_subject_is_not_asked() {
    let (_rt, remote) = nowhere();
    for (holder, id) in [
        ("det.>", "00aa"),
        ("det b", "00aa"),
        ("det-b", "a\u{1b}[2J"),
    ] {
        let m = unavailable(
            remote
                .unlock(holder, id, "ann", "r", "token:config")
                .unwrap_err(),
        );
        assert!(m.contains("not a detector's id"), "{m}");
        assert!(!m.contains('\u{1b}'), "{m}");
    }
}

#[test]
fn a_holder_that_does_not_answer_is_named_in_the_error() {
    let (_rt, remote) = nowhere();
    let t0 = std::time::Instant::now();
    let m = unavailable(
        remote
            .unlock("det-b", "00aa", "ann", "r", "token:config")
            .unwrap_err(),
    );
    assert!(
        m.contains("held by the fleet's detector det-b") && m.contains("not unlocked"),
        "{m}"
    );
    assert!(m.contains("did not answer within 5 s"), "{m}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(8));
}

use super::*;
use crate::test_support::{decision, t};

fn ask() -> UnlockAsk {
    UnlockAsk {
        v: VERSION,
        id: "0123456789abcdef".into(),
        by: "helpdesk".into(),
        reason: "verified by phone".into(),
        credential: "token:config".into(),
        from: "det-a-00ff".into(),
    }
}

#[test]
fn the_subject_is_beside_the_events_and_names_the_holder() {
    let s = subject("loginwatch.events", "web1-00ff");
    assert_eq!(s, "loginwatch.events_control.unlock.web1-00ff");
    // Not under `<prefix>.>`: the events stream does not take it.
    assert!(!s.starts_with("loginwatch.events."));
    assert!(is_holder("web1_example_com-0123456789abcdef01234567"));
    for bad in ["", "a.b", "a*", "a>", "a b", &"x".repeat(129)] {
        assert!(!is_holder(bad), "{bad:?}");
    }
}

#[test]
fn a_request_round_trips_and_bad_ones_are_refused_with_the_field() {
    let a = ask();
    assert_eq!(UnlockAsk::decode(&a.encode()).unwrap(), a);
    let v: serde_json::Value = serde_json::from_slice(&a.encode()).unwrap();
    assert_eq!(v["v"], 1);
    assert_eq!(v["from"], "det-a-00ff");
    // A field added by a later version of the same layout is ignored.
    let mut more = v.clone();
    more["note"] = "x".into();
    assert_eq!(UnlockAsk::decode(more.to_string().as_bytes()).unwrap(), a);

    let with = |f: &dyn Fn(&mut UnlockAsk)| {
        let mut b = ask();
        f(&mut b);
        UnlockAsk::decode(&b.encode()).unwrap_err()
    };
    let field = |e: WireError, name: &str| match e {
        WireError::Field(m) => assert!(m.starts_with(name), "{m}"),
        other => panic!("{other:?}"),
    };
    field(with(&|b| b.id = "../etc".into()), "id");
    field(with(&|b| b.id = String::new()), "id");
    field(with(&|b| b.id = "a".repeat(65)), "id");
    field(with(&|b| b.by = "a\u{1b}[2J".into()), "by");
    field(with(&|b| b.by = " ".into()), "by");
    field(with(&|b| b.by = "é".repeat(129)), "by");
    field(with(&|b| b.reason = String::new()), "reason");
    field(with(&|b| b.reason = "r".repeat(2001)), "reason");
    field(with(&|b| b.credential = "x\n".into()), "credential");
    field(with(&|b| b.from = "a.b".into()), "from");
    assert_eq!(
        with(&|b| b.v = 2),
        WireError::Version(2),
        "another layout is refused, not misread"
    );
}

#[test]
fn junk_and_oversized_bodies_are_errors_not_panics() {
    let big = vec![b' '; MAX_ASK + 1];
    assert_eq!(
        UnlockAsk::decode(&big),
        Err(WireError::TooLarge(MAX_ASK + 1, MAX_ASK))
    );
    for junk in [
        &b""[..],
        b"null",
        b"[]",
        b"{}",
        br#"{"v":"1"}"#,
        br#"{"v":1}"#,
        br#"{"v":1,"id":7}"#,
        b"\xff\xfe",
        br#"{"v":18446744073709551616}"#,
    ] {
        assert!(UnlockAsk::decode(junk).is_err(), "{junk:?}");
        assert!(Answer::decode(junk).is_err(), "{junk:?}");
    }
    assert!(matches!(
        Answer::decode(&vec![b' '; MAX_ANSWER + 1]),
        Err(WireError::TooLarge(..))
    ));
}

#[test]
fn answers_round_trip_with_the_record() {
    let mut d = decision();
    d.id = "0123456789abcdef".into();
    d.until = Some(t(600));
    let rec = DecisionRecord {
        decision: d,
        status: LockStatus::Unlocked,
        ended_at: Some(t(60)),
        unlocked_by: Some("helpdesk".into()),
        unlock_reason: Some("verified by phone".into()),
        detector: None,
    };
    let a = Answer::new(Outcome::Unlocked {
        decision: Box::new(Ended::of(&rec)),
    });
    let bytes = a.encode();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["v"], 1);
    assert_eq!(v["result"], "unlocked");
    assert_eq!(v["decision"]["status"], "unlocked");
    let back = Answer::decode(&bytes).unwrap();
    let Outcome::Unlocked { decision } = back.outcome else {
        panic!("{back:?}")
    };
    let r = decision.record("det-b");
    assert_eq!(r.detector.as_deref(), Some("det-b"));
    assert_eq!(r.status, LockStatus::Unlocked);
    assert_eq!(r.unlocked_by.as_deref(), Some("helpdesk"));
    assert_eq!(r.decision.id, rec.decision.id);
    assert_eq!(r.decision.target, rec.decision.target);
    assert_eq!(r.decision.until, rec.decision.until);

    for o in [
        Outcome::NotFound,
        Outcome::NotActive {
            status: LockStatus::Expired,
        },
        Outcome::Failed {
            error: "state store failed".into(),
        },
    ] {
        let a = Answer::new(o);
        assert_eq!(Answer::decode(&a.encode()).unwrap(), a);
    }
    let v: serde_json::Value = serde_json::from_slice(
        &Answer::new(Outcome::NotActive {
            status: LockStatus::Expired,
        })
        .encode(),
    )
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"v": 1, "result": "not_active", "status": "expired"})
    );
}

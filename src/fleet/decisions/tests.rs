use super::*;
use crate::decision::Mode;
use crate::test_support::{decision, t};

fn record(status: LockStatus) -> DecisionRecord {
    let mut d = decision();
    d.id = "0123456789abcdef".into();
    d.mode = Mode::Enforce;
    d.until = Some(t(600));
    DecisionRecord {
        decision: d,
        status,
        ended_at: (status != LockStatus::Active).then(|| t(300)),
        unlocked_by: (status == LockStatus::Unlocked).then(|| "helpdesk".to_owned()),
        unlock_reason: (status == LockStatus::Unlocked).then(|| "called in".to_owned()),
        detector: None,
    }
}

#[test]
fn an_active_decision_round_trips_with_its_version() {
    let w = WireDecision::of(&record(LockStatus::Active), "det1");
    let bytes = w.encode();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["v"], 1);
    assert_eq!(v["state"], "active");
    assert_eq!(v["detector"], "det1");
    assert_eq!(v["decision"]["target"]["user"], "alice");
    assert_eq!(v["decision"]["action"], "lock_account");
    assert_eq!(v["decision"]["mode"], "enforce");
    assert!(v.get("lifted").is_none(), "{v}");
    let back = WireDecision::decode(&bytes).unwrap();
    assert_eq!(back.state, State::Active);
    assert_eq!(back.decision.id, w.decision.id);
    assert_eq!(back.decision.until, Some(t(600)));
    assert_eq!(back.decision.target, w.decision.target);
    // Written again, the same bytes: the detector compares values to skip puts.
    assert_eq!(back.encode(), bytes);
}

#[test]
fn a_lift_says_how_when_and_by_whom() {
    let w = WireDecision::of(&record(LockStatus::Unlocked), "det1");
    assert_eq!(w.state, State::Lifted);
    let l = w.lifted.as_ref().unwrap();
    assert_eq!((l.how, l.at), (How::Unlocked, t(300)));
    assert_eq!(l.by.as_deref(), Some("helpdesk"));
    assert_eq!(l.reason.as_deref(), Some("called in"));
    let back = WireDecision::decode(&w.encode()).unwrap();
    assert_eq!(back.lifted, w.lifted);

    let e = WireDecision::of(&record(LockStatus::Expired), "det1");
    assert_eq!(e.lifted.unwrap().how, How::Expired);

    let g = WireDecision::of(&record(LockStatus::Active), "det1").lift(t(9), How::Gone, "reset");
    assert_eq!(g.state, State::Lifted);
    assert_eq!(g.lifted.unwrap().how, How::Gone);
}

#[test]
fn another_version_is_refused_with_its_number() {
    let mut v: serde_json::Value =
        serde_json::from_slice(&WireDecision::of(&record(LockStatus::Active), "d").encode())
            .unwrap();
    v["v"] = 2.into();
    let e = WireDecision::decode(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(e, DecodeError::Version(2));
    assert!(e.to_string().contains("version 2"), "{e}");
    assert!(e.to_string().contains("version 1 only"), "{e}");
}

#[test]
fn bad_values_are_errors_not_panics() {
    for bad in [
        &b""[..],
        b"null",
        b"[]",
        b"{}",
        b"{\"v\":\"1\"}",
        b"{\"v\":-1}",
        b"{\"v\":1}",
        b"{\"v\":1,\"state\":\"active\",\"detector\":\"d\",\"decision\":{}}",
        b"{\"v\":1,\"state\":\"maybe\",\"detector\":\"d\"}",
        b"\xff\xfe",
        b"{\"v\":18446744073709551616}",
    ] {
        assert!(
            WireDecision::decode(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn keys_are_ids_or_their_hex() {
    assert_eq!(key("0123456789abcdef"), "0123456789abcdef");
    assert_eq!(key("a b"), "x612062");
    assert_eq!(key(".x"), "x2e78");
    assert_eq!(key(""), "x");
    assert_eq!(key("é"), "xc3a9");
}

#[test]
fn the_bucket_is_the_stream_a_kv_client_expects() {
    let fleet = FleetConfig {
        servers: vec!["nats://127.0.0.1:4222".into()],
        host: "det".into(),
        auth: crate::fleet::Auth::None,
        tls_ca: None,
        stream: "EV".into(),
        subject_prefix: "lw".into(),
        decisions_bucket: "dec".into(),
        decisions_replicas: 3,
        shard: Default::default(),
        buffer_max_bytes: 1 << 20,
        lifted_keep: crate::fleet::DEFAULT_LIFTED_KEEP,
        replicas: 1,
    };
    let c = config(&fleet, fleet.decisions_replicas);
    assert_eq!(c.name, "KV_dec");
    assert_eq!(c.subjects, ["$KV.dec.>"]);
    assert_eq!(c.max_messages_per_subject, HISTORY);
    assert_eq!(c.num_replicas, 3);
    assert!(c.allow_rollup && c.allow_direct && c.deny_delete && !c.deny_purge);
    assert_eq!(config(&fleet, 0).num_replicas, 1);
}

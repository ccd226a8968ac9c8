use super::*;
use crate::decision::Mode;
use crate::test_support::{decision, record, t};

fn rec(id: &str, status: LockStatus) -> DecisionRecord {
    let mut d = decision();
    d.id = id.into();
    d.mode = Mode::Enforce;
    record(d, status, t(60))
}

fn apply(m: &mut Mirror, puts: Vec<(String, Vec<u8>)>) -> Vec<String> {
    let keys = puts.iter().map(|(k, _)| k.clone()).collect();
    for (k, b) in puts {
        m.set(k, b);
    }
    keys
}

#[test]
fn a_new_lock_is_put_once_and_its_unlock_once() {
    let mut m = Mirror::default();
    let read = Read {
        active: vec![rec("aa01", LockStatus::Active)],
        stale: vec![],
    };
    let puts = changes(&m, &read, "det", None, t(1));
    assert_eq!(apply(&mut m, puts), ["aa01"]);
    // Unchanged: nothing is put again.
    assert!(changes(&m, &read, "det", None, t(2)).is_empty());
    // Unlocked in the state: the bucket's active key is put as lifted.
    let read = Read {
        active: vec![],
        stale: vec![("aa01".into(), Some(rec("aa01", LockStatus::Unlocked)))],
    };
    let puts = changes(&m, &read, "det", None, t(3));
    assert_eq!(puts.len(), 1);
    let w = WireDecision::decode(&puts[0].1).unwrap();
    assert_eq!(w.state, State::Lifted);
    assert_eq!(w.lifted.as_ref().unwrap().by.as_deref(), Some("ann"));
    apply(&mut m, puts);
    assert_eq!(
        m.values["aa01"].read,
        Some(Read1 {
            id: "aa01".into(),
            active: false,
            detector: "det".into()
        })
    );
}

#[test]
fn a_key_the_state_does_not_know_is_lifted_as_gone() {
    let mut m = Mirror::default();
    let w = WireDecision::of(&rec("bb02", LockStatus::Active), "old");
    m.set("bb02".into(), w.encode());
    let read = Read {
        active: vec![],
        stale: vec![("bb02".into(), None)],
    };
    let puts = changes(&m, &read, "det", None, t(5));
    assert_eq!(puts.len(), 1);
    let w = WireDecision::decode(&puts[0].1).unwrap();
    assert_eq!(w.lifted.unwrap().how, How::Gone);
}

#[test]
fn a_value_of_another_layout_is_replaced_by_the_state_s() {
    let mut m = Mirror::default();
    m.set("cc03".into(), b"{\"v\":9}".to_vec());
    assert_eq!(m.values["cc03"].read, None);
    let read = Read {
        active: vec![rec("cc03", LockStatus::Active)],
        stale: vec![],
    };
    let puts = changes(&m, &read, "det", None, t(1));
    assert_eq!(apply(&mut m, puts), ["cc03"]);
}

#[test]
fn only_the_keys_a_detector_wrote_are_its_to_repair() {
    // Two detectors (a user group's and an address group's) share the
    // bucket: each checks only its own active keys against its state.
    let mut m = Mirror::default();
    m.set(
        "dd04".into(),
        WireDecision::of(&rec("dd04", LockStatus::Active), "det-user").encode(),
    );
    m.set(
        "ee05".into(),
        WireDecision::of(&rec("ee05", LockStatus::Active), "det-address").encode(),
    );
    m.set(
        "ff06".into(),
        WireDecision::of(&rec("ff06", LockStatus::Unlocked), "det-user").encode(),
    );
    assert_eq!(stale(&m, "det-user"), ["dd04"]);
    assert_eq!(stale(&m, "det-address"), ["ee05"]);
    assert!(stale(&m, "det-new").is_empty());
}

use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;
use crate::config::Config;
use crate::decision::Mode;
use crate::state::{Batch, Store};
use crate::test_support::{decision, record, t};

fn applier(dir: &std::path::Path) -> Applier {
    let mut config = Config::defaults_with_state(dir.join("s.db"));
    config.safety.detect_own = false;
    let store = Store::open(&config.state_path).unwrap();
    let clock = Arc::new(ManualClock::new(t(0)));
    let s = crate::app::Services::enforcing(&config, store, clock).unwrap();
    let mut a = Applier::new(s.store.clone(), s.enforcer.clone(), None, "b").unwrap();
    a.generation("g1");
    a
}

fn active(id: &str) -> Vec<u8> {
    let mut d = decision();
    d.id = id.into();
    d.mode = Mode::Enforce;
    let rec = record(d, LockStatus::Active, t(0));
    WireDecision::of(&rec, "det").encode()
}

fn status(a: &Applier, id: &str) -> Option<LockStatus> {
    let s = a.store.lock().unwrap();
    s.decision(id).unwrap().map(|r| r.status)
}

#[test]
fn only_decisions_applied_from_the_bucket_are_lifted_when_their_key_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = applier(dir.path());
    a.entry("aa01", 1, Some(&active("aa01")), t(10)).unwrap();
    a.entry("bb02", 2, Some(&active("bb02")), t(10)).unwrap();
    // Recorded here another way (not from the bucket): never judged.
    let mut local = decision();
    local.id = "cc03".into();
    a.store
        .lock()
        .unwrap()
        .commit(&Batch {
            decisions: vec![local],
            at: t(10),
            ..Batch::default()
        })
        .unwrap();
    let present: HashSet<String> = ["bb02".to_owned()].into();
    let lifted = a.lift_gone(&present, t(20)).unwrap();
    assert_eq!(lifted, ["aa01"]);
    assert_eq!(status(&a, "aa01"), Some(LockStatus::Unlocked));
    assert_eq!(status(&a, "bb02"), Some(LockStatus::Active));
    assert_eq!(status(&a, "cc03"), Some(LockStatus::Active));
    let audit = a.store.lock().unwrap().audit("aa01").unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.what, "unlocked");
    assert!(last.detail.contains(REASON), "{audit:?}");
    // Again: nothing more to lift.
    assert!(a.lift_gone(&present, t(21)).unwrap().is_empty());
}

use super::*;
use crate::clock::ManualClock;
use crate::decision::Mode;
use crate::test_support::{decision, record, t};

/// An applier over the state in `dir` (made or resumed), watching the
/// bucket's generation `g`.
fn resumed(dir: &std::path::Path, g: &str) -> Applier {
    let mut config = Config::defaults_with_state(dir.join("s.db"));
    config.safety.detect_own = false;
    let store = Store::open(&config.state_path).unwrap();
    let clock = Arc::new(ManualClock::new(t(0)));
    let s = crate::app::Services::enforcing(&config, store, clock).unwrap();
    let mut a = Applier::new(s.store.clone(), s.enforcer.clone(), None, "b").unwrap();
    a.generation(g);
    a
}

fn applier(dir: &std::path::Path) -> Applier {
    resumed(dir, "g1")
}

fn value(id: &str, status: LockStatus, until: i64) -> Vec<u8> {
    let mut d = decision();
    d.id = id.into();
    d.mode = Mode::Enforce;
    d.until = Some(t(until));
    let mut rec = record(d, status, t(50));
    rec.unlock_reason = (status == LockStatus::Unlocked).then(|| "phoned".to_owned());
    WireDecision::of(&rec, "det").encode()
}

fn status(a: &Applier, id: &str) -> Option<LockStatus> {
    a.store
        .lock()
        .unwrap()
        .decision(id)
        .unwrap()
        .map(|r| r.status)
}

#[test]
fn a_decision_is_applied_once_and_lifted_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = applier(dir.path());
    let on = value("aa01", LockStatus::Active, 100);
    assert_eq!(
        a.entry("aa01", 3, Some(&on), t(10)).unwrap(),
        Outcome::Applied
    );
    assert_eq!(status(&a, "aa01"), Some(LockStatus::Active));
    // The same revision again (a re-made watch): skipped unread.
    assert_eq!(a.entry("aa01", 3, Some(&on), t(11)).unwrap(), Outcome::Seen);
    // A restart: the revision is read back from the state.
    drop(a);
    let mut a = resumed(dir.path(), "g1");
    assert_eq!(a.applied(), 3);
    assert_eq!(a.entry("aa01", 3, Some(&on), t(12)).unwrap(), Outcome::Seen);
    // The same decision under a later revision (the detector rewrote it):
    // recorded already, not applied again.
    assert_eq!(
        a.entry("aa01", 4, Some(&on), t(12)).unwrap(),
        Outcome::Known
    );

    // The bucket made anew (revisions from 1 again): checked, not skipped,
    // and still not applied twice.
    a.generation("g2");
    assert_eq!(a.applied(), 0);
    assert_eq!(
        a.entry("aa01", 1, Some(&on), t(12)).unwrap(),
        Outcome::Known
    );
    let off = value("aa01", LockStatus::Unlocked, 100);
    assert_eq!(
        a.entry("aa01", 5, Some(&off), t(20)).unwrap(),
        Outcome::Lifted
    );
    let rec = a.store.lock().unwrap().decision("aa01").unwrap().unwrap();
    assert_eq!(rec.status, LockStatus::Unlocked);
    assert_eq!(rec.unlocked_by.as_deref(), Some("ann"));
    let reason = rec.unlock_reason.unwrap();
    assert!(
        reason.contains("unlocked by an admin on the fleet's detector det: phoned"),
        "{reason}"
    );
    assert_eq!(
        a.entry("aa01", 6, Some(&off), t(21)).unwrap(),
        Outcome::NotHeld
    );
    let audit = a.store.lock().unwrap().audit("aa01").unwrap();
    let whats: Vec<&str> = audit.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(whats, ["decided", "fleet-applied", "unlocked"], "{audit:?}");
}

#[test]
fn a_late_lock_is_not_applied_and_a_deleted_key_lifts() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = applier(dir.path());
    let late = value("bb02", LockStatus::Active, 5);
    assert_eq!(
        a.entry("bb02", 1, Some(&late), t(10)).unwrap(),
        Outcome::Late
    );
    assert_eq!(status(&a, "bb02"), None);
    let on = value("cc03", LockStatus::Active, 100);
    assert_eq!(
        a.entry("cc03", 2, Some(&on), t(10)).unwrap(),
        Outcome::Applied
    );
    assert_eq!(a.entry("cc03", 3, None, t(11)).unwrap(), Outcome::Lifted);
    assert_eq!(status(&a, "cc03"), Some(LockStatus::Unlocked));
    assert_eq!(a.entry("zz", 4, None, t(11)).unwrap(), Outcome::NotHeld);
}

#[test]
fn values_of_another_layout_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = applier(dir.path());
    let mut v: serde_json::Value =
        serde_json::from_slice(&value("dd04", LockStatus::Active, 100)).unwrap();
    v["v"] = 2.into();
    let v2 = v.to_string();
    assert_eq!(
        a.entry("dd04", 1, Some(v2.as_bytes()), t(1)).unwrap(),
        Outcome::Malformed
    );
    assert_eq!(
        a.entry("ee05", 2, Some(b"\x00garbage"), t(1)).unwrap(),
        Outcome::Malformed
    );
    assert_eq!(a.malformed(), 2);
    assert_eq!(a.applied(), 2);
    assert_eq!(status(&a, "dd04"), None);
}

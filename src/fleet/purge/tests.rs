use super::*;
use crate::fleet::decisions::How;
use crate::state::LockStatus;
use crate::test_support::{decision, record, t};

fn value(status: LockStatus, ended: i64) -> Vec<u8> {
    let rec = record(decision(), status, t(ended));
    WireDecision::of(&rec, "det").encode()
}

fn latest(value: Vec<u8>, marker: bool, stored: i64) -> Latest {
    Latest {
        key: "d1".into(),
        revision: 7,
        marker,
        stored: t(stored),
        value,
    }
}

const KEEP: Duration = Duration::from_secs(100);

#[test]
fn a_lifted_value_is_purged_after_the_retention_and_its_marker_after_another() {
    let lifted = latest(value(LockStatus::Unlocked, 1000), false, 1000);
    assert_eq!(verdict(&lifted, KEEP, t(1099)), Verdict::Keep);
    assert_eq!(verdict(&lifted, KEEP, t(1100)), Verdict::Purge);
    let expired = latest(value(LockStatus::Expired, 1000), false, 5);
    assert_eq!(
        verdict(&expired, KEEP, t(1100)),
        Verdict::Purge,
        "the lift's time counts, not the put's"
    );
    let marker = latest(Vec::new(), true, 1100);
    assert_eq!(verdict(&marker, KEEP, t(1199)), Verdict::Keep);
    assert_eq!(verdict(&marker, KEEP, t(1200)), Verdict::Remove);
}

#[test]
fn an_active_or_unreadable_value_is_never_purged() {
    let active = latest(value(LockStatus::Active, 0), false, 0);
    assert_eq!(verdict(&active, KEEP, t(1_000_000)), Verdict::Keep);
    let other = latest(br#"{"v":2,"state":"lifted"}"#.to_vec(), false, 0);
    assert_eq!(verdict(&other, KEEP, t(1_000_000)), Verdict::Keep);
    let junk = latest(b"not json".to_vec(), false, 0);
    assert_eq!(verdict(&junk, KEEP, t(1_000_000)), Verdict::Keep);
    // A huge retention does not overflow into "old".
    let lifted = latest(value(LockStatus::Unlocked, 10), false, 10);
    assert_eq!(verdict(&lifted, Duration::MAX, t(1_000_000)), Verdict::Keep);
    let _ = How::Gone;
}

#[test]
fn passes_run_a_quarter_of_the_retention_apart_within_bounds() {
    assert_eq!(interval(Duration::from_secs(2)), Duration::from_secs(1));
    assert_eq!(interval(Duration::from_secs(400)), Duration::from_secs(100));
    assert_eq!(
        interval(crate::fleet::DEFAULT_LIFTED_KEEP),
        Duration::from_secs(600)
    );
}

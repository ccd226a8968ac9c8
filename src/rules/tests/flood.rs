//! Floods of invented names against known accounts' windows (issue 11, part
//! 4): a flood of cheap keys evicts only unknown keys; known accounts' keys
//! have a cap of their own; the protection survives a snapshot.

use crate::decision::{DecisionAction, Mode};
use crate::event::{AuthEvent, Reason};
use crate::rules::Engine;
use crate::test_support::{EventSetters, bad, engine, ok, shipped};

/// An invalid-user failure for the `i`th invented name, from one address.
fn invented(i: u32, secs: i64) -> AuthEvent {
    bad(&format!("x{i:06}"), "203.0.113.66", secs).with_reason(Some(Reason::UnknownUser))
}

/// Five bad passwords for alice, 60,000 invented names, then the attacker's
/// success: `success-after-failures` (cap 50,000) must still fire. Without
/// the mark the same run loses alice's window, which proves the test can fail.
#[test]
fn a_flood_of_invented_names_does_not_evict_a_known_account() {
    let run = |known: bool| {
        let mut e = shipped("success-after-failures");
        for i in 0..5 {
            assert!(
                e.observe(&bad("alice", "198.51.100.9", i).with_known(known))
                    .is_empty()
            );
        }
        for i in 0..60_000u32 {
            assert!(e.observe(&invented(i, 10 + i64::from(i / 100))).is_empty());
        }
        let win = ok("alice", "198.51.100.9", 1000).with_known(known);
        let d = e.observe(&win);
        (d, e.stats().rules[0].clone())
    };
    let (d, stats) = run(true);
    assert_eq!(d.len(), 1, "the reset fires");
    assert_eq!(d[0].action, DecisionAction::RequirePasswordReset);
    assert_eq!(d[0].evidence.count, 5);
    assert!(stats.evicted >= 10_000, "the flood was evicted: {stats:?}");
    assert!(stats.keys <= 50_001, "{stats:?}");
    let (d, _) = run(false);
    assert!(d.is_empty(), "unmarked, alice's window is evicted: {d:?}");
}

fn capped(max: usize) -> Engine {
    let text = format!(
        r#"
[[rule]]
id = "cap"
kind = "threshold"
group_by = "user"
count = 3
window = "1h"
max_keys = {max}
match = {{ outcome = "failure" }}
decision = {{ action = "lock_account", duration = "1h" }}
"#
    );
    engine(&text, Mode::Recommend)
}

/// Known accounts have a cap of their own: 300 of them under a cap of 100
/// hold at most 100 keys (the least recently seen evicted, and counted), and
/// 1,000 invented names beside them take nothing from it.
#[test]
fn protected_keys_have_their_own_cap() {
    let mut e = capped(100);
    for i in 0..300 {
        e.observe(&bad(&format!("k{i:03}"), "198.51.100.1", i).with_known(true));
    }
    for i in 0..1000u32 {
        e.observe(&invented(i, 400 + i64::from(i / 10)));
    }
    let s = &e.stats().rules[0];
    assert!(s.keys <= 200, "{s:?}");
    // The newest known account is still there: two more failures fire.
    let d: Vec<_> = [600, 601]
        .iter()
        .flat_map(|&t| e.observe(&bad("k299", "198.51.100.1", t).with_known(true)))
        .collect();
    assert_eq!(d.len(), 1, "{s:?}");
    // 200 known accounts and 900 invented names were evicted.
    assert!(s.evicted >= 1_100, "{s:?}");
}

/// An engine restored from a snapshot holds the same protected keys and evicts
/// exactly what the uninterrupted one evicts.
#[test]
fn protection_survives_a_snapshot() {
    let first = |e: &mut Engine| {
        e.observe(&bad("alice", "198.51.100.9", 0).with_known(true));
        e.observe(&bad("alice", "198.51.100.9", 1).with_known(true));
        for i in 0..150u32 {
            e.observe(&invented(i, 2 + i64::from(i)));
        }
    };
    let rest = |e: &mut Engine| {
        let mut out: Vec<_> = (150..400u32)
            .flat_map(|i| e.observe(&invented(i, 2 + i64::from(i))))
            .collect();
        out.extend(e.observe(&bad("alice", "198.51.100.9", 500).with_known(true)));
        out
    };
    let mut whole = capped(100);
    first(&mut whole);
    let snap = whole.snapshot();
    let a = rest(&mut whole);
    let mut restored = Engine::restore(whole.rules().clone(), Mode::Recommend, &snap).unwrap();
    let b = rest(&mut restored);
    assert_eq!(a.len(), 1, "alice's third failure locks: {a:?}");
    let ids = |v: &[crate::decision::Decision]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(whole.stats(), restored.stats());
}

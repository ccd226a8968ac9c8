//! Engine snapshots and reloads: what survives, what is dropped, and that bad
//! bytes are refused rather than misread.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use crate::decision::{DecisionAction, Mode};
use crate::event::{AuthEvent, Reason};
use crate::rules::snapshot::ENGINE_FORMAT;
use crate::rules::{Engine, RuleSet, builtin, fingerprint};
use crate::snapshot::SnapshotError;
use crate::test_support::{EventSetters, bad, engine, feed, ok, restored};

fn shipped() -> Arc<RuleSet> {
    Arc::new(builtin().unwrap())
}

/// A mixed workload touching every shipped rule kind.
fn workload(from: i64, n: i64) -> Vec<AuthEvent> {
    (from..from + n)
        .map(|i| {
            let user = format!("u{}", i % 7);
            let addr = format!("192.0.2.{}", i % 5);
            if i % 11 == 0 {
                ok(&user, &addr, i * 7)
            } else if i % 3 == 0 {
                bad(&user, &addr, i * 7).with_reason(Some(Reason::UnknownUser))
            } else {
                bad(&user, &addr, i * 7)
            }
        })
        .collect()
}

#[test]
fn a_restored_engine_continues_like_the_original() {
    let mut a = Engine::new(shipped(), Mode::Enforce);
    let first = feed(&mut a, &workload(0, 400));
    assert!(!first.is_empty(), "the workload makes decisions");
    let mut b = restored(&a);
    assert_eq!(a.stats(), b.stats());
    let rest = workload(400, 800);
    let da = feed(&mut a, &rest);
    let db = feed(&mut b, &rest);
    assert!(!da.is_empty());
    assert_eq!(da, db);
    assert_eq!(a.stats(), b.stats());
}

#[test]
fn escalation_and_suppression_survive_a_restore() {
    let mut e = Engine::new(shipped(), Mode::Recommend);
    let d = feed(
        &mut e,
        &(0..5)
            .map(|i| bad("alice", "192.0.2.1", i))
            .collect::<Vec<_>>(),
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].action, DecisionAction::LockAccount);
    let mut e = restored(&e);
    // Still locked: more failures are suppressed, not a new offence.
    let d = feed(
        &mut e,
        &(10..20)
            .map(|i| bad("alice", "192.0.2.1", i))
            .collect::<Vec<_>>(),
    );
    assert!(d.iter().all(|d| &*d.rule != "account-lockout"), "{d:?}");
    let mut e = restored(&e);
    // After the lock ends, a repeat within 24 h doubles it (history survived).
    let d = feed(
        &mut e,
        &(0..5)
            .map(|i| bad("alice", "192.0.2.1", 3600 + i))
            .collect::<Vec<_>>(),
    );
    let lock: Vec<_> = d.iter().filter(|d| &*d.rule == "account-lockout").collect();
    assert_eq!(lock.len(), 1);
    let until = lock[0].until.unwrap();
    assert_eq!((until - lock[0].at).num_minutes(), 60);
}

#[test]
fn fingerprint_follows_the_definition_not_the_wording() {
    let set = builtin().unwrap();
    let r = set.rule("account-lockout").unwrap().clone();
    let mut moved = r.clone();
    moved.description = "reworded".into();
    moved.file = "elsewhere.toml".into();
    moved.line = 99;
    assert_eq!(fingerprint(&r), fingerprint(&moved));
    let mut counted = r.clone();
    counted.count = 6;
    assert_ne!(fingerprint(&r), fingerprint(&counted));
    let mut exempted = r.clone();
    exempted.exempt.users.push(Arc::from("root"));
    assert_ne!(fingerprint(&r), fingerprint(&exempted));
    let ids: BTreeSet<u64> = set.rules.iter().map(fingerprint).collect();
    assert_eq!(ids.len(), set.rules.len());
}

fn accounts_with_lockout_count(n: u32) -> Arc<RuleSet> {
    let from = "count = 5\nwindow = \"30m\"";
    let texts: Vec<(&str, String)> = crate::rules::BUILTIN
        .iter()
        .map(|&(name, text)| {
            if name.ends_with("accounts.toml") {
                assert!(text.contains(from));
                (
                    name,
                    text.replacen(from, &format!("count = {n}\nwindow = \"30m\""), 1),
                )
            } else {
                (name, text.to_owned())
            }
        })
        .collect();
    let texts: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (*n, t.as_str())).collect();
    Arc::new(RuleSet::from_texts(&texts).unwrap())
}

#[test]
fn restore_drops_only_the_state_of_changed_rules() {
    let mut e = Engine::new(shipped(), Mode::Recommend);
    feed(
        &mut e,
        &(0..4)
            .map(|i| bad("bob", "192.0.2.9", i))
            .collect::<Vec<_>>(),
    );
    let bytes = e.snapshot();
    let e = Engine::restore(accounts_with_lockout_count(6), Mode::Recommend, &bytes).unwrap();
    let keys = |e: &Engine, id: &str| {
        e.stats()
            .rules
            .iter()
            .find(|r| &*r.rule == id)
            .map(|r| r.keys)
    };
    assert_eq!(keys(&e, "account-lockout"), Some(0));
    assert_eq!(keys(&e, "success-after-failures"), Some(1));
    assert_eq!(keys(&e, "ip-bruteforce"), Some(1));
}

#[test]
fn reload_reports_what_happened_to_each_rule() {
    let mut e = Engine::new(shipped(), Mode::Recommend);
    feed(
        &mut e,
        &(0..4)
            .map(|i| bad("bob", "192.0.2.9", i))
            .collect::<Vec<_>>(),
    );
    let r = e.reload(shipped());
    assert_eq!(r.kept.len(), shipped().rules.len());
    assert!(r.reset.is_empty() && r.added.is_empty() && r.removed.is_empty());
    let mut changed = accounts_with_lockout_count(6).rules.clone();
    changed.retain(|r| &*r.id != "password-spray");
    let r = e.reload(Arc::new(RuleSet {
        formats: Vec::new(),
        rules: changed,
    }));
    assert_eq!(r.reset, vec![Arc::<str>::from("account-lockout")]);
    assert_eq!(r.removed, vec![Arc::<str>::from("password-spray")]);
    assert_eq!(r.kept.len(), shipped().rules.len() - 2);
    let r = e.reload(shipped());
    assert_eq!(r.added, vec![Arc::<str>::from("password-spray")]);
    assert_eq!(r.reset, vec![Arc::<str>::from("account-lockout")]);
}

#[test]
fn foreign_old_and_damaged_bytes_are_refused_without_panicking() {
    let mut e = Engine::new(shipped(), Mode::Recommend);
    feed(&mut e, &workload(0, 300));
    let good = e.snapshot();
    let rules = shipped();
    let try_restore = |b: &[u8]| Engine::restore(rules.clone(), Mode::Recommend, b);
    let mut old = good.clone();
    old[1] = ENGINE_FORMAT + 1;
    assert!(matches!(
        try_restore(&old),
        Err(SnapshotError::UnknownVersion { .. })
    ));
    assert!(matches!(
        try_restore(b"S\x01\x00"),
        Err(SnapshotError::WrongKind { .. })
    ));
    assert!(try_restore(&[]).is_err());
    // Every truncation fails; flipped bytes may decode (to other state) but never panic.
    for cut in 0..good.len() {
        assert!(try_restore(&good[..cut]).is_err(), "cut at {cut}");
    }
    for i in 2..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x5a;
        let _ = try_restore(&b);
    }
}

#[test]
fn eviction_breaks_ties_by_key_not_by_map_layout() {
    let text = r#"
[[rule]]
id = "capped"
kind = "threshold"
group_by = "source.ip"
count = 3
window = "10m"
max_keys = 16
[rule.match]
outcome = "failure"
[rule.decision]
action = "block_ip"
duration = "1h"
unlock = "auto"
severity = "low"
"#;
    let addr = |i: u8| IpAddr::from([198, 51, 100, i]);
    let mut e = engine(text, Mode::Recommend);
    // Sixteen keys seen at the same second, inserted largest first, fill the cap.
    for i in (10..26).rev() {
        e.observe(&bad("x", &addr(i).to_string(), 0));
    }
    e.observe(&bad("x", &addr(200).to_string(), 0));
    // The newcomer evicted an eighth (2): the two smallest keys, whatever the
    // map's layout; a restored engine (another layout) must evict the same.
    let mut left: Vec<IpAddr> = e.states[0]
        .keys
        .keys()
        .filter_map(|k| match k {
            crate::rules::key::Key::Ip(ip) => Some(*ip),
            _ => None,
        })
        .collect();
    left.sort();
    let mut want: Vec<IpAddr> = (12..26).map(addr).collect();
    want.push(addr(200));
    assert_eq!(left, want);
    assert_eq!(e.stats().rules[0].evicted, 2);
}

/// The daemon streams the snapshot into the database (`Streamed`): the bytes
/// and the measured length must be exactly those of `Engine::snapshot`.
#[test]
fn the_streamed_snapshot_is_the_snapshot_and_its_measured_length() {
    use crate::snapshot::Streamed;
    let mut e = Engine::new(shipped(), Mode::Recommend);
    for engine_events in [Vec::new(), workload(0, 500)] {
        feed(&mut e, &engine_events);
        let bytes = e.snapshot();
        let mut out = Vec::new();
        e.write_to(&mut out).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(e.encoded_len().unwrap(), bytes.len());
        assert!(bytes.len() > 2, "a header and a body");
    }
}

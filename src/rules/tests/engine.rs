//! Engine behaviour, rule kind by rule kind, on the shipped defaults where they
//! apply (so these tests also pin the shipped values) and on small inline rules.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::decision::{Decision, DecisionAction, Mode, Unlock};
use crate::event::AuthEvent;
use crate::rules::{Engine, load_dir};
use crate::test_support::{EventSetters, bad, engine, feed, ok, shipped, t};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn minutes(d: &Decision) -> i64 {
    (d.until.unwrap() - d.at).num_minutes()
}

#[test]
fn lockout_needs_five_consecutive_failures() {
    let mut e = shipped("account-lockout");
    let mut evs: Vec<AuthEvent> = (0..4).map(|i| bad("alice", "192.0.2.1", i * 10)).collect();
    evs.push(ok("alice", "192.0.2.1", 50));
    assert!(feed(&mut e, &evs).is_empty(), "4 failures then a success");
    let evs: Vec<AuthEvent> = (0..5)
        .map(|i| bad("alice", "192.0.2.1", 100 + i * 10))
        .collect();
    let d = feed(&mut e, &evs);
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert_eq!(d.action, DecisionAction::LockAccount);
    assert_eq!(d.at, t(140));
    assert_eq!(d.until, Some(t(140 + 30 * 60)));
    assert_eq!(d.unlock, Unlock::Auto);
    assert_eq!(d.mode, Mode::Recommend);
    assert_eq!(d.target.user.as_deref(), Some("alice"));
    assert_eq!(d.evidence.count, 5);
    assert_eq!(d.evidence.first, t(100));
    assert_eq!(d.evidence.source_ips, vec![ip("192.0.2.1")]);
}

#[test]
fn success_in_between_resets_consecutive() {
    let mut e = shipped("account-lockout");
    let mut evs: Vec<AuthEvent> = (0..3).map(|i| bad("bob", "192.0.2.2", i)).collect();
    evs.push(ok("bob", "192.0.2.2", 5));
    evs.extend((0..4).map(|i| bad("bob", "192.0.2.2", 10 + i)));
    assert!(feed(&mut e, &evs).is_empty());
    assert_eq!(feed(&mut e, &[bad("bob", "192.0.2.2", 20)]).len(), 1);
}

#[test]
fn consecutive_failures_must_fit_the_window() {
    let mut e = shipped("account-lockout");
    // 5 failures spread over 40 minutes: never 5 within 30.
    let evs: Vec<AuthEvent> = (0..5).map(|i| bad("carol", "192.0.2.3", i * 600)).collect();
    assert!(feed(&mut e, &evs).is_empty());
}

#[test]
fn repeat_lockouts_escalate_and_cap_at_a_day() {
    let mut e = shipped("account-lockout");
    let mut start = 0;
    let mut got = Vec::new();
    for _ in 0..8 {
        let evs: Vec<AuthEvent> = (0..5)
            .map(|i| bad("dave", "192.0.2.4", start + i))
            .collect();
        let d = feed(&mut e, &evs);
        assert_eq!(d.len(), 1, "one lock per burst");
        got.push(minutes(&d[0]));
        // Next burst right after this lock ends (still within 24 h of it).
        start = (d[0].until.unwrap() - t(0)).num_seconds() + 1;
    }
    // The 7th would be 32 h: capped at 24 h. The 8th comes when that 24 h lock
    // ends, more than `within` (24 h) after the 7th's `at`: no longer a repeat.
    assert_eq!(got, [30, 60, 120, 240, 480, 960, 1440, 30]);
}

#[test]
fn one_decision_per_ongoing_attack() {
    let mut e = shipped("ip-bruteforce");
    let evs: Vec<AuthEvent> = (0..200)
        .map(|i| bad(&format!("u{i}"), "198.51.100.7", i * 2))
        .collect();
    let d = feed(&mut e, &evs);
    assert_eq!(d.len(), 1, "block suppresses further matches");
    assert_eq!(d[0].target.ip, Some(ip("198.51.100.7")));
    assert_eq!(d[0].target.user, None);
    assert_eq!(minutes(&d[0]), 60);
    assert_eq!(
        d[0].evidence.users.len(),
        20,
        "evidence lists are capped at 20"
    );
    let s = &e.stats().rules[0];
    assert_eq!((s.decisions, s.suppressed), (1, 180));
    // After the block ends a fresh set of 20 is needed, and the repeat doubles.
    let after = (d[0].until.unwrap() - t(0)).num_seconds();
    let evs: Vec<AuthEvent> = (0..19)
        .map(|i| bad("x", "198.51.100.7", after + i))
        .collect();
    assert!(feed(&mut e, &evs).is_empty());
    let d2 = feed(&mut e, &[bad("x", "198.51.100.7", after + 30)]);
    assert_eq!(minutes(&d2[0]), 120);
}

#[test]
fn threshold_window_slides() {
    let mut e = shipped("ip-bruteforce");
    let evs: Vec<AuthEvent> = (0..19).map(|i| bad("a", "203.0.113.9", i)).collect();
    assert!(feed(&mut e, &evs).is_empty());
    // 11 minutes later the first 19 are out of the 10-minute window.
    assert!(feed(&mut e, &[bad("a", "203.0.113.9", 660)]).is_empty());
    let evs: Vec<AuthEvent> = (0..18).map(|i| bad("a", "203.0.113.9", 661 + i)).collect();
    assert!(feed(&mut e, &evs).is_empty());
    let d = feed(&mut e, &[bad("a", "203.0.113.9", 700)]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].evidence.first, t(660));
}

#[test]
fn distinct_counts_distinct_values_only() {
    let mut e = shipped("password-spray");
    let evs: Vec<AuthEvent> = (0..50)
        .map(|i| bad(&format!("user{}", i % 9), "192.0.2.50", i))
        .collect();
    assert!(
        feed(&mut e, &evs).is_empty(),
        "9 distinct users, many times"
    );
    let d = feed(&mut e, &[bad("user9", "192.0.2.50", 60)]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].action, DecisionAction::BlockIp);
    assert_eq!(minutes(&d[0]), 240);
    assert_eq!(d[0].evidence.users.len(), 10);
    assert_eq!(d[0].target.ip, Some(ip("192.0.2.50")));
}

#[test]
fn distributed_bruteforce_waits_for_an_admin() {
    let mut e = shipped("distributed-bruteforce");
    let evs: Vec<AuthEvent> = (0..4)
        .flat_map(|i| {
            let a = format!("10.0.{i}.1");
            [bad("erin", &a, i * 60), bad("erin", &a, i * 60 + 1)]
        })
        .collect();
    assert!(feed(&mut e, &evs).is_empty(), "4 addresses");
    let d = feed(&mut e, &[bad("erin", "10.0.9.1", 600)]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].unlock, Unlock::Admin);
    assert_eq!(d[0].until, None);
    assert_eq!(d[0].evidence.source_ips.len(), 5);
    // Suppressed for the window (1 h) since there is no end to wait for.
    assert!(
        feed(
            &mut e,
            &(0..5)
                .map(|i| bad("erin", &format!("10.1.{i}.1"), 900 + i))
                .collect::<Vec<_>>()
        )
        .is_empty()
    );
    let later: Vec<AuthEvent> = (0..5)
        .map(|i| bad("erin", &format!("10.2.{i}.1"), 4300 + i))
        .collect();
    assert_eq!(feed(&mut e, &later).len(), 1);
}

#[test]
fn sequence_fires_on_success_after_five_failures() {
    let mut e = shipped("success-after-failures");
    let mut evs: Vec<AuthEvent> = (0..4).map(|i| bad("frank", "192.0.2.9", i)).collect();
    evs.push(ok("frank", "192.0.2.9", 10));
    assert!(feed(&mut e, &evs).is_empty(), "4 failures then success");
    let mut evs: Vec<AuthEvent> = (0..5).map(|i| bad("frank", "192.0.2.9", 100 + i)).collect();
    assert!(
        feed(&mut e, &evs).is_empty(),
        "failures alone never fire a sequence"
    );
    evs.clear();
    evs.push(ok("frank", "203.0.113.1", 200));
    let d = feed(&mut e, &evs);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].action, DecisionAction::RequirePasswordReset);
    assert_eq!(d[0].until, None);
    assert_eq!(d[0].evidence.count, 5);
    assert_eq!(d[0].evidence.last, t(200));
    assert_eq!(
        d[0].evidence.source_ips,
        vec![ip("192.0.2.9"), ip("203.0.113.1")],
        "the successful address is evidence too"
    );
}

#[test]
fn sequence_failures_must_be_within_the_window() {
    let mut e = shipped("success-after-failures");
    let mut evs: Vec<AuthEvent> = (0..5).map(|i| bad("gina", "192.0.2.9", i)).collect();
    evs.push(ok("gina", "192.0.2.9", 3601 + 4));
    assert!(feed(&mut e, &evs).is_empty());
}

#[test]
fn events_without_the_key_are_ignored() {
    let mut e = shipped("account-lockout");
    let evs: Vec<AuthEvent> = (0..10)
        .map(|i| bad("a", "192.0.2.1", i).with_user(None))
        .collect();
    assert!(feed(&mut e, &evs).is_empty());
    assert_eq!(e.stats().rules[0].keys, 0);
    let mut e = shipped("ip-bruteforce");
    let evs: Vec<AuthEvent> = (0..30)
        .map(|i| bad("a", "192.0.2.1", i).with_ip(None))
        .collect();
    assert!(feed(&mut e, &evs).is_empty());
}

const EXEMPT: &str = r#"
[[rule]]
id = "lock"
kind = "threshold"
group_by = "user"
count = 2
window = "1m"
[rule.match]
outcome = "failure"
[rule.decision]
action = "lock_account"
duration = "5m"
[rule.exempt]
users = ["breakglass"]
cidrs = ["192.0.2.0/24"]
"#;

#[test]
fn exempt_targets_get_an_alert_not_a_lock() {
    let mut e = engine(EXEMPT, Mode::Enforce);
    let d = feed(
        &mut e,
        &[
            bad("breakglass", "10.0.0.1", 0),
            bad("breakglass", "10.0.0.1", 1),
        ],
    );
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].action, d[0].exempt, d[0].until),
        (DecisionAction::Alert, true, None)
    );
    let json = serde_json::to_value(&d[0]).unwrap();
    assert_eq!(json["exempt"], true);
    // Exempt network (for a user rule: the triggering address).
    let d = feed(
        &mut e,
        &[bad("henry", "192.0.2.5", 0), bad("henry", "192.0.2.5", 1)],
    );
    assert_eq!((d[0].action, d[0].exempt), (DecisionAction::Alert, true));
    let d = feed(
        &mut e,
        &[bad("ivy", "10.0.0.1", 0), bad("ivy", "10.0.0.1", 1)],
    );
    assert_eq!(
        (d[0].action, d[0].exempt),
        (DecisionAction::LockAccount, false)
    );
    assert_eq!(d[0].mode, Mode::Enforce);
    assert!(serde_json::to_value(&d[0]).unwrap().get("exempt").is_none());
}

#[test]
fn source_net_targets_the_network() {
    let mut e = engine(
        r#"
[[rule]]
id = "net"
kind = "threshold"
group_by = "source.net"
count = 3
window = "1m"
match = { outcome = "failure" }
decision = { action = "block_ip", duration = "1h" }
"#,
        Mode::Enforce,
    );
    let evs = [
        bad("a", "192.0.2.1", 0),
        bad("b", "192.0.2.2", 1),
        bad("c", "192.0.3.3", 2),
    ];
    assert!(feed(&mut e, &evs).is_empty());
    let d = feed(&mut e, &[bad("d", "192.0.2.200", 3)]);
    assert_eq!(
        d[0].target.net.map(|n| n.to_string()).as_deref(),
        Some("192.0.2.0/24")
    );
    assert_eq!(d[0].target.ip, None);
}

#[test]
fn key_cap_evicts_least_recently_seen() {
    let mut e = engine(
        r#"
[[rule]]
id = "cap"
kind = "threshold"
group_by = "source.ip"
count = 3
window = "1h"
max_keys = 100
match = { outcome = "failure" }
decision = { action = "block_ip", duration = "1h" }
"#,
        Mode::Enforce,
    );
    // An early address seen twice, then a flood of one-off addresses.
    feed(&mut e, &[bad("a", "10.9.9.9", 0), bad("a", "10.9.9.9", 1)]);
    for i in 0..10_000u32 {
        let a = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
        let mut ev = bad("x", "0.0.0.0", 2 + i64::from(i / 100));
        ev.source_ip = Some(a);
        assert!(e.observe(&ev).is_empty());
    }
    let s = &e.stats().rules[0];
    assert!(s.keys <= 100, "{} keys tracked", s.keys);
    assert!(s.evicted >= 9_900, "{} evicted", s.evicted);
    // The early address was evicted: its third failure does not fire.
    assert!(feed(&mut e, &[bad("a", "10.9.9.9", 200)]).is_empty());
}

#[test]
fn sweep_drops_keys_that_can_no_longer_fire() {
    let mut e = shipped("ip-bruteforce");
    let evs: Vec<AuthEvent> = (0..100)
        .map(|i| bad("a", &format!("10.0.0.{i}"), i))
        .collect();
    feed(&mut e, &evs);
    assert_eq!(e.stats().rules[0].keys, 100);
    // One event an hour later triggers the periodic sweep.
    feed(&mut e, &[bad("a", "10.1.0.1", 3600)]);
    assert_eq!(e.stats().rules[0].keys, 1);
}

fn attack() -> Vec<AuthEvent> {
    let mut evs = Vec::new();
    for i in 0..300 {
        evs.push(bad(
            &format!("u{}", i % 17),
            &format!("198.51.100.{}", i % 7),
            i * 3,
        ));
        if i % 50 == 0 {
            evs.push(ok("u1", "192.0.2.1", i * 3 + 1));
        }
    }
    evs
}

#[test]
fn decision_ids_are_stable_across_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let set = Arc::new(load_dir(&dir).unwrap());
    let run = || {
        let mut e = Engine::new(set.clone(), Mode::Recommend);
        feed(&mut e, &attack())
            .into_iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
    };
    let a = run();
    assert!(a.len() > 3, "the attack fires several rules: {a:?}");
    assert_eq!(a, run());
    let mut uniq = a.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), a.len(), "ids are distinct");
}

#[test]
fn out_of_order_events_are_accepted_without_panic() {
    let mut e = shipped("ip-bruteforce");
    // 20 failures within 5 minutes, delivered in a scrambled order.
    let mut evs: Vec<AuthEvent> = (0..20)
        .map(|i| bad("a", "192.0.2.77", (i * 7919) % 300))
        .collect();
    evs.push(bad("a", "192.0.2.77", -5000)); // far older than the window: late
    evs.rotate_left(7);
    let d = feed(&mut e, &evs);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].evidence.count, 20);
    assert!(d[0].evidence.first <= d[0].evidence.last);
    assert_eq!(e.stats().rules[0].late, 1);
    // Garbage-ish times do not panic either.
    let mut e = shipped("account-lockout");
    for secs in [i64::from(i32::MAX), 0, -86_400 * 365 * 100, 5, 4, 3, 2, 1] {
        e.observe(&bad("z", "192.0.2.1", secs));
    }
}

//! The kinds that do more than count (`restriction`, `travel`), the sequence
//! option `success_from_failing_ip`, their compile errors, and their state
//! across a snapshot.

use std::path::Path;
use std::sync::Arc;

use crate::decision::{DecisionAction, Mode, Severity};
use crate::event::{Account, AuthEvent, Outcome};
use crate::test_support::{
    EventSetters, assert_error_at, bad, engine, feed, ok, restored, rule_errors, rule_set, t,
};

const LONDON: (f64, f64) = (51.5142, -0.0931);
const LINKOPING: (f64, f64) = (58.4167, 15.6167);

const TRAVEL: &str = r#"
[[rule]]
id = "travel"
kind = "travel"
group_by = "user"
window = "24h"
ignore_cidrs = ["10.0.0.0/8"]
match = { outcome = "success" }
decision = { action = "alert", severity = "high", suppress = "1h" }
"#;

#[test]
fn travel_fires_on_an_impossible_pair_with_both_addresses() {
    let mut e = engine(TRAVEL, Mode::Recommend);
    let d = feed(
        &mut e,
        &[
            ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
            ok("ann", "89.160.20.112", 3600).located("SE", 0, Some(LINKOPING)),
        ],
    );
    assert_eq!(d.len(), 1, "1258 km in 1 h is 1258 km/h");
    assert_eq!(
        (d[0].action, d[0].severity),
        (DecisionAction::Alert, Severity::High)
    );
    let ips: Vec<String> = d[0]
        .evidence
        .source_ips
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(ips, ["81.2.69.142", "89.160.20.112"]);
    assert_eq!(d[0].evidence.count, 2);
    assert_eq!(d[0].evidence.first, t(0));
}

#[test]
fn travel_stays_quiet_when_the_trip_is_possible_or_unjudgeable() {
    let cases: Vec<(&str, Vec<AuthEvent>)> = vec![
        (
            "2 h is 629 km/h",
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                ok("ann", "89.160.20.112", 7200).located("SE", 0, Some(LINKOPING)),
            ],
        ),
        (
            "unlocated side",
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                ok("ann", "89.160.20.112", 60).located("SE", 0, None),
            ],
        ),
        (
            "corporate range",
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                ok("ann", "10.1.2.3", 60).located("SE", 0, Some(LINKOPING)),
            ],
        ),
        (
            "other users",
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                ok("bob", "89.160.20.112", 60).located("SE", 0, Some(LINKOPING)),
            ],
        ),
        (
            "closer than 100 km",
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                ok("ann", "89.160.20.112", 1).located("GB", 0, Some((51.75, -1.25))),
            ],
        ),
        (
            "older than the window",
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                ok("ann", "89.160.20.112", 25 * 3600).located("SE", 0, Some(LINKOPING)),
            ],
        ),
        ("a failure is no login", {
            let mut f = ok("ann", "89.160.20.112", 60).located("SE", 0, Some(LINKOPING));
            f.outcome = Outcome::Failure;
            vec![
                ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
                f,
            ]
        }),
    ];
    for (why, events) in cases {
        let mut e = engine(TRAVEL, Mode::Recommend);
        assert!(feed(&mut e, &events).is_empty(), "{why}");
    }
}

#[test]
fn travel_compares_with_the_newest_location_and_suppresses_repeats() {
    let mut e = engine(TRAVEL, Mode::Recommend);
    let d = feed(
        &mut e,
        &[
            ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON)),
            ok("ann", "89.160.20.112", 600).located("SE", 0, Some(LINKOPING)),
            // Back in London 10 minutes later: impossible again, but suppressed.
            ok("ann", "81.2.69.142", 1200).located("GB", 0, Some(LONDON)),
            // After the hour of suppression, compared with London (not Linköping).
            ok("ann", "81.2.69.142", 4000).located("GB", 0, Some(LONDON)),
            ok("ann", "89.160.20.112", 4600).located("SE", 0, Some(LINKOPING)),
        ],
    );
    let at: Vec<_> = d.iter().map(|d| d.at).collect();
    assert_eq!(at, [t(600), t(4600)]);
    assert_eq!(e.stats().rules[0].suppressed, 1);
}

#[test]
fn travel_state_survives_a_snapshot() {
    let mut a = engine(TRAVEL, Mode::Recommend);
    feed(
        &mut a,
        &[ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON))],
    );
    let mut b = restored(&a);
    assert_eq!(a.stats(), b.stats());
    let next = [ok("ann", "89.160.20.112", 3600).located("SE", 0, Some(LINKOPING))];
    let da = feed(&mut a, &next);
    assert_eq!(da.len(), 1);
    assert_eq!(da, feed(&mut b, &next));
}

const RESTRICTION: &str = r#"
[[rule]]
id = "ip-restriction"
kind = "restriction"
group_by = "user+source.ip"
window = "1h"
match = { action = "login" }
decision = { action = "block_ip", duration = "1h", severity = "high" }
[[rule.allow]]
group = "admins"
cidrs = ["10.0.0.0/8"]
countries = ["JP"]
"#;

fn admin(mut e: AuthEvent) -> AuthEvent {
    e.account = Some(Arc::new(Account {
        user: e.user.clone().unwrap(),
        groups: vec![Arc::from("admins")],
        ..Account::default()
    }));
    e
}

#[test]
fn restriction_blocks_attempts_from_outside_and_only_those() {
    let mut e = engine(RESTRICTION, Mode::Recommend);
    let mut attempt = ok("root", "192.0.2.1", 0).located("SE", 0, None);
    attempt.outcome = Outcome::Failure;
    let d = feed(
        &mut e,
        &[
            admin(ok("root", "10.0.0.5", 0).located("SE", 0, None)),
            admin(ok("root", "198.51.100.1", 0).located("JP", 0, None)),
            ok("bob", "192.0.2.1", 0).located("SE", 0, None),
            admin(attempt),
        ],
    );
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].action, DecisionAction::BlockIp);
    assert_eq!(d[0].target.ip, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(d[0].until, Some(t(3600)));
}

const SEQ: &str = r#"
[[rule]]
id = "seq"
kind = "sequence"
group_by = "user"
count = 3
window = "1h"
success_from_failing_ip = true
match = { outcome = "failure" }
decision = { action = "require_password_reset" }
"#;

#[test]
fn success_from_failing_ip_ignores_the_owner_elsewhere() {
    let mut e = engine(SEQ, Mode::Recommend);
    let bot = "203.0.113.7";
    let mut events: Vec<AuthEvent> = (0..3).map(|i| bad("carol", bot, i)).collect();
    // The owner logs in from home: no reset, and the bot's failures stay.
    events.push(ok("carol", "198.51.100.2", 10));
    assert!(feed(&mut e, &events).is_empty());
    let d = feed(&mut e, &[ok("carol", bot, 20)]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].evidence.count, 3);
    // Without the option, the home login fires.
    let mut e = engine(
        &SEQ.replace("success_from_failing_ip = true", ""),
        Mode::Recommend,
    );
    assert_eq!(feed(&mut e, &events).len(), 1);
}

#[test]
fn an_exempt_account_is_alerted_not_locked() {
    let mut e = engine(
        r#"
[[rule]]
id = "lock"
kind = "threshold"
group_by = "user"
count = 2
window = "1h"
match = { outcome = "failure" }
decision = { action = "lock_account", duration = "30m" }
"#,
        Mode::Recommend,
    );
    let mut ev = bad("breakglass", "192.0.2.1", 0);
    ev.account = Some(Arc::new(Account {
        user: Arc::from("breakglass"),
        exempt: true,
        ..Account::default()
    }));
    let d = feed(&mut e, &[ev.clone(), ev]);
    assert_eq!(d.len(), 1);
    assert!(d[0].exempt);
    assert_eq!(d[0].action, DecisionAction::Alert);
}

#[test]
fn every_mistake_in_the_new_keys_is_reported_with_its_line() {
    let text = r#"[[rule]]
id = "a"
kind = "threshold"
group_by = "user"
count = 1
window = "1h"
ignore_cidrs = ["10.0.0.0/8"]
success_from_failing_ip = true
decision = { action = "alert" }
[rule.match]
country = ["JPN"]
asn = [-1]
anonymous = ["vpn", "darknet"]
account_status = "gone"
in_list = []

[[rule]]
id = "b"
kind = "travel"
group_by = "source.ip"
count = 2
window = "1h"
max_speed_kmh = 0
match = { outcome = "failure" }
decision = { action = "alert" }

[[rule]]
id = "c"
kind = "restriction"
group_by = "user"
window = "1h"
decision = { action = "alert" }

[[rule]]
id = "d"
kind = "restriction"
group_by = "user"
window = "1h"
decision = { action = "alert" }
[[rule.allow]]
countries = ["XX1"]

[[rule]]
id = "e"
kind = "threshold"
group_by = "user"
window = "1h"
decision = { action = "alert" }
"#;
    let got = rule_errors(text);
    let at = |line: usize, needle: &str| assert_error_at(&got, line, needle);
    at(7, "ignore_cidrs is only for kind = \"travel\"");
    at(8, "success_from_failing_ip is only for kind = \"sequence\"");
    at(11, "bad country \"JPN\"");
    at(12, "bad AS number -1");
    at(13, "unknown anonymous \"darknet\"");
    at(14, "unknown account_status \"gone\"");
    at(15, "in_list is an empty list");
    at(20, "set group_by = \"user\"");
    at(21, "count has no meaning for kind = \"travel\"");
    at(23, "max_speed_kmh 0 must be");
    at(17, "match.outcome excludes success");
    at(27, "needs [[rule.allow]]");
    at(40, "needs user or group");
    at(41, "bad country \"XX1\"");
    at(43, "count is required for kind = \"threshold\"");
    assert_eq!(got.len(), 15, "{got:#?}");
}

#[test]
fn the_commented_restriction_example_compiles() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/restrictions.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("# [[rule]]").unwrap();
    let uncommented: String = text[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect::<Vec<_>>()
        .join("\n");
    let set = rule_set(&uncommented);
    assert_eq!(set.rules.len(), 1);
    assert_eq!(&*set.rules[0].id, "ip-restriction");
    assert!(set.uses_geo(), "an allowance by country needs GeoIP");
}

#[test]
fn referenced_lists_are_sorted_and_unique() {
    let set = rule_set(
        r#"
[[rule]]
id = "a"
kind = "threshold"
group_by = "source.ip"
count = 1
window = "1m"
match = { in_list = ["tor-exits", "firehol-level1"], not_in_list = "office" }
decision = { action = "alert" }
[[rule]]
id = "b"
kind = "threshold"
group_by = "source.ip"
count = 1
window = "1m"
match = { in_list = "tor-exits" }
decision = { action = "alert" }
"#,
    );
    let lists = set.referenced_lists();
    let names: Vec<&str> = lists.iter().map(|n| &**n).collect();
    assert_eq!(names, ["firehol-level1", "office", "tor-exits"]);
    assert!(!set.uses_geo());
}

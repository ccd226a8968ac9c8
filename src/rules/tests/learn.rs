//! The learning kinds (`novelty`, `dormant`): firing and staying quiet, their
//! bounds, their state across a snapshot, and the compile errors of their keys
//! and of the sweep kinds' keys.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::decision::{Decision, DecisionAction, Mode, Severity};
use crate::event::{Account, Action, AuthEvent, Geo, Outcome, Reason};
use crate::rules::kinds::novelty::MAX_VALUES;
use crate::rules::model::{Extra, Kind};
use crate::rules::{Engine, RuleSet};

const DAY: i64 = 86_400;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap() + TimeDelta::seconds(secs)
}

fn login(user: &str, addr: &str, secs: i64, outcome: Outcome) -> AuthEvent {
    let mut e = AuthEvent::new(t(secs), Action::Login, outcome);
    e.user = Some(Arc::from(user));
    e.source_ip = Some(addr.parse::<IpAddr>().unwrap());
    e.log_offset = u64::try_from(secs).ok();
    if outcome == Outcome::Failure {
        e.reason = Some(Reason::BadPassword);
    }
    e
}

/// A success from `country` in AS `asn`.
fn from(user: &str, secs: i64, country: &str, asn: u32) -> AuthEvent {
    let mut e = login(user, "192.0.2.1", secs, Outcome::Success);
    e.geo = Some(Arc::new(Geo {
        country_iso_code: Some(Arc::from(country)),
        as_number: Some(asn),
        ..Geo::default()
    }));
    e
}

fn engine(text: &str) -> Engine {
    let set = RuleSet::from_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    Engine::new(Arc::new(set), Mode::Recommend)
}

fn feed(e: &mut Engine, events: &[AuthEvent]) -> Vec<Decision> {
    events.iter().flat_map(|x| e.observe(x)).collect()
}

const NEW_COUNTRY: &str = r#"
[[rule]]
id = "new-country"
kind = "novelty"
field = "country"
group_by = "user"
match = { action = "login" }
decision = { action = "alert", severity = "high" }
"#;

#[test]
fn a_new_country_fires_once_after_the_quiet_period() {
    let mut e = engine(NEW_COUNTRY);
    let d = feed(
        &mut e,
        &[
            from("ann", 0, "JP", 1),
            // Day 3, still learning: SE is learned, not reported.
            from("ann", 3 * DAY, "SE", 2),
            from("ann", 8 * DAY, "JP", 1),
            from("ann", 9 * DAY, "SE", 2),
            // New after the quiet week: fires, then is known.
            from("ann", 10 * DAY, "US", 3),
            from("ann", 10 * DAY + 60, "US", 3),
        ],
    );
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].rule.as_ref(), "new-country");
    assert_eq!(d[0].action, DecisionAction::Alert);
    assert_eq!(d[0].severity, Severity::High);
    assert_eq!(d[0].at, t(10 * DAY));
    assert_eq!(d[0].target.user.as_deref(), Some("ann"));
    assert_eq!(d[0].evidence.count, 1);
    assert_eq!(d[0].evidence.first, t(10 * DAY));
    assert_eq!(
        d[0].evidence.source_ips,
        ["192.0.2.1".parse::<IpAddr>().unwrap()]
    );
    // Another new country the same day fires too: each value once.
    assert_eq!(
        feed(&mut e, &[from("ann", 10 * DAY + 120, "FR", 4)]).len(),
        1
    );
}

#[test]
fn novelty_ignores_failures_events_without_the_value_and_other_users() {
    let mut e = engine(NEW_COUNTRY);
    let mut no_geo = login("ann", "192.0.2.1", 9 * DAY, Outcome::Success);
    no_geo.geo = Some(Arc::new(Geo::default()));
    let mut failed = from("ann", 9 * DAY, "CN", 9);
    failed.outcome = Outcome::Failure;
    let d = feed(
        &mut e,
        &[
            from("ann", 0, "JP", 1),
            login("ann", "192.0.2.1", 8 * DAY, Outcome::Success),
            no_geo,
            failed,
            // bob's history is new: quiet.
            from("bob", 9 * DAY, "CN", 9),
        ],
    );
    assert!(d.is_empty(), "{d:?}");
    // A failure did not teach CN: ann's first CN success fires.
    assert_eq!(feed(&mut e, &[from("ann", 10 * DAY, "CN", 9)]).len(), 1);
    // No history at all without values: a geo-less user is never tracked.
    assert_eq!(e.stats().rules[0].keys, 2);
}

#[test]
fn values_expire_after_the_learning_period_and_history_restarts() {
    let text = NEW_COUNTRY.replace(
        "field = \"country\"",
        "field = \"country\"\nwindow = \"10d\"\nquiet = \"4d\"",
    );
    let mut e = engine(&text);
    let d = feed(
        &mut e,
        &[
            from("ann", 0, "JP", 1),
            from("ann", 3 * DAY, "SE", 2),
            // JP unused for 10 days: forgotten, new again.
            from("ann", 12 * DAY, "JP", 1),
        ],
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].at, t(12 * DAY));
    // Gone for longer than the learning period: learned anew, quietly.
    let d = feed(
        &mut e,
        &[
            from("ann", 40 * DAY, "US", 3),
            from("ann", 41 * DAY, "FR", 4),
        ],
    );
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn a_user_keeps_at_most_max_values_the_least_recent_dropped() {
    let text = NEW_COUNTRY.replace("field = \"country\"", "field = \"asn\"\nquiet = \"1s\"");
    let mut e = engine(&text);
    let n = MAX_VALUES as u32 + 1;
    let events: Vec<AuthEvent> = (0..n)
        .map(|i| from("ann", i64::from(i) * 10, "JP", 100 + i))
        .collect();
    // The first is learning; the others are new.
    assert_eq!(feed(&mut e, &events).len(), MAX_VALUES);
    // AS 100 (the oldest) was dropped, AS 101 is still known.
    let d = feed(
        &mut e,
        &[from("ann", 1000, "JP", 101), from("ann", 1010, "JP", 100)],
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].at, t(1010));
}

#[test]
fn new_device_uses_the_device_id_else_the_user_agent() {
    let text = NEW_COUNTRY
        .replace("field = \"country\"", "field = \"device\"\nquiet = \"1d\"")
        .replace("new-country", "new-device");
    let mut e = engine(&text);
    let dev = |secs, id: Option<&str>, ua: &str| {
        let mut x = login("ann", "192.0.2.1", secs, Outcome::Success);
        x.device_id = id.map(Arc::from);
        x.user_agent = Some(Arc::from(ua));
        x
    };
    let d = feed(
        &mut e,
        &[
            dev(0, Some("laptop-1"), "Firefox/1"),
            dev(2 * DAY, Some("laptop-1"), "Firefox/2"),
            dev(2 * DAY + 1, None, "Firefox/2"),
            dev(2 * DAY + 2, None, "Firefox/2"),
        ],
    );
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].at, t(2 * DAY + 1));
    assert!(!e.rules().rules[0].uses_geo());
}

#[test]
fn novelty_state_survives_a_snapshot() {
    let mut a = engine(NEW_COUNTRY);
    feed(
        &mut a,
        &[from("ann", 0, "JP", 1), from("bob", 6 * DAY, "JP", 1)],
    );
    let mut b = Engine::restore(a.rules().clone(), a.mode(), &a.snapshot()).unwrap();
    assert_eq!(a.stats(), b.stats());
    // ann is out of her quiet week, bob is not: the learned start survives.
    let next = [
        from("ann", 8 * DAY, "SE", 2),
        from("ann", 8 * DAY + 1, "JP", 1),
        from("bob", 8 * DAY, "SE", 2),
    ];
    let da = feed(&mut a, &next);
    assert_eq!(da.len(), 1);
    assert_eq!(da, feed(&mut b, &next));
}

const DORMANT: &str = r#"
[[rule]]
id = "dormant-reactivated"
kind = "dormant"
group_by = "user"
days = 90
match = { action = "login" }
decision = { action = "alert", severity = "high" }
"#;

#[test]
fn a_success_after_90_idle_days_fires_and_89_does_not() {
    let mut e = engine(DORMANT);
    let ok = |u, s| login(u, "192.0.2.7", s, Outcome::Success);
    let d = feed(
        &mut e,
        &[
            // The first success ever seen only teaches.
            ok("ann", 0),
            ok("bob", 0),
            login("ann", "198.51.100.1", 50 * DAY, Outcome::Failure),
            ok("bob", 89 * DAY),
            ok("ann", 90 * DAY),
            // Right after the reactivation: not idle any more.
            ok("ann", 90 * DAY + 60),
        ],
    );
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].target.user.as_deref(), Some("ann"));
    assert_eq!(d[0].severity, Severity::High);
    assert_eq!(d[0].evidence.count, 1);
    assert_eq!(
        (d[0].evidence.first, d[0].evidence.last),
        (t(0), t(90 * DAY))
    );
    // The minute sweeps ran all along: a dormant rule's users are never dropped.
    assert_eq!(e.stats().rules[0].keys, 2);
}

#[test]
fn the_inventory_last_login_counts_when_later_or_alone() {
    let mut e = engine(DORMANT);
    let with_last = |u: &str, secs, last: Option<i64>| {
        let mut x = login(u, "192.0.2.7", secs, Outcome::Success);
        x.account = Some(Arc::new(Account {
            user: Arc::from(u),
            last_login_at: last.map(t),
            ..Account::default()
        }));
        x
    };
    let d = feed(
        &mut e,
        &[
            // Only the inventory knows: 100 days idle.
            with_last("cat", 100 * DAY, Some(0)),
            // The inventory's date is this very login (or later): not previous.
            with_last("dan", 100 * DAY, Some(100 * DAY)),
            // Learned 0, inventory 50 days later: idle 60 days only.
            with_last("eve", 0, None),
            with_last("eve", 110 * DAY, Some(50 * DAY)),
        ],
    );
    let users: Vec<_> = d.iter().map(|d| d.target.user.as_deref()).collect();
    assert_eq!(users, [Some("cat")]);
    assert_eq!(d[0].evidence.first, t(0));
}

#[test]
fn dormant_state_survives_a_snapshot() {
    let mut a = engine(DORMANT);
    feed(&mut a, &[login("ann", "192.0.2.7", 0, Outcome::Success)]);
    let mut b = Engine::restore(a.rules().clone(), a.mode(), &a.snapshot()).unwrap();
    let next = [login("ann", "192.0.2.8", 95 * DAY, Outcome::Success)];
    let da = feed(&mut a, &next);
    assert_eq!(da.len(), 1);
    assert_eq!(da, feed(&mut b, &next));
}

#[test]
fn sweep_kinds_compile_and_are_ignored_by_the_engine() {
    let text = r#"
[[rule]]
id = "password-age"
kind = "password-age"
group_by = "user"
max_age = "60d"
remind_before = "0d"
decision = { action = "require_password_reset" }

[[rule]]
id = "inactive-account"
kind = "inactive"
group_by = "user"
days = 30
decision = { action = "disable_account", unlock = "admin" }
"#;
    let mut e = engine(text);
    let rules = &e.rules().rules;
    assert_eq!(rules[0].kind, Kind::PasswordAge);
    assert!(matches!(&rules[0].extra, Extra::PasswordAge(p) if p.remind_before.is_none()));
    assert_eq!(rules[1].window.ms(), 30 * DAY * 1000);
    let d = feed(
        &mut e,
        &[
            login("ann", "192.0.2.7", 0, Outcome::Success),
            login("ann", "192.0.2.7", 100 * DAY, Outcome::Success),
        ],
    );
    assert!(d.is_empty());
    assert!(
        e.stats()
            .rules
            .iter()
            .all(|r| r.keys == 0 && r.matches == 0)
    );
}

fn errors(text: &str) -> Vec<(Option<usize>, String)> {
    match RuleSet::from_str(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

#[test]
fn every_mistake_in_the_learning_keys_is_reported_with_its_line() {
    let text = r#"[[rule]]
id = "a"
kind = "novelty"
group_by = "source.ip"
count = 3
quiet = "soon"
days = 4
decision = { action = "alert" }
match = { outcome = "failure" }

[[rule]]
id = "b"
kind = "dormant"
group_by = "user"
window = "1h"
days = 0
field = "country"
decision = { action = "alert" }

[[rule]]
id = "c"
kind = "password-age"
group_by = "user"
max_age = "30d"
remind_before = "30d"
exempt = { cidrs = ["10.0.0.0/8"] }
decision = { action = "require_password_reset" }
[rule.match]
outcome = "success"

[[rule]]
id = "d"
kind = "threshold"
group_by = "user"
count = 1
max_age = "3d"
decision = { action = "alert" }
"#;
    let errs = errors(text);
    let at = |line: usize, needle: &str| {
        assert!(
            errs.iter()
                .any(|(l, m)| *l == Some(line) && m.contains(needle)),
            "no error at line {line} containing {needle:?} in {errs:#?}"
        );
    };
    at(5, "count has no meaning for kind = \"novelty\"");
    at(1, "needs field");
    at(6, "quiet: bad duration");
    at(7, "days is only for kind = \"dormant\" or \"inactive\"");
    at(4, "follows one account");
    at(1, "match.outcome excludes success");
    at(15, "window has no meaning for kind = \"dormant\"");
    at(16, "days 0 must be 1..=3650");
    at(17, "field is only for kind = \"novelty\"");
    at(25, "remind_before \"30d\" must be shorter than max_age");
    at(26, "which have no address");
    at(29, "[rule.match] has no meaning");
    at(31, "window is required for kind = \"threshold\"");
    at(36, "max_age is only for kind = \"password-age\"");
    assert_eq!(errs.len(), 14, "{errs:#?}");
}

//! The learning kinds (`novelty`, `dormant`): firing and staying quiet, their
//! bounds, their state across a snapshot, and the compile errors of their keys
//! and of the sweep kinds' keys.

use std::net::IpAddr;
use std::sync::Arc;

use crate::decision::{DecisionAction, Mode, Severity};
use crate::event::{Account, AuthEvent, Geo, Outcome};
use crate::rules::kinds::novelty::MAX_VALUES;
use crate::rules::model::{Extra, Kind};
use crate::test_support::{
    EventSetters, assert_error_at, bad, engine, feed, ok, restored, rule_errors, t,
};

const DAY: i64 = 86_400;

/// A success from `country` in AS `asn`.
fn from(user: &str, secs: i64, country: &str, asn: u32) -> AuthEvent {
    ok(user, "192.0.2.1", secs).located(country, asn, None)
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
    let mut e = engine(NEW_COUNTRY, Mode::Recommend);
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
    let mut e = engine(NEW_COUNTRY, Mode::Recommend);
    let no_geo = ok("ann", "192.0.2.1", 9 * DAY).with_geo(Geo::default());
    let mut failed = from("ann", 9 * DAY, "CN", 9);
    failed.outcome = Outcome::Failure;
    let d = feed(
        &mut e,
        &[
            from("ann", 0, "JP", 1),
            ok("ann", "192.0.2.1", 8 * DAY),
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
    let mut e = engine(&text, Mode::Recommend);
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
    let mut e = engine(&text, Mode::Recommend);
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
    let mut e = engine(&text, Mode::Recommend);
    let dev = |secs, id: Option<&str>, ua: &str| ok("ann", "192.0.2.1", secs).with_device(id, ua);
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
    let mut a = engine(NEW_COUNTRY, Mode::Recommend);
    feed(
        &mut a,
        &[from("ann", 0, "JP", 1), from("bob", 6 * DAY, "JP", 1)],
    );
    let mut b = restored(&a);
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
    let mut e = engine(DORMANT, Mode::Recommend);
    let login = |u, s| ok(u, "192.0.2.7", s);
    let d = feed(
        &mut e,
        &[
            // The first success ever seen only teaches.
            login("ann", 0),
            login("bob", 0),
            bad("ann", "198.51.100.1", 50 * DAY),
            login("bob", 89 * DAY),
            login("ann", 90 * DAY),
            // Right after the reactivation: not idle any more.
            login("ann", 90 * DAY + 60),
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
    let mut e = engine(DORMANT, Mode::Recommend);
    let with_last = |u: &str, secs, last: Option<i64>| {
        ok(u, "192.0.2.7", secs).with_account(Account {
            user: Arc::from(u),
            last_login_at: last.map(t),
            ..Account::default()
        })
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
    let mut a = engine(DORMANT, Mode::Recommend);
    feed(&mut a, &[ok("ann", "192.0.2.7", 0)]);
    let mut b = restored(&a);
    let next = [ok("ann", "192.0.2.8", 95 * DAY)];
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
    let mut e = engine(text, Mode::Recommend);
    let rules = &e.rules().rules;
    assert_eq!(rules[0].kind, Kind::PasswordAge);
    assert!(matches!(&rules[0].extra, Extra::PasswordAge(p) if p.remind_before.is_none()));
    assert_eq!(rules[1].window.ms(), 30 * DAY * 1000);
    let d = feed(
        &mut e,
        &[ok("ann", "192.0.2.7", 0), ok("ann", "192.0.2.7", 100 * DAY)],
    );
    assert!(d.is_empty());
    assert!(
        e.stats()
            .rules
            .iter()
            .all(|r| r.keys == 0 && r.matches == 0)
    );
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
    let errs = rule_errors(text);
    let at = |line: usize, needle: &str| assert_error_at(&errs, line, needle);
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

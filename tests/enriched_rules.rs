//! The shipped rules and the enrichment conditions, through the public API,
//! on events built by hand with their enrichment fields set (as the enrichment
//! stage would), so no GeoIP database or inventory file is needed.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use loginwatch::decision::{Decision, DecisionAction, Mode, Severity};
use loginwatch::event::{
    Account, AccountStatus, Action, Anonymous, AuthEvent, Geo, Outcome, Reason,
};
use loginwatch::rules::{Engine, RuleSet, builtin};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
}

fn ev(user: &str, addr: &str, secs: i64, action: Action, outcome: Outcome) -> AuthEvent {
    let mut e = AuthEvent::new(t(secs), action, outcome);
    e.user = Some(Arc::from(user));
    e.source_ip = Some(addr.parse::<IpAddr>().unwrap());
    e.log_offset = u64::try_from(secs).ok();
    e
}

fn fail(user: &str, addr: &str, secs: i64, reason: Reason) -> AuthEvent {
    let mut e = ev(user, addr, secs, Action::Login, Outcome::Failure);
    e.reason = Some(reason);
    e
}

fn with_geo(mut e: AuthEvent, country: &str, at: (f64, f64)) -> AuthEvent {
    e.geo = Some(Arc::new(Geo {
        country_iso_code: Some(Arc::from(country)),
        location: Some(at),
        ..Geo::default()
    }));
    e
}

fn shipped() -> Engine {
    Engine::new(Arc::new(builtin().unwrap()), Mode::Recommend)
}

fn run(e: &mut Engine, events: &[AuthEvent]) -> Vec<Decision> {
    events.iter().flat_map(|x| e.observe(x)).collect()
}

fn by_rule<'a>(d: &'a [Decision], id: &str) -> Vec<&'a Decision> {
    d.iter().filter(|d| &*d.rule == id).collect()
}

#[test]
fn impossible_travel_fires_on_the_shipped_rules_and_not_on_a_possible_trip() {
    let london = |s| {
        with_geo(
            ev("ann", "81.2.69.142", s, Action::Login, Outcome::Success),
            "GB",
            (51.5142, -0.0931),
        )
    };
    let linkoping = |s| {
        with_geo(
            ev("ann", "89.160.20.112", s, Action::Login, Outcome::Success),
            "SE",
            (58.4167, 15.6167),
        )
    };
    let d = run(&mut shipped(), &[london(0), linkoping(3600)]);
    let travel = by_rule(&d, "impossible-travel");
    assert_eq!(travel.len(), 1, "{d:?}");
    assert_eq!(travel[0].severity, Severity::High);
    assert_eq!(travel[0].evidence.source_ips.len(), 2);
    let d = run(&mut shipped(), &[london(0), linkoping(2 * 3600)]);
    assert!(by_rule(&d, "impossible-travel").is_empty(), "{d:?}");
    // Without GeoIP data the rule cannot judge: quiet, and the set says it needs GeoIP.
    let mut bare = linkoping(3600);
    bare.geo = None;
    let d = run(&mut shipped(), &[london(0), bare]);
    assert!(d.is_empty(), "{d:?}");
    assert!(builtin().unwrap().uses_geo());
}

fn in_inventory(mut e: AuthEvent, status: AccountStatus) -> AuthEvent {
    e.account = Some(Arc::new(Account {
        user: e.user.clone().unwrap(),
        status,
        ..Account::default()
    }));
    e
}

#[test]
fn attempts_on_a_deleted_account_alert_after_three() {
    let attempts = |status| {
        (0..3)
            .map(|i| {
                in_inventory(
                    fail("leaver", "192.0.2.50", i * 600, Reason::BadPassword),
                    status,
                )
            })
            .collect::<Vec<_>>()
    };
    let d = run(&mut shipped(), &attempts(AccountStatus::Deleted));
    let hit = by_rule(&d, "disabled-account-attempts");
    assert_eq!(hit.len(), 1, "{d:?}");
    assert_eq!(
        (hit[0].action, hit[0].severity),
        (DecisionAction::Alert, Severity::High)
    );
    assert!(run(&mut shipped(), &attempts(AccountStatus::Active)).is_empty());
    let two = &attempts(AccountStatus::Suspended)[..2];
    assert!(run(&mut shipped(), two).is_empty());
}

#[test]
fn expired_password_is_recommended_once_a_day() {
    let mut e = shipped();
    let retries: Vec<AuthEvent> = (0..4)
        .map(|i| fail("judy", "198.51.100.9", i * 60, Reason::ExpiredPassword))
        .collect();
    let d = run(&mut e, &retries);
    let reset = by_rule(&d, "expired-password");
    assert_eq!(reset.len(), 1, "{d:?}");
    assert_eq!(reset[0].action, DecisionAction::RequirePasswordReset);
    assert_eq!(reset[0].target.user.as_deref(), Some("judy"));
    let next_day = [fail(
        "judy",
        "198.51.100.9",
        25 * 3600,
        Reason::ExpiredAccount,
    )];
    assert_eq!(
        by_rule(&run(&mut e, &next_day), "expired-password").len(),
        1
    );
}

#[test]
fn mfa_burst_alerts_and_a_success_after_it_is_high() {
    let mfa_fail = |s| {
        let mut e = ev("ivan", "203.0.113.4", s, Action::Mfa, Outcome::Failure);
        e.reason = Some(Reason::MfaFailed);
        e
    };
    let mut events: Vec<AuthEvent> = (0..5).map(|i| mfa_fail(i * 30)).collect();
    events.push(ev(
        "ivan",
        "203.0.113.4",
        200,
        Action::Mfa,
        Outcome::Success,
    ));
    let d = run(&mut shipped(), &events);
    assert_eq!(by_rule(&d, "mfa-failures").len(), 1, "{d:?}");
    let fatigue = by_rule(&d, "mfa-fatigue-success");
    assert_eq!(fatigue.len(), 1);
    assert_eq!(fatigue[0].severity, Severity::High);
    // Four failures and a success: neither.
    let mut four: Vec<AuthEvent> = (0..4).map(|i| mfa_fail(i * 30)).collect();
    four.push(ev(
        "ivan",
        "203.0.113.4",
        200,
        Action::Mfa,
        Outcome::Success,
    ));
    let d = run(&mut shipped(), &four);
    assert!(
        by_rule(&d, "mfa-failures").is_empty() && by_rule(&d, "mfa-fatigue-success").is_empty()
    );
}

#[test]
fn an_operator_rule_on_country_lists_and_anonymity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("geo.toml"),
        r#"
[[rule]]
id = "foreign-anonymous-success"
description = "A success from abroad through an anonymizer, unless from a partner list."
kind = "threshold"
group_by = "user+source.ip"
count = 1
window = "1h"
[rule.match]
outcome = "success"
not_country = ["JP"]
anonymous = ["vpn", "tor"]
not_in_list = "partners"
[rule.decision]
action = "block_ip"
duration = "1h"
"#,
    )
    .unwrap();
    let set = loginwatch::rules::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(set.uses_geo());
    assert_eq!(set.referenced_lists(), [Arc::<str>::from("partners")]);
    let set = Arc::new(set);
    let tor = |country: &str, lists: &[&str]| {
        let mut e = ev("kim", "185.220.101.1", 0, Action::Login, Outcome::Success);
        e.geo = Some(Arc::new(Geo {
            country_iso_code: Some(Arc::from(country)),
            anonymous: Anonymous {
                tor: true,
                any: true,
                ..Anonymous::default()
            },
            ..Geo::default()
        }));
        e.lists = Some(lists.iter().map(|l| Arc::<str>::from(*l)).collect());
        e
    };
    let fire = |e: AuthEvent| Engine::new(set.clone(), Mode::Enforce).observe(&e).len();
    assert_eq!(fire(tor("DE", &[])), 1);
    assert_eq!(fire(tor("JP", &[])), 0, "from Japan");
    assert_eq!(fire(tor("DE", &["partners"])), 0, "a partner");
    let mut plain = tor("DE", &[]);
    plain.geo = None;
    assert_eq!(
        fire(plain),
        0,
        "no GeoIP: anonymity unknown, the rule stays quiet"
    );
}

#[test]
fn the_shipped_rules_still_compile_as_a_set() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let set = loginwatch::rules::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.rules.len(), builtin().unwrap().rules.len());
    let geo: Vec<Arc<str>> = ["impossible-travel", "new-country", "new-asn"]
        .map(Arc::from)
        .to_vec();
    assert_eq!(set.geo_rules(), geo);
    let rs: &RuleSet = &set;
    assert!(rs.referenced_lists().is_empty());
}

//! Tests of the account stage: what a history learns, how a mistyped ID is
//! linked, the stored form, the memory bound, and the assessment.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::account::assess::{Basis, assess};
use crate::account::history::{Familiarity, MAX_PLACES, MAX_RECENT, decode, encode};
use crate::decision::Why;
use crate::decision::{Assessment, Decision, Target, Unlock};
use crate::event::{Action, Anonymous, AuthEvent, Geo, Name, Outcome, Reason};
use crate::test_support::DecisionSetters;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 14, 9, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

fn ev(min: i64, user: &str, ip: &str, outcome: Outcome, reason: Option<Reason>) -> AuthEvent {
    let mut e = AuthEvent::new(t(min), Action::Login, outcome);
    e.user = Some(Name::from(user));
    e.source_ip = Some(ip.parse().unwrap());
    e.reason = reason;
    e
}

fn ok(min: i64, user: &str, ip: &str) -> AuthEvent {
    ev(min, user, ip, Outcome::Success, None)
}

fn bad(min: i64, user: &str, ip: &str) -> AuthEvent {
    ev(min, user, ip, Outcome::Failure, Some(Reason::BadPassword))
}

fn unknown(min: i64, typed: &str, ip: &str) -> AuthEvent {
    ev(min, typed, ip, Outcome::Failure, Some(Reason::UnknownUser))
}

fn feed(a: &mut Accounts, e: &AuthEvent) -> Option<Link> {
    let link = a.link(e);
    a.observe(e, link.as_ref(), true);
    link
}

#[test]
fn only_successes_teach_where_an_account_is_used() {
    let mut a = Accounts::default();
    feed(&mut a, &bad(0, "lena", "198.51.100.9"));
    let h = a.get("lena").unwrap();
    assert!(!h.has_successes());
    assert_eq!(h.recent.len(), 1);
    assert_eq!(
        h.familiarity(Some("198.51.100.9".parse().unwrap()), None),
        Familiarity::Unknown,
        "a failure must not make its address familiar"
    );
    feed(&mut a, &ok(1, "lena", "203.0.113.10"));
    let h = a.get("lena").unwrap();
    assert_eq!(
        h.familiarity(Some("203.0.113.10".parse().unwrap()), None),
        Familiarity::Address
    );
    assert_eq!(
        h.familiarity(Some("203.0.113.77".parse().unwrap()), None),
        Familiarity::Network,
        "the same /24"
    );
    assert_eq!(
        h.familiarity(Some("203.0.114.10".parse().unwrap()), None),
        Familiarity::Unknown
    );
    // The attempt that taught the address was from a new place at the time.
    assert!(!h.recent.back().unwrap().known_source);
    feed(&mut a, &bad(2, "lena", "203.0.113.10"));
    assert!(a.get("lena").unwrap().recent.back().unwrap().known_source);
}

#[test]
fn lists_and_the_ring_stay_bounded() {
    let mut a = Accounts::default();
    for i in 0..100u8 {
        feed(&mut a, &ok(i64::from(i), "bob", &format!("10.0.{i}.1")));
    }
    let h = a.get("bob").unwrap();
    assert_eq!(h.ips.len(), MAX_PLACES);
    assert_eq!(h.nets.len(), MAX_PLACES);
    assert_eq!(h.recent.len(), MAX_RECENT);
    // The most recent places are the ones kept.
    assert!(h.ips.iter().any(|s| s.value.to_string() == "10.0.99.1"));
    assert!(!h.ips.iter().any(|s| s.value.to_string() == "10.0.0.1"));
}

#[test]
fn a_mistyped_id_from_a_known_place_is_linked_and_kept_as_typed() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "carol", "192.0.2.30"));
    for (i, typed) in ["ｃａｒｏｌ", "Carol", "caro1", " carol"]
        .iter()
        .enumerate()
    {
        let link = feed(&mut a, &unknown(10 + i as i64, typed, "192.0.2.31"));
        let link = link.unwrap_or_else(|| panic!("{typed:?} not linked"));
        assert_eq!(&*link.user, "carol");
        assert!(!link.mistakes.is_empty() || *typed == "ｃａｒｏｌ");
    }
    let h = a.get("carol").unwrap();
    let typed: Vec<&str> = h.spellings.iter().map(|s| &*s.typed).collect();
    assert_eq!(typed, ["ｃａｒｏｌ", "Carol", "caro1", " carol"]);
    assert!(a.get("Carol").is_none(), "unknown names get no history");
}

#[test]
fn a_mistyped_id_from_elsewhere_or_an_unrelated_name_is_not_linked() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "carol", "192.0.2.30"));
    assert!(feed(&mut a, &unknown(1, "caro1", "198.51.100.44")).is_none());
    assert!(feed(&mut a, &unknown(2, "admin", "192.0.2.30")).is_none());
    // A failure of a real account is never "linked".
    assert!(a.link(&bad(3, "carl", "192.0.2.30")).is_none());
    // Nor is an account that only ever failed from there.
    feed(&mut a, &bad(4, "dave", "192.0.2.30"));
    assert!(feed(&mut a, &unknown(5, "Dave", "192.0.2.30")).is_none());
}

#[test]
fn the_likelier_account_wins_a_link() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "carl", "192.0.2.30"));
    feed(&mut a, &ok(0, "carol", "192.0.2.30"));
    // `Carol` is carol with one mistake (case); carl would need case and an edit.
    let l = a.link(&unknown(1, "Carol", "192.0.2.30")).unwrap();
    assert_eq!(&*l.user, "carol");
}

#[test]
fn histories_survive_their_stored_form_and_a_damaged_row_is_skipped() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "carol", "192.0.2.30"));
    feed(&mut a, &unknown(1, "caro1", "192.0.2.30"));
    let mut e = ok(2, "carol", "192.0.2.30");
    e.reason = Some(Reason::ExpiredPassword);
    feed(&mut a, &e);
    let rows = a.take_dirty();
    assert_eq!(rows.len(), 1);
    assert!(a.take_dirty().is_empty(), "taken once");
    let back = decode(&rows[0].1).unwrap();
    let mut orig = a.get("carol").unwrap().clone();
    orig.dirty = false;
    assert_eq!(back, orig);
    assert!(back.must_change_password.is_some());

    let mut b = Accounts::default();
    let bad_rows = b.restore(vec![
        ("carol".to_string(), rows[0].1.clone()),
        ("x".to_string(), vec![99, 1, 2]),
        ("y".to_string(), vec![]),
    ]);
    assert_eq!(bad_rows, 2);
    // The restored history links again (the index was rebuilt).
    assert!(b.link(&unknown(3, "Carol", "192.0.2.30")).is_some());
    assert_eq!(encode(b.get("carol").unwrap()), rows[0].1);
}

#[test]
fn the_least_recently_seen_accounts_are_shed_at_the_bound() {
    let mut a = Accounts::with_capacity(16);
    for i in 0..40 {
        feed(&mut a, &ok(i, &format!("u{i}"), "10.1.1.1"));
    }
    assert!(a.len() <= 16);
    assert!(a.get("u39").is_some());
    assert!(a.get("u0").is_none());
}

#[test]
fn os_locks_and_password_changes_are_remembered_and_cleared() {
    let mut a = Accounts::default();
    let mut lock = AuthEvent::new(t(0), Action::Lockout, Outcome::Success);
    lock.user = Some(Name::from("ken"));
    feed(&mut a, &lock);
    assert!(a.get("ken").unwrap().os_locked.is_some());
    feed(&mut a, &ok(5, "ken", "10.0.0.5"));
    assert!(a.get("ken").unwrap().os_locked.is_none());
}

fn decision(rule: &str, target: Target, users: &[&str], ips: &[&str]) -> Decision {
    let mut d = crate::test_support::decision()
        .with_id("x")
        .with_rule(rule)
        .with_target(target)
        .with_at(t(10))
        .with_until(Some(t(40)))
        .with_unlock(Unlock::Auto)
        .with_evidence(ips, users);
    d.evidence.first = t(5);
    d
}

#[test]
fn failures_from_known_places_are_the_users_own() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "lena", "203.0.113.10"));
    let d = decision(
        "account-lockout",
        Target::user(Name::from("lena")),
        &["lena"],
        &["203.0.113.10"],
    );
    let w = assess(&d, &bad(10, "lena", "203.0.113.10"), Basis::Failures, &a);
    assert_eq!(w.assessment(), Assessment::UserError, "{w:?}");
    assert!(w.sentence_en().contains("203.0.113.10"));
    assert!(w.sentence_ja().contains("lena"));
}

#[test]
fn a_never_seen_place_many_accounts_or_many_places_is_an_attack() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "mike", "192.0.2.20"));
    let d = decision(
        "account-lockout",
        Target::user(Name::from("mike")),
        &["mike"],
        &["198.51.100.99"],
    );
    let w = assess(&d, &bad(10, "mike", "198.51.100.99"), Basis::Failures, &a);
    assert!(matches!(w, Why::NewSource { .. }), "{w:?}");
    assert_eq!(w.assessment(), Assessment::Attack);

    let spray = decision(
        "password-spray",
        Target::ip("198.51.100.7".parse().unwrap()),
        &["a1", "b2", "c3", "d4"],
        &["198.51.100.7"],
    );
    let w = assess(&spray, &bad(10, "d4", "198.51.100.7"), Basis::Failures, &a);
    assert!(matches!(w, Why::ManyAccounts { users: 4, .. }), "{w:?}");

    let dist = decision(
        "distributed-bruteforce",
        Target::user(Name::from("zed")),
        &["zed"],
        &["198.51.100.1", "198.51.100.2", "198.51.100.3"],
    );
    let w = assess(&dist, &bad(10, "zed", "198.51.100.3"), Basis::Failures, &a);
    assert!(matches!(w, Why::ManyAddresses { ips: 3, .. }), "{w:?}");

    let mut listed = bad(10, "mike", "192.0.2.20");
    listed.lists = Some(Arc::from(vec![Name::from("tor-exits")]));
    let w = assess(&d, &listed, Basis::Failures, &a);
    assert!(matches!(w, Why::Listed { .. }), "{w:?}");

    let mut anon = bad(10, "mike", "192.0.2.20");
    anon.geo = Some(Arc::new(Geo {
        anonymous: Anonymous {
            vpn: true,
            any: true,
            ..Anonymous::default()
        },
        ..Geo::default()
    }));
    assert!(matches!(
        assess(&d, &anon, Basis::Failures, &a),
        Why::Anonymous { .. }
    ));
}

#[test]
fn without_history_it_is_unclear_and_unknown_names_are_probing() {
    let a = Accounts::default();
    let d = decision(
        "account-lockout",
        Target::user(Name::from("new")),
        &["new"],
        &["192.0.2.1"],
    );
    let w = assess(&d, &bad(10, "new", "192.0.2.1"), Basis::Failures, &a);
    assert!(matches!(w, Why::NoHistory { .. }));
    assert_eq!(w.assessment(), Assessment::Unclear);
    let e = decision(
        "user-enumeration",
        Target::ip("192.0.2.9".parse().unwrap()),
        &["admin", "oracle", "test"],
        &["192.0.2.9"],
    );
    let w = assess(&e, &unknown(10, "test", "192.0.2.9"), Basis::Failures, &a);
    assert!(matches!(w, Why::UnknownNames { names: 3 }), "{w:?}");
    assert_eq!(
        assess(&d, &ok(10, "new", "192.0.2.1"), Basis::Policy, &a),
        Why::Policy
    );
    assert!(matches!(
        assess(&d, &ok(10, "new", "192.0.2.1"), Basis::Success, &a),
        Why::NewPlace { .. }
    ));
}

#[test]
fn stored_reasons_read_back_and_text_reads_back_as_text() {
    let w = Why::NewSource {
        user: Name::from("mike"),
        ip: "198.51.100.99".parse().unwrap(),
    };
    let s = serde_json::to_string(&w).unwrap();
    assert_eq!(serde_json::from_str::<Why>(&s).unwrap(), w);
    // Every reason has a sentence in both languages.
    for w in [
        w.clone(),
        Why::Policy,
        Why::LockStorm,
        Why::UnknownNames { names: 2 },
        Why::ManyAccounts { ip: None, users: 3 },
    ] {
        assert!(!w.sentence_en().is_empty() && !w.sentence_ja().is_empty());
    }
}

#[test]
fn a_success_withheld_from_teaching_leaves_the_places_unchanged() {
    let mut a = Accounts::default();
    feed(&mut a, &ok(0, "mike", "192.0.2.20"));
    let e = ok(5, "mike", "198.51.100.99");
    a.observe(&e, None, false);
    let h = a.get("mike").unwrap();
    assert_eq!(h.recent.len(), 2, "still recorded as an attempt");
    assert_eq!(
        h.familiarity(Some("198.51.100.99".parse().unwrap()), None),
        Familiarity::Unknown
    );
    assert!(
        a.link(&unknown(6, "Mike", "198.51.100.99")).is_none(),
        "nor indexed for linking"
    );
}

#[test]
fn an_account_without_history_attacked_from_an_address_nobody_uses_is_an_attack() {
    let mut a = Accounts::default();
    let d = decision(
        "ip-bruteforce",
        Target::ip("198.51.100.5".parse().unwrap()),
        &["root"],
        &["198.51.100.5"],
    );
    let trigger = bad(10, "root", "198.51.100.5");
    // Too few accounts on record: nothing to compare the address with.
    for i in 0..9 {
        feed(&mut a, &ok(0, &format!("u{i}"), &format!("10.0.{i}.1")));
    }
    assert!(matches!(
        assess(&d, &trigger, Basis::Failures, &a),
        Why::NoHistory { .. }
    ));
    feed(&mut a, &ok(0, "u9", "10.0.9.1"));
    let w = assess(&d, &trigger, Basis::Failures, &a);
    assert!(matches!(w, Why::Stranger { .. }), "{w:?}");
    assert_eq!(w.assessment(), Assessment::Attack);
    // From an address the others use (an office), it stays unclear.
    let office = decision(
        "account-lockout",
        Target::user(Name::from("newbie")),
        &["newbie"],
        &["10.0.3.7"],
    );
    let w = assess(&office, &bad(10, "newbie", "10.0.3.7"), Basis::Failures, &a);
    assert!(matches!(w, Why::NoHistory { .. }), "{w:?}");
}

/// A flood of names with bad passwords and no success holds at most an
/// eighth of the registry, and never pushes out an account that logged in.
#[test]
fn names_without_a_success_hold_an_eighth_of_the_registry() {
    let mut a = Accounts::with_capacity(800);
    feed(&mut a, &ok(0, "alice", "192.0.2.10"));
    for i in 0..10_000 {
        feed(
            &mut a,
            &bad(1 + i / 100, &format!("n{i:05}"), "203.0.113.9"),
        );
    }
    assert!(a.len() <= 1 + 100, "{} held", a.len());
    assert!(a.get("alice").is_some_and(|h| h.has_successes()));
    // The newest of them are the ones kept.
    assert!(a.get("n09999").is_some());
    assert!(a.get("n00000").is_none());
}

#[test]
fn attempts_keep_their_network_and_are_counted_per_hour() {
    let mut a = Accounts::default();
    let mut e = ok(0, "mia", "192.0.2.30");
    e.geo = Some(
        Geo {
            country_iso_code: Some(Name::from("JP")),
            as_number: Some(64500),
            as_organization: Some(Name::from("Example Net")),
            ..Geo::default()
        }
        .into(),
    );
    feed(&mut a, &e);
    feed(&mut a, &bad(1, "mia", "192.0.2.30"));
    feed(&mut a, &bad(61, "mia", "192.0.2.30"));
    let mut lock = AuthEvent::new(t(62), Action::Lockout, Outcome::Success);
    lock.user = Some(Name::from("mia"));
    feed(&mut a, &lock);
    let h = a.get("mia").unwrap();
    let asn = h.recent[0].asn.as_ref().unwrap();
    assert_eq!(asn.number.get(), 64500);
    assert_eq!(asn.organization.as_deref(), Some("Example Net"));
    assert!(h.recent[1].asn.is_none());
    // Logins only: the system's lock is no attempt.
    let c: Vec<(u16, u16)> = h.hours.iter().map(|c| (c.failures, c.successes)).collect();
    assert_eq!(c, [(1, 1), (1, 0)]);
    let back = decode(&encode(h)).unwrap();
    assert_eq!(back.hours, h.hours);
    assert_eq!(back.recent, h.recent);
}

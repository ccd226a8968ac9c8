//! Tests of the diagnosis: which causes, in which order, with which evidence.

use std::net::IpAddr;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::account::Accounts;
use crate::decision::{Assessment, Decision, DecisionAction, Target, Unlock};
use crate::event::{Action, AuthEvent, Outcome, Reason, RefusedBy};
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

fn feed(a: &mut Accounts, e: &AuthEvent) {
    let link = a.link(e);
    a.observe(e, link.as_ref(), true);
}

fn run(a: &Accounts, user: &str, at: i64, decisions: &[Decision], lang: Language) -> Diagnosis {
    gather::from_accounts(a, decisions, None, user, t(at), lang)
}

fn codes(d: &Diagnosis) -> Vec<&'static str> {
    d.causes.iter().map(|c| c.code.as_str()).collect()
}

fn lock(user: &str, at: i64, until: Option<i64>, assessment: Assessment) -> Decision {
    let mut d = crate::test_support::decision()
        .with_id("0123456789abcdef")
        .with_rule("account-lockout")
        .with_user(user)
        .with_at(t(at))
        .with_until(until.map(t))
        .with_unlock(if until.is_some() {
            Unlock::Auto
        } else {
            Unlock::Admin
        })
        .with_evidence(&[], &[user]);
    d.assessment = assessment;
    d.evidence.first = t(at - 5);
    d
}

#[test]
fn a_lock_in_force_comes_first_and_ends_with_the_lock() {
    let mut a = Accounts::default();
    feed(
        &mut a,
        &ev(-600, "lena", "203.0.113.10", Outcome::Success, None),
    );
    for m in 0..5 {
        feed(
            &mut a,
            &ev(
                m,
                "lena",
                "203.0.113.10",
                Outcome::Failure,
                Some(Reason::BadPassword),
            ),
        );
    }
    let d = [lock("lena", 4, Some(34), Assessment::UserError)];
    let dx = run(&a, "lena", 10, &d, Language::En);
    assert_eq!(codes(&dx), ["locked", "wrong_password"]);
    let c = &dx.causes[0];
    assert_eq!(c.evidence.by, Some(LockedBy::Loginwatch));
    assert!(
        c.evidence
            .unlock
            .as_deref()
            .unwrap()
            .starts_with("loginwatch decisions unlock 0123456789abcdef")
    );
    assert!(c.next_step.contains("Caps Lock"), "{}", c.next_step);
    assert_eq!(dx.causes[1].evidence.from_known_sources, Some(true));
    // After the lock's end it is no longer a cause.
    let later = run(&a, "lena", 40, &d, Language::En);
    assert_eq!(codes(&later), ["wrong_password"]);
}

#[test]
fn a_block_of_the_users_address_is_a_lock_on_the_user() {
    let mut a = Accounts::default();
    feed(
        &mut a,
        &ev(-600, "carol", "192.0.2.30", Outcome::Success, None),
    );
    feed(
        &mut a,
        &ev(
            0,
            "carol",
            "192.0.2.30",
            Outcome::Failure,
            Some(Reason::BadPassword),
        ),
    );
    let mut block = lock("x", 1, Some(61), Assessment::Attack);
    block.action = DecisionAction::BlockIp;
    block.target = Target::ip("192.0.2.30".parse().unwrap());
    let dx = run(&a, "carol", 2, &[block], Language::En);
    assert_eq!(dx.causes[0].code, Code::Locked);
    assert_eq!(
        dx.causes[0].evidence.blocked_ip,
        Some("192.0.2.30".parse().unwrap())
    );
}

#[test]
fn the_systems_lock_names_the_reset_command() {
    let mut a = Accounts::default();
    let mut l = AuthEvent::new(t(0), Action::Lockout, Outcome::Success);
    l.user = Some(Name::from("ken"));
    l.service = Some(Name::from("sshd"));
    feed(&mut a, &l);
    let dx = run(&a, "ken", 1, &[], Language::En);
    assert_eq!(dx.causes[0].code, Code::Locked);
    assert_eq!(dx.causes[0].evidence.by, Some(LockedBy::Os));
    assert!(
        dx.causes[0]
            .evidence
            .unlock
            .as_deref()
            .unwrap()
            .contains("faillock --user ken --reset")
    );
}

#[test]
fn mfa_failures_then_a_quick_success_suggest_clock_skew() {
    let mut a = Accounts::default();
    feed(
        &mut a,
        &ev(
            0,
            "hank",
            "10.0.0.1",
            Outcome::Failure,
            Some(Reason::MfaFailed),
        ),
    );
    feed(&mut a, &ev(1, "hank", "10.0.0.1", Outcome::Success, None));
    let dx = run(&a, "hank", 1, &[], Language::En);
    let c = dx
        .causes
        .iter()
        .find(|c| c.code == Code::MfaFailed)
        .unwrap();
    assert_eq!(c.evidence.clock_skew_suspected, Some(true));
    assert!(c.next_step.contains("time"), "{}", c.next_step);
    // Failures with no success soon after do not.
    let mut b = Accounts::default();
    feed(
        &mut b,
        &ev(
            0,
            "hank",
            "10.0.0.1",
            Outcome::Failure,
            Some(Reason::MfaFailed),
        ),
    );
    feed(&mut b, &ev(30, "hank", "10.0.0.1", Outcome::Success, None));
    let c = run(&b, "hank", 31, &[], Language::En).causes;
    let c = c.iter().find(|c| c.code == Code::MfaFailed).unwrap();
    assert_eq!(c.evidence.clock_skew_suspected, Some(false));
}

#[test]
fn what_still_stands_comes_before_what_a_success_resolved() {
    let mut a = Accounts::default();
    feed(
        &mut a,
        &ev(
            0,
            "dave",
            "10.0.0.2",
            Outcome::Failure,
            Some(Reason::BadPassword),
        ),
    );
    feed(&mut a, &ev(1, "dave", "10.0.0.2", Outcome::Success, None));
    let mut refused = ev(
        2,
        "dave",
        "10.0.0.2",
        Outcome::Failure,
        Some(Reason::NoPermission),
    );
    refused.refused_by = Some(RefusedBy::AllowGroups);
    feed(&mut a, &refused);
    let dx = run(&a, "dave", 3, &[], Language::En);
    assert_eq!(codes(&dx), ["no_permission", "wrong_password"]);
    assert_eq!(dx.causes[0].evidence.refused_by, Some("AllowGroups"));
    assert!(dx.causes[0].summary.contains("AllowGroups"));
    assert!(!dx.causes[1].current);
}

#[test]
fn a_login_that_must_change_its_password_is_reported() {
    let mut a = Accounts::default();
    let mut e = ev(0, "dave", "10.0.0.2", Outcome::Success, None);
    e.reason = Some(Reason::ExpiredPassword);
    feed(&mut a, &e);
    let dx = run(&a, "dave", 1, &[], Language::Ja);
    assert_eq!(codes(&dx), ["expired_password"]);
    assert_eq!(dx.causes[0].evidence.must_change_now, Some(true));
    assert!(dx.causes[0].summary.contains("変更"));
}

#[test]
fn an_unknown_name_says_so_and_suggests_the_account() {
    let mut a = Accounts::default();
    feed(
        &mut a,
        &ev(0, "carol", "192.0.2.30", Outcome::Success, None),
    );
    let dx = run(&a, "caro1", 1, &[], Language::En);
    assert_eq!(codes(&dx), ["unknown_user"]);
    assert_eq!(dx.causes[0].evidence.did_you_mean, [Name::from("carol")]);
    assert!(!dx.account.known);
    let nobody = run(&a, "zzz", 1, &[], Language::En);
    assert!(nobody.causes[0].evidence.did_you_mean.is_empty());
}

#[test]
fn nothing_wrong_is_said_plainly() {
    let mut a = Accounts::default();
    feed(&mut a, &ev(0, "eve", "10.0.0.3", Outcome::Success, None));
    let dx = run(&a, "eve", 5, &[], Language::En);
    assert_eq!(codes(&dx), ["no_problem_seen"]);
    assert_eq!(
        dx.account.usual_sources,
        ["10.0.0.3".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn failures_from_strangers_make_the_user_a_victim() {
    let mut a = Accounts::default();
    feed(
        &mut a,
        &ev(-60, "mike", "192.0.2.20", Outcome::Success, None),
    );
    for m in 0..3 {
        feed(
            &mut a,
            &ev(
                m,
                "mike",
                "198.51.100.99",
                Outcome::Failure,
                Some(Reason::BadPassword),
            ),
        );
    }
    feed(
        &mut a,
        &ev(4, "mike", "198.51.100.99", Outcome::Success, None),
    );
    let dx = run(&a, "mike", 5, &[], Language::En);
    let c = dx
        .causes
        .iter()
        .find(|c| c.code == Code::UnderAttack)
        .unwrap();
    assert_eq!(c.evidence.count, Some(3));
    assert!(c.evidence.then_logged_in.is_some());
    assert!(
        c.next_step.contains("Reset the password"),
        "{}",
        c.next_step
    );
}

#[test]
fn every_cause_has_words_in_both_languages() {
    for code in [
        Code::Locked,
        Code::Disabled,
        Code::ExpiredAccount,
        Code::ExpiredPassword,
        Code::Inactive,
        Code::IpDenied,
        Code::NoPermission,
        Code::MfaFailed,
        Code::MistypedLoginId,
        Code::WrongPassword,
        Code::UnderAttack,
        Code::NewCountry,
        Code::NewDevice,
        Code::UnknownUser,
        Code::NoProblemSeen,
    ] {
        for lang in [Language::En, Language::Ja] {
            let (s, n) = text::explain(lang, "u", code, &Evidence::default());
            assert!(!s.is_empty() && !n.is_empty(), "{code:?} {lang:?}");
        }
    }
}

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

fn name() -> impl Strategy<Value = Name> {
    // Any text: control characters, quotes, full-width letters.
    any::<String>().prop_map(|s| Name::from(s.as_str()))
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    (0..all.len()).prop_map(move |i| all[i])
}

const ACTIONS: &[Action] = &[
    Action::Login,
    Action::Mfa,
    Action::PasswordChange,
    Action::PasswordReset,
    Action::Lockout,
    Action::Unlock,
];
const OUTCOMES: &[Outcome] = &[Outcome::Success, Outcome::Failure, Outcome::Unknown];
const REASONS: &[Reason] = &[
    Reason::BadPassword,
    Reason::UnknownUser,
    Reason::Locked,
    Reason::Disabled,
    Reason::ExpiredPassword,
    Reason::ExpiredAccount,
    Reason::MfaFailed,
    Reason::IpDenied,
    Reason::NoPermission,
    Reason::CertFailed,
    Reason::TooManyAttempts,
    Reason::Other,
    Reason::Inactive,
];
const REFUSALS: &[RefusedBy] = &[
    RefusedBy::AllowUsers,
    RefusedBy::DenyUsers,
    RefusedBy::AllowGroups,
    RefusedBy::DenyGroups,
    RefusedBy::NoGroup,
    RefusedBy::Shell,
    RefusedBy::AccountLocked,
    RefusedBy::PermitRootLogin,
];

fn method_strategy() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Password),
        Just(Method::Publickey),
        Just(Method::KeyboardInteractive),
        Just(Method::Hostbased),
        Just(Method::Gssapi),
        Just(Method::None),
        Just(Method::Mfa),
        Just(Method::Sso),
        // An `Other` never spells a known method (parsers map those).
        any::<String>()
            .prop_filter("not a known spelling", |s| matches!(
                method(s),
                Method::Other(_)
            ))
            .prop_map(|s| Method::Other(Name::from(s.as_str()))),
    ]
}

prop_compose! {
    /// An event with any of the fields a parser sets.
    fn event()(
        secs in -62_135_596_800i64..253_402_300_799,
        nanos in 0u32..1_000_000_000,
        action in pick(ACTIONS),
        outcome in pick(OUTCOMES),
        reason in proptest::option::of(pick(REASONS)),
        refused_by in proptest::option::of(pick(REFUSALS)),
        user in proptest::option::of(name()),
        source_ip in proptest::option::of(ip()),
        source_port in any::<Option<u16>>(),
        host in proptest::option::of(name()),
        host_ip in proptest::option::of(ip()),
        service in proptest::option::of(name()),
        process in proptest::option::of((name(), any::<Option<u32>>())),
        method in proptest::option::of(method_strategy()),
        user_agent in proptest::option::of(name()),
        device_id in proptest::option::of(name()),
        log_path in proptest::option::of(name()),
        log_offset in any::<Option<u64>>(),
    ) -> AuthEvent {
        let t = chrono::Utc.timestamp_opt(secs, nanos).unwrap();
        let mut e = AuthEvent::new(t, action, outcome);
        e.reason = reason;
        e.refused_by = refused_by;
        e.user = user;
        e.source_ip = source_ip;
        e.source_port = source_port;
        e.host = host;
        e.host_ip = host_ip;
        e.service = service;
        e.process = process.map(|(name, pid)| Process { name, pid });
        e.method = method;
        e.user_agent = user_agent;
        e.device_id = device_id;
        e.log_path = log_path;
        e.log_offset = log_offset;
        e
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_parsed_event_round_trips(ev in event(), agent in any::<String>(), source in any::<String>()) {
        let body = encode(&agent, &source, &ev);
        let back = decode(&body).unwrap();
        prop_assert_eq!(&back.agent, &agent);
        prop_assert_eq!(&back.source, &source);
        prop_assert_eq!(back.event.into_event(), ev);
    }

    #[test]
    fn decode_never_panics(body in any::<Vec<u8>>()) {
        let _ = decode(&body);
    }
}

#[test]
fn enrichment_stays_behind() {
    let t = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let mut ev = AuthEvent::new(t, Action::Login, Outcome::Failure);
    ev.user = Some("alice".into());
    ev.mistyped_of = Some("alicia".into());
    ev.user_known = true;
    ev.lists = Some(std::sync::Arc::from(vec![Name::from("tor")]));
    let back = decode(&encode("h", "s", &ev)).unwrap().event.into_event();
    assert_eq!(back.user.as_deref(), Some("alice"));
    assert_eq!(back.mistyped_of, None);
    assert!(!back.user_known);
    assert_eq!(back.lists, None);
}

#[test]
fn the_layout_is_readable_and_versioned() {
    let t = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let mut ev = AuthEvent::new(t, Action::Login, Outcome::Failure);
    ev.reason = Some(Reason::BadPassword);
    ev.user = Some("alice".into());
    let json: serde_json::Value = serde_json::from_slice(&encode("web1", "auth", &ev)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "v": 1, "agent": "web1", "source": "auth",
            "event": {"timestamp": "2026-03-01T09:00:00Z", "action": "login",
                      "outcome": "failure", "reason": "bad_password", "user": "alice"}
        })
    );
    // Another version is refused, not misread; so is what is not JSON.
    let other = br#"{"v":2,"agent":"a","source":"s","event":{}}"#;
    assert!(decode(other).unwrap_err().to_string().contains("version 2"));
    assert!(decode(b"\xff").is_err());
    // A field added later (same version) is ignored by this reader.
    let later = br#"{"v":1,"agent":"a","source":"s","new":1,
        "event":{"timestamp":"2026-03-01T09:00:00Z","action":"login","outcome":"success","x":2}}"#;
    assert!(decode(later).is_ok());
}

use super::*;
use crate::decision::Target;
use crate::test_support::{decision, t};

fn n(s: &str) -> Name {
    Name::from(s)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_users_lock_names_the_agents_of_its_events_in_its_span() {
    let mut h = Hosts::new(TimeDelta::days(1));
    h.saw(&n("web9"), Some(&n("alice")), Some(ip("192.0.2.9")), t(1));
    h.saw(&n("web1"), Some(&n("alice")), Some(ip("192.0.2.1")), t(100));
    h.saw(&n("web2"), Some(&n("alice")), Some(ip("192.0.2.1")), t(101));
    h.saw(&n("web2"), Some(&n("bob")), Some(ip("192.0.2.2")), t(102));
    let mut d = decision();
    d.target = Target::user(n("alice"));
    d.evidence.first = t(100);
    assert_eq!(h.of(&d), [n("web1"), n("web2")], "web9 is before the span");
    // An address: every agent that saw it.
    d.target = Target {
        user: None,
        ip: Some(ip("192.0.2.2")),
        net: None,
    };
    assert_eq!(h.of(&d), [n("web2")]);
    // A user and an address: the agents that saw both.
    d.target = Target {
        user: Some(n("alice")),
        ip: Some(ip("192.0.2.9")),
        net: None,
    };
    d.evidence.first = t(0);
    assert_eq!(h.of(&d), [n("web9")]);
    // Unknown: none.
    d.target = Target::user(n("carol"));
    assert!(h.of(&d).is_empty());
}

#[test]
fn memory_is_bounded_per_key_and_in_keys() {
    let mut h = Hosts::new(TimeDelta::seconds(10));
    for i in 0..(PER_KEY + 5) {
        h.saw(
            &n(&format!("a{i:02}")),
            Some(&n("alice")),
            None,
            t(i as i64),
        );
    }
    let mut d = decision();
    d.target = Target::user(n("alice"));
    d.evidence.first = t(0);
    let seen = h.of(&d);
    assert_eq!(seen.len(), PER_KEY);
    assert!(!seen.contains(&n("a00")), "the oldest agent went first");
    for i in 0..(MAX_KEYS + 1) {
        h.saw(&n("web1"), Some(&n(&format!("u{i}"))), None, t(1000));
    }
    assert!(h.keys.len() <= MAX_KEYS, "{}", h.keys.len());
}

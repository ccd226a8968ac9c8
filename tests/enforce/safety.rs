//! The safety checks before an action: exemptions, the last active admin,
//! private and own addresses, and the lockout storm breaker.

use super::*;

fn inventory() -> Inventory {
    let csv = "user,email,admin,groups,exempt\n\
               root-admin,r@example.jp,yes,,no\n\
               boss,b@example.jp,yes,,no\n\
               glass,g@example.jp,no,,yes\n\
               mon,m@example.jp,no,monitoring,no\n\
               alice,a@example.jp,no,staff,no\n";
    Inventory::from_bytes(
        Path::new("a.csv"),
        csv.as_bytes(),
        &InventoryOptions::default(),
    )
    .unwrap()
}

fn ctx(inv: &Inventory, now: DateTime<Utc>, locked_admins: usize) -> Ctx<'_> {
    Ctx {
        now,
        inventory: Some(inv),
        locked_admins,
    }
}

#[test]
fn exemptions_hold_and_the_attempt_is_still_alerted() {
    let inv = inventory();
    let s = Safety::new(
        SafetyConfig {
            exempt_users: vec!["breakglass".into()],
            exempt_groups: vec!["monitoring".into()],
            exempt_cidrs: vec!["198.51.100.0/24".parse().unwrap()],
            ..SafetyConfig::default()
        },
        vec![],
    );
    let c = ctx(&inv, t0(), 0);
    let only = |v: Verdict| matches!(v, Verdict::AlertOnly { .. });
    assert!(only(s.check(&lock("breakglass"), &c)));
    assert!(only(s.check(&lock("glass"), &c))); // inventory flag
    assert!(only(s.check(&lock("mon"), &c))); // group
    let ip = decision(
        DecisionAction::BlockIp,
        Target::ip("198.51.100.9".parse().unwrap()),
    );
    assert_eq!(
        s.check(&ip, &c),
        Verdict::AlertOnly {
            why: Why::ExemptCidr("198.51.100.0/24".parse().unwrap())
        }
    );
    assert_eq!(s.check(&lock("alice"), &c), Verdict::Enforce);
}

#[test]
fn the_last_active_admin_is_never_locked() {
    let inv = inventory();
    let s = Safety::new(SafetyConfig::default(), vec![]);
    // Two active admins, none locked: one may be locked.
    assert_eq!(
        s.check(&lock("boss"), &ctx(&inv, t0(), 0)),
        Verdict::Enforce
    );
    // One already locked: the other is the last.
    let v = s.check(&lock("root-admin"), &ctx(&inv, t0(), 1));
    assert!(
        matches!(
            v,
            Verdict::AlertOnly {
                why: Why::LastAdmins { .. }
            }
        ),
        "{v:?}"
    );
}

#[test]
fn private_and_own_addresses_need_explicit_configuration() {
    let inv = inventory();
    let c = ctx(&inv, t0(), 0);
    let block = |ip: &str| decision(DecisionAction::BlockIp, Target::ip(ip.parse().unwrap()));
    let own = vec!["203.0.113.5".parse().unwrap()];
    let s = Safety::new(SafetyConfig::default(), own.clone());
    for ip in ["10.0.0.1", "127.0.0.1", "fe80::1", "203.0.113.5"] {
        assert!(
            matches!(s.check(&block(ip), &c), Verdict::AlertOnly { .. }),
            "{ip}"
        );
    }
    assert_eq!(s.check(&block("192.0.2.1"), &c), Verdict::Enforce);
    let allowed = Safety::new(
        SafetyConfig {
            allow_private: true,
            ..SafetyConfig::default()
        },
        own,
    );
    assert_eq!(allowed.check(&block("10.0.0.1"), &c), Verdict::Enforce);
    assert!(matches!(
        allowed.check(&block("203.0.113.5"), &c),
        Verdict::AlertOnly { .. }
    ));
}

#[test]
fn a_lockout_storm_trips_the_breaker_once_and_cools_down() {
    let inv = inventory();
    let config = SafetyConfig {
        storm: StormConfig {
            max_accounts: 3,
            window: Duration::from_secs(600),
            cooldown: Duration::from_secs(1800),
        },
        ..SafetyConfig::default()
    };
    let mut s = Safety::new(config, vec![]);
    let at = |m: i64| t0() + chrono::TimeDelta::minutes(m);
    let mut trips = 0;
    for (i, u) in ["u1", "u2", "u3", "u1"].iter().enumerate() {
        let mut d = lock(u);
        assert!(s.screen(&mut d, &ctx(&inv, at(i as i64), 0)).is_empty());
        assert_eq!(d.mode, Mode::Enforce, "{u}");
        assert_eq!(s.check(&d, &ctx(&inv, at(i as i64), 0)), Verdict::Enforce);
    }
    for (i, u) in ["u4", "u5", "u6"].iter().enumerate() {
        let mut d = lock(u);
        let events = s.screen(&mut d, &ctx(&inv, at(5 + i as i64), 0));
        assert_eq!(d.mode, Mode::Held, "{u}");
        assert_eq!(
            s.check(&d, &ctx(&inv, at(5 + i as i64), 0)),
            Verdict::DowngradeToRecommend { why: Why::Storm }
        );
        trips += events
            .iter()
            .filter(|e| matches!(e, StormEvent::Tripped { .. }))
            .count();
        if let Some(e) = events.first() {
            let d = e.decision();
            assert_eq!(d.severity, Severity::Critical);
            assert_eq!(d.evidence.users.len(), 4);
        }
    }
    assert_eq!(trips, 1, "one critical alert per storm");
    // IP blocks are not account locks: unaffected.
    let ip = decision(
        DecisionAction::BlockIp,
        Target::ip("192.0.2.1".parse().unwrap()),
    );
    assert_eq!(s.check(&ip, &ctx(&inv, at(8), 0)), Verdict::Enforce);
    // The state survives a snapshot round trip (a restart).
    let snap = serde_json::to_string(&s.snapshot()).unwrap();
    let mut s2 = Safety::new(SafetyConfig::default(), vec![]);
    s2.restore(serde_json::from_str(&snap).unwrap());
    assert!(s2.storm_tripped());
    // 30 minutes after the last would-be lock (minute 7), it resumes.
    assert_eq!(s.tick(at(36)), None);
    assert!(matches!(
        s.tick(at(37)),
        Some(StormEvent::Resumed {
            by_admin: false,
            ..
        })
    ));
    let mut d = lock("u7");
    s.screen(&mut d, &ctx(&inv, at(38), 0));
    assert_eq!(d.mode, Mode::Enforce);
    // An admin's reset resumes at once.
    assert!(matches!(
        s2.reset_storm(at(9)),
        Some(StormEvent::Resumed { by_admin: true, .. })
    ));
    assert!(!s2.storm_tripped());
}

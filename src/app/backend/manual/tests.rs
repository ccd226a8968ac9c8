use std::sync::{Arc, Mutex};

use chrono::TimeZone;

use super::*;
use crate::app::Services;
use crate::clock::ManualClock;
use crate::config::Config;
use crate::enrich::inventory::{InventoryHandle, InventoryOptions};
use crate::http::AdminBackend;
use crate::state::{LockStatus, Store};
use crate::telemetry::Metrics;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::TimeDelta::nanoseconds(7)
}

fn req(user: Option<&str>, ip: Option<&str>) -> AddRequest {
    AddRequest {
        user: user.map(str::to_owned),
        ip: ip.map(str::to_owned),
        reason: "phished, ticket 4711".into(),
        by: "alice".into(),
        ..AddRequest::default()
    }
}

fn invalid(r: &AddRequest) -> String {
    match decision(r, Mode::Recommend, t0()) {
        Err(AddError::Invalid(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn defaults_lock_a_user_or_block_an_address_for_four_hours() {
    let d = decision(&req(Some("bob"), None), Mode::Enforce, t0()).unwrap();
    assert_eq!(d.action, DecisionAction::LockAccount);
    assert_eq!(d.until, Some(t0() + chrono::TimeDelta::hours(4)));
    assert_eq!(
        (d.unlock, d.mode, &*d.rule),
        (Unlock::Auto, Mode::Enforce, "manual")
    );
    assert_eq!(
        d.why.sentence_en(),
        "Decided by hand by alice: phished, ticket 4711"
    );
    let d = decision(&req(None, Some(" 203.0.113.7 ")), Mode::Recommend, t0()).unwrap();
    assert_eq!(d.action, DecisionAction::BlockIp);
    assert_eq!(d.target, Target::ip("203.0.113.7".parse().unwrap()));
    let d = decision(&req(None, Some("203.0.113.9/24")), Mode::Recommend, t0()).unwrap();
    assert_eq!(d.target, Target::net("203.0.113.0/24".parse().unwrap()));
}

#[test]
fn ids_are_stable_for_one_instant_and_differ_across_instants() {
    let r = req(Some("bob"), None);
    let a = decision(&r, Mode::Recommend, t0()).unwrap().id;
    assert_eq!(a, decision(&r, Mode::Recommend, t0()).unwrap().id);
    let later = t0() + chrono::TimeDelta::nanoseconds(1);
    assert_ne!(a, decision(&r, Mode::Recommend, later).unwrap().id);
    assert_eq!(a.len(), 16);
}

#[test]
fn durations_modes_and_actions_are_checked() {
    let mut r = req(Some("bob"), None);
    r.duration = Some("admin".into());
    let d = decision(&r, Mode::Recommend, t0()).unwrap();
    assert_eq!((d.until, d.unlock), (None, Unlock::Admin));
    r.duration = Some("90x".into());
    assert!(invalid(&r).starts_with("`duration`"), "{}", invalid(&r));
    r.duration = None;
    r.action = Some("alert".into());
    let d = decision(&r, Mode::Recommend, t0()).unwrap();
    assert_eq!((d.until, d.unlock), (None, Unlock::None));
    r.duration = Some("1h".into());
    assert!(invalid(&r).contains("does not last"), "{}", invalid(&r));
    r.duration = None;
    r.action = Some("block_ip".into());
    assert!(invalid(&r).contains("needs an `ip`"), "{}", invalid(&r));
    r.action = Some("nuke".into());
    assert!(invalid(&r).contains("unknown \"nuke\""), "{}", invalid(&r));
    r.action = None;
    r.mode = Some("held".into());
    assert!(invalid(&r).starts_with("`mode`"), "{}", invalid(&r));
    let mut r = req(None, Some("203.0.113.7"));
    r.action = Some("lock_account".into());
    assert!(invalid(&r).contains("needs a `user`"), "{}", invalid(&r));
    assert!(invalid(&req(None, None)).contains("exactly one"));
    assert!(invalid(&req(Some("b"), Some("203.0.113.7"))).contains("exactly one"));
    assert!(invalid(&req(None, Some("nowhere"))).contains("not an address"));
    let mut r = req(Some("bob"), None);
    r.by = "a\u{1b}[2J".into();
    assert!(invalid(&r).starts_with("`by`"));
    r.by = "alice".into();
    r.reason = "  ".into();
    assert!(invalid(&r).starts_with("`reason`"));
}

/// A backend over a fresh state file with `config`'s safety, at `t0`.
fn backend(
    dir: &std::path::Path,
    config: &mut Config,
    inventory: Option<&str>,
) -> super::StoreBackend {
    config.state_path = dir.join("s.db");
    config.safety.detect_own = false;
    let store = Store::open(&config.state_path).unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let services = Services::new(config, store, true, clock).unwrap();
    let inventory = inventory.map(|csv| {
        let p = dir.join("inventory.csv");
        std::fs::write(&p, csv).unwrap();
        Arc::new(InventoryHandle::open(&p, InventoryOptions::default()).unwrap())
    });
    services
        .backend(Arc::new(Mutex::new(Vec::new())), Arc::new(Metrics::new()))
        .with_inventory(inventory)
}

#[test]
fn a_manual_decision_is_stored_audited_and_ends_like_a_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_with_state(dir.path().join("s.db"));
    config.mode = Mode::Enforce;
    let b = backend(dir.path(), &mut config, None);
    let rec = b.add(&req(Some("bob"), None), "token:config").unwrap();
    assert_eq!(rec.status, LockStatus::Active);
    assert_eq!(rec.decision.mode, Mode::Enforce);
    let (_, audit) = b.decision(&rec.decision.id).unwrap().unwrap();
    assert_eq!(audit[0].what, "decided");
    assert_eq!(audit[0].who, "alice");
    assert_eq!(audit[0].credential.as_deref(), Some("token:config"));
    assert!(
        audit[0].detail.ends_with(
            "by hand (enforce, until 2026-03-01T16:00:00.000000007Z): phished, ticket 4711"
        ),
        "{}",
        audit[0].detail
    );
    // Enforce mode planned its actions (a dry run here): audited.
    assert!(
        b.decisions(true)
            .unwrap()
            .iter()
            .any(|r| r.decision.id == rec.decision.id)
    );
    let ended = b
        .unlock(&rec.decision.id, "carol", "false alarm", "token:config")
        .unwrap();
    assert_eq!(ended.status, LockStatus::Unlocked);
}

#[test]
fn the_safety_filter_refuses_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_with_state(dir.path().join("s.db"));
    config.safety.exempt_users = vec!["svc-backup".into()];
    let csv = "user,email,admin\nroot-admin,r@example.jp,yes\nbob,b@example.jp,no\n";
    let b = backend(dir.path(), &mut config, Some(csv));
    let refused = |r: AddRequest| match b.add(&r, "token:config") {
        Err(AddError::Refused(m)) => m,
        other => panic!("{other:?}"),
    };
    let m = refused(req(Some("svc-backup"), None));
    assert!(m.contains("exempt (safety.exempt_users)"), "{m}");
    let m = refused(req(Some("root-admin"), None));
    assert!(m.contains("last 1 active admins"), "{m}");
    let m = refused(req(None, Some("10.1.2.3")));
    assert!(m.contains("private"), "{m}");
    // Refused means not stored; what passes is.
    assert!(b.decisions(false).unwrap().is_empty());
    assert!(b.add(&req(Some("bob"), None), "token:config").is_ok());
    // An alert about the last admin locks nothing: accepted.
    let mut r = req(Some("root-admin"), None);
    r.action = Some("alert".into());
    assert!(b.add(&r, "token:config").is_ok());
}

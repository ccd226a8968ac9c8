//! The sweep kinds over an inventory written here: overdue passwords, the
//! reminder window, inactive accounts from both witnesses, exemptions, and
//! ids stable within a day.

use std::path::Path;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::enrich::inventory::InventoryOptions;
use crate::test_support::rule_set;

const RULES: &str = r#"
[[rule]]
id = "password-age"
kind = "password-age"
group_by = "user"
max_age = "90d"
remind_before = "14d"
decision = { action = "require_password_reset", severity = "medium" }

[[rule]]
id = "inactive-account"
kind = "inactive"
group_by = "user"
days = 90
decision = { action = "disable_account", unlock = "admin" }
exempt = { users = ["svc"] }
"#;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 30, 0).unwrap()
}

fn ago(days: i64) -> String {
    (now() - TimeDelta::days(days)).to_rfc3339()
}

fn inventory() -> Inventory {
    let csv = format!(
        "user,status,exempt,password_changed_at,last_login_at\n\
         old,active,,{p100},{l1}\n\
         soon,active,,{p80},{l1}\n\
         fresh,active,,{p10},{l1}\n\
         edge,active,,{p90},{l1}\n\
         away,suspended,,{p100},{l200}\n\
         glass,active,yes,{p100},{l200}\n\
         idle,active,,,{l120}\n\
         svc,active,,,{l120}\n",
        p100 = ago(100),
        p80 = ago(80),
        p10 = ago(10),
        p90 = ago(90),
        l1 = ago(1),
        l120 = ago(120),
        l200 = ago(200),
    );
    Inventory::from_bytes(
        Path::new("accounts.csv"),
        csv.as_bytes(),
        &InventoryOptions::default(),
    )
    .unwrap()
}

fn summary(d: &[Decision]) -> Vec<(&str, &str, DecisionAction, Severity)> {
    d.iter()
        .map(|d| {
            (
                &*d.rule,
                d.target.user.as_deref().unwrap_or(""),
                d.action,
                d.severity,
            )
        })
        .collect()
}

#[test]
fn overdue_passwords_reminders_and_inactive_accounts() {
    let inv = inventory();
    let d = sweep(&rule_set(RULES), Some(&inv), &[], now(), Mode::Recommend);
    use DecisionAction::*;
    assert_eq!(
        summary(&d),
        [
            (
                "password-age",
                "old",
                RequirePasswordReset,
                Severity::Medium
            ),
            ("password-age", "soon", Alert, Severity::Low),
            (
                "password-age",
                "edge",
                RequirePasswordReset,
                Severity::Medium
            ),
            // Inventory-exempt: reported, not acted on.
            ("password-age", "glass", Alert, Severity::Medium),
            ("inactive-account", "idle", DisableAccount, Severity::Medium),
            // Exempt by the rule.
            ("inactive-account", "svc", Alert, Severity::Medium),
        ]
    );
    let old = &d[0];
    assert_eq!(old.at, now());
    assert_eq!(old.until, None);
    assert_eq!(old.evidence.count, 1);
    assert_eq!(old.evidence.first.to_rfc3339(), ago(100));
    assert_eq!(old.evidence.last, old.evidence.first);
    assert_eq!(old.evidence.users, [Name::from("old")]);
    assert!(old.evidence.source_ips.is_empty());
    assert!(d[3].exempt && d[5].exempt && !d[0].exempt);
    let idle = &d[4];
    assert_eq!(idle.unlock, Unlock::Admin);
    assert_eq!(idle.evidence.first.to_rfc3339(), ago(120));
}

#[test]
fn learned_facts_keep_an_account_active_and_find_unlisted_ones() {
    let inv = inventory();
    let facts = [
        AccountFacts {
            user: "idle".to_owned(),
            last_success: Some(now() - TimeDelta::days(2)),
            ..AccountFacts::default()
        },
        AccountFacts {
            user: "ghost".to_owned(),
            last_success: Some(now() - TimeDelta::days(95)),
            ..AccountFacts::default()
        },
    ];
    let d = sweep(&rule_set(RULES), Some(&inv), &facts, now(), Mode::Enforce);
    let inactive: Vec<_> = d
        .iter()
        .filter(|d| &*d.rule == "inactive-account")
        .map(|d| (d.target.user.as_deref(), d.mode))
        .collect();
    assert_eq!(
        inactive,
        // Oldest login first.
        [(Some("svc"), Mode::Enforce), (Some("ghost"), Mode::Enforce)]
    );
    // Without an inventory, passwords are unknown; facts alone still count.
    let d = sweep(&rule_set(RULES), None, &facts, now(), Mode::Recommend);
    assert_eq!(summary(&d).len(), 1);
    assert_eq!(d[0].target.user.as_deref(), Some("ghost"));
}

#[test]
fn ids_are_stable_within_a_day_and_change_the_next() {
    let inv = inventory();
    let ids = |at: DateTime<Utc>| -> Vec<String> {
        sweep(&rule_set(RULES), Some(&inv), &[], at, Mode::Recommend)
            .into_iter()
            .filter(|d| d.target.user.as_deref() == Some("old"))
            .map(|d| d.id)
            .collect()
    };
    let morning = ids(now());
    assert_eq!(morning.len(), 1);
    assert_eq!(morning, ids(now() + TimeDelta::hours(10)));
    assert_ne!(morning, ids(now() + TimeDelta::hours(15)));
}

#[test]
fn other_kinds_are_not_swept() {
    let set = rule_set(
        "[[rule]]\nid = \"x\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1h\"\ndecision = { action = \"alert\" }\n",
    );
    let inv = inventory();
    assert!(sweep(&set, Some(&inv), &[], now(), Mode::Recommend).is_empty());
}

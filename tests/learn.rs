//! The learned rule kinds end to end: `new-country` through `replay --config`
//! with a GeoIP database the test builds (firing after a user's quiet week,
//! not during it), `dormant-reactivated` on log lines, and the sweep kinds
//! through `rules::sweep` over an inventory the test writes, all with the
//! shipped rules.

use std::path::Path;

use assert_cmd::Command;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

use crate::util::geoip::city;
use loginwatch::decision::{DecisionAction, Mode, Severity};
use loginwatch::enrich::inventory::{Inventory, InventoryOptions};
use loginwatch::rules::{builtin, sweep};
use loginwatch::state::AccountFacts;

/// A City database: 192.0.2.0/24 in Tokyo, 198.51.100.0/24 in Linköping.
fn city_db() -> Vec<u8> {
    city(&[
        ("192.0.2.0/24", "JP", 35.6895, 139.6917),
        ("198.51.100.0/24", "SE", 58.4167, 15.6167),
    ])
}

/// A directory with the database, the shipped rules and a config naming both.
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("city.mmdb"), city_db()).unwrap();
    let rules = d.join("rules");
    std::fs::create_dir(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        d.join("loginwatch.toml"),
        "rules_dir = \"rules\"\ngeoip = [\"city.mmdb\"]\n",
    )
    .unwrap();
    dir
}

/// An sshd success line at `day` days (and `min` minutes) into November 2026.
fn accepted(day: u32, min: u32, user: &str, ip: &str) -> String {
    format!(
        "2026-11-{:02}T09:{min:02}:00Z web1 sshd[{day}{min}]: Accepted password for {user} from {ip} port 4000 ssh2\n",
        day
    )
}

/// `replay --json` of `log` (in `dir`, with `args`): the decisions as "rule user at".
fn replay(dir: &Path, log: &str, args: &[&str]) -> Vec<String> {
    std::fs::write(dir.join("auth.log"), log).unwrap();
    let out = Command::cargo_bin("loginwatch")
        .unwrap()
        .current_dir(dir)
        .args(["replay", "--json", "--tz", "UTC", "--year", "2026"])
        .args(args)
        .arg("auth.log")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "decision")
        .map(|v| {
            format!(
                "{} {} {}",
                v["rule"].as_str().unwrap(),
                v["target"]["user"].as_str().unwrap_or("-"),
                v["at"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn new_country_fires_after_the_quiet_week_and_not_during_it() {
    let dir = config_dir();
    let d = dir.path();
    let log = [
        accepted(1, 0, "alice", "192.0.2.10"),
        accepted(1, 5, "bob", "192.0.2.11"),
        // bob's third day: Sweden is learned, quietly.
        accepted(4, 0, "bob", "198.51.100.7"),
        accepted(9, 0, "alice", "192.0.2.10"),
        // alice's ninth day: Sweden is new.
        accepted(10, 0, "alice", "198.51.100.7"),
        accepted(10, 30, "alice", "198.51.100.7"),
        // bob knows Sweden already.
        accepted(12, 0, "bob", "198.51.100.7"),
        // An unplaced address teaches and fires nothing.
        accepted(12, 10, "alice", "10.0.0.1"),
    ]
    .concat();
    let got = replay(d, &log, &["--config", "loginwatch.toml"]);
    assert_eq!(
        got,
        ["new-country alice 2026-11-10T09:00:00Z"],
        "one new country, after the quiet week"
    );
    // The same log without GeoIP: the rule has nothing to learn from.
    let got = replay(d, &log, &["--rules", "rules"]);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn dormant_reactivated_fires_after_90_idle_days_only() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let log = "\
2026-01-05T08:00:00Z web1 sshd[1]: Accepted password for carol from 203.0.113.5 port 4000 ssh2
2026-01-05T08:01:00Z web1 sshd[2]: Accepted password for dave from 203.0.113.6 port 4000 ssh2
2026-02-20T08:00:00Z web1 sshd[3]: Failed password for carol from 198.51.100.9 port 4000 ssh2
2026-04-01T08:01:00Z web1 sshd[4]: Accepted password for dave from 203.0.113.6 port 4000 ssh2
2026-04-06T08:00:00Z web1 sshd[5]: Accepted password for carol from 198.51.100.9 port 4000 ssh2
2026-04-06T08:05:00Z web1 sshd[6]: Accepted password for carol from 198.51.100.9 port 4000 ssh2
";
    let got = replay(dir.path(), log, &["--rules", rules.to_str().unwrap()]);
    // carol: 91 days (a failure in between does not count); dave: 86 days.
    // Replay sweeps accounts in event time as the daemon does by its clock:
    // carol is also found inactive (over 90 days) when events resume.
    assert_eq!(
        got,
        [
            "inactive-account carol 2026-04-06T08:00:00Z",
            "dormant-reactivated carol 2026-04-06T08:00:00Z"
        ]
    );
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 14, 3, 0, 0).unwrap()
}

fn ago(days: i64) -> String {
    (now() - Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn the_shipped_sweep_rules_over_an_inventory_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.csv");
    let csv = format!(
        "user,email,status,exempt,password_changed_at,last_login_at\n\
         alice,alice@example.jp,active,no,{},{}\n\
         bob,bob@example.jp,active,no,{},{}\n\
         carol,carol@example.jp,active,no,{},{}\n\
         dave,dave@example.jp,suspended,no,{},{}\n\
         erin,erin@example.jp,active,no,{},{}\n",
        ago(95),
        ago(2),
        ago(80),
        ago(3),
        ago(10),
        ago(120),
        ago(300),
        ago(300),
        ago(20),
        ago(100),
    );
    std::fs::write(&path, csv).unwrap();
    let inv = Inventory::load(&path, &InventoryOptions::default()).unwrap();
    // erin logged in yesterday, by the logs: not inactive.
    let facts = [AccountFacts {
        user: "erin@example.jp".to_owned(),
        last_success: Some(now() - Duration::days(1)),
        ..AccountFacts::default()
    }];
    let rules = builtin().unwrap();
    let d = sweep(&rules, Some(&inv), &facts, now(), Mode::Recommend);
    let got: Vec<(&str, &str, DecisionAction, Severity)> = d
        .iter()
        .map(|d| {
            (
                &*d.rule,
                d.target.user.as_deref().unwrap(),
                d.action,
                d.severity,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "password-age",
                "alice",
                DecisionAction::RequirePasswordReset,
                Severity::Medium
            ),
            // 80 days: inside the 14-day reminder.
            ("password-age", "bob", DecisionAction::Alert, Severity::Low),
            (
                "inactive-account",
                "carol",
                DecisionAction::DisableAccount,
                Severity::Medium
            ),
        ]
    );
    let carol = &d[2];
    assert_eq!(carol.until, None);
    assert_eq!(carol.evidence.count, 1);
    assert_eq!(
        carol.evidence.first.format("%Y-%m-%d").to_string(),
        ago(120)
    );
    // The same day's sweep gives the same ids; the next day's, new ones.
    let again = sweep(
        &rules,
        Some(&inv),
        &facts,
        now() + Duration::hours(12),
        Mode::Recommend,
    );
    let ids =
        |v: &[loginwatch::decision::Decision]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&d), ids(&again));
    let next = sweep(
        &rules,
        Some(&inv),
        &facts,
        now() + Duration::days(1),
        Mode::Recommend,
    );
    assert_ne!(ids(&d)[0], ids(&next)[0]);
}

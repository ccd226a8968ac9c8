//! Enforce mode in the running daemon: actions run by a script, the inverse
//! action of an offline unlock, and the lockout storm breaker.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::active_for;
use crate::util::daemon::{Daemon, TOKEN, append, failures, setup};
use crate::util::{http, wait_for};

/// Enforce mode, with account locks and unlocks run by a script that appends
/// its arguments to the returned file.
fn enforce_with_script(d: &Path) -> PathBuf {
    let record = d.join("argv.log");
    let script = d.join("lock-user.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!(
            "mode = \"enforce\"\n{cfg}[actions]\ntimeout = \"5s\"\n[[actions.lock_account]]\nexec = [\"{s}\", \"lock\", \"{{user}}\"]\nundo_exec = [\"{s}\", \"unlock\", \"{{user}}\"]\n",
            s = script.display()
        ),
    )
    .unwrap();
    record
}

#[test]
fn enforce_mode_runs_actions_refuses_unsafe_names_and_audits_both() {
    let dir = setup("2s");
    let d = dir.path();
    let record = enforce_with_script(d);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("ivan", 5, 800));
    append(&d.join("auth.log"), &failures("-rf", 5, 900));
    // The lock runs, then (2 s later) its undo.
    wait_for("lock and unlock of ivan", Duration::from_secs(20), || {
        let text = fs::read_to_string(&record).unwrap_or_default();
        (text.contains("lock ivan") && text.contains("unlock ivan")).then_some(())
    });
    let text = fs::read_to_string(&record).unwrap();
    assert!(
        !text.contains("-rf"),
        "an unsafe user name reached the program: {text}"
    );
    let id = |user: &str| {
        daemon
            .decisions(false)
            .into_iter()
            .find(|x| x["target"]["user"] == user)
            .map(|x| x["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let audit = daemon.get(&format!("/api/v1/decisions/{}", id("ivan")))["audit"].to_string();
    assert!(audit.contains("action ok"), "{audit}");
    let audit = daemon.get(&format!("/api/v1/decisions/{}", id("-rf")))["audit"].to_string();
    assert!(audit.contains("action refused"), "{audit}");
}

/// With the daemon stopped, an admin's CLI unlock of an enforced lock still runs
/// the inverse action (nobody else would) and audits it.
#[test]
fn an_offline_cli_unlock_runs_the_inverse_action() {
    let dir = setup("30m");
    let d = dir.path();
    let record = enforce_with_script(d);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("lena", 5, 950));
    wait_for("the lock of lena", Duration::from_secs(20), || {
        let text = fs::read_to_string(&record).unwrap_or_default();
        text.contains("lock lena").then_some(())
    });
    let id = active_for(&daemon, "lena").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(daemon.terminate().success());
    assert!(!fs::read_to_string(&record).unwrap().contains("unlock lena"));

    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "decisions",
            "unlock",
            &id,
            "--by",
            "helpdesk",
            "--reason",
            "verified by phone",
        ])
        .arg("--config")
        .arg(d.join("loginwatch.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&record).unwrap();
    assert!(
        text.contains("unlock lena"),
        "{text}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let daemon = Daemon::start(d);
    let audit = daemon.get(&format!("/api/v1/decisions/{id}"))["audit"].to_string();
    assert!(
        audit.contains("unlock") && audit.contains("helpdesk"),
        "{audit}"
    );
    assert_eq!(
        audit.matches("action ok").count(),
        2,
        "lock and undo: {audit}"
    );
}

/// The first of the storm's users (`userNN`, locked in this order) whose lock
/// the breaker holds back: `user20`, the 21st account, more than the default
/// `storm_accounts = 20`.
const STORM_FIRST_HELD: u32 = 20;

#[test]
fn a_lockout_storm_trips_the_breaker_and_an_admin_closes_it() {
    let dir = setup("30m");
    let d = dir.path();
    let cfg = fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    fs::write(
        d.join("loginwatch.toml"),
        format!("mode = \"enforce\"\n{cfg}"),
    )
    .unwrap();
    let daemon = Daemon::start(d);
    // 25 accounts locked within a minute: someone is using the lock policy as a weapon.
    for i in 0..25u32 {
        append(
            &d.join("auth.log"),
            &failures(&format!("user{i:02}"), 5, 1000 + i * 10),
        );
    }
    wait_for("the storm to trip", Duration::from_secs(20), || {
        daemon.log().contains("Lockout storm breaker").then_some(())
    });
    // Through the API: all 25 locks are decided, and exactly those past the
    // breaker (more than storm_accounts = 20) are held (`mode` "held"), not
    // enforced; the others say `enforce`.
    let locks = wait_for("25 lock decisions", Duration::from_secs(20), || {
        let locks: Vec<Value> = daemon
            .decisions(true)
            .into_iter()
            .filter(|d| d["action"] == "lock_account")
            .collect();
        (locks.len() == 25).then_some(locks)
    });
    let mut not_enforced: Vec<String> = Vec::new();
    for d in &locks {
        let user = d["target"]["user"].as_str().unwrap().to_owned();
        match d["mode"].as_str() {
            Some("held") => not_enforced.push(user),
            Some("enforce") => {}
            other => panic!("{user}: mode {other:?}"),
        }
    }
    not_enforced.sort();
    let past_breaker: Vec<String> = (STORM_FIRST_HELD..25)
        .map(|i| format!("user{i:02}"))
        .collect();
    assert_eq!(not_enforced, past_breaker);
    let url = daemon.url("/api/v1/safety/storm/reset");
    assert_eq!(
        http::post(&url)
            .json(&serde_json::json!({"by": "oncall"}))
            .send()
            .status,
        401
    );
    let r: Value = http::post(&url)
        .bearer(TOKEN)
        .json(&serde_json::json!({"by": "oncall"}))
        .send()
        .json();
    assert_eq!(r["was_open"], true, "{r}");
    let again: Value = http::post(&url)
        .bearer(TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .json();
    assert_eq!(again["was_open"], false);
}

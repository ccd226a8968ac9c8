//! The daemon's life: lock, unlock (by an admin and by itself), restart, a
//! rule reload gone wrong, `kill -9` at random moments, a source that appears
//! late, and SIGHUPs while it starts.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::active_for;
use crate::sshgen::{Rng, generate};
use crate::util::daemon::{Daemon, TOKEN, append, failures, rand_u64, settle, setup};
use crate::util::{http, wait_for};

#[test]
fn lock_unlock_auto_unlock_and_restart() {
    let dir = setup("3s");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    assert_eq!(http::get(d.url("/readyz")).send().status, 200);

    append(&log, &failures("alice", 5, 100));
    let lock = wait_for("alice's lock", Duration::from_secs(20), || {
        active_for(&d, "alice")
    });
    assert_eq!(lock["rule"], "account-lockout");
    assert_eq!(lock["action"], "lock_account");
    // No success of alice on record: the lock's assessment is unclear.
    assert_eq!(d.metric("loginwatch_decisions_total{action=\"lock_account\",assessment=\"unclear\",mode=\"recommend\",rule=\"account-lockout\"}"), 1.0);
    assert_eq!(
        d.metric("loginwatch_active_locks{action=\"lock_account\"}"),
        1.0
    );
    assert_eq!(
        d.metric("loginwatch_lines_read_total{source=\"auth.log\"}"),
        5.0
    );
    let account = d.get("/api/v1/accounts/alice");
    assert_eq!(account["facts"]["consecutive_failures"], 5, "{account}");

    // Admin unlock needs the token, and records who and why.
    let id = lock["id"].as_str().unwrap().to_string();
    let body = serde_json::json!({"by": "helpdesk", "reason": "user confirmed caps lock"});
    let r = http::post(d.url(&format!("/api/v1/decisions/{id}/unlock")))
        .json(&body)
        .send();
    assert_eq!(r.status, 401);
    let r = http::post(d.url(&format!("/api/v1/decisions/{id}/unlock")))
        .bearer(TOKEN)
        .json(&body)
        .send();
    assert_eq!(r.status, 200);
    let shown = d.get(&format!("/api/v1/decisions/{id}"));
    assert_eq!(shown["decision"]["status"], "unlocked");
    assert_eq!(shown["decision"]["unlocked_by"], "helpdesk");
    assert!(
        shown["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["what"] == "unlocked")
    );
    assert_eq!(d.metric("loginwatch_unlocks_total{how=\"admin\"}"), 1.0);

    // Auto-unlock at the lock's end (3 s here).
    append(&log, &failures("bob", 5, 200));
    let lock = wait_for("bob's lock", Duration::from_secs(20), || {
        active_for(&d, "bob")
    });
    let id = lock["id"].as_str().unwrap().to_string();
    wait_for("bob's auto-unlock", Duration::from_secs(20), || {
        (d.get(&format!("/api/v1/decisions/{id}"))["decision"]["status"] == "expired").then_some(())
    });
    assert_eq!(d.metric("loginwatch_unlocks_total{how=\"auto\"}"), 1.0);
    assert_eq!(
        d.metric("loginwatch_active_locks{action=\"lock_account\"}"),
        0.0
    );

    promtool_check(&d.metrics());

    // SIGTERM: clean exit; a restart neither re-reads lines nor re-decides.
    let before = d.decisions(false).len();
    let status = d.terminate();
    assert!(status.success(), "exit status {status}");
    let d = Daemon::start(dir.path());
    settle(&d, &dir.path().join("auth.log"));
    assert_eq!(d.decisions(false).len(), before);
    // Only the two markers: nothing was read again.
    assert_eq!(
        d.metric("loginwatch_lines_read_total{source=\"auth.log\"}"),
        2.0
    );
    assert!(d.log().contains("Resumed"), "{}", d.log());

    // With the daemon stopped, the CLI reads (and unlocks in) the state file.
    assert!(d.terminate().success());
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loginwatch"))
            .args(args)
            .arg("--config")
            .arg(dir.path().join("loginwatch.toml"))
            .output()
            .unwrap()
    };
    let out = cli(&["decisions", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().count(), before, "{listed}");
    assert!(listed.contains("\"unlocked_by\":\"helpdesk\""), "{listed}");
}

#[test]
fn broken_rules_are_rejected_and_the_old_rules_keep_firing() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    let broken = dir.path().join("rules/zz-broken.toml");
    fs::write(
        &broken,
        "[[rule]]\nid = \"typo\"\nkind = \"treshold\"\ngroup_by = \"user\"\ncount = 3\nwindow = \"1m\"\ndecision = { action = \"alert\" }\n",
    )
    .unwrap();
    wait_for("the reload error", Duration::from_secs(20), || {
        (d.metric("loginwatch_rules_reloads_total{result=\"error\"}") >= 1.0).then_some(())
    });
    assert!(
        d.log().contains("zz-broken.toml:3"),
        "the error names file and line: {}",
        d.log()
    );
    append(&log, &failures("carol", 5, 300));
    wait_for(
        "carol's lock under the old rules",
        Duration::from_secs(20),
        || active_for(&d, "carol"),
    );

    // Fixed: the rule file is picked up.
    fs::write(&broken, "[[rule]]\nid = \"any-success\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1m\"\nmatch = { outcome = \"success\" }\ndecision = { action = \"alert\", severity = \"low\" }\n").unwrap();
    wait_for("the good reload", Duration::from_secs(20), || {
        (d.metric("loginwatch_rules_reloads_total{result=\"ok\"}") >= 1.0).then_some(())
    });
    let now = chrono::Utc::now().to_rfc3339();
    append(
        &log,
        &[format!(
            "{now} web1 sshd[400]: Accepted publickey for dave from 192.0.2.8 port 4000 ssh2"
        )],
    );
    wait_for("the new rule's alert", Duration::from_secs(20), || {
        d.decisions(true)
            .into_iter()
            .find(|x| x["rule"] == "any-success")
    });
}

/// The reference: `loginwatch replay` of the whole log with the same rules.
pub(crate) fn replay_ids(dir: &Path, log: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "replay", "--json", "--format", "sshd", "--tz", "UTC", "--rules",
        ])
        .arg(dir.join("rules"))
        .arg(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "decision")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn kill_9_at_random_points_changes_no_decision() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let lines = generate(7, 6000);
    // The reference run, on a copy holding the whole log.
    let full = dir.path().join("full.log");
    fs::write(
        &full,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let expected = replay_ids(dir.path(), &full);
    assert!(
        expected.len() >= 5,
        "the generated log fires rules: {}",
        expected.len()
    );

    // Append the log in bursts while killing the daemon at random moments.
    let mut rng = Rng(rand_u64());
    let mut d = Daemon::start(dir.path());
    let mut kills = 0;
    for (i, chunk) in lines.chunks(150).enumerate() {
        append(&log, chunk);
        std::thread::sleep(Duration::from_millis(rng.below(60)));
        // At random moments, and at least every tenth burst so every run kills a few times.
        if rng.below(8) == 0 || i % 10 == 5 {
            d.kill9();
            kills += 1;
            d = Daemon::start(dir.path());
        }
    }
    assert!(kills >= 2, "killed only {kills} times");
    let got = wait_for("all decisions", Duration::from_secs(30), || {
        let mut ids: Vec<String> = d
            .decisions(false)
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        (ids.len() >= expected.len()).then_some(ids)
    });
    settle(&d, &log);
    let mut again: Vec<String> = d
        .decisions(false)
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    again.sort();
    assert_eq!(got, again, "no late extra decisions");
    assert_eq!(
        got, expected,
        "decisions after {kills} kill -9 differ from an uninterrupted run"
    );
}

/// `promtool check metrics` on the live daemon's output (SKIP without promtool),
/// and the families every dashboard relies on are there.
fn promtool_check(text: &str) {
    for name in [
        "loginwatch_decisions_total",
        "loginwatch_event_to_decision_seconds_bucket",
        "process_resident_memory_bytes",
        "loginwatch_build_info",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    crate::util::promtool_check_metrics("the daemon's metrics", text);
}

#[test]
fn a_missing_source_is_not_ready_until_it_appears_then_read_from_its_start() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    fs::remove_file(&log).unwrap();
    let d = Daemon::start(dir.path());
    let body = wait_for("not ready", Duration::from_secs(20), || {
        let r = http::get(d.url("/readyz")).send();
        (r.status == 503).then(|| r.body.clone())
    });
    assert!(body.contains("no file matches"), "{body}");
    assert_eq!(d.metric("loginwatch_source_up{source=\"auth.log\"}"), 0.0);
    fs::write(&log, "").unwrap();
    append(&log, &failures("erin", 5, 500));
    wait_for(
        "erin's lock from the new file",
        Duration::from_secs(20),
        || active_for(&d, "erin"),
    );
    assert_eq!(http::get(d.url("/readyz")).send().status, 200);
    assert_eq!(d.metric("loginwatch_source_up{source=\"auth.log\"}"), 1.0);
    assert_eq!(
        d.log().matches("no file matches").count(),
        1,
        "reported once: {}",
        d.log()
    );
}

/// `systemctl reload` or a logrotate `postrotate` can send SIGHUP while the
/// daemon is still starting: from its first log line on, a stream of SIGHUPs
/// must neither kill it nor keep it from coming up.
#[test]
fn sighup_while_the_daemon_starts_does_not_kill_it() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = setup("30m");
    let d = dir.path();
    let addr_file = d.join("addr");
    let stderr = d.join("stderr-hup.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["run", "--config"])
        .arg(d.join("loginwatch.toml"))
        .arg("--addr-file")
        .arg(&addr_file)
        .env("LOGINWATCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let log = || fs::read_to_string(&stderr).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while log().is_empty() {
        assert!(Instant::now() < deadline, "no log line");
        assert!(child.try_wait().unwrap().is_none(), "exited: {}", log());
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut sent = 0;
    let mut up_since: Option<Instant> = None;
    while up_since.is_none_or(|t| t.elapsed() < Duration::from_millis(300)) {
        assert!(
            Instant::now() < deadline,
            "not up after {sent} SIGHUPs: {}",
            log()
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the daemon died ({status}) after {sent} SIGHUPs: {}", log());
        }
        if kill(pid, Signal::SIGHUP).is_ok() {
            sent += 1;
        }
        if up_since.is_none() && fs::metadata(&addr_file).is_ok_and(|m| m.len() > 0) {
            up_since = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let addr = fs::read_to_string(&addr_file).unwrap();
    let health = http::get(format!("http://{addr}/healthz")).send();
    assert_eq!(health.status, 200);
    assert!(sent > 10, "{sent} SIGHUPs");
    let _ = child.kill();
    let _ = child.wait();
}

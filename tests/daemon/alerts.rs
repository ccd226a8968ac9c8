//! Decisions and unlocks alerted through a file sink, including an unlock made
//! with the CLI while the daemon was stopped.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::active_for;
use crate::util::daemon::{Daemon, add_config, append, failures, setup};
use crate::util::wait_for;

/// A file alert sink named `siem` writing `alerts.jsonl` in the test's dir.
const FILE_SINK: &str =
    "[[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n";

/// Waits until the file sink holds at least `want` alerts; returns them all.
fn sink_alerts(dir: &Path, want: usize) -> Vec<Value> {
    wait_for("alerts in the sink file", Duration::from_secs(20), || {
        let text = fs::read_to_string(dir.join("alerts.jsonl")).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (lines.len() >= want).then_some(lines)
    })
}

#[test]
fn decisions_and_their_unlocks_are_alerted_through_a_sink() {
    let dir = setup("2s");
    let d = dir.path();
    add_config(d, "[alert]\nlanguage = \"ja\"\ntz = \"Asia/Tokyo\"\n");
    add_config(d, FILE_SINK);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("hana", 5, 700));
    let alerts = |want: usize| sink_alerts(d, want);
    let firing = alerts(1);
    let text = firing[0].to_string();
    assert!(
        text.contains("hana") && text.contains("account-lockout"),
        "{text}"
    );
    // The 2 s lock ends by itself: a resolved alert follows under the same key.
    let both = alerts(2);
    assert!(both[1].to_string().contains("resolved"), "{}", both[1]);
    // The counter moves just after the write the file shows: poll it.
    let delivered = || daemon.metric("loginwatch_alerts_total{result=\"delivered\",sink=\"siem\"}");
    wait_for("two deliveries counted", Duration::from_secs(10), || {
        (delivered() >= 2.0).then_some(())
    });
    assert_eq!(delivered(), 2.0);
}

/// An admin unlock made with the CLI while the daemon is stopped still sends its
/// "resolved" alert: written to the outbox with the unlock, delivered when the
/// daemon runs again.
#[test]
fn an_offline_cli_unlock_is_alerted_when_the_daemon_returns() {
    let dir = setup("30m");
    let d = dir.path();
    add_config(d, FILE_SINK);
    let alerts = |want: usize| sink_alerts(d, want);
    let daemon = Daemon::start(d);
    append(&d.join("auth.log"), &failures("kai", 5, 900));
    alerts(1);
    let id = active_for(&daemon, "kai").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(daemon.terminate().success());

    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args([
            "decisions",
            "unlock",
            &id,
            "--by",
            "helpdesk",
            "--reason",
            "user called",
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
    // Nothing is sent while no daemon runs (the CLI has exited: nothing is
    // left that could send, so no wait)...
    let text = fs::read_to_string(d.join("alerts.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");

    // ...and the resolved alert goes out once it is back.
    let _daemon = Daemon::start(d);
    let both = alerts(2);
    let resolved = both[1].to_string();
    assert!(
        resolved.contains("resolved") && resolved.contains("helpdesk") && resolved.contains("kai"),
        "{resolved}"
    );
}

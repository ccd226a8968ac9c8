//! Issue 11, part 3: log injection (fail2ban's cases). A user name is whatever
//! the client typed; it must never make a decision against an address it
//! names, and never reach a terminal, a log or an alert unescaped.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::daemon::{Daemon, setup};
use crate::util::wait_for;

/// The address every line really comes from, and the one names inject.
const REAL: &str = "192.0.2.44";
const INJECTED: &str = "6.6.6.6";

/// Names an attacker types: a forged address, a forged second message, a
/// syslog-escaped newline, ANSI colours, a right-to-left override, a path.
fn names() -> Vec<String> {
    vec![
        format!("x from {INJECTED} port 22"),
        format!("x from {INJECTED} port 22 ssh2 from {INJECTED} port 4 ssh2"),
        format!("root from {INJECTED} port 22 ssh2#012Failed password for root"),
        "\x1b[31mred\x1b[0m\x1b]0;title\x07".to_string(),
        "eve\u{202e}nilam".to_string(),
        "../../etc/passwd".to_string(),
    ]
}

/// Five failed passwords per name (enough for `account-lockout`), and the
/// forged-message forms sshd really logs for an invalid user.
fn fixture(path: &Path) {
    let now = chrono::Utc::now().to_rfc3339();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut pid = 2000;
    for name in names() {
        for i in 0..5 {
            pid += 1;
            writeln!(
                f,
                "{now} web1 sshd[{pid}]: Failed password for {name} from {REAL} port {} ssh2",
                41000 + i
            )
            .unwrap();
            writeln!(
                f,
                "{now} web1 sshd[{}]: Failed password for invalid user {name} from {REAL} port {} ssh2",
                pid + 10000,
                42000 + i
            )
            .unwrap();
        }
    }
}

/// Characters that act on a terminal or reorder text when shown raw.
fn raw_controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}')
        })
        .collect()
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loginwatch"))
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        c,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn issue_11_injected_names_decide_nothing_against_their_address_and_show_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    fixture(&log);
    let text = stdout(bin().args(["replay", "--tz", "UTC"]).arg(&log));
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "replay: {text}");
    assert!(!text.contains(&format!("ip={INJECTED}")), "{text}");
    let json = stdout(bin().args(["replay", "--json", "--tz", "UTC"]).arg(&log));
    let decisions: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One lock per injected name (the names are distinct accounts), and a block
    // of the real address; never anything against the injected one.
    let users: Vec<&str> = decisions
        .iter()
        .filter_map(|d| d["target"]["user"].as_str())
        .collect();
    assert_eq!(users.len(), names().len(), "{json}");
    for d in &decisions {
        assert_ne!(d["target"]["ip"].as_str(), Some(INJECTED), "{d}");
    }
    assert!(
        decisions.iter().any(|d| d["target"]["ip"] == REAL),
        "{json}"
    );
    for format in [
        "text",
        "email",
        "slack",
        "teams",
        "lineworks",
        "alertmanager",
        "webhook",
        "json",
    ] {
        let mut child = bin()
            .args(["alerts", "preview", "--format", format])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            raw_controls(&shown),
            Vec::<char>::new(),
            "alert format {format}: {shown}"
        );
        assert!(shown.contains("red"), "{format} names the account");
    }
}

#[test]
fn issue_11_injected_names_through_the_daemon() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    fixture(&log);
    let want = names().len() + 1;
    let decisions = wait_for("the decisions", Duration::from_secs(30), || {
        let v = d.decisions(false);
        (v.len() >= want).then_some(v)
    });
    for x in &decisions {
        assert_ne!(x["target"]["ip"].as_str(), Some(INJECTED), "{x}");
    }
    let listed = stdout(
        bin()
            .args(["decisions", "list", "--config"])
            .arg(dir.path().join("loginwatch.toml")),
    );
    assert_eq!(
        raw_controls(&listed),
        Vec::<char>::new(),
        "decisions list: {listed}"
    );
    assert!(listed.contains("red"), "{listed}");
    let log_text = d.log();
    assert!(log_text.contains("Decision:"), "{log_text}");
    assert_eq!(
        raw_controls(&log_text),
        Vec::<char>::new(),
        "daemon log: {log_text}"
    );
}

//! Real journal files for the tests: entries in journal export format written
//! by `systemd-journal-remote` (Debian package systemd-journal-remote) into
//! `DIR/remote.journal`; a second run appends to the same file, and
//! `journalctl --directory DIR --follow` sees what is appended.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

pub const REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// True when journal files can be written and read here; else records a
/// skip of `test` and returns false.
pub fn available(test: &str) -> bool {
    if !Path::new(REMOTE).exists() {
        super::skip(
            "systemd-journal-remote",
            test,
            "apt-get install systemd-journal-remote",
        );
        return false;
    }
    if !super::runs("journalctl", &["--version"]) {
        super::skip("journalctl", test, "no journalctl (systemd)");
        return false;
    }
    true
}

/// One journal entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub time: DateTime<Utc>,
    pub host: String,
    pub program: String,
    pub pid: u32,
    pub message: String,
}

impl Entry {
    /// sshd's entry saying `message`.
    pub fn sshd(time: DateTime<Utc>, pid: u32, message: &str) -> Entry {
        Entry {
            time,
            host: "web1".into(),
            program: "sshd".into(),
            pid,
            message: message.into(),
        }
    }

    /// The entry of a syslog line `RFC3339 host prog[pid]: message` (the
    /// form `crate::sshgen` writes).
    pub fn of_line(line: &str) -> Entry {
        let mut parts = line.splitn(4, ' ');
        let (ts, host, tag, message) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or(""),
        );
        let (program, pid) = tag.trim_end_matches(':').split_once('[').unwrap();
        Entry {
            time: DateTime::parse_from_rfc3339(ts).unwrap().to_utc(),
            host: host.into(),
            program: program.into(),
            pid: pid.trim_end_matches(']').parse().unwrap(),
            message: message.into(),
        }
    }
}

/// Monotonic timestamps always increase (a realtime that steps back is
/// normal, a monotonic one within a boot is not).
static MONOTONIC: AtomicU64 = AtomicU64::new(1000);

/// Appends `entries` to `dir/remote.journal` (created with `dir` if need be).
pub fn append(dir: &Path, entries: &[Entry]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = String::new();
    for e in entries {
        let us = e.time.timestamp_micros();
        text.push_str(&format!(
            "__REALTIME_TIMESTAMP={us}\n__MONOTONIC_TIMESTAMP={}\n\
             _BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME={}\n\
             SYSLOG_IDENTIFIER={}\n_PID={}\n{}MESSAGE={}\n\n",
            MONOTONIC.fetch_add(1000, Ordering::Relaxed),
            e.host,
            e.program,
            e.pid,
            if e.program.starts_with("sshd") {
                "_SYSTEMD_UNIT=ssh.service\n"
            } else {
                ""
            },
            e.message
        ));
    }
    let mut c = Command::new(REMOTE)
        .arg(format!("--output={}", dir.join("remote.journal").display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "systemd-journal-remote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `n` failed passwords for `user` at `time`, one per second.
pub fn failures(user: &str, n: usize, pid0: u32, time: DateTime<Utc>) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            Entry::sshd(
                time + chrono::TimeDelta::seconds(i as i64),
                pid0 + i as u32,
                &format!(
                    "Failed password for {user} from 203.0.113.9 port {} ssh2",
                    40000 + i
                ),
            )
        })
        .collect()
}

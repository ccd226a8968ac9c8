//! Issue 11, part 0, "no line lost": logrotate's `copytruncate` right after a
//! burst, against the real daemon. The lines written after the daemon's last
//! read are only in the copy beside the log; they must be read from it, once.
//! A plain truncate that destroys unread lines is counted and logged at WARN.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::util::daemon::{Daemon, setup};
use crate::util::wait_for;

/// Lines read over all sources, from `/metrics`.
fn lines_read(d: &Daemon) -> u64 {
    d.metrics()
        .lines()
        .filter(|l| l.starts_with("loginwatch_lines_read_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits until the daemon has read exactly `n` lines (more is a failure: a
/// line read twice).
fn wait_read(d: &Daemon, n: u64) {
    wait_for(&format!("{n} lines read"), Duration::from_secs(60), || {
        let got = lines_read(d);
        assert!(got <= n, "{got} lines read, only {n} written");
        (got == n).then_some(())
    });
}

/// `n` syslog lines with no auth meaning (the counter counts every line), in
/// one write: a burst.
fn burst(path: &Path, first: usize, n: usize) {
    let mut text = String::with_capacity(n * 80);
    for i in first..first + n {
        text.push_str(&format!(
            "2026-12-05T06:00:00+00:00 web1 CRON[{}]: (root) CMD (line {i} of the burst test)\n",
            1000 + i % 30000
        ));
    }
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// What logrotate's `copytruncate` does: copy the log to `auth.log.1` (over
/// the last copy), then truncate the log in place.
fn copytruncate(log: &Path) {
    fs::copy(log, log.with_extension("log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(log)
        .unwrap()
        .set_len(0)
        .unwrap();
}

#[test]
fn issue_11_five_bursts_each_copytruncated_at_once_lose_no_line() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    burst(&log, 0, 1000);
    wait_read(&d, 1000);
    let mut total = 1000;
    for _ in 0..5 {
        burst(&log, total, 5000);
        copytruncate(&log);
        total += 5000;
        // A copy overwritten by the next `cp` before it was read is lost by
        // any reader; so the next burst waits for this one to be read.
        wait_read(&d, total as u64);
    }
    // Exactly once: a marker written after everything is the next line read.
    burst(&log, total, 1);
    wait_read(&d, total as u64 + 1);
    assert_eq!(
        d.metric("loginwatch_source_truncated_bytes_total{source=\"auth.log\"}"),
        0.0,
        "{}",
        d.metrics()
    );
    assert!(d.log().contains("reading the rest of its copy first"));
}

#[test]
fn a_plain_truncate_over_unread_bytes_is_counted_and_logged_at_warn() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    // Unread bytes the daemon has seen, deterministically: a last line still
    // waiting for its newline (it reads the complete lines of the same write).
    let partial = "2026-12-05T06:00:00+00:00 web1 sshd[7]: half a line";
    burst(&log, 0, 10);
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(partial.as_bytes())
        .unwrap();
    wait_read(&d, 10);
    wait_for("the partial line seen", Duration::from_secs(20), || {
        (d.metric("loginwatch_source_lag_bytes{source=\"auth.log\"}") == partial.len() as f64)
            .then_some(())
    });
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    burst(&log, 10, 1);
    wait_read(&d, 11);
    assert_eq!(
        d.metric("loginwatch_source_truncated_bytes_total{source=\"auth.log\"}"),
        partial.len() as f64
    );
    let text = d.log();
    let warn = text
        .lines()
        .find(|l| l.contains("WARN") && l.contains("unread bytes and no copy"))
        .unwrap_or_else(|| panic!("no WARN line: {text}"));
    assert!(
        warn.contains(&partial.len().to_string()) && warn.contains("auth.log"),
        "{warn}"
    );

    // Truncated while stopped, no copy: how much was unread cannot be known,
    // but it is said at WARN.
    assert!(d.terminate().success());
    burst(&log, 11, 5);
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let d = Daemon::start(dir.path());
    burst(&log, 16, 1);
    wait_read(&d, 1);
    let text = d.log();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("while the daemon was stopped")),
        "{text}"
    );
}

#[test]
fn a_copytruncate_while_the_daemon_is_stopped_is_read_from_the_copy_at_restart() {
    let dir = setup("30m");
    let log = dir.path().join("auth.log");
    let d = Daemon::start(dir.path());
    burst(&log, 0, 100);
    wait_read(&d, 100);
    assert!(d.terminate().success());
    burst(&log, 100, 250);
    copytruncate(&log);
    burst(&log, 350, 20);
    let d = Daemon::start(dir.path());
    // The copy's unread 250 lines, then the log's 20: counters start at 0.
    wait_read(&d, 270);
    burst(&log, 370, 1);
    wait_read(&d, 271);
}

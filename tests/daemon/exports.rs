//! A folder of LINE WORKS exports read by the running daemon (issue 13): an
//! admin downloads "the last week" every few days, so exports overlap, and a
//! row two exports carry must count once. The motivating bug: two overlapping
//! exports counted 8 events instead of 6, enough to lock a user who failed
//! 3 times (the shipped lockout rule fires at 5). Also: a restart (`kill -9`)
//! then a third overlapping export, a file written in two parts (read only
//! once complete, its last row without newline included), an export cut
//! short (`downloadLogs error`) then downloaded again, and `replay` of the
//! overlapping files. The fixtures are written here, dated now (in Tokyo
//! time, the format's zone), so the daemon's windows see them as recent.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use super::active_for;
use crate::util::daemon::{Daemon, add_config, settle, setup};
use crate::util::{lw, wait_for, wait_until};

const HEADER: &str = "\u{feff}Date,User,Description,Service Type,IP Address,Login method";

/// The rows of one scenario, their times fixed once so every export of a
/// row carries the same text.
struct Rows {
    base: chrono::DateTime<Utc>,
}

impl Rows {
    fn new() -> Rows {
        // Tokyo time, 30 minutes ago: within the lockout rule's window.
        Rows {
            base: Utc::now() + TimeDelta::hours(9) - TimeDelta::minutes(30),
        }
    }

    /// Row `min` minutes after the base: `who` ("taro"...) and what happened.
    fn row(&self, min: i64, who: &str, failed: bool) -> String {
        let t = (self.base + TimeDelta::minutes(min)).format("%Y-%m-%d %H:%M:%S");
        let what = if failed {
            "Login failed (Incorrect password)"
        } else {
            "Login success"
        };
        // Hanako's name is Japanese: a download in another encoding must
        // still be the same row.
        let name = if who == "hanako" {
            "佐藤 花子"
        } else {
            who
        };
        format!("{t},\"{name}({who}@example.com)\",{what},PC Web,198.51.100.7,ID/Password")
    }
}

/// The two overlapping exports of the bug: 4 rows each, 2 in both. Taro
/// fails 3 times; counted twice the overlap gives him 5 failures.
fn overlapping(r: &Rows) -> (Vec<String>, Vec<String>) {
    let a = vec![
        r.row(0, "hanako", false),
        r.row(1, "jiro", false),
        r.row(2, "taro", true),
        r.row(3, "taro", true),
    ];
    let b = vec![
        r.row(2, "taro", true),
        r.row(3, "taro", true),
        r.row(4, "taro", true),
        r.row(5, "hanako", false),
    ];
    (a, b)
}

/// An export file: the header and `rows`, lines ended by `eol`.
fn export(path: &Path, rows: &[String], eol: &str) {
    let mut text = format!("{HEADER}{eol}");
    for r in rows {
        text.push_str(r);
        text.push_str(eol);
    }
    fs::write(path, text).unwrap();
}

/// A daemon with the shipped rules (lockout at 5) and a LINE WORKS export folder.
fn daemon_with_exports(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = setup("30m");
    let exports = dir.path().join("exports");
    fs::create_dir(&exports).unwrap();
    add_config(
        dir.path(),
        &format!(
            "[[source]]\npath = \"exports/*.csv\"\nname = \"lineworks\"\nformat = \"lineworks-audit\"\n{extra}"
        ),
    );
    (dir, exports)
}

fn lines_read(d: &Daemon) -> f64 {
    d.metric("loginwatch_lines_read_total{source=\"lineworks\"}")
}

fn events(d: &Daemon) -> f64 {
    ["success", "failure"]
        .iter()
        .map(|o| {
            d.metric(&format!(
                "loginwatch_events_total{{outcome=\"{o}\",source=\"lineworks\"}}"
            ))
        })
        .sum()
}

fn unparsed(d: &Daemon, reason: &str) -> f64 {
    d.metric(&format!(
        "loginwatch_unparsed_lines_total{{reason=\"{reason}\",source=\"lineworks\"}}"
    ))
}

fn wait_lines(d: &Daemon, n: f64) {
    wait_until(
        &format!("{n} export lines read"),
        Duration::from_secs(30),
        || lines_read(d) == n,
    );
}

#[test]
fn overlapping_exports_count_each_row_once_across_a_kill_9() {
    let (dir, exports) = daemon_with_exports("");
    let log = dir.path().join("auth.log");
    let r = Rows::new();
    let (a, b) = overlapping(&r);
    let d = Daemon::start(dir.path());
    export(&exports.join("lineworks-1.csv"), &a, "\n");
    wait_lines(&d, 5.0);
    // The second download: CRLF line ends, the same rows.
    export(&exports.join("lineworks-2.csv"), &b, "\r\n");
    wait_lines(&d, 10.0);
    settle(&d, &log);
    assert_eq!(events(&d), 6.0, "{}", d.metrics());
    assert_eq!(unparsed(&d, "duplicate_row"), 2.0);
    assert!(
        active_for(&d, "taro@example.com").is_none(),
        "3 failures lock nobody"
    );
    d.kill9();

    // A third download overlapping the second, after a kill -9: the first two
    // are not read again, and what they delivered is still known.
    let d = Daemon::start(dir.path());
    let c = vec![
        r.row(3, "taro", true),
        r.row(4, "taro", true),
        r.row(5, "hanako", false),
        r.row(6, "jiro", false),
    ];
    // In Shift_JIS with Japanese headers: the parser state restored from the
    // last run (UTF-8) is the last file's, not this one's.
    let mut text = String::from("日時,ユーザー,内容,サービス種別,IPアドレス,ログイン方法\n");
    for row in &c {
        text.push_str(row);
        text.push('\n');
    }
    let sjis = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    fs::write(exports.join("lineworks-3.csv"), sjis).unwrap();
    wait_lines(&d, 5.0);
    settle(&d, &log);
    assert_eq!(events(&d), 1.0, "{}", d.metrics());
    assert_eq!(unparsed(&d, "duplicate_row"), 3.0);
    assert_eq!(unparsed(&d, "invalid_utf8"), 0.0);
    assert!(active_for(&d, "taro@example.com").is_none());
    assert_eq!(d.get("/readyz")["ready"], true);
    assert!(d.terminate().success());
}

#[test]
fn an_export_written_in_two_parts_is_read_once_complete() {
    let (dir, exports) = daemon_with_exports("settle = \"3s\"\n");
    let r = Rows::new();
    let d = Daemon::start(dir.path());
    let f = exports.join("slow.csv");
    let cut_row = r.row(1, "taro", true);
    let (first, rest) = cut_row.split_at(30);
    fs::write(
        &f,
        format!("{HEADER}\n{}\n{first}", r.row(0, "jiro", false)),
    )
    .unwrap();
    // Polled every second, unwritten for less than the settle time: not read.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines_read(&d), 0.0, "read before it was complete");
    // The rest, the last row without its newline.
    let mut text = fs::read_to_string(&f).unwrap();
    text.push_str(&format!("{rest}\n{}", r.row(2, "taro", true)));
    fs::write(&f, text).unwrap();
    wait_lines(&d, 4.0);
    assert_eq!(events(&d), 3.0, "{}", d.metrics());
    assert_eq!(unparsed(&d, "malformed"), 0.0);
    assert!(d.terminate().success());
}

/// The export's `/readyz` warnings (the daemon stays ready).
fn warnings(d: &Daemon) -> Vec<Value> {
    let ready = d.get("/readyz");
    assert_eq!(ready["ready"], true, "{ready}");
    ready["warnings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_truncated_export_is_named_until_its_new_download_is_read() {
    let (dir, exports) = daemon_with_exports("");
    let r = Rows::new();
    let d = Daemon::start(dir.path());
    let cut = exports.join("lineworks-cut.csv");
    let rows = [r.row(0, "hanako", false), r.row(1, "taro", true)];
    fs::write(
        &cut,
        format!("{HEADER}\n{}\n{}\ndownloadLogs error\n", rows[0], rows[1]),
    )
    .unwrap();
    wait_lines(&d, 4.0);
    assert_eq!(unparsed(&d, "incomplete_export"), 1.0);
    let w = wait_for("the /readyz warning", Duration::from_secs(10), || {
        Some(warnings(&d)).filter(|w| !w.is_empty())
    });
    let message = w[0]["message"].as_str().unwrap();
    assert!(message.contains("lineworks-cut.csv"), "{w:?}");
    assert!(message.contains("download it again"), "{w:?}");
    assert_eq!(w[0]["name"], "lineworks");
    assert!(
        d.log().contains("Incomplete export") && d.log().contains("lineworks-cut.csv"),
        "{}",
        d.log()
    );
    // Downloaded again, complete: only what was missing is new.
    let full = [
        rows[0].clone(),
        rows[1].clone(),
        r.row(2, "taro", true),
        r.row(3, "jiro", false),
    ];
    export(&exports.join("lineworks-full.csv"), &full, "\n");
    wait_lines(&d, 9.0);
    assert_eq!(events(&d), 4.0, "{}", d.metrics());
    assert_eq!(unparsed(&d, "duplicate_row"), 2.0);
    wait_until("the warning to clear", Duration::from_secs(10), || {
        warnings(&d).is_empty()
    });
    assert!(d.terminate().success());
}

/// `replay --json` of `files` with the shipped rules: (decisions, summary, stderr).
fn replay(files: &[&Path]) -> (Vec<Value>, Value, String) {
    let out = lw()
        .args(["replay", "--json", "--rules"])
        .arg(crate::util::repo().join("rules"))
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let mut lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.pop().unwrap();
    (lines, summary, stderr)
}

#[test]
fn identical_rows_of_one_export_each_count_and_a_later_copy_adds_none() {
    // Five failures within one second: five identical rows, five attempts.
    let dir = tempfile::tempdir().unwrap();
    let r = Rows::new();
    let burst = vec![r.row(1, "taro", true); 5];
    let (fa, fb) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    export(&fa, &burst, "\n");
    let mut again = burst.clone();
    again.push(r.row(2, "jiro", false));
    export(&fb, &again, "\r\n");
    let (ds, summary, _) = replay(&[&fa]);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["evidence"]["count"], 5);
    let (ds, summary2, _) = replay(&[&fa, &fb]);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(summary["events"], 5);
    assert_eq!(summary2["events"], 6);
    assert_eq!(summary2["unparsed"], 5);
}

#[test]
fn replay_of_overlapping_exports_counts_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let r = Rows::new();
    let (a, b) = overlapping(&r);
    let (fa, fb) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    export(&fa, &a, "\n");
    export(&fb, &b, "\r\n");
    let (ds, summary, stderr) = replay(&[&fa, &fb]);
    // No decision (taro failed 3 times), as in `run`; 6 events, 2 duplicates.
    assert!(ds.is_empty(), "{ds:?}");
    assert_eq!(summary["events"], 6, "{summary}");
    assert_eq!(summary["unparsed"], 2);
    assert!(stderr.contains("duplicate_row"), "{stderr}");
}

//! `replay --threads N` (issue 17): the decisions, the `--json` summary, the
//! unparsed lines and their counts are those of `--threads 1`, for one file
//! cut into many chunks (attempts whose lines straddle the cuts), for several
//! files merged in event time (sshd, JSON, stdin), and for year-less syslog
//! timestamps across New Year.

use std::fmt::Write as _;
use std::path::Path;

use crate::sshgen;
use crate::util::{lw, repo};

/// Attempts OpenSSH logs on several lines of one pid, interleaved with other
/// pids, including `message repeated` and `PAM N more` summaries, so a chunk
/// of a few hundred bytes cuts through most of them.
fn straddling(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let (pid, t) = (5000 + i % 7, i / 3);
        let (h, m, s) = (9 + t / 3600, (t / 60) % 60, t % 60);
        let ts = format!("2026-03-01T{h:02}:{m:02}:{s:02}Z host2");
        let ip = format!("203.0.113.{}", 10 + i % 5);
        let user = ["root", "admin", "oracle", "alice"][i % 4];
        let line = match i % 6 {
            0 => format!("sshd[{pid}]: Connection from {ip} port 4{pid} on 10.0.0.1 port 22"),
            1 => format!(
                "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
            ),
            2 => format!("sshd[{pid}]: Failed password for {user} from {ip} port 4{pid} ssh2"),
            3 => format!(
                "sshd[{pid}]: message repeated 2 times: [ Failed password for {user} from {ip} port 4{pid} ssh2]"
            ),
            4 => format!(
                "sshd[{pid}]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
            ),
            _ => format!(
                "sshd[{pid}]: Connection closed by authenticating user {user} {ip} port 4{pid} [preauth]"
            ),
        };
        writeln!(out, "{ts} {line}").unwrap();
    }
    out
}

/// Year-less BSD lines from Dec 30 to Jan 2: the year of each comes from
/// the clock (or `--year`), line by line, whichever thread reads it.
fn new_year() -> String {
    let mut out = String::new();
    let days = [("Dec", 30), ("Dec", 31), ("Jan", 1), ("Jan", 2)];
    for (i, (mon, day)) in days.iter().cycle().take(400).enumerate() {
        let (pid, ip) = (7000 + i % 3, format!("192.0.2.{}", i % 4));
        writeln!(
            out,
            "{mon} {day:>2} 23:{:02}:{:02} gw sshd[{pid}]: Failed password for invalid user u{} from {ip} port 22 ssh2",
            (i / 60) % 60,
            i % 60,
            i % 9
        )
        .unwrap();
    }
    out
}

/// Lines no parser reads, of every reason, among good ones.
fn bad_lines() -> Vec<u8> {
    let mut b = b"not a log line\n".to_vec();
    b.extend_from_slice(b"\xff\xfe invalid UTF-8\r\n");
    b.extend_from_slice(
        b"2026-03-01T08:10:00Z host1 sshd[9]: Failed password for r\xffot from 198.51.100.9 port 2 ssh2\n",
    );
    b.extend_from_slice(b"2026-13-45T99:00:00Z host1 sshd[9]: Failed password\n");
    b.extend(std::iter::repeat_n(b'x', 70 * 1024));
    b.extend_from_slice(
        b"\nFeb 30 10:00:00 h sshd[1]: Accepted password for a from 192.0.2.1 port 1 ssh2\n",
    );
    b
}

/// ECS JSON failures of one user from one address, in the sshd logs' hours.
fn ecs(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        writeln!(
            out,
            r#"{{"@timestamp":"2026-03-01T08:{:02}:{:02}Z","event.outcome":"failure","event.reason":"bad_password","user.name":"json-user","source.ip":"198.51.100.77"}}"#,
            (i / 60) % 60,
            i % 60
        )
        .unwrap();
    }
    out
}

/// `replay`'s stdout and stderr with `args`, `--threads` and `extra`.
fn replay(dir: &Path, args: &[&str], threads: &str, extra: &[&str]) -> (String, String) {
    let rules = repo().join("rules");
    let out = lw()
        .current_dir(dir)
        .args(["replay", "--tz", "UTC", "--rules"])
        .arg(&rules)
        .args(["--threads", threads])
        .args(extra)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The outputs of `--threads 1` and of 2 and 4 threads, with small chunks
/// (many cuts) and with the default size, are byte for byte the same.
fn same_for_every_thread_count(dir: &Path, args: &[&str]) -> (String, String) {
    let one = replay(dir, args, "1", &[]);
    for threads in ["2", "4"] {
        for chunk in [
            &["--chunk-bytes", "300"][..],
            &["--chunk-bytes", "4096"],
            &[],
        ] {
            let got = replay(dir, args, threads, chunk);
            assert_eq!(got.0, one.0, "stdout, --threads {threads} {chunk:?}");
            assert_eq!(got.1, one.1, "stderr, --threads {threads} {chunk:?}");
        }
    }
    one
}

fn summary(json: &str) -> serde_json::Value {
    let last = json.lines().last().unwrap();
    serde_json::from_str(last).unwrap()
}

#[test]
fn one_file_cut_through_its_attempts_gives_the_one_thread_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = sshgen::generate(17, 6000).join("\n");
    log.push('\n');
    log.push_str(&straddling(3000));
    let lines = log.lines().count();
    std::fs::write(dir.path().join("auth.log"), log).unwrap();
    let (json, _) = same_for_every_thread_count(dir.path(), &["--json", "auth.log"]);
    let s = summary(&json);
    assert_eq!(s["lines"], lines);
    assert!(s["decisions"].as_u64().unwrap() > 5, "{s}");
    // The human output and its per-rule table too.
    same_for_every_thread_count(dir.path(), &["auth.log"]);
}

#[test]
fn several_files_and_stdin_merge_in_event_time_as_with_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let lines = sshgen::generate(5, 9000);
    let third = lines.len() / 3;
    // A log rotated twice: the attempts under way at a rotation go on in
    // the next file, whose own parser (as with one thread) starts afresh.
    for (name, part) in [
        ("auth.log.2", &lines[..third]),
        ("auth.log.1", &lines[third..2 * third]),
        ("auth.log", &lines[2 * third..]),
    ] {
        let mut text = part.join("\n").into_bytes();
        text.push(b'\n');
        if name == "auth.log.1" {
            text.extend(bad_lines());
        }
        // The last line of the newest file has no newline.
        if name == "auth.log" {
            text.pop();
        }
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("sso.json"), ecs(400)).unwrap();
    std::fs::write(dir.path().join("straddle.log"), straddling(1200)).unwrap();
    let files = [
        "auth.log.2",
        "auth.log.1",
        "auth.log",
        "sso.json",
        "straddle.log",
    ];
    let mut args = vec!["--json", "--show-unparsed", "--year", "2026"];
    args.extend(files);
    let (json, stderr) = same_for_every_thread_count(dir.path(), &args);
    assert!(json.contains("json-user"), "the JSON file's events count");
    let s = summary(&json);
    assert_eq!(s["unparsed"], 5, "{s}\n{stderr}");
    assert!(
        stderr.contains("line_too_long: 1") && stderr.contains("malformed: 2"),
        "{stderr}"
    );

    // Standard input is read by the workers too.
    let stdin = |threads: &str| {
        let out = lw()
            .current_dir(dir.path())
            .args(["replay", "--tz", "UTC", "--year", "2026", "--json"])
            .args(["--threads", threads, "--chunk-bytes", "500", "--rules"])
            .arg(repo().join("rules"))
            .args(["auth.log.2", "-", "auth.log", "sso.json", "straddle.log"])
            .pipe_stdin(dir.path().join("auth.log.1"))
            .unwrap()
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let one = stdin("1");
    assert_eq!(summary(&one), s);
    assert_eq!(stdin("4"), one);
}

#[test]
fn year_less_timestamps_across_new_year_are_read_alike_by_every_thread() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("auth.log"), new_year()).unwrap();
    // The year from the clock (a December line may be last year's) ...
    let (json, _) = same_for_every_thread_count(dir.path(), &["--json", "auth.log"]);
    assert!(summary(&json)["decisions"].as_u64().unwrap() > 0, "{json}");
    // ... and from `--year`.
    same_for_every_thread_count(dir.path(), &["--json", "--year", "2025", "auth.log"]);
}

#[test]
fn threads_must_be_a_positive_number() {
    for bad in ["0", "-1", "many"] {
        let out = lw()
            .args(["replay", "--threads", bad, "x.log"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--threads {bad}");
    }
}

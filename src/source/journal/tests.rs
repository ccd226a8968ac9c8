//! The source against real journal files written by systemd-journal-remote
//! (skipped where it or journalctl is missing; `scripts/test.sh` installs them).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

const REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// Whether both tools are here; else one skip line, seen and counted by the
/// test command (not an `eprintln!`, which a passing test swallows).
fn tools() -> bool {
    if !Path::new(REMOTE).exists() {
        crate::test_support::skip(
            "systemd-journal-remote",
            "source::journal::tests",
            "systemd-journal-remote is not installed",
        );
        return false;
    }
    let journalctl = Command::new("journalctl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !journalctl {
        crate::test_support::skip(
            "journalctl",
            "source::journal::tests",
            "journalctl does not run",
        );
    }
    journalctl
}

/// Appends sshd entries (journal export format) to `dir/remote.journal`.
fn append(dir: &Path, messages: &[(u64, &str)]) {
    let tagged: Vec<(u64, &str, &str)> = messages.iter().map(|(t, m)| (*t, "sshd", *m)).collect();
    append_as(dir, &tagged);
}

/// Appends entries of the given programs.
fn append_as(dir: &Path, messages: &[(u64, &str, &str)]) {
    let mut text = String::new();
    for (sec, program, m) in messages {
        text.push_str(&format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
             _HOSTNAME=web1\nSYSLOG_IDENTIFIER={program}\n_PID=42\nMESSAGE={m}\n\n",
            sec * 1_000_000,
            sec * 1_000_000 + 1
        ));
    }
    let mut c = Command::new(REMOTE)
        .arg(format!("--output={}", dir.join("remote.journal").display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
}

/// Polls until `n` lines came (or 10 s passed).
fn take(s: &mut JournalSource, n: usize) -> Vec<String> {
    take_for(s, n, Duration::from_secs(10))
}

/// Polls until `n` lines came or `wait` passed.
fn take_for(s: &mut JournalSource, n: usize, wait: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let until = Instant::now() + wait;
    while got.len() < n && Instant::now() < until {
        s.poll(1, &mut |l| {
            got.push(String::from_utf8_lossy(l.line).into_owned())
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    got
}

fn spec(dir: &Path) -> JournalSpec {
    JournalSpec {
        dir: Some(dir.to_path_buf()),
        matches: Vec::new(),
    }
}

#[test]
fn follows_resumes_after_the_cursor_handed_out_and_starts_at_the_end_when_asked() {
    if !tools() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    append(
        d.path(),
        &[
            (1733562000, "one"),
            (1733562001, "two"),
            (1733562002, "three"),
        ],
    );
    let (wake, woken) = std::sync::mpsc::channel();
    let mut s = JournalSource::start("journal", spec(d.path()), None, false, Some(wake)).unwrap();
    assert_eq!(
        take(&mut s, 2),
        [
            "2024-12-07T09:00:00.000000Z web1 sshd[42]: one",
            "2024-12-07T09:00:01.000000Z web1 sshd[42]: two"
        ]
    );
    assert!(woken.recv_timeout(Duration::from_secs(5)).is_ok());
    // The third entry may be read ahead, but the cursor is the second's.
    let second = s.cursors();
    assert_eq!(second.len(), 1);
    assert!(second[0].cursor.contains(";i=2;"), "{second:?}");
    assert!(s.status()[0].listening, "{:?}", s.status());
    append(d.path(), &[(1733562003, "four")]);
    assert_eq!(take(&mut s, 2).len(), 2, "the appended entry is seen");
    drop(s);
    // A restart from the second's cursor reads the third and the fourth again, once.
    let mut s = JournalSource::start(
        "journal",
        spec(d.path()),
        Some(second[0].cursor.clone()),
        false,
        None,
    )
    .unwrap();
    let again = take(&mut s, 2);
    assert!(
        again[0].ends_with("three") && again[1].ends_with("four"),
        "{again:?}"
    );
    assert!(take_for(&mut s, 1, Duration::from_millis(1500)).is_empty());
    drop(s);
    let mut s = JournalSource::start("journal", spec(d.path()), None, true, None).unwrap();
    assert!(
        take_for(&mut s, 1, Duration::from_millis(1500)).is_empty(),
        "from the end"
    );
    append(d.path(), &[(1733562004, "five")]);
    assert!(take(&mut s, 1)[0].ends_with("five"));
}

#[test]
fn a_missing_directory_is_reported_with_its_fix_and_retried() {
    if !tools() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("later");
    let mut s = JournalSource::start("journal", spec(&dir), None, false, None).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    let mut st = s.status();
    while st[0].errors.first().map(|e| e.hint.as_str())
        != Some("check journal_dir (a directory of .journal files); retrying")
        && Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(50));
        st = s.status();
    }
    assert!(!st[0].is_up());
    assert!(
        st[0].errors[0].to_string().contains("no such directory"),
        "{st:?}"
    );
    // Created later: read once the retry comes.
    std::fs::create_dir(&dir).unwrap();
    append(&dir, &[(1733562000, "late")]);
    assert_eq!(take(&mut s, 1).len(), 1);
}

#[test]
fn the_offset_of_an_entry_is_its_sequence_number() {
    assert_eq!(
        seqnum("s=7321ae;i=1f;b=0123;m=3e8;t=628aa5;x=74b2"),
        Some(31)
    );
    assert_eq!(seqnum("s=7321ae;b=0123"), None);
    assert_eq!(seqnum("i=zz"), None);
}

#[test]
fn a_journalctl_that_dies_is_restarted_after_the_last_entry_read() {
    if !tools() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    append(d.path(), &[(1733562000, "one"), (1733562001, "two")]);
    let mut s = JournalSource::start("journal", spec(d.path()), None, false, None).unwrap();
    assert_eq!(take(&mut s, 2).len(), 2);
    let pid = s.shared.state().child.as_ref().map(|c| c.id()).unwrap();
    assert!(
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let until = Instant::now() + Duration::from_secs(5);
    while s.status()[0].is_up() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let down = s.status();
    assert!(!down[0].is_up());
    assert!(
        down[0].errors[0].to_string().contains("journalctl ended"),
        "{down:?}"
    );
    append(d.path(), &[(1733562002, "three")]);
    // Restarted after "two": "three" comes, and nothing twice.
    let got = take(&mut s, 1);
    assert!(got[0].ends_with("three"), "{got:?}");
    assert!(take_for(&mut s, 1, Duration::from_millis(1500)).is_empty());
}

#[test]
fn matches_choose_the_entries() {
    if !tools() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    append_as(
        d.path(),
        &[
            (1733562000, "cron", "not by default"),
            (1733562001, "sudo", "by default"),
            (1733562002, "sshd-session", "by default too"),
        ],
    );
    let mut s = JournalSource::start("journal", spec(d.path()), None, false, None).unwrap();
    let got = take(&mut s, 2);
    assert!(
        got[0].contains(" sudo[42]: ") && got[1].contains(" sshd-session[42]: "),
        "{got:?}"
    );
    assert!(take_for(&mut s, 1, Duration::from_millis(1000)).is_empty());
    let only_cron = JournalSpec {
        dir: Some(d.path().to_path_buf()),
        matches: vec!["SYSLOG_IDENTIFIER=cron".into()],
    };
    let mut s = JournalSource::start("journal", only_cron, None, false, None).unwrap();
    let got = take(&mut s, 1);
    assert!(got[0].ends_with("cron[42]: not by default"), "{got:?}");
    assert!(take_for(&mut s, 1, Duration::from_millis(1000)).is_empty());
}

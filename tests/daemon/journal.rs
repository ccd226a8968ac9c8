//! The systemd journal as a source of the running daemon: journal files
//! written by systemd-journal-remote in a `journal_dir` (`crate::util::journal`),
//! followed through journalctl. Failures in entries lock accounts in the
//! entries' time, entries appended while the daemon follows are read, a
//! `kill -9` reads no entry twice (the cursor is committed with the rule
//! state), and a journal that cannot be read is on `/readyz` with its fix.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use super::active_for;
use crate::sshgen::{Rng, generate};
use crate::util::daemon::{Daemon, add_config, rand_u64, setup};
use crate::util::journal::{self, Entry};
use crate::util::{http, wait_for};

const LINES: &str = "loginwatch_lines_read_total{source=\"journal\"}";

/// The harness's config with a journal source reading `DIR/journal`.
fn journal_setup() -> (tempfile::TempDir, PathBuf) {
    let dir = setup("30m");
    add_config(
        dir.path(),
        "[[source]]\njournal = true\njournal_dir = \"journal\"\n",
    );
    let j = dir.path().join("journal");
    (dir, j)
}

/// A whole second a minute ago: entries are stamped in the recent past.
fn recent() -> DateTime<Utc> {
    Utc::now().duration_trunc(TimeDelta::seconds(1)).unwrap() - TimeDelta::seconds(60)
}

fn wait_lines(d: &Daemon, n: f64) {
    wait_for(
        &format!("{n} journal entries read"),
        Duration::from_secs(30),
        || (d.metric(LINES) >= n).then_some(()),
    );
    assert_eq!(d.metric(LINES), n, "read more entries than written");
}

/// An entry the parser reads and forgets (no event).
fn marker(pid: u32) -> Entry {
    Entry::sshd(recent(), pid, "loginwatch test marker: not an sshd message")
}

#[test]
fn failures_in_the_journal_lock_an_account_and_appended_entries_are_seen() {
    let name = "daemon::journal::failures_in_the_journal_lock_an_account";
    if !journal::available(name) {
        return;
    }
    let (dir, j) = journal_setup();
    let t0 = recent();
    journal::append(&j, &journal::failures("jalice", 3, 500, t0));
    let d = Daemon::start(dir.path());
    wait_lines(&d, 3.0);
    assert!(active_for(&d, "jalice").is_none());
    // Appended while the daemon follows.
    journal::append(
        &j,
        &journal::failures("jalice", 2, 600, t0 + TimeDelta::seconds(3)),
    );
    let lock = wait_for("jalice's lock", Duration::from_secs(30), || {
        active_for(&d, "jalice")
    });
    assert_eq!(lock["rule"], "account-lockout", "{lock}");
    assert_eq!(lock["evidence"]["count"], 5, "{lock}");
    // Event time is the entries' own, to the second.
    let first = lock["evidence"]["first"].as_str().unwrap();
    assert_eq!(DateTime::parse_from_rfc3339(first).unwrap(), t0, "{lock}");
    let last = lock["evidence"]["last"].as_str().unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(last).unwrap(),
        t0 + TimeDelta::seconds(4)
    );
    assert_eq!(d.metric(LINES), 5.0);
    assert_eq!(d.metric("loginwatch_source_up{source=\"journal\"}"), 1.0);
    let r = http::get(d.url("/readyz")).send();
    let ready = r.json();
    assert_eq!(r.status, 200, "{ready}");
    let src = ready["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "journal")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(src["up"], true, "{ready}");
    assert_eq!(src["reads"], format!("journal:{}", j.display()), "{ready}");
    assert!(
        src.get("chosen").is_none(),
        "configured, not chosen: {ready}"
    );
    assert!(d.terminate().success());
}

/// The cursor committed for the journal source, if any.
fn committed_cursor(dir: &Path) -> Option<String> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("state.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    db.query_row(
        "SELECT cursor FROM cursors WHERE source = 'journal'",
        [],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn kill_9_after_a_commit_reads_no_entry_twice() {
    let name = "daemon::journal::kill_9_after_a_commit_reads_no_entry_twice";
    if !journal::available(name) {
        return;
    }
    let (dir, j) = journal_setup();
    let t0 = recent();
    journal::append(&j, &journal::failures("jbob", 3, 500, t0));
    let d = Daemon::start(dir.path());
    wait_lines(&d, 3.0);
    wait_for(
        "the third entry's cursor committed",
        Duration::from_secs(20),
        || committed_cursor(dir.path()).filter(|c| c.contains(";i=3;")),
    );
    d.kill9();
    let d = Daemon::start(dir.path());
    // Two markers, each waited for: had the three failures been read again,
    // the count would be past two.
    for (i, pid) in [900, 901].into_iter().enumerate() {
        journal::append(&j, &[marker(pid)]);
        wait_lines(&d, i as f64 + 1.0);
    }
    assert!(
        active_for(&d, "jbob").is_none(),
        "three failures, counted once"
    );
    // The rule state was committed with the cursor: two more lock.
    journal::append(
        &j,
        &journal::failures("jbob", 2, 600, t0 + TimeDelta::seconds(3)),
    );
    let lock = wait_for("jbob's lock", Duration::from_secs(30), || {
        active_for(&d, "jbob")
    });
    assert_eq!(lock["evidence"]["count"], 5, "{lock}");
    assert_eq!(d.metric(LINES), 4.0);
    assert!(d.terminate().success());
}

/// A decision: its id (which includes the triggering entry's offset, its
/// sequence number live and in replay alike) and what it says.
fn key(v: &Value) -> String {
    format!(
        "{} {} {} {} {} {}",
        v["id"], v["rule"], v["target"], v["at"], v["evidence"]["count"], v["evidence"]["first"]
    )
}

/// The decisions of `replay --journal-dir` over `journal`.
fn replay_ids(dir: &Path, journal: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["replay", "--json", "--rules"])
        .arg(dir.join("rules"))
        .arg("--journal-dir")
        .arg(journal)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "decision")
        .map(|v| key(&v))
        .collect();
    ids.sort();
    ids
}

/// The daemon's decisions (as [`key`]s); ids must be unique too.
fn decision_ids(d: &Daemon) -> Vec<String> {
    let all = d.decisions(false);
    let mut unique: Vec<&str> = all.iter().map(|x| x["id"].as_str().unwrap()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len());
    let mut ids: Vec<String> = all.iter().map(key).collect();
    ids.sort();
    ids
}

#[test]
fn kill_9_at_random_points_while_following_changes_no_decision() {
    let name = "daemon::journal::kill_9_at_random_points_while_following";
    if !journal::available(name) {
        return;
    }
    let (dir, j) = journal_setup();
    let entries: Vec<Entry> = generate(11, 3000)
        .iter()
        .map(|l| Entry::of_line(l))
        .collect();
    // The reference: the whole journal replayed, in another directory.
    let full = dir.path().join("full");
    journal::append(&full, &entries);
    let expected = replay_ids(dir.path(), &full);
    assert!(
        expected.len() >= 3,
        "the entries fire rules: {}",
        expected.len()
    );

    let mut rng = Rng(rand_u64());
    let mut chunks = entries.chunks(150);
    journal::append(&j, chunks.next().unwrap());
    let mut d = Daemon::start(dir.path());
    let mut kills = 0;
    for (i, chunk) in chunks.enumerate() {
        journal::append(&j, chunk);
        std::thread::sleep(Duration::from_millis(rng.below(200)));
        if rng.below(6) == 0 || i % 6 == 3 {
            d.kill9();
            kills += 1;
            d = Daemon::start(dir.path());
        }
    }
    assert!(kills >= 2, "killed only {kills} times");
    let got = wait_for("all decisions", Duration::from_secs(60), || {
        let ids = decision_ids(&d);
        (ids.len() >= expected.len()).then_some(ids)
    });
    // Settled: a marker read after everything before it.
    let before = d.metric(LINES);
    journal::append(&j, &[marker(99_999)]);
    wait_for("the marker read", Duration::from_secs(30), || {
        (d.metric(LINES) > before).then_some(())
    });
    assert_eq!(got, decision_ids(&d), "no late extra decisions");
    assert_eq!(
        got, expected,
        "decisions after {kills} kill -9 differ from one replay of the journal"
    );
}

/// The journal source's problem on a 503 `/readyz`, once journalctl was
/// started (the first look may come before).
fn journal_problem(d: &Daemon) -> Option<String> {
    let r = http::get(d.url("/readyz")).send();
    let v = r.json();
    (r.status == 503)
        .then(|| v["problems"].as_array().cloned().unwrap_or_default())?
        .iter()
        .find(|p| p["name"] == "journal")
        .and_then(|p| p["message"].as_str().map(str::to_owned))
        .filter(|m| !m.contains("not running (starting it)"))
}

#[test]
fn a_journal_that_cannot_be_read_is_on_readyz_with_its_fix() {
    let name = "daemon::journal::a_journal_that_cannot_be_read_is_on_readyz";
    if !journal::available(name) {
        return;
    }
    // A directory that is not there.
    let (dir, _) = journal_setup();
    let d = Daemon::start(dir.path());
    let msg = wait_for(
        "/readyz to name the journal",
        Duration::from_secs(20),
        || journal_problem(&d),
    );
    assert!(
        msg.contains("no such directory") && msg.contains("check journal_dir"),
        "{msg}"
    );
    assert_eq!(d.metric("loginwatch_source_up{source=\"journal\"}"), 0.0);
    assert_eq!(
        d.log().matches("Journal cannot be read.").count(),
        1,
        "reported once: {}",
        d.log()
    );
    // It appears: read once the retry comes, and /readyz is green again.
    journal::append(&dir.path().join("journal"), &[marker(7)]);
    wait_lines(&d, 1.0);
    wait_for("/readyz green", Duration::from_secs(20), || {
        (http::get(d.url("/readyz")).send().status == 200).then_some(())
    });
    drop(d);

    // No journalctl on the daemon's PATH.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loginwatch"));
    cmd.env("PATH", dir.path().join("no-such-bin"));
    let d = Daemon::start_via(dir.path(), cmd);
    let msg = wait_for(
        "/readyz to say journalctl is missing",
        Duration::from_secs(20),
        || journal_problem(&d),
    );
    assert!(
        msg.contains("journalctl not found") && msg.contains("install"),
        "{msg}"
    );
}

#[test]
fn parse_and_replay_read_a_journal_directory() {
    let name = "daemon::journal::parse_and_replay_read_a_journal_directory";
    if !journal::available(name) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let t0 = DateTime::parse_from_rfc3339("2024-12-07T09:00:00Z")
        .unwrap()
        .to_utc();
    let mut entries = journal::failures("jcarol", 5, 100, t0);
    entries.push(Entry {
        program: "cron".into(),
        ..marker(1)
    });
    journal::append(d.path(), &entries);
    let out = crate::util::lw()
        .args(["parse", "--journal-dir"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0]["@timestamp"], "2024-12-07T09:00:00Z");
    assert_eq!(events[4]["@timestamp"], "2024-12-07T09:00:04Z");
    assert_eq!(events[0]["host.name"], "web1");
    assert_eq!(events[0]["service.name"], "sshd");
    assert_eq!(events[0]["user.name"], "jcarol");
    assert_eq!(
        events[0]["log.file.path"],
        format!("journal:{}", d.path().display())
    );
    // Of the default matches, the cron entry is not one.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("5 lines, 5 events"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = crate::util::lw()
        .args(["replay", "--json", "--journal-dir"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let lock = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "decision" && v["rule"] == "account-lockout")
        .expect("a lock from the journal's history");
    assert_eq!(lock["target"]["user"], "jcarol");
    assert_eq!(lock["evidence"]["count"], 5);
    // A directory that is not there: an error naming it, exit 1.
    let out = crate::util::lw()
        .args(["parse", "--journal-dir"])
        .arg(d.path().join("missing"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such directory"));
}

#[test]
fn a_user_who_may_not_read_the_journal_is_told_the_group() {
    let name = "daemon::journal::a_user_who_may_not_read_the_journal_is_told_the_group";
    if !journal::available(name) {
        return;
    }
    let root = nix::unistd::Uid::effective().is_root();
    if !root || !crate::util::runs("setpriv", &["--version"]) {
        crate::util::skip(
            "privileges",
            name,
            "needs root and setpriv to run the daemon as nobody",
        );
        return;
    }
    let (dir, j) = journal_setup();
    journal::append(&j, &[marker(1)]);
    // The daemon runs as nobody and owns its directory; the journal stays
    // root's (0640 files in a 0755 directory, as journald writes them).
    let nobody = nix::unistd::Uid::from_raw(65534);
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p != j {
            chown_all(&p, nobody);
        }
    }
    std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_loginwatch"));
    let d = Daemon::start_via(dir.path(), cmd);
    let msg = wait_for(
        "/readyz to give the group fix",
        Duration::from_secs(20),
        || journal_problem(&d),
    );
    assert!(
        msg.contains("permission denied") && msg.contains("usermod -aG systemd-journal loginwatch"),
        "{msg}"
    );
    assert_eq!(d.metric("loginwatch_source_up{source=\"journal\"}"), 0.0);
}

/// `chown -R uid:uid path` (nobody's group has nobody's number on Debian).
fn chown_all(path: &Path, uid: nix::unistd::Uid) {
    std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(uid.as_raw())).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_all(&e.unwrap().path(), uid);
        }
    }
}

#[test]
fn config_check_names_each_source_and_why_the_defaults_chose_theirs() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("journal.toml");
    std::fs::write(&cfg, "[[source]]\njournal = true\njournal_dir = \"j\"\n").unwrap();
    let out = crate::util::lw()
        .args(["config", "check"])
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "source journal: journal:{}/j\n",
            d.path().display()
        )),
        "{text}"
    );
    // No source: the embedded default, whichever this host gets, says why.
    std::fs::write(&cfg, "mode = \"recommend\"\n").unwrap();
    let out = crate::util::lw()
        .args(["config", "check"])
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(embedded default: "), "{text}");
}

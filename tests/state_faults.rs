//! Issue 11 part 2, state faults, against the real daemon binary and real
//! files: a damaged, emptied, deleted or newer database is refused with the
//! way out (`state check`, `state reset`) instead of being started over; a full
//! disk pauses reading and loses nothing; a rule set that cannot fire is refused.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::util::daemon::{Daemon, append, failures, setup};
use crate::util::{http, wait_for};

fn lw(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(args)
        .arg("--config")
        .arg(dir.join("loginwatch.toml"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// `loginwatch run` that must refuse to start: its exit code and output.
fn refused_start(dir: &Path) -> (Option<i32>, String) {
    let o = lw(dir, &["run"]);
    (o.status.code(), text(&o))
}

/// Starts and stops the daemon once, with one lock decided: a known database.
fn known_database(dir: &Path) {
    let d = Daemon::start(dir);
    append(&dir.join("auth.log"), &failures("alice", 5, 100));
    wait_for("alice's lock", Duration::from_secs(20), || {
        (!d.decisions(true).is_empty()).then_some(())
    });
    assert!(d.terminate().success());
    assert!(dir.join("state.db.marker").is_file());
}

#[test]
fn issue11_zero_byte_database_with_marker_is_refused_then_reset() {
    let dir = setup("30m");
    let p = dir.path();
    known_database(p);
    fs::write(p.join("state.db"), "").unwrap();
    for f in ["state.db-wal", "state.db-shm"] {
        let _ = fs::remove_file(p.join(f));
    }
    let (code, out) = refused_start(p);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("state.db is empty") && out.contains("state.db.marker"),
        "{out}"
    );
    assert!(out.contains("loginwatch state reset"), "{out}");
    assert_eq!(
        fs::metadata(p.join("state.db")).unwrap().len(),
        0,
        "not started over"
    );

    let check = lw(p, &["state", "check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("problem: "), "{}", text(&check));

    let reset = lw(p, &["state", "reset", "--by", "ops"]);
    assert!(reset.status.success(), "{}", text(&reset));
    let check = lw(p, &["state", "check"]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("reset by ops"), "{}", text(&check));
    // Started clean on purpose: the log is read again from the start.
    let d = Daemon::start(p);
    wait_for("alice's lock again", Duration::from_secs(20), || {
        (!d.decisions(true).is_empty()).then_some(())
    });
}

#[test]
fn issue11_database_deleted_while_running_stops_the_daemon() {
    let dir = setup("30m");
    let p = dir.path();
    let d = Daemon::start(p);
    append(&p.join("auth.log"), &failures("alice", 5, 100));
    wait_for("alice's lock", Duration::from_secs(20), || {
        (!d.decisions(true).is_empty()).then_some(())
    });
    fs::remove_file(p.join("state.db")).unwrap();
    // New lines make a commit due: that commit notices.
    append(&p.join("auth.log"), &failures("bob", 2, 200));
    let status = d.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    let (code, out) = refused_start(p);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("state.db is missing"), "{out}");
    assert!(
        !p.join("state.db").exists(),
        "no empty database was created"
    );
}

#[test]
fn issue11_database_deleted_while_running_is_logged_with_the_way_out() {
    let dir = setup("30m");
    let p = dir.path();
    let d = Daemon::start(p);
    fs::remove_file(p.join("state.db")).unwrap();
    append(&p.join("auth.log"), &failures("bob", 2, 200));
    let log_of = |d: &Daemon| d.log();
    wait_for("the stop", Duration::from_secs(20), || {
        log_of(&d)
            .contains("while the daemon was running")
            .then_some(())
    });
    let log = d.log();
    assert!(log.contains("state reset"), "{log}");
    assert_eq!(d.wait_exit(Duration::from_secs(20)).code(), Some(1));
}

#[test]
fn issue11_garbage_in_a_page_is_refused_and_reset_keeps_the_file() {
    let dir = setup("30m");
    let p = dir.path();
    known_database(p);
    let db = p.join("state.db");
    let len = fs::metadata(&db).unwrap().len();
    assert!(len >= 8 * 4096, "a database of several pages ({len} bytes)");
    // Garbage over the head of every page after the first: b-tree headers.
    let mut f = fs::OpenOptions::new().write(true).open(&db).unwrap();
    for page in 1..len / 4096 {
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(page * 4096)).unwrap();
        f.write_all(&[0xA5; 64]).unwrap();
    }
    drop(f);
    let damaged = fs::read(&db).unwrap();
    let (code, out) = refused_start(p);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is damaged"), "{out}");
    assert!(
        out.contains("loginwatch state check") && out.contains("loginwatch state reset"),
        "{out}"
    );
    assert_eq!(
        fs::read(&db).unwrap(),
        damaged,
        "the file was left as it was"
    );

    let check = lw(p, &["state", "check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("quick_check: "), "{}", text(&check));

    let reset = lw(p, &["state", "reset"]);
    assert!(reset.status.success(), "{}", text(&reset));
    let moved: Vec<_> = fs::read_dir(p)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|f| {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("state.db.2") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(
        fs::read(&moved[0]).unwrap(),
        damaged,
        "moved aside as it was"
    );
    let check = text(&lw(p, &["state", "check"]));
    assert!(check.contains(&*moved[0].to_string_lossy()), "{check}");
    drop(Daemon::start(p));
}

#[test]
fn issue11_a_newer_schema_version_is_refused_with_the_way_out() {
    let dir = setup("30m");
    let p = dir.path();
    known_database(p);
    let c = rusqlite::Connection::open(p.join("state.db")).unwrap();
    c.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(c);
    let (code, out) = refused_start(p);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("schema version 99, newer"), "{out}");
    assert!(out.contains("loginwatch state reset"), "{out}");
}

#[test]
fn issue11_starting_with_no_rules_fails() {
    let dir = setup("30m");
    let p = dir.path();
    for f in ["accounts.toml", "network.toml"] {
        fs::remove_file(p.join("rules").join(f)).unwrap();
    }
    let (code, out) = refused_start(p);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("no rule can fire"), "{out}");
    assert!(!p.join("state.db").exists());
}

#[test]
fn issue11_rules_check_on_an_empty_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("holds no rule"), "{}", text(&o));
}

#[test]
fn issue11_a_reload_that_leaves_no_rule_is_rejected_and_the_old_rules_keep_firing() {
    let dir = setup("30m");
    let p = dir.path();
    let d = Daemon::start(p);
    // The only rule files moved away: the reload finds an empty directory.
    for f in ["accounts.toml", "network.toml"] {
        fs::rename(p.join("rules").join(f), p.join(f)).unwrap();
    }
    wait_for("the rejected reload", Duration::from_secs(20), || {
        (d.metric("loginwatch_rules_reloads_total{result=\"error\"}") >= 1.0).then_some(())
    });
    assert_eq!(
        d.metric("loginwatch_rules_reloads_total{result=\"ok\"}"),
        0.0
    );
    let log = d.log();
    assert!(
        log.contains("ERROR") && log.contains("no rule can fire"),
        "{log}"
    );
    assert_eq!(http::get(d.url("/readyz")).send().status, 200);
    append(&p.join("auth.log"), &failures("alice", 5, 100));
    wait_for(
        "alice's lock by the old rules",
        Duration::from_secs(20),
        || (!d.decisions(true).is_empty()).then_some(()),
    );
}

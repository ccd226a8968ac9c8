//! Issue 11 part 2: the state file system fills up while the daemon runs.
//!
//! The state directory is a real 4 MiB tmpfs mounted in a private mount
//! namespace (`unshare -m`) that only the daemon lives in, so nothing is left
//! mounted on the host; the test fills it through `/proc/<pid>/root`, then
//! frees it. Needs root; otherwise one SKIP line.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::daemon::{Daemon, append, failures, setup};
use crate::util::{http, wait_for};

/// CPU time (user + system) of `pid` so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn readyz(d: &Daemon) -> (u16, String) {
    let r = http::get(d.url("/readyz")).send();
    (r.status, r.body)
}

/// Writes to `path` until the file system says it is full.
fn fill(path: &Path) {
    let mut f = fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write_all(&chunk).and_then(|()| f.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => return, // ENOSPC
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
}

#[test]
fn issue11_full_disk_pauses_reading_and_loses_nothing() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let unshare_works = root
        && Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !unshare_works {
        crate::util::skip(
            "privileges",
            "issue11_full_disk_pauses_reading_and_loses_nothing",
            "needs root and unshare -m (a private tmpfs)",
        );
        return;
    }
    let dir = setup("30m");
    let p = dir.path();
    let st = p.join("st");
    fs::create_dir(&st).unwrap();
    let cfg = p.join("loginwatch.toml");
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        text.replace("state_path = \"state.db\"", "state_path = \"st/state.db\""),
    )
    .unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs -o size=4m,mode=0700 loginwatch-test \"$1\" && shift && exec \"$@\"",
        "sh",
    ])
    .arg(&st)
    .arg(env!("CARGO_BIN_EXE_loginwatch"));
    let d = Daemon::start_via(p, cmd);
    // The daemon's view of the state directory (its own mount namespace).
    let inside = Path::new(&format!("/proc/{}/root", d.pid())).join(st.strip_prefix("/").unwrap());
    assert!(inside.join("state.db").is_file());
    assert!(
        !st.join("state.db").exists(),
        "the tmpfs is private to the daemon"
    );

    let log = p.join("auth.log");
    append(&log, &failures("alice", 5, 100));
    wait_for("alice's lock", Duration::from_secs(20), || {
        (d.decisions(true).len() == 1).then_some(())
    });

    fill(&inside.join("filler"));
    append(&log, &failures("bob", 5, 200));
    let (_, why) = wait_for("/readyz to turn 503", Duration::from_secs(20), || {
        let r = readyz(&d);
        (r.0 == 503).then_some(r)
    });
    assert!(why.contains("disk_full"), "{why}");
    let failed =
        |d: &Daemon| d.metric("loginwatch_state_commit_failures_total{reason=\"disk_full\"}");
    // Retries go on with backoff and little CPU (a full disk once cost a core).
    let (n0, cpu0, t0) = (failed(&d), cpu_ticks(d.pid()), Instant::now());
    wait_for("three more attempts", Duration::from_secs(30), || {
        (failed(&d) >= n0 + 3.0).then_some(())
    });
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    let cpu = (cpu_ticks(d.pid()) - cpu0) as f64 / 100.0;
    let wall = t0.elapsed().as_secs_f64();
    eprintln!("figure: daemon CPU {cpu:.2} s over {wall:.2} s of failing commits");
    assert!(
        cpu < 0.25 * wall,
        "CPU {cpu:.2} s over {wall:.2} s while failing"
    );
    assert!(
        d.decisions(false)
            .iter()
            .all(|x| x["target"]["user"] != "bob"),
        "not committed yet"
    );

    fs::remove_file(inside.join("filler")).unwrap();
    wait_for("/readyz to turn 200", Duration::from_secs(20), || {
        (readyz(&d).0 == 200).then_some(())
    });
    wait_for("bob's lock", Duration::from_secs(20), || {
        (d.decisions(true).len() == 2).then_some(())
    });
    assert_eq!(
        d.metric("loginwatch_decisions_total{action=\"lock_account\",assessment=\"unclear\",mode=\"recommend\",rule=\"account-lockout\"}"),
        2.0,
        "each lock decided once"
    );
    assert_eq!(
        d.metric("loginwatch_lines_read_total{source=\"auth.log\"}"),
        10.0
    );
    let daemon_log = d.log();
    let warnings = daemon_log.matches("Committing state").count();
    assert!(
        (1..=2).contains(&warnings),
        "rate-limited warnings: {daemon_log}"
    );
    assert!(
        daemon_log.contains("State commits succeed again"),
        "{daemon_log}"
    );
    assert!(d.terminate().success());
}

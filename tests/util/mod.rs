//! Helpers shared by the integration tests: the daemon harness ([`daemon`]),
//! a NATS JetStream server or cluster for fleet mode ([`nats`]),
//! the HTTP client calls ([`http`]), a GeoIP database writer ([`geoip`]), a
//! decision builder ([`decision`]), and here waiting, free ports, child
//! processes, skips and the tools and data the tests look for.

pub mod browser;
pub mod daemon;
pub mod decision;
pub mod fake;
pub mod foreign;
pub mod geoip;
pub mod http;
pub mod journal;
pub mod nats;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The checkout (where `rules/`, `docs/`, `dashboards/`... are).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `loginwatch` binary under test, as an `assert_cmd` command.
pub fn lw() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("loginwatch").unwrap()
}

/// A loopback port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills and reaps a child process on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` every 25 ms until it returns `Some`, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll(what, limit, Duration::from_millis(25), f)
}

/// Polls `ok` every 25 ms until it is true, or panics after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    wait_for(what, limit, || ok().then_some(()))
}

/// Polls `f` every `every` until it returns `Some`, or panics after `limit`
/// (a slower pace for a server that works for each answer, e.g. Prometheus).
pub fn poll<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(every);
    }
}

/// Records that `test` could not run for want of `tool`: one `SKIP` line on
/// stderr, shown even when the test passes, and the same line appended
/// to the file named by `LOGINWATCH_SKIP_LOG` when set. scripts/test.sh sets it,
/// lists every skip at the end, and in CI fails on any skip whose `tool` must
/// exist there (its policy is in the script); `tool` is one word for that.
pub fn skip(tool: &str, test: &str, reason: &str) {
    let line = format!("SKIP [{tool}] {test}: {reason}");
    // Straight to the stderr handle, not `eprintln!`: the test harness captures
    // the print macros of a passing test, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(path) = std::env::var_os("LOGINWATCH_SKIP_LOG") {
        // One write of a whole line with O_APPEND: lines from tests running in
        // parallel do not interleave.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            panic!(
                "cannot record the skip in {}: {e}",
                PathBuf::from(path).display()
            );
        }
    }
}

/// Whether `program args` runs and exits 0 (a tool's `--version` probe).
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the test `name` (its full path, e.g. `enforce::some_test`) again, alone,
/// in a child of this test binary started through `wrapper` (e.g. `unshare -rn`
/// for a network namespace of its own), with `env_flag=1` set so the child knows
/// it is the child; fails the calling test when the child's test fails.
/// Re-running the binary, not forking: the harness is multi-threaded.
pub fn rerun_test_in_child(wrapper: &[&str], name: &str, env_flag: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(wrapper[0])
        .args(&wrapper[1..])
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(env_flag, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} under {wrapper:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shared real-log corpus beside the checkout (`../shared/data`), or `None`
/// after one skip naming the test, when it is absent (a user's clone; in CI it
/// is expected, and scripts/test.sh fails the run on this skip).
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        skip(
            "corpus",
            test,
            "../shared/data (the real-log corpus) is not beside the checkout",
        );
        None
    }
}

/// Runs `promtool check metrics` on `text` and fails the test on any finding;
/// returns false after one skip naming `test` when promtool is missing.
pub fn promtool_check_metrics(test: &str, text: &str) -> bool {
    if !runs("promtool", &["--version"]) {
        skip(
            "promtool",
            test,
            "promtool is not installed (apt-get install prometheus)",
        );
        return false;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

//! Helpers for the unit tests: the same skip record as the integration tests'
//! `tests/util/mod.rs` (which the unit tests cannot import), a way to run one
//! test again without root, and the builders of events, decisions and rule
//! sets ([`builders`]) the tests share.

mod builders;

pub use builders::{
    DecisionSetters, EventSetters, assert_error_at, bad, decision, engine, failure, feed, ok,
    record, restored, rule_errors, rule_set, shipped, success, t,
};

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Records that `test` could not run for want of `tool`: one `SKIP` line on
/// stderr, shown even when the test passes, and appended to the file named
/// by `LOGINWATCH_SKIP_LOG` when set; scripts/test.sh lists them and in CI fails
/// on those that must not happen there.
pub fn skip(tool: &str, test: &str, reason: &str) {
    let line = format!("SKIP [{tool}] {test}: {reason}");
    // Straight to the stderr handle, not `eprintln!`: the test harness captures
    // the print macros of a passing test, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(path) = std::env::var_os("LOGINWATCH_SKIP_LOG") {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            panic!(
                "cannot record the skip in {}: {e}",
                Path::new(&path).display()
            );
        }
    }
}

/// Set in the child that [`rerun_as_nobody`] starts.
pub const UNPRIVILEGED: &str = "LOGINWATCH_TEST_UNPRIVILEGED";

/// Runs the unit test `name` (full path) again, alone, in a child of this test
/// binary with the uid and gid of `nobody` (`setpriv`, util-linux), so that a
/// test of "permission denied" means something when the suite runs as root.
/// Fails the calling test when the child's test fails.
pub fn rerun_as_nobody(name: &str) {
    let exe = std::env::current_exe().unwrap();
    // `nobody` must reach the binary; a target dir under a private home would
    // not let it, so then a copy in a world-readable temporary dir runs.
    let _copy;
    let exe = if reachable_by_others(&exe) {
        exe
    } else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.path().join("unit-tests");
        std::fs::copy(&exe, &copy).unwrap();
        _copy = dir;
        copy
    };
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(UNPRIVILEGED, "1")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} as nobody: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether every directory above `file` can be searched, and `file` run, by
/// any user.
fn reachable_by_others(file: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    mode(file) & 0o001 != 0
        && PathBuf::from(file)
            .ancestors()
            .skip(1)
            .all(|d| mode(d) & 0o001 != 0)
}

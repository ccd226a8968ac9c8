//! Helpers shared by the integration tests.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The shared real-log corpus beside the checkout (`../shared/data`), or `None`
/// after printing one SKIP line naming the test, when it is absent (a user's clone).
#[allow(dead_code)]
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIP {test}: ../shared/data (the real-log corpus) is not beside the checkout");
        None
    }
}

/// Runs `promtool check metrics` on `text` and fails the test on any finding;
/// returns false after one SKIP line naming `test` when promtool is missing.
#[allow(dead_code)]
pub fn promtool_check_metrics(test: &str, text: &str) -> bool {
    if Command::new("promtool").arg("--version").output().is_err() {
        println!(
            "SKIP promtool check in {test}: promtool is not installed (apt-get install prometheus)"
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

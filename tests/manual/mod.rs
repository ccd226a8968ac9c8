//! Decisions made by hand (`decisions add`, `POST /api/v1/decisions`),
//! exported and imported (`decisions export|import`), against the real
//! daemon and its state file, and the commands' `--json` shapes and table
//! widths.

mod api;
mod cli;
mod transfer;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::util::wait_for;

/// A file alert sink named `siem` writing `alerts.jsonl` in the test's dir.
const FILE_SINK: &str =
    "[[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n";

/// `loginwatch ARGS` in `dir`, as user `tester`, with no terminal width.
fn lw_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(args)
        .current_dir(dir)
        .env_remove("SUDO_USER")
        .env_remove("COLUMNS")
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Waits until the file sink holds a line containing `needle`; returns it.
fn sink_line(dir: &Path, needle: &str) -> String {
    wait_for(
        "the alert in the sink file",
        Duration::from_secs(20),
        || {
            fs::read_to_string(dir.join("alerts.jsonl"))
                .unwrap_or_default()
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_owned)
        },
    )
}

/// The one JSON object a `--json` command printed.
fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

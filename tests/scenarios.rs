//! Golden scenarios: `tests/scenarios/<name>/` holds `input.log` or `input.jsonl` (or inputs named in `args`),
//! optionally `rules/` (else the shipped `rules/`) and `args` (extra CLI
//! arguments, one per line), and `expected.jsonl`: the exact output of
//! `loginwatch replay --json --tz UTC --year 2026`, decisions then the summary.
//!
//! Each scenario runs through the real binary. `UPDATE_GOLDEN=1 cargo test`
//! rewrites the expected files; review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn run_scenario(dir: &Path) -> Vec<Value> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = if dir.join("rules").is_dir() {
        dir.join("rules")
    } else {
        repo.join("rules")
    };
    // Without input.log / input.jsonl, the `args` file names the inputs.
    let input = ["input.log", "input.jsonl"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists());
    let mut cmd = Command::cargo_bin("loginwatch").unwrap();
    cmd.current_dir(dir)
        .args([
            "replay", "--json", "--tz", "UTC", "--year", "2026", "--rules",
        ])
        .arg(&rules);
    if let Ok(extra) = fs::read_to_string(dir.join("args")) {
        cmd.args(extra.lines().map(str::trim).filter(|l| !l.is_empty()));
    }
    if let Some(input) = input {
        cmd.arg(input.file_name().unwrap());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}: replay failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: bad JSON line {l:?}: {e}", dir.display()))
        })
        .collect()
}

#[test]
fn golden_scenarios() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let dirs = scenario_dirs();
    assert!(
        dirs.len() >= 10,
        "expected the golden scenarios, found {}",
        dirs.len()
    );
    let mut failures = vec![];
    for dir in &dirs {
        let got = run_scenario(dir);
        let expected_path = dir.join("expected.jsonl");
        if update {
            let text: String = got.iter().map(|v| format!("{v}\n")).collect();
            fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected: Vec<Value> = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if got != expected {
            failures.push(format!(
                "{}:\n  expected: {}\n  got:      {}",
                dir.file_name().unwrap().to_string_lossy(),
                expected
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\n            "),
                got.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\n            ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Rule tests: a folder holding an input log, its settings and the decisions
//! the rules must make on it, run through the offline pipeline `replay` uses
//! ([`crate::offline`]) and compared field by field.
//!
//! A test folder (`RULES/tests/<name>/`, and the project's golden scenarios
//! in `tests/scenarios/<name>/`) holds:
//!
//! - `input.log` (or `input.jsonl`, any `input.*`; or the files `inputs` lists);
//! - `test.toml` (optional): `description`, `inputs`, `format`, `tz` (UTC),
//!   `year` (2026), `config`, `rules`, `geoip`, `inventory` ([`spec`]);
//! - `expected.jsonl`: the decisions, one JSON object per line as `replay
//!   --json` prints them, then its summary line; each a pattern ([`compare`]);
//! - `events.jsonl` (optional): the events as the rules saw them (enriched),
//!   one per line; compared only when the file exists.
//!
//! `--update` ([`write_expected`]) writes what a run gave as the expectation.
//! The rules loader reads only `*.toml` files at the top of a rules directory,
//! so `tests/` beside them is never loaded as rules.

pub mod compare;
mod run;
pub mod spec;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use compare::{Difference, Kind};
pub use run::{Results, run};
pub use spec::Spec;

/// The expectation file of a test folder.
pub const EXPECTED: &str = "expected.jsonl";
/// The optional expected events of a test folder.
pub const EVENTS: &str = "events.jsonl";

/// One problem of a test folder's files, at its line where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a test cannot run (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// `test.toml` or an expectation file is invalid: every problem.
    #[error("{}", lines(.0))]
    Spec(Vec<SpecError>),
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The test's `config` is invalid.
    #[error("{0}")]
    Config(#[from] crate::config::ConfigErrors),
    /// The test's own `rules` directory does not compile.
    #[error("{0}")]
    Rules(#[from] crate::rules::RuleErrors),
    /// A GeoIP database, the inventory or an IP list cannot be used.
    #[error("{0}")]
    Enrich(#[from] crate::app::EnrichError),
    #[error("{}: {source}", .path.display())]
    Geoip {
        path: PathBuf,
        source: crate::enrich::mmdb::MmdbError,
    },
    #[error("{0}")]
    Geo(#[from] crate::enrich::GeoError),
    #[error("unknown format {0:?} (a built-in name or a format the rules declare)")]
    Format(String),
    #[error("{}: no {EXPECTED}: run `loginwatch rules test --update` to write it, then review it", .0.display())]
    NoExpectation(PathBuf),
}

fn lines(errors: &[SpecError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A test folder and its validated settings.
#[derive(Debug, Clone)]
pub struct Test {
    /// The folder's name.
    pub name: String,
    pub dir: PathBuf,
    pub spec: Spec,
}

impl Test {
    /// Reads the folder `dir` (its `test.toml`, if any, validated).
    pub fn load(dir: &Path) -> Result<Test, TestError> {
        let file = dir.join("test.toml");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(TestError::Io { path: file, source }),
        };
        let spec = spec::parse(dir, &text).map_err(TestError::Spec)?;
        Ok(Test {
            name: dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            dir: dir.to_path_buf(),
            spec,
        })
    }
}

/// The test folders under `tests_dir` (its subdirectories, by name) whose
/// name contains `filter`.
pub fn discover(tests_dir: &Path, filter: Option<&str>) -> io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(tests_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            filter.is_none_or(|f| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(f))
            })
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// What a test expects: decisions, the summary, and events when it has an
/// `events.jsonl`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    pub decisions: Vec<Value>,
    pub summary: Option<Value>,
    pub events: Option<Vec<Value>>,
}

/// Reads a JSON Lines file (blank lines skipped); every bad line is reported.
fn read_jsonl(path: &Path) -> Result<Vec<Value>, TestError> {
    let text = std::fs::read_to_string(path).map_err(|source| TestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => out.push(v),
            Ok(_) => errors.push((i, "expected a JSON object".to_owned())),
            Err(e) => errors.push((i, format!("not JSON: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(TestError::Spec(
            errors
                .into_iter()
                .map(|(i, message)| SpecError {
                    file: path.to_path_buf(),
                    line: Some(i + 1),
                    message,
                })
                .collect(),
        ))
    }
}

impl Expected {
    /// The expectation of `test`.
    pub fn load(test: &Test) -> Result<Expected, TestError> {
        let path = test.dir.join(EXPECTED);
        if !path.exists() {
            return Err(TestError::NoExpectation(test.dir.clone()));
        }
        let mut out = Expected::default();
        for v in read_jsonl(&path)? {
            if v.get("type").and_then(Value::as_str) == Some("summary") {
                out.summary = Some(v);
            } else {
                out.decisions.push(v);
            }
        }
        let events = test.dir.join(EVENTS);
        if events.exists() {
            out.events = Some(read_jsonl(&events)?);
        }
        Ok(out)
    }
}

/// Every difference between `expected` and `got`: decisions, the summary
/// (when expected), events (when expected). Empty: the test passes.
pub fn differences(expected: &Expected, got: &Results) -> Vec<Difference> {
    let mut out = compare::decisions(&expected.decisions, &got.decisions);
    if let Some(s) = &expected.summary {
        out.extend(compare::fields("summary", s, &got.summary));
    }
    if let Some(ev) = &expected.events {
        out.extend(compare::events(ev, &got.events));
    }
    out
}

/// Writes `got` as `test`'s expectation: `expected.jsonl` (decisions, then
/// the summary), and `events.jsonl` when the test has one. True when a file
/// changed.
pub fn write_expected(test: &Test, got: &Results) -> io::Result<bool> {
    let jsonl = |values: &mut dyn Iterator<Item = &Value>| -> String {
        values.map(|v| format!("{v}\n")).collect()
    };
    let mut changed = write_if_changed(
        &test.dir.join(EXPECTED),
        &jsonl(&mut got.decisions.iter().chain([&got.summary])),
    )?;
    let events = test.dir.join(EVENTS);
    if events.exists() {
        changed |= write_if_changed(&events, &jsonl(&mut got.events.iter()))?;
    }
    Ok(changed)
}

fn write_if_changed(path: &Path, text: &str) -> io::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    std::fs::write(path, text)?;
    Ok(true)
}

#[cfg(test)]
mod tests;

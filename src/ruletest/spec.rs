//! A test folder's `test.toml`: the raw form (`deny_unknown_fields`), then
//! validated with every problem reported at its line.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::SpecError;
use crate::parse::Zone;

/// The year of year-less syslog timestamps when `test.toml` names none: a
/// fixed year, so a test gives the same dates on every day it is run.
pub const DEFAULT_YEAR: i32 = 2026;

/// `test.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    description: Option<String>,
    inputs: Option<Spanned<Vec<String>>>,
    format: Option<Spanned<String>>,
    tz: Option<Spanned<String>>,
    year: Option<Spanned<i32>>,
    config: Option<Spanned<String>>,
    rules: Option<Spanned<String>>,
    geoip: Option<Spanned<Vec<String>>>,
    inventory: Option<Spanned<String>>,
}

/// One input log: its name as `test.toml` gives it (what events and messages
/// call it, so they do not depend on where the folder lies) and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub path: PathBuf,
}

/// A test's validated settings; paths are resolved against its folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// What the test shows, for people.
    pub description: String,
    /// The log files, merged in event time (as `replay` merges its files).
    pub inputs: Vec<Input>,
    /// A built-in format name or one the rules declare; `auto` detects.
    pub format: String,
    /// The time zone of timestamps without an offset, as written.
    pub tz: String,
    pub zone: Zone,
    /// The year of year-less syslog timestamps.
    pub year: i32,
    /// A daemon configuration whose enrichment, mode and safety settings the
    /// test runs with (its sources and rules directory are not used).
    pub config: Option<PathBuf>,
    /// A rules directory of the test's own, run instead of the directory
    /// under test.
    pub rules: Option<PathBuf>,
    /// GeoIP databases: `.json` descriptions (built in memory) or `.mmdb` files.
    pub geoip: Vec<PathBuf>,
    /// An account inventory (CSV or JSON, columns detected as the daemon's
    /// `[inventory]` does by default).
    pub inventory: Option<PathBuf>,
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The validated spec of the folder `dir`, from `text` (the content of its
/// `test.toml`, empty when it has none).
pub fn parse(dir: &Path, text: &str) -> Result<Spec, Vec<SpecError>> {
    let file = dir.join("test.toml");
    let mut errors = Vec::new();
    let mut err = |span: Option<std::ops::Range<usize>>, message: String| {
        errors.push(SpecError {
            file: file.clone(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        })
    };
    let raw: RawSpec = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            err(e.span(), e.message().to_owned());
            return Err(errors);
        }
    };
    let resolve = |p: &str| dir.join(p);
    let mut must_exist = |span: std::ops::Range<usize>, what: &str, p: &str| {
        let path = resolve(p);
        if p.is_empty() {
            err(Some(span), format!("{what}: an empty path"));
        } else if !path.exists() {
            err(Some(span), format!("{what}: {p:?} does not exist"));
        }
        path
    };
    let inputs = match &raw.inputs {
        Some(list) => list
            .get_ref()
            .iter()
            .map(|n| Input {
                name: n.clone(),
                path: must_exist(list.span(), "inputs", n),
            })
            .collect(),
        None => default_inputs(dir),
    };
    let config = raw
        .config
        .as_ref()
        .map(|c| must_exist(c.span(), "config", c.get_ref()));
    let rules = raw
        .rules
        .as_ref()
        .map(|r| must_exist(r.span(), "rules", r.get_ref()));
    let inventory = raw
        .inventory
        .as_ref()
        .map(|i| must_exist(i.span(), "inventory", i.get_ref()));
    let geoip = raw.geoip.as_ref().map_or_else(Vec::new, |g| {
        g.get_ref()
            .iter()
            .map(|p| must_exist(g.span(), "geoip", p))
            .collect()
    });
    let tz = raw
        .tz
        .as_ref()
        .map_or_else(|| "UTC".to_owned(), |t| t.get_ref().clone());
    let zone = match tz.parse::<Zone>() {
        Ok(z) => z,
        Err(m) => {
            err(raw.tz.as_ref().map(|t| t.span()), format!("tz: {m}"));
            Zone::Utc
        }
    };
    let year = raw.year.as_ref().map_or(DEFAULT_YEAR, |y| *y.get_ref());
    if !(1970..=9999).contains(&year) {
        err(
            raw.year.as_ref().map(|y| y.span()),
            format!("year {year}: expected 1970 to 9999"),
        );
    }
    if inputs.is_empty() {
        err(
            None,
            "no input: add input.log (or input.jsonl, input.csv) or list `inputs`".to_owned(),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Spec {
        description: raw.description.unwrap_or_default(),
        inputs,
        format: raw
            .format
            .map_or_else(|| "auto".to_owned(), Spanned::into_inner),
        tz,
        zone,
        year,
        config,
        rules,
        geoip,
        inventory,
    })
}

/// Without `inputs`: the folder's files named `input.*` (`input.log`,
/// `input.jsonl`, ...), in name order.
fn default_inputs(dir: &Path) -> Vec<Input> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("input."))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Input {
            path: dir.join(&name),
            name,
        })
        .collect()
}

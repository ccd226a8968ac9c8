//! Formats declared in rule files (`[[format]]` tables): regex or JSON mappings.
//!
//! The rules loader deserializes each table as a [`RawFormat`] and calls
//! [`compile`], which checks everything at load time (regex syntax, required
//! captures, enum spellings, time formats, field paths) and reports every problem
//! at once, so a typo fails `loginwatch check` instead of silently dropping lines.
//!
//! ```toml
//! [[format]]
//! name = "vpn"
//! kind = "regex"
//! pattern = '^(?P<time>\S+) auth (?P<outcome>ok|fail) user=(?P<user>\S+) from (?P<ip>\S+)'
//! time_format = "rfc3339"
//! outcome_map = { ok = "success", fail = "failure" }
//!
//! [[format]]
//! name = "myidp"
//! kind = "json"            # or start from a preset:  preset = "okta"
//! time_format = "unix_ms"
//! fields = { time = "ts", outcome = "result", user = ["actor.login", "actor.email"], ip = "client.ip" }
//! outcome_map = { OK = "success", DENIED = "failure" }
//! filter = { type = ["login", "mfa"] }
//! ```
//!
//! A `kind = "csv"` format starts from a CSV preset (`lineworks-audit`,
//! `cybozu-audit`) and adds header names and value-table entries, tried before
//! the preset's, in a `csv` table of the shape of `formats/*.toml`:
//!
//! ```toml
//! [[format]]
//! name = "lineworks-2025"
//! kind = "csv"
//! preset = "lineworks-audit"
//! zone = "UTC"
//! csv = { columns = { user = ["Account"] } }
//! ```
//!
//! Map keys are log words compared ASCII-case-insensitively; a trailing `*` makes a
//! prefix. TOML tables have no order, so exact words are tried before prefixes, and
//! longer prefixes before shorter ones. Our own spellings (`success`, `bad_password`,
//! `login`...) are understood after the map's entries; with a `preset`, the
//! declared entries are tried before the preset's.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::json::Path;
use super::json::mapping::{TimeFormat, ValueMap};
use super::{Format, Zone};
use crate::event::{Action, Outcome, Reason};

/// One path or several alternatives (first present wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `"a.b"`.
    One(String),
    /// `["a.b", "c"]`.
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Where each field is in a `kind = "json"` format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFields {
    pub time: Option<OneOrMany>,
    pub outcome: Option<OneOrMany>,
    pub reason: Option<OneOrMany>,
    pub action: Option<OneOrMany>,
    pub user: Option<OneOrMany>,
    pub ip: Option<OneOrMany>,
    pub port: Option<OneOrMany>,
    pub host: Option<OneOrMany>,
    pub service: Option<OneOrMany>,
    pub method: Option<OneOrMany>,
    pub user_agent: Option<OneOrMany>,
    pub device: Option<OneOrMany>,
}

/// A `[[format]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFormat {
    /// The name `--format` and `[[source]]` use.
    pub name: String,
    /// `regex` or `json`.
    pub kind: String,
    /// `kind = "regex"`: the pattern with named captures.
    pub pattern: Option<String>,
    /// `kind = "json"`: a preset to start from.
    pub preset: Option<String>,
    /// `rfc3339`, `syslog`, `unix`, `unix_ms`, `auto` or a strftime pattern (default `auto`).
    pub time_format: Option<String>,
    /// Zone of offset-less times (default: `--tz`).
    pub zone: Option<String>,
    /// The outcome when the line does not say (the pattern implies it).
    pub outcome: Option<String>,
    /// The action when the line does not say (default `login`).
    pub action: Option<String>,
    /// The service when the line does not say.
    pub service: Option<String>,
    /// Log words to outcomes.
    #[serde(default)]
    pub outcome_map: BTreeMap<String, String>,
    /// Log words to reasons.
    #[serde(default)]
    pub reason_map: BTreeMap<String, String>,
    /// Log words to actions.
    #[serde(default)]
    pub action_map: BTreeMap<String, String>,
    /// `kind = "json"`: where each field is.
    pub fields: Option<RawFields>,
    /// `kind = "json"`: path -> accepted values; other lines are not about auth.
    #[serde(default)]
    pub filter: BTreeMap<String, OneOrMany>,
    /// `kind = "csv"`: header names and value tables in front of the preset's.
    pub csv: Option<super::csv::RawCsv>,
}

/// A validated declared format.
#[derive(Debug, Clone)]
pub struct Declared {
    name: String,
    format: Format,
}

impl Declared {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The format, ready for [`super::Parser::new`].
    pub fn format(&self) -> Format {
        self.format.clone()
    }
}

/// Validates one `[[format]]` table. Returns every problem found, as messages
/// without file or line: the rules loader, which knows both, adds them.
pub fn compile(raw: &RawFormat) -> Result<Declared, Vec<String>> {
    let mut errs = Vec::new();
    let name = raw.name.trim();
    if name.is_empty() {
        errs.push("format name is empty".to_string());
    } else if Format::builtin_names().contains(&name) {
        errs.push(format!(
            "format name {name:?} is a built-in format; choose another name (or `preset = {name:?}` to start from it)"
        ));
    }
    let mut c = Ctx {
        errs: &mut errs,
        name,
    };
    let time_format = match raw.time_format.as_deref() {
        None => TimeFormat::Auto,
        Some(s) => c.ok(TimeFormat::parse(s)).unwrap_or(TimeFormat::Auto),
    };
    let zone = raw.zone.as_deref().and_then(|z| c.ok(z.parse::<Zone>()));
    let outcome = raw
        .outcome
        .as_deref()
        .and_then(|s| c.spelling("outcome", s, Outcome::parse, Outcome::ALL));
    let action = raw
        .action
        .as_deref()
        .and_then(|s| c.spelling("action", s, Action::parse, Action::ALL));
    let outcome_map = c.map(
        "outcome_map",
        &raw.outcome_map,
        Outcome::parse,
        Outcome::ALL,
    );
    let reason_map = c.map("reason_map", &raw.reason_map, Reason::parse, Reason::ALL);
    let action_map = c.map("action_map", &raw.action_map, Action::parse, Action::ALL);
    let maps = Maps {
        outcome: outcome_map,
        reason: reason_map,
        action: action_map,
    };
    let format = match raw.kind.as_str() {
        "regex" => c.regex(raw, time_format, zone, outcome, action, maps),
        "json" => c.json(raw, time_format, zone, outcome, action, maps),
        "csv" => c.csv(raw, zone),
        k => {
            c.err(format!(
                "unknown kind {k:?} (expected \"regex\", \"json\" or \"csv\")"
            ));
            None
        }
    };
    if raw.csv.is_some() && raw.kind != "csv" {
        errs.push(format!(
            "format {name:?}: the `csv` table is only for kind = \"csv\""
        ));
    }
    match format {
        Some(format) if errs.is_empty() => Ok(Declared {
            name: name.to_string(),
            format,
        }),
        _ => Err(errs),
    }
}

struct Maps {
    outcome: ValueMap<Outcome>,
    reason: ValueMap<Reason>,
    action: ValueMap<Action>,
}

/// Error collection with the format's name in every message.
struct Ctx<'a> {
    errs: &'a mut Vec<String>,
    name: &'a str,
}

impl Ctx<'_> {
    fn err(&mut self, msg: String) {
        self.errs.push(format!("format {:?}: {msg}", self.name));
    }

    fn ok<T>(&mut self, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.err(e)).ok()
    }

    fn spelling<T>(
        &mut self,
        what: &str,
        s: &str,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> Option<T> {
        let t = parse(s);
        if t.is_none() {
            self.err(format!("{what} {s:?} is not one of {}", all.join(", ")));
        }
        t
    }

    /// A declared map, exact words first, then prefixes longest first.
    fn map<T: Clone>(
        &mut self,
        what: &str,
        m: &BTreeMap<String, String>,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> ValueMap<T> {
        let mut entries: Vec<(&String, &String)> = m.iter().collect();
        entries.sort_by_key(|(k, _)| match k.strip_suffix('*') {
            None => (0, 0),
            Some(p) => (1, usize::MAX - p.len()),
        });
        let mut out = ValueMap::default();
        for (k, v) in entries {
            if let Some(t) = self.spelling(&format!("{what}[{k:?}]"), v, parse, all) {
                out.push(k, t);
            }
        }
        out
    }

    /// `kind = "csv"`: a CSV preset plus the declared `csv` table.
    fn csv(&mut self, raw: &RawFormat, zone: Option<Zone>) -> Option<Format> {
        for (set, key) in [
            (raw.pattern.is_some(), "pattern"),
            (raw.fields.is_some(), "fields"),
            (!raw.filter.is_empty(), "filter"),
            (raw.time_format.is_some(), "time_format"),
            (raw.outcome.is_some(), "outcome"),
            (raw.action.is_some(), "action"),
            (raw.service.is_some(), "service"),
            (!raw.outcome_map.is_empty(), "outcome_map"),
            (!raw.reason_map.is_empty(), "reason_map"),
            (!raw.action_map.is_empty(), "action_map"),
        ] {
            if set {
                self.err(format!(
                    "`{key}` is not used by kind = \"csv\" (its texts go in the `csv` table)"
                ));
            }
        }
        match super::csv::declared(self.name, raw.preset.as_deref(), zone, raw.csv.as_ref()) {
            Ok(spec) => Some(Format::Csv(spec)),
            Err(es) => {
                for e in es {
                    self.err(e);
                }
                None
            }
        }
    }

    fn paths(&mut self, field: &str, p: &Option<OneOrMany>) -> Option<Vec<Path>> {
        let items = p.as_ref()?.items();
        if items.is_empty() {
            self.err(format!("fields.{field} is an empty list"));
        }
        Some(
            items
                .into_iter()
                .filter_map(|s| self.ok(Path::parse(s)))
                .collect(),
        )
    }
}

/// `m`, then our own spellings as a fallback.
fn with_ours<T: Copy>(
    mut m: ValueMap<T>,
    all: &[&str],
    parse: fn(&str) -> Option<T>,
) -> ValueMap<T> {
    for s in all {
        if let Some(t) = parse(s) {
            m.push(s, t);
        }
    }
    m
}

mod kinds;
#[cfg(test)]
mod tests;

//! The data side of the CSV formats: header aliases per column and the tables
//! that turn a service's words into outcome/reason/action, read from TOML.
//!
//! The built-in tables are the files under `formats/` (embedded in the binary);
//! a `[[format]]` with `kind = "csv"` in a rules file adds its own entries in the
//! same shape, tried before the preset's. That way a real export whose headers
//! or messages differ from what we have seen needs a rules-file change, never a
//! code change. Everything is validated when loaded, every problem reported.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::event::{Action, Method, Outcome, Reason};
use crate::parse::Zone;

/// One text or several alternatives.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Texts {
    /// `"Login success*"`.
    One(String),
    /// `["Login success*", "ログイン成功*"]`.
    Many(Vec<String>),
}

impl Texts {
    fn items(&self) -> &[String] {
        match self {
            Texts::One(s) => std::slice::from_ref(s),
            Texts::Many(v) => v,
        }
    }
}

/// One table entry as written: which texts, and what they mean.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    /// The texts (globs) this entry matches.
    pub text: Texts,
    /// `event.action`.
    pub action: Option<String>,
    /// `event.outcome`.
    pub outcome: Option<String>,
    /// `event.reason` of failures.
    pub reason: Option<String>,
    /// `loginwatch.auth.method` (our spelling or as logged).
    pub method: Option<String>,
    /// A known text that is not an auth event (logout).
    #[serde(default)]
    pub ignore: bool,
}

/// A CSV format's tables as written: a `formats/*.toml` file, or the `csv` table
/// of a declared format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCsv {
    /// Zone of zone-less dates.
    pub zone: Option<String>,
    /// How long the service keeps its log, in days: a row cannot come back in
    /// a later export after this, so a daemon reading an export folder
    /// remembers the rows it counted this long (see `crate::source::rows`).
    pub retention_days: Option<u32>,
    /// Column -> header names.
    #[serde(default)]
    pub columns: BTreeMap<String, Texts>,
    /// LINE WORKS: `Description` texts.
    #[serde(default)]
    pub description: Vec<RawEntry>,
    /// LINE WORKS: `Login method` texts.
    #[serde(default)]
    pub method: Vec<RawEntry>,
    /// cybozu: `Action` texts.
    #[serde(default)]
    pub action: Vec<RawEntry>,
    /// cybozu: `Result` texts.
    #[serde(default)]
    pub result: Vec<RawEntry>,
    /// cybozu: `Module` values of sign-in rows (others are not auth).
    pub module_filter: Option<Texts>,
    /// cybozu: user names meaning "no such user".
    pub nobody: Option<Texts>,
    /// cybozu: supplement texts meaning "locked out".
    pub lockout: Option<Texts>,
}

/// The longest retention a format may name (10 years: cybozu.com's longest
/// archive setting); rows are remembered this long at most.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// A logical column of the CSV formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Col {
    Time,
    User,
    Description,
    Service,
    Ip,
    Method,
    UserAgent,
    Level,
    Module,
    Action,
    Result,
    Supplement,
}

impl Col {
    /// Every column with its key in `[columns]`.
    pub const ALL: [(Col, &'static str); 12] = [
        (Col::Time, "time"),
        (Col::User, "user"),
        (Col::Description, "description"),
        (Col::Service, "service"),
        (Col::Ip, "ip"),
        (Col::Method, "method"),
        (Col::UserAgent, "user_agent"),
        (Col::Level, "level"),
        (Col::Module, "module"),
        (Col::Action, "action"),
        (Col::Result, "result"),
        (Col::Supplement, "supplement"),
    ];

    /// Index into per-column arrays.
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// A text pattern: case-insensitive (ASCII), `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The literal pieces between `*`s, lower-cased.
    parts: Vec<String>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Glob {
        let p = pattern.trim().to_ascii_lowercase();
        Glob {
            anchored_start: !p.starts_with('*'),
            anchored_end: !p.ends_with('*'),
            parts: p
                .split('*')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// True when `text` (already lower-cased and trimmed) matches.
    pub fn matches_lower(&self, text: &str) -> bool {
        let mut rest = text;
        let n = self.parts.len();
        if n == 0 {
            return !(self.anchored_start && self.anchored_end) || text.is_empty();
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i == 0 && self.anchored_start {
                match rest.strip_prefix(part.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                }
            } else if i == n - 1 && self.anchored_end {
                return rest.len() >= part.len() && rest.ends_with(part.as_str());
            } else {
                match rest.find(part.as_str()) {
                    Some(at) => rest = &rest[at + part.len()..],
                    None => return false,
                }
            }
        }
        !self.anchored_end || rest.is_empty()
    }

    /// True when `text` matches (lower-cases it first).
    pub fn matches(&self, text: &str) -> bool {
        self.matches_lower(&text.trim().to_ascii_lowercase())
    }
}

/// What a matched text means. `None` fields: this table does not say.
#[derive(Debug, Clone, PartialEq)]
pub struct Meaning {
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
    pub reason: Option<Reason>,
    pub method: Option<Method>,
    /// Known, but not an auth event.
    pub ignore: bool,
}

/// An ordered list of (glob, meaning): the first match wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    entries: Vec<(Glob, Meaning)>,
}

impl Table {
    /// The meaning of the first entry matching `text`.
    pub fn get(&self, text: &str) -> Option<&Meaning> {
        self.at(self.position(text)?)
    }

    /// The index of the first entry matching `text`.
    pub fn position(&self, text: &str) -> Option<usize> {
        let lower = text.trim().to_ascii_lowercase();
        self.entries
            .iter()
            .position(|(g, _)| g.matches_lower(&lower))
    }

    /// The meaning of entry `i`.
    pub fn at(&self, i: usize) -> Option<&Meaning> {
        self.entries.get(i).map(|(_, m)| m)
    }
}

/// A list of globs (module filter, nobody names, lockout texts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Globs(Vec<Glob>);

impl Globs {
    /// True when any glob matches `text`.
    pub fn any(&self, text: &str) -> bool {
        let lower = text.trim().to_ascii_lowercase();
        self.0.iter().any(|g| g.matches_lower(&lower))
    }

    /// True when there are no globs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Compiled tables of one CSV format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tables {
    /// Zone of zone-less dates (`None`: the `ParseOptions` zone).
    pub zone: Option<Zone>,
    /// Days a row may appear again in a later export ([`RawCsv::retention_days`]).
    pub retention_days: Option<u32>,
    /// Header names per column ([`Col::idx`]), lower-cased, trimmed.
    pub columns: Vec<Vec<String>>,
    pub description: Table,
    pub method: Table,
    pub action: Table,
    pub result: Table,
    pub module_filter: Globs,
    pub nobody: Globs,
    pub lockout: Globs,
}

impl Tables {
    /// Compiles `raw`, reporting every problem (messages without file or line:
    /// the caller knows where the text came from).
    pub fn compile(raw: &RawCsv) -> Result<Tables, Vec<String>> {
        let mut errs = Vec::new();
        let zone = raw
            .zone
            .as_deref()
            .and_then(|z| z.parse::<Zone>().map_err(|e| errs.push(e)).ok());
        let retention_days = raw.retention_days;
        if let Some(d) = retention_days
            && !(1..=MAX_RETENTION_DAYS).contains(&d)
        {
            errs.push(format!(
                "retention_days = {d}: 1 to {MAX_RETENTION_DAYS} (the days the service keeps its log)"
            ));
        }
        let mut columns = vec![Vec::new(); Col::ALL.len()];
        for (key, names) in &raw.columns {
            match Col::ALL.iter().find(|(_, k)| k == key) {
                Some((c, _)) => {
                    columns[c.idx()] = names
                        .items()
                        .iter()
                        .map(|n| norm_header(n).to_ascii_lowercase())
                        .collect()
                }
                None => errs.push(format!(
                    "columns: unknown column {key:?} (expected one of {})",
                    Col::ALL.map(|(_, k)| k).join(", ")
                )),
            }
        }
        let t = Tables {
            zone,
            retention_days,
            columns,
            description: table("description", &raw.description, &mut errs),
            method: table("method", &raw.method, &mut errs),
            action: table("action", &raw.action, &mut errs),
            result: table("result", &raw.result, &mut errs),
            module_filter: globs(&raw.module_filter),
            nobody: globs(&raw.nobody),
            lockout: globs(&raw.lockout),
        };
        if errs.is_empty() { Ok(t) } else { Err(errs) }
    }

    /// `self` (a declaration's additions) in front of `base` (the preset): its
    /// header names and entries are tried first, its zone wins when set.
    pub fn before(mut self, base: &Tables) -> Tables {
        for (mine, theirs) in self.columns.iter_mut().zip(&base.columns) {
            mine.extend(theirs.iter().cloned());
        }
        for (mine, theirs) in [
            (&mut self.description, &base.description),
            (&mut self.method, &base.method),
            (&mut self.action, &base.action),
            (&mut self.result, &base.result),
        ] {
            mine.entries.extend(theirs.entries.iter().cloned());
        }
        for (mine, theirs) in [
            (&mut self.module_filter, &base.module_filter),
            (&mut self.nobody, &base.nobody),
            (&mut self.lockout, &base.lockout),
        ] {
            mine.0.extend(theirs.0.iter().cloned());
        }
        self.zone = self.zone.or(base.zone);
        self.retention_days = self.retention_days.or(base.retention_days);
        self
    }
}

/// A header cell as compared: BOM and surrounding blanks (also full-width) removed.
pub fn norm_header(s: &str) -> &str {
    s.trim_start_matches('\u{feff}')
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}')
}

fn globs(t: &Option<Texts>) -> Globs {
    Globs(
        t.as_ref()
            .map(|t| t.items().iter().map(|s| Glob::new(s)).collect())
            .unwrap_or_default(),
    )
}

fn table(what: &str, raw: &[RawEntry], errs: &mut Vec<String>) -> Table {
    let mut out = Table::default();
    for (i, e) in raw.iter().enumerate() {
        let mut spell = |field: &str, v: &Option<String>, all: &[&str]| -> bool {
            let ok = v.as_deref().is_none_or(|s| all.contains(&s));
            if !ok {
                errs.push(format!(
                    "{what}[{i}] ({:?}): {field} {:?} is not one of {}",
                    e.text.items().first().map_or("", String::as_str),
                    v.as_deref().unwrap_or_default(),
                    all.join(", ")
                ));
            }
            ok
        };
        let ok = spell("action", &e.action, Action::ALL)
            & spell("outcome", &e.outcome, Outcome::ALL)
            & spell("reason", &e.reason, Reason::ALL);
        if e.text.items().is_empty() {
            errs.push(format!("{what}[{i}]: text is an empty list"));
        }
        if !ok {
            continue;
        }
        let meaning = Meaning {
            action: e.action.as_deref().and_then(Action::parse),
            outcome: e.outcome.as_deref().and_then(Outcome::parse),
            reason: e.reason.as_deref().and_then(Reason::parse),
            method: e.method.as_deref().map(Method::from_log),
            ignore: e.ignore,
        };
        for t in e.text.items() {
            out.entries.push((Glob::new(t), meaning.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_case_insensitively_with_stars_anywhere() {
        let g = Glob::new("Login failed*password*");
        assert!(g.matches("login FAILED (Incorrect password)"));
        assert!(!g.matches("Login failed (locked)"));
        assert!(Glob::new("*ロック*").matches("ログイン失敗（ロック中）"));
        assert!(Glob::new("SUCCESS").matches(" success "));
        assert!(!Glob::new("SUCCESS").matches("SUCCESSFUL"));
        assert!(Glob::new("login *").matches("login (x)"));
        assert!(!Glob::new("login *").matches("login"));
        assert!(Glob::new("*").matches("anything"));
        assert!(Glob::new("a*a").matches("aa"));
        assert!(!Glob::new("ab*ba").matches("aba"));
    }

    #[test]
    fn every_problem_is_reported() {
        let raw: RawCsv = toml::from_str(
            r#"
            zone = "Mars/Base"
            columns = { time = "Date", colour = ["x"] }
            [[description]]
            text = "a"
            outcome = "sucess"
            reason = "bad"
            "#,
        )
        .unwrap();
        let errs = Tables::compile(&raw).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("colour")));
        assert!(errs.iter().any(|e| e.contains("\"sucess\"")));
    }

    #[test]
    fn declared_entries_come_first() {
        let base = Tables::compile(
            &toml::from_str(
                "[[result]]\ntext = \"OK*\"\noutcome = \"success\"\n[columns]\nuser = \"User\"",
            )
            .unwrap(),
        )
        .unwrap();
        let mine = Tables::compile(
            &toml::from_str(
                "[[result]]\ntext = \"OK but*\"\noutcome = \"failure\"\n[columns]\nuser = \"Who\"",
            )
            .unwrap(),
        )
        .unwrap()
        .before(&base);
        assert_eq!(
            mine.result.get("ok but locked").unwrap().outcome,
            Some(Outcome::Failure)
        );
        assert_eq!(
            mine.result.get("ok").unwrap().outcome,
            Some(Outcome::Success)
        );
        assert_eq!(mine.columns[Col::User.idx()], vec!["who", "user"]);
    }
}

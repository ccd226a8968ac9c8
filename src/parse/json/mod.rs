//! JSON lines with a field mapping, and the built-in presets.
//!
//! Identity providers and Windows shippers log one JSON object per line, each with
//! its own names for the same facts. Rather than one parser per product, a
//! [`JsonSpec`] states where each `AuthEvent` field lives (dotted [`path::Path`]s,
//! first present wins), how to read the time, and how codes map to our enums;
//! the presets in [`presets`] are such specs, and rule files can declare more
//! (see [`crate::parse::custom`]). A line is read for the spec's paths only
//! ([`select`]: no tree of the whole line is built); names are interned.
//!
//! Line outcomes: not UTF-8 -> `InvalidUtf8`; not JSON -> `Malformed`; JSON but
//! not an object, or lacking the time/outcome/action field -> `WrongShape`; an
//! unreadable time -> `BadTimestamp`; an outcome code the map does not know ->
//! `BadValue`; a line the spec's filters or action map do not select -> `Ok(None)`.

pub mod mapping;
pub mod path;
pub mod presets;
pub mod select;

use std::borrow::Cow;

pub use mapping::{TimeFormat, ValueMap};
pub use path::Path;
pub use presets::{PRESETS, preset};

use super::{LineCtx, ParseError, ParseOptions, UnparsedReason, Zone};
use crate::event::{Action, AuthEvent, Method, Name, Outcome, Process, Reason, RefusedBy};
use crate::intern::Interner;
use mapping::TimeCtx;
use select::{Doc, Found, ReadError, Selector};

/// A field read through a value map: the first path present gives the log's
/// word, the map turns it into a `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped<T> {
    /// Where the word may be (first present wins).
    pub paths: Vec<Path>,
    /// Log words to values.
    pub map: ValueMap<T>,
    /// The value when no path is present (`None`: the field is required, or stays absent).
    pub absent: Option<T>,
}

impl<T> Default for Mapped<T> {
    fn default() -> Self {
        Mapped {
            paths: Vec::new(),
            map: ValueMap::default(),
            absent: None,
        }
    }
}

/// Selects lines: the value at `path` must match one of `values` (or, with
/// `exclude`, none of them). A missing field never matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The field tested.
    pub path: Path,
    /// Accepted (or, with `exclude`, rejected) words; `*` suffixes are prefixes.
    pub values: ValueMap<()>,
    /// Reject instead of accept.
    pub exclude: bool,
}

/// A JSON format: a preset or a declared `kind = "json"` format.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSpec {
    /// The format's name (`cloudtrail`, or a declared name).
    pub name: String,
    /// Where each field is and how it is read (boxed: a `Format` is passed around
    /// by value and most of its variants are tiny).
    pub fields: Box<Fields>,
}

/// The field mapping of a [`JsonSpec`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    /// Where the time is.
    pub time: Vec<Path>,
    /// How it is written.
    pub time_format: TimeFormat,
    /// Zone of offset-less times; `None`: the `ParseOptions` zone.
    pub zone: Option<Zone>,
    /// Every filter must select a line, else it is `Ok(None)`.
    pub filters: Vec<Filter>,
    /// `event.action`. A present word the map does not know means the line is about
    /// something else (`Ok(None)`); a map entry `*` makes every word an auth action.
    pub action: Mapped<Action>,
    /// `event.outcome`; required, and an unknown word is `BadValue`.
    pub outcome: Mapped<Outcome>,
    /// `event.reason`, read on failures: the first path whose word maps wins
    /// (so Windows `SubStatus` `0x0` falls through to `Status`); a failure
    /// whose reason words are present but unknown gets `other`. On a success
    /// only a word mapping to `expired_password` is kept (logged in, must
    /// change the password now): vendors put status codes there on successes too.
    pub reason: Mapped<Reason>,
    /// `loginwatch.event.reason_detail` ([`crate::event::RefusedBy`]
    /// spellings; others leave it absent).
    pub refused_by: Vec<Path>,
    /// `loginwatch.auth.method`; words the map does not know go through [`Method::from_log`].
    pub method: Mapped<Method>,
    /// `service.name`; words the map does not know are kept as written.
    pub service: Mapped<Name>,
    /// `user.name`.
    pub user: Vec<Path>,
    /// `source.ip` (host names and placeholders leave it absent).
    pub source_ip: Vec<Path>,
    /// `source.port` (`0` and non-numbers leave it absent).
    pub source_port: Vec<Path>,
    /// `host.name`.
    pub host: Vec<Path>,
    /// `user_agent.original`.
    pub user_agent: Vec<Path>,
    /// `device.id`.
    pub device_id: Vec<Path>,
    /// `process.name` (with `process.pid` below; a pid alone is not kept).
    pub process: Vec<Path>,
    /// `process.pid`.
    pub pid: Vec<Path>,
    /// Values that mean "nobody" in name fields (CloudTrail's
    /// `HIDDEN_DUE_TO_SECURITY_REASONS`), read as absent.
    pub placeholders: ValueMap<()>,
    /// A failed MFA step is `mfa_failed` whatever the log calls it (a wrong code
    /// is not a wrong password): applies when the mapped reason is none,
    /// `bad_password` or `other`.
    pub mfa_failure_is_mfa_failed: bool,
}

impl JsonSpec {
    /// An empty mapping (no fields); presets and declared formats fill it in.
    pub fn empty(name: &str) -> JsonSpec {
        JsonSpec {
            name: name.to_string(),
            fields: Box::new(Fields {
                time: Vec::new(),
                time_format: TimeFormat::Auto,
                zone: None,
                filters: Vec::new(),
                action: Mapped {
                    absent: Some(Action::Login),
                    ..Mapped::default()
                },
                outcome: Mapped::default(),
                reason: Mapped::default(),
                refused_by: Vec::new(),
                method: Mapped::default(),
                service: Mapped::default(),
                user: Vec::new(),
                source_ip: Vec::new(),
                source_port: Vec::new(),
                host: Vec::new(),
                user_agent: Vec::new(),
                device_id: Vec::new(),
                process: Vec::new(),
                pid: Vec::new(),
                placeholders: ValueMap::default(),
                mfa_failure_is_mfa_failed: false,
            }),
        }
    }
}

impl Fields {
    /// Every path the fields read, for the [`Selector`] to number. Every field
    /// is named (no `..`), so a new field of paths cannot be forgotten here.
    fn paths_mut(&mut self) -> impl Iterator<Item = &mut Path> {
        let Fields {
            time,
            time_format: _,
            zone: _,
            filters,
            action,
            outcome,
            reason,
            refused_by,
            method,
            service,
            user,
            source_ip,
            source_port,
            host,
            user_agent,
            device_id,
            process,
            pid,
            placeholders: _,
            mfa_failure_is_mfa_failed: _,
        } = self;
        time.iter_mut()
            .chain(filters.iter_mut().map(|f| &mut f.path))
            .chain(action.paths.iter_mut())
            .chain(outcome.paths.iter_mut())
            .chain(reason.paths.iter_mut())
            .chain(refused_by.iter_mut())
            .chain(method.paths.iter_mut())
            .chain(service.paths.iter_mut())
            .chain(user.iter_mut())
            .chain(source_ip.iter_mut())
            .chain(source_port.iter_mut())
            .chain(host.iter_mut())
            .chain(user_agent.iter_mut())
            .chain(device_id.iter_mut())
            .chain(process.iter_mut())
            .chain(pid.iter_mut())
    }
}

/// Parses JSON lines with one [`JsonSpec`].
#[derive(Debug)]
pub struct JsonParser {
    spec: JsonSpec,
    /// The spec's paths, numbered (the spec's own paths carry their slots).
    sel: Selector,
    opts: ParseOptions,
    ctx: LineCtx,
    names: Interner,
}

fn err(reason: UnparsedReason, detail: &'static str) -> ParseError {
    ParseError::new(reason, detail)
}

impl JsonParser {
    /// A parser for one file.
    pub fn new(mut spec: JsonSpec, opts: ParseOptions, ctx: LineCtx) -> JsonParser {
        let sel = Selector::new(spec.fields.paths_mut());
        JsonParser {
            spec,
            sel,
            opts,
            ctx,
            names: Interner::default(),
        }
    }

    /// Parses one line (see the module doc for what each result means).
    pub fn parse(&mut self, line: &[u8], offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        // Checked whole, first: the reader skips what the spec does not read
        // without looking inside, and a line with invalid bytes anywhere is
        // not UTF-8 JSON (simdutf8: ~0.1 instruction a byte on ASCII).
        let Ok(text) = simdutf8::basic::from_utf8(line) else {
            return Err(err(UnparsedReason::InvalidUtf8, "a UTF-8 JSON object"));
        };
        let v = self.sel.read(text).map_err(|e| match e {
            ReadError::Malformed => err(UnparsedReason::Malformed, "a JSON object per line"),
            ReadError::NotObject => err(
                UnparsedReason::WrongShape,
                "a JSON object, not another value",
            ),
        })?;
        let spec = &*self.spec.fields;
        if !spec.filters.iter().all(|f| selects(f, &v)) {
            return Ok(None);
        }
        let action = match path::first_text(&spec.action.paths, &v) {
            Some(w) => match spec.action.map.get(&w) {
                Some(a) => *a,
                None => return Ok(None),
            },
            None => spec
                .action
                .absent
                .ok_or(err(UnparsedReason::WrongShape, "an action field"))?,
        };
        let timestamp = self.timestamp(&v)?;
        let outcome = match path::first_text(&spec.outcome.paths, &v) {
            Some(w) => *spec
                .outcome
                .map
                .get(&w)
                .ok_or(err(UnparsedReason::BadValue, "a known outcome value"))?,
            None => spec
                .outcome
                .absent
                .ok_or(err(UnparsedReason::WrongShape, "an outcome field"))?,
        };
        let mut ev = AuthEvent::new(timestamp, action, outcome);
        if outcome == Outcome::Failure {
            ev.reason = reason(&spec.reason, &v);
            if spec.mfa_failure_is_mfa_failed
                && action == Action::Mfa
                && matches!(
                    ev.reason,
                    None | Some(Reason::BadPassword) | Some(Reason::Other)
                )
            {
                ev.reason = Some(Reason::MfaFailed);
            }
        } else if outcome == Outcome::Success {
            ev.reason = reason(&spec.reason, &v).filter(|r| *r == Reason::ExpiredPassword);
        }
        ev.refused_by = path::first_text(&spec.refused_by, &v).and_then(|w| RefusedBy::parse(&w));
        ev.source_ip = spec
            .source_ip
            .iter()
            .find_map(|p| p.text(&v).and_then(|s| mapping::parse_ip(&s)));
        ev.source_port = spec
            .source_port
            .iter()
            .find_map(|p| p.text(&v).and_then(|s| mapping::parse_port(&s)))
            .filter(|p| *p != 0);
        ev.method = match path::first_text(&spec.method.paths, &v) {
            Some(w) => Some(match spec.method.map.get(&w) {
                Some(m) => m.clone(),
                None => match Method::from_log(&w) {
                    Method::Other(o) => Method::Other(self.names.intern(&o)),
                    m => m,
                },
            }),
            None => spec.method.absent.clone(),
        };
        ev.service = match path::first_text(&spec.service.paths, &v) {
            Some(w) => Some(match spec.service.map.get(&w) {
                Some(s) => s.clone(),
                None => self.names.intern(&w),
            }),
            None => spec.service.absent.clone(),
        };
        let names = &mut self.names;
        let mut name = |paths: &[Path]| {
            let s: Cow<'_, str> = path::first_text(paths, &v)?;
            // Placeholders ("nobody") are absent, not a shared fake user.
            (spec.placeholders.get(&s).is_none()).then(|| names.intern(&s))
        };
        ev.user = name(&spec.user);
        ev.host = name(&spec.host);
        ev.user_agent = name(&spec.user_agent);
        ev.device_id = name(&spec.device_id);
        if let Some(p) = name(&spec.process) {
            ev.process = Some(Process {
                name: p,
                pid: path::first_text(&spec.pid, &v).and_then(|s| s.parse().ok()),
            });
        }
        ev.log_path = Some(self.ctx.path.clone());
        ev.log_offset = Some(offset);
        Ok(Some(ev))
    }

    fn timestamp(&self, v: &Doc<'_>) -> Result<chrono::DateTime<chrono::Utc>, ParseError> {
        let spec = &*self.spec.fields;
        let raw = spec
            .time
            .iter()
            .find_map(|p| p.get(v))
            .ok_or(err(UnparsedReason::WrongShape, "a timestamp field"))?;
        let cx = TimeCtx {
            zone: spec.zone.unwrap_or(self.opts.zone),
            year: self.opts.year,
            now: self.opts.now,
        };
        let t = match raw {
            Found::Str(s) => mapping::parse_time_text(s, &spec.time_format, cx),
            Found::Num(n) => n
                .as_f64()
                .and_then(|n| mapping::parse_time_number(n, &spec.time_format)),
            _ => None,
        };
        t.ok_or(err(
            UnparsedReason::BadTimestamp,
            "a timestamp in the declared format",
        ))
    }
}

fn selects(f: &Filter, v: &Doc<'_>) -> bool {
    match f.path.text(v) {
        Some(w) => f.values.get(&w).is_some() != f.exclude,
        None => false,
    }
}

fn reason(m: &Mapped<Reason>, v: &Doc<'_>) -> Option<Reason> {
    let mut present = false;
    for p in &m.paths {
        if let Some(w) = p.text(v) {
            if let Some(r) = m.map.get(&w) {
                return Some(*r);
            }
            present = true;
        }
    }
    if present {
        Some(Reason::Other)
    } else {
        m.absent
    }
}

#[cfg(test)]
mod tests;

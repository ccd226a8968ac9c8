//! Declared regex formats: one regular expression with named captures per format.
//!
//! For logs no built-in parser knows (a VPN concentrator, an in-house app), a rule
//! file can declare `kind = "regex"` with captures `time`, `outcome` and optionally
//! `user`, `ip`, `port`, `reason`, `host`, `service`, `method`, `action`,
//! `user_agent`, `device` (see [`crate::parse::custom`] for the TOML). A regex
//! format describes only the lines it cares about, so a line the pattern does not
//! match is `Ok(None)` (not about auth), never an error; a matching line with an
//! unreadable time or an unknown outcome word is an error, because the format
//! claimed it. The pattern runs on bytes, so non-UTF-8 lines that do not match
//! cost nothing; only a captured field that is not UTF-8 is `InvalidUtf8`.

use regex::bytes::{CaptureLocations, Regex};

use super::json::mapping::{self, TimeCtx, TimeFormat, ValueMap};
use super::{LineCtx, ParseError, ParseOptions, UnparsedReason, Zone};
use crate::event::{Action, AuthEvent, Method, Name, Outcome, Reason};
use crate::intern::Interner;

/// Capture group indexes, resolved once when the format is compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    /// `time` (required).
    pub time: usize,
    /// `outcome` (required unless the format has a constant outcome).
    pub outcome: Option<usize>,
    /// `user`.
    pub user: Option<usize>,
    /// `ip`.
    pub ip: Option<usize>,
    /// `port`.
    pub port: Option<usize>,
    /// `reason`.
    pub reason: Option<usize>,
    /// `host`.
    pub host: Option<usize>,
    /// `service`.
    pub service: Option<usize>,
    /// `method`.
    pub method: Option<usize>,
    /// `action`.
    pub action: Option<usize>,
    /// `user_agent`.
    pub user_agent: Option<usize>,
    /// `device`.
    pub device: Option<usize>,
}

/// The capture names a regex format may use.
pub const CAPTURES: &[&str] = &[
    "time",
    "outcome",
    "user",
    "ip",
    "port",
    "reason",
    "host",
    "service",
    "method",
    "action",
    "user_agent",
    "device",
];

/// A compiled regex format (built by [`crate::parse::custom::compile`]).
#[derive(Debug, Clone)]
pub struct RegexSpec {
    /// The format's name.
    pub name: String,
    /// The pattern.
    pub regex: Regex,
    /// How captures become fields (boxed: a `Format` is passed around by value).
    pub fields: Box<RegexFields>,
}

/// The field mapping of a [`RegexSpec`].
#[derive(Debug, Clone)]
pub struct RegexFields {
    /// Where each field is captured.
    pub groups: Groups,
    /// How `time` is written.
    pub time_format: TimeFormat,
    /// Zone of offset-less times; `None`: the `ParseOptions` zone.
    pub zone: Option<Zone>,
    /// The outcome when the pattern implies it (no `outcome` capture, or it did not participate).
    pub outcome: Option<Outcome>,
    /// The action when there is no `action` capture.
    pub action: Action,
    /// The service when there is no `service` capture.
    pub service: Option<Name>,
    /// Log words to outcomes (our own spellings included).
    pub outcome_map: ValueMap<Outcome>,
    /// Log words to reasons (our own spellings included; unknown words: `other`).
    pub reason_map: ValueMap<Reason>,
    /// Log words to actions (our own spellings included; unknown words: not an auth line).
    pub action_map: ValueMap<Action>,
}

/// Parses lines with one [`RegexSpec`].
#[derive(Debug)]
pub struct RegexParser {
    spec: RegexSpec,
    opts: ParseOptions,
    ctx: LineCtx,
    locs: CaptureLocations,
    names: Interner,
}

fn err(reason: UnparsedReason, detail: &'static str) -> ParseError {
    ParseError::new(reason, detail)
}

impl RegexParser {
    /// A parser for one file.
    pub fn new(spec: RegexSpec, opts: ParseOptions, ctx: LineCtx) -> RegexParser {
        // Reused for every line, so matching does not allocate.
        let locs = spec.regex.capture_locations();
        RegexParser {
            spec,
            opts,
            ctx,
            locs,
            names: Interner::default(),
        }
    }

    /// Parses one line (see the module doc for what each result means).
    pub fn parse(&mut self, line: &[u8], offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        if self
            .spec
            .regex
            .captures_read(&mut self.locs, line)
            .is_none()
        {
            return Ok(None);
        }
        let (spec, locs) = (&*self.spec.fields, &self.locs);
        let text = |g: Option<usize>| -> Result<Option<&str>, ParseError> {
            let Some((s, e)) = g.and_then(|g| locs.get(g)) else {
                return Ok(None);
            };
            let b = line.get(s..e).unwrap_or_default();
            let t = std::str::from_utf8(b)
                .map_err(|_| err(UnparsedReason::InvalidUtf8, "UTF-8 captured fields"))?
                .trim();
            Ok((!t.is_empty()).then_some(t))
        };
        let action = match text(spec.groups.action)? {
            Some(w) => match spec.action_map.get(w) {
                Some(a) => *a,
                None => return Ok(None),
            },
            None => spec.action,
        };
        let time = text(Some(spec.groups.time))?.ok_or(err(
            UnparsedReason::BadTimestamp,
            "a non-empty time capture",
        ))?;
        let cx = TimeCtx {
            zone: spec.zone.unwrap_or(self.opts.zone),
            year: self.opts.year,
            now: self.opts.now,
        };
        let timestamp = mapping::parse_time_text(time, &spec.time_format, cx).ok_or(err(
            UnparsedReason::BadTimestamp,
            "a time in the declared time_format",
        ))?;
        let outcome = match text(spec.groups.outcome)? {
            Some(w) => *spec.outcome_map.get(w).ok_or(err(
                UnparsedReason::BadValue,
                "an outcome word in outcome_map",
            ))?,
            None => spec
                .outcome
                .ok_or(err(UnparsedReason::WrongShape, "an outcome capture"))?,
        };
        let mut ev = AuthEvent::new(timestamp, action, outcome);
        if outcome == Outcome::Failure {
            ev.reason = text(spec.groups.reason)?
                .map(|w| spec.reason_map.get(w).copied().unwrap_or(Reason::Other));
        }
        ev.source_ip = text(spec.groups.ip)?.and_then(mapping::parse_ip);
        ev.source_port = text(spec.groups.port)?
            .and_then(mapping::parse_port)
            .filter(|p| *p != 0);
        let user = text(spec.groups.user)?;
        let host = text(spec.groups.host)?;
        let service = text(spec.groups.service)?;
        let method = text(spec.groups.method)?;
        let user_agent = text(spec.groups.user_agent)?;
        let device = text(spec.groups.device)?;
        let names = &mut self.names;
        ev.user = user.map(|s| names.intern(s));
        ev.host = host.map(|s| names.intern(s));
        ev.service = service
            .map(|s| names.intern(s))
            .or_else(|| spec.service.clone());
        ev.method = method.map(|s| match Method::from_log(s) {
            Method::Other(o) => Method::Other(names.intern(&o)),
            m => m,
        });
        ev.user_agent = user_agent.map(|s| names.intern(s));
        ev.device_id = device.map(|s| names.intern(s));
        ev.log_path = Some(self.ctx.path.clone());
        ev.log_offset = Some(offset);
        Ok(Some(ev))
    }
}

//! The sshd parser cut in two for `replay --threads`: the stateless half of a
//! line (syslog header, year inference, message classification, the address
//! read) on any thread, the stateful half (the per-pid correlation, interning,
//! the event) on one thread, in file order.
//!
//! Why the cut is here: the correlation table is direct-mapped and keyed by
//! pid, so what a line means can depend on any earlier line of the file (a
//! connection open for an hour, a slot another pid overwrote). A chunk parsed
//! from an empty table would be wrong near its start, and no amount of
//! look-back bounds that exactly. Everything before the correlation depends
//! on the line and the options alone (`--year`, `--tz` and the clock for the
//! year of BSD timestamps, applied per line), which is over half of the
//! parser's work (bench/PROFILE.md): that half runs in parallel, and the
//! correlation sees exactly the lines, in exactly the order, one thread gives.
//!
//! A [`Staged`] line owns no text: its fields are spans of the chunk's text
//! (which travels with it), so a line costs no allocation, and the
//! correlation borrows them back as the `&str` it always had.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::msg::{Attempt, Msg, Prog};
use super::{Pre, SshdParser, stage};
use crate::event::{AuthEvent, Reason, RefusedBy};
use crate::parse::syslog::{Header, MinuteCache};
use crate::parse::{ParseError, ParseOptions};

/// A string field of a staged line: a span of the chunk's text, or (for the
/// few fields the classifier fills with a constant) its own copy.
#[derive(Debug, Clone)]
enum Field {
    At(u32, u32),
    Own(Box<str>),
}

impl Field {
    /// `s`'s place in `text`, when it is a slice of it.
    fn of(text: &str, s: &str) -> Field {
        let start = (s.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        match (u32::try_from(start), u32::try_from(s.len())) {
            (Ok(a), Ok(n)) if start + s.len() <= text.len() => Field::At(a, n),
            _ => Field::Own(s.into()),
        }
    }

    fn get<'a>(&'a self, text: &'a str) -> &'a str {
        match self {
            Field::At(a, n) => text.get(*a as usize..(*a + *n) as usize).unwrap_or(""),
            Field::Own(s) => s,
        }
    }
}

/// [`Msg`]'s variants, without their attempt.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Failed,
    Accepted,
    InvalidUser,
    PamFailure,
    PamMore,
    PamError,
    Refused,
    Verdict,
    Lockout { refuses: bool },
    TooMany,
    End { preauth: bool },
    Noise,
    ConnectionFrom,
    Address,
    LocalFailure,
    Ignored,
}

/// An [`Attempt`] with its strings as [`Field`]s and its address already read.
#[derive(Debug, Clone)]
struct Att {
    user: Option<Field>,
    host: Option<Field>,
    method: Option<Field>,
    port: Option<u16>,
    invalid: bool,
    reason: Option<Reason>,
    by: Option<RefusedBy>,
    ip: Option<IpAddr>,
}

/// One line after the stateless half of the sshd parser, for
/// [`SshdParser::correlate_staged`].
#[derive(Debug, Clone)]
pub struct Staged {
    timestamp: DateTime<Utc>,
    host: Option<Field>,
    program: Field,
    pid: Option<u32>,
    prog: Prog,
    kind: Kind,
    att: Option<Att>,
}

/// The stateless half of the sshd parser, one per thread.
#[derive(Debug, Clone)]
pub struct Stager {
    opts: ParseOptions,
    minute: MinuteCache,
}

impl Stager {
    /// A stager reading timestamps with `opts` (the same as the parser's).
    pub fn new(opts: ParseOptions) -> Stager {
        Stager {
            opts,
            minute: MinuteCache::default(),
        }
    }

    /// Stages `line`, a slice of `text` (the fields are kept as spans of
    /// `text`). `Ok(None)` for a line that is no concern of the correlation.
    pub fn stage(&mut self, text: &str, line: &str) -> Result<Option<Staged>, ParseError> {
        let Some(Pre { h, prog, m }) = stage(line, &self.opts, &mut self.minute)? else {
            return Ok(None);
        };
        let f = |s: &str| Field::of(text, s);
        let (kind, att) = split(m);
        let att = att.map(|a| Att {
            ip: a.ip(),
            user: a.user.map(f),
            host: a.host.map(f),
            method: a.method.map(f),
            port: a.port,
            invalid: a.invalid,
            reason: a.reason,
            by: a.by,
        });
        Ok(Some(Staged {
            timestamp: h.timestamp,
            host: h.host.map(f),
            program: f(h.program),
            pid: h.pid,
            prog,
            kind,
            att,
        }))
    }
}

impl SshdParser {
    /// The stateless half of this parser, for another thread.
    pub fn stager(&self) -> Stager {
        Stager::new(self.opts.clone())
    }

    /// The stateful half for a line [`Stager::stage`] staged from `text`,
    /// starting at byte `offset` of the file: what [`SshdParser::parse`]
    /// gives for that line, when lines come in file order.
    pub fn correlate_staged(
        &mut self,
        text: &str,
        line: &Staged,
        offset: u64,
    ) -> Option<AuthEvent> {
        let att = line.att.as_ref().map(|a| {
            Attempt {
                user: a.user.as_ref().map(|s| s.get(text)),
                host: a.host.as_ref().map(|s| s.get(text)),
                port: a.port,
                method: a.method.as_ref().map(|s| s.get(text)),
                invalid: a.invalid,
                reason: a.reason,
                by: a.by,
                ..Attempt::default()
            }
            .known_ip(a.ip)
        });
        let pre = Pre {
            h: Header {
                timestamp: line.timestamp,
                host: line.host.as_ref().map(|s| s.get(text)),
                program: line.program.get(text),
                pid: line.pid,
                message: "",
            },
            prog: line.prog,
            m: join(line.kind, att.unwrap_or_default()),
        };
        self.correlate(pre, offset)
    }
}

/// A message as its kind and its attempt.
fn split(m: Msg<'_>) -> (Kind, Option<Attempt<'_>>) {
    let (k, a) = match m {
        Msg::Ignored => return (Kind::Ignored, None),
        Msg::Failed(a) => (Kind::Failed, a),
        Msg::Accepted(a) => (Kind::Accepted, a),
        Msg::InvalidUser(a) => (Kind::InvalidUser, a),
        Msg::PamFailure(a) => (Kind::PamFailure, a),
        Msg::PamMore(a) => (Kind::PamMore, a),
        Msg::PamError(a) => (Kind::PamError, a),
        Msg::Refused(a) => (Kind::Refused, a),
        Msg::Verdict(a) => (Kind::Verdict, a),
        Msg::Lockout { att, refuses } => (Kind::Lockout { refuses }, att),
        Msg::TooMany(a) => (Kind::TooMany, a),
        Msg::End { att, preauth } => (Kind::End { preauth }, att),
        Msg::Noise(a) => (Kind::Noise, a),
        Msg::ConnectionFrom(a) => (Kind::ConnectionFrom, a),
        Msg::Address(a) => (Kind::Address, a),
        Msg::LocalFailure(a) => (Kind::LocalFailure, a),
    };
    (k, Some(a))
}

/// The message [`split`] took apart.
fn join(k: Kind, a: Attempt<'_>) -> Msg<'_> {
    match k {
        Kind::Ignored => Msg::Ignored,
        Kind::Failed => Msg::Failed(a),
        Kind::Accepted => Msg::Accepted(a),
        Kind::InvalidUser => Msg::InvalidUser(a),
        Kind::PamFailure => Msg::PamFailure(a),
        Kind::PamMore => Msg::PamMore(a),
        Kind::PamError => Msg::PamError(a),
        Kind::Refused => Msg::Refused(a),
        Kind::Verdict => Msg::Verdict(a),
        Kind::Lockout { refuses } => Msg::Lockout { att: a, refuses },
        Kind::TooMany => Msg::TooMany(a),
        Kind::End { preauth } => Msg::End { att: a, preauth },
        Kind::Noise => Msg::Noise(a),
        Kind::ConnectionFrom => Msg::ConnectionFrom(a),
        Kind::Address => Msg::Address(a),
        Kind::LocalFailure => Msg::LocalFailure(a),
    }
}

#[cfg(test)]
mod tests;

//! OpenSSH, PAM, su and sudo lines from `auth.log` / `secure`, as typed events.
//!
//! Each line goes through three steps: [`super::syslog`] reads the header,
//! [`msg`] classifies the message, and `correlate`, on the per-connection
//! [`state`], decides whether the line is a new attempt, the echo of one
//! already counted, or a detail that completes a held-back one. Rules
//! downstream count events, so the aim is **one event per attempt**: OpenSSH
//! often logs one attempt on two or three lines of the same pid.
//!
//! The correlation rules are listed in `correlate`'s documentation.
//!
//! PAM modules log with the pid of the process running PAM. For password
//! authentication that is the sshd process itself. For keyboard-interactive,
//! OpenSSH as distributions build it runs PAM in a forked child, so a module's
//! line there carries another pid: its verdict is not merged (it is held on a
//! slot no sshd line visits, then idles out), and sshd's own lines count the
//! attempt as they would without it.
//!
//! The account on su/sudo events is the one whose password failed: the
//! target of `su`, the invoking user of `sudo`.

mod correlate;
mod msg;
pub mod snapshot;
pub mod staged;
mod state;
#[cfg(test)]
mod tests;
mod why;

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::syslog::{self, MinuteCache};
use super::{LineCtx, ParseError, ParseOptions};
use crate::event::{Action, AuthEvent, Method, Name, Outcome, Process, Reason, RefusedBy};
use crate::intern::Interner;
use correlate::{local, sshd};
use msg::{Attempt, Msg, Prog};
use state::{Conn, Table};

/// Parser for syslog-framed sshd, PAM, su and sudo lines.
#[derive(Debug)]
pub struct SshdParser {
    opts: ParseOptions,
    ctx: LineCtx,
    names: Interner,
    minute: MinuteCache,
    conns: Table,
    /// The last host and program names, so the common case skips the interner.
    last_host: Option<Name>,
    last_prog: Option<Name>,
}

/// A user name from the current line or one held from an earlier line.
enum User<'a> {
    Line(&'a str),
    Held(Name),
}

/// What to emit, before names are interned.
struct Out<'a> {
    action: Action,
    outcome: Outcome,
    reason: Option<Reason>,
    by: Option<RefusedBy>,
    user: Option<User<'a>>,
    ip: Option<IpAddr>,
    port: Option<u16>,
    method: Option<&'a str>,
}

impl<'a> Out<'a> {
    fn failure(reason: Reason, att: &Attempt<'a>, conn: &Conn) -> Out<'a> {
        Out {
            action: Action::Login,
            outcome: Outcome::Failure,
            reason: Some(reason),
            by: att.by,
            user: att.user.map(User::Line),
            ip: att.ip().or(conn.ip),
            port: att.port.or(conn.port),
            method: att.method,
        }
    }

    /// The OS locked the account: shaped like Windows 4740 and Okta's
    /// `user.account.lock` (action `lockout`, outcome `success`: the lock
    /// happened), with the connection's address when it is known.
    fn lockout(att: &Attempt<'a>, ip: Option<IpAddr>) -> Out<'a> {
        Out {
            action: Action::Lockout,
            outcome: Outcome::Success,
            reason: None,
            by: None,
            user: att.user.map(User::Line),
            ip,
            port: None,
            method: None,
        }
    }
}

impl SshdParser {
    /// A parser for one file; `opts` gives the year, zone and clock for
    /// year-less timestamps, `ctx` the path stamped on events.
    pub fn new(opts: ParseOptions, ctx: LineCtx) -> SshdParser {
        SshdParser {
            opts,
            ctx,
            names: Interner::default(),
            minute: MinuteCache::default(),
            conns: Table::default(),
            last_host: None,
            last_prog: None,
        }
    }

    /// Parses one line (no line terminator) starting at byte `offset`.
    pub fn parse(&mut self, line: &[u8], offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        // `simdutf8` validates with SIMD (chosen at run time) and is several times
        // faster than `std::str::from_utf8` on these mostly-ASCII lines; its
        // `basic` flavour only says valid or not, which is all this needs.
        match simdutf8::basic::from_utf8(line) {
            Ok(s) => self.parse_str(s, offset),
            Err(_) => {
                // Invalid bytes may hide in a user name to dodge counting, so the
                // line is read with replacement characters rather than dropped.
                // This is the only path that allocates for the line.
                let s = String::from_utf8_lossy(line);
                self.parse_str(&s, offset)
            }
        }
    }

    fn parse_str(&mut self, line: &str, offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        let Some(pre) = stage(line, &self.opts, &mut self.minute)? else {
            return Ok(None);
        };
        Ok(self.correlate(pre, offset))
    }

    /// The stateful half of a line: its connection's slot, the correlation
    /// rules, the event. Lines must come here in file order.
    fn correlate(&mut self, pre: Pre<'_>, offset: u64) -> Option<AuthEvent> {
        let Pre { h, prog, m } = pre;
        let host = h.host.unwrap_or("");
        let out = match prog {
            Prog::Sshd => {
                let conn = match h.pid {
                    Some(pid) => self
                        .conns
                        .get(state::key(u64::from(pid), 0, host), h.timestamp),
                    None => self.conns.get(state::key(0, 3, host), h.timestamp),
                };
                if h.pid.is_none() {
                    // No pid: nothing to correlate with.
                    conn.reset();
                }
                sshd(conn, m, &mut self.names)
            }
            Prog::Su | Prog::Sudo => {
                let kind = if prog == Prog::Su { 1 } else { 2 };
                let id = match (h.pid, &m) {
                    (Some(pid), _) => u64::from(pid),
                    (None, Msg::PamFailure(a) | Msg::LocalFailure(a)) => {
                        state::name_hash(a.user.unwrap_or("")) | (1 << 40)
                    }
                    _ => 0,
                };
                local(self.conns.get(state::key(id, kind, host), h.timestamp), m)
            }
            Prog::Other => match m {
                Msg::PamFailure(att) => {
                    Some(Out::failure(Reason::BadPassword, &att, &Conn::default()))
                }
                Msg::Lockout { att, .. } => Some(Out::lockout(&att, None)),
                _ => None,
            },
        };
        Some(self.event(out?, h.timestamp, h.host, (h.program, h.pid), offset))
    }

    fn event(
        &mut self,
        out: Out<'_>,
        ts: DateTime<Utc>,
        host: Option<&str>,
        (program, pid): (&str, Option<u32>),
        offset: u64,
    ) -> AuthEvent {
        let mut e = AuthEvent::new(ts, out.action, out.outcome);
        e.reason = out.reason;
        e.refused_by = out.by;
        e.user = out.user.map(|u| match u {
            User::Line(s) => self.names.intern(s),
            User::Held(n) => n,
        });
        e.source_ip = out.ip;
        e.source_port = out.port;
        e.method = out.method.map(Method::from_log);
        e.host = host.map(|h| cached(&mut self.last_host, &mut self.names, h));
        let program = cached(&mut self.last_prog, &mut self.names, program);
        e.process = Some(Process {
            name: program.clone(),
            pid,
        });
        e.service = Some(program);
        e.log_path = Some(self.ctx.path.clone());
        e.log_offset = Some(offset);
        e
    }
}

/// A line's stateless half: its header and what its message says, borrowed
/// from it. `None` for a line of another program that says nothing to us.
struct Pre<'a> {
    h: syslog::Header<'a>,
    prog: Prog,
    m: Msg<'a>,
}

/// Reads the header and classifies the message. This depends on nothing but
/// the line and `opts` (the minute cache only saves work), so it may run on
/// any thread and in any order ([`staged`]); everything that depends on
/// earlier lines is in [`SshdParser::correlate`].
fn stage<'a>(
    line: &'a str,
    opts: &ParseOptions,
    minute: &mut MinuteCache,
) -> Result<Option<Pre<'a>>, ParseError> {
    let h = syslog::parse(line, opts, minute)?;
    let prog = Prog::of(h.program);
    let m = msg::classify(prog, h.message);
    if m == Msg::Ignored && prog != Prog::Sshd {
        return Ok(None);
    }
    Ok(Some(Pre { h, prog, m }))
}

/// The interned `s`, reusing `last` when it is the same name as last time.
fn cached(last: &mut Option<Name>, names: &mut Interner, s: &str) -> Name {
    match last {
        Some(n) if &**n == s => n.clone(),
        _ => {
            let n = names.intern(s);
            *last = Some(n.clone());
            n
        }
    }
}

//! OpenSSH, PAM, su and sudo lines from `auth.log` / `secure`, as typed events.
//!
//! Each line goes through three steps: [`super::syslog`] reads the header,
//! [`msg`] classifies the message, and the per-connection [`state`] decides
//! whether the line is a new attempt, the echo of one already counted, or a
//! detail that completes a held-back one. Rules downstream count events, so
//! the aim is **one event per attempt**: OpenSSH often logs one attempt on two
//! or three lines of the same pid.
//!
//! # Correlation rules (per host and sshd pid; a slot idles out after 10 min)
//! * `Connection from H`, or a line whose address differs from the one the pid
//!   had, starts a new connection (pid reuse).
//! * `Failed <method> for ...` is an attempt (`bad_password`, or `unknown_user`
//!   for `invalid user`), except: it is the echo of an `Invalid user`, refusal
//!   or `error: PAM:` line emitted just before (Ok(None)); it completes a held
//!   `pam_unix` failure (one event, with port and method); `Failed none` is
//!   the client asking which methods exist (never counted); `Failed publickey`
//!   for an existing user is not counted, because agents offer every key they
//!   hold and a user with five keys would fail four times on each good login
//!   (fail2ban ignores them too, gh-1263). A connection that then ends in
//!   pre-auth still counts once (below). For an invalid user it is counted.
//! * `pam_unix(sshd:auth): authentication failure` is held, not emitted: the
//!   `Failed ...` line that follows emits it with its port and method, and an
//!   `Accepted` line drops it (a pam_unix failure followed by pam_ldap success
//!   is a good login, fail2ban gh-2070). A connection end flushes it.
//! * `Invalid user`, `User U from H not allowed because ...`, `ROOT LOGIN
//!   REFUSED`, `error: PAM: ... failure for` are attempts, emitted at once.
//! * Summaries are echoes when something was counted on the connection, and
//!   one failure otherwise: `PAM N more authentication failures`,
//!   `maximum authentication attempts exceeded` and `Too many authentication
//!   failures` (`too_many_attempts`), and pre-auth ends (`Connection closed by`,
//!   `Connection reset by`, `Disconnected from`, `Received disconnect` with
//!   `[preauth]` or codes 3/14). A pre-auth end with nothing counted is a client
//!   that gave up during authentication (scanners, rejected keys): reason
//!   `other`, or `unknown_user` for `invalid user`. Ends after a success, or
//!   outside pre-auth, are Ok(None).
//! * Connection-level trouble without credentials (`Did not receive
//!   identification string`, `Bad protocol version`, kex and banner errors,
//!   `Unable to negotiate`, `Timeout before authentication`, `refused connect`)
//!   counts once per connection as a failure with reason `other`: fail2ban's
//!   ddos mode and CrowdSec's ssh-bf count these, and rules that only want
//!   credential guesses can filter on the reason.
//! * A failure whose line has no address (`account is locked`, `Too many
//!   authentication failures for root`, `kex_exchange_identification: ...`) and
//!   whose connection has none yet is held until a later line of the pid gives
//!   the address, then emitted there. If none comes, it is lost.
//! * su and sudo (`pam_unix(su:auth)`, `FAILED SU`, `N incorrect password
//!   attempts`) are keyed by pid, or by account when the line has no pid: the
//!   PAM line counts, the summary is its echo. Other programs' `pam_unix(...:auth)`
//!   failures are emitted as they come, without correlation.
//!
//! The account on su/sudo events is the one whose password failed: the
//! target of `su`, the invoking user of `sudo`.

mod msg;
pub mod snapshot;
mod state;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::syslog::{self, MinuteCache};
use super::{LineCtx, ParseError, ParseOptions};
use crate::event::{Action, AuthEvent, Method, Name, Outcome, Reason};
use crate::intern::Interner;
use msg::{Attempt, Msg, Prog};
use state::{Conn, Pending, Table};

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
    outcome: Outcome,
    reason: Option<Reason>,
    user: Option<User<'a>>,
    ip: Option<IpAddr>,
    port: Option<u16>,
    method: Option<&'a str>,
}

impl<'a> Out<'a> {
    fn failure(reason: Reason, att: &Attempt<'a>, conn: &Conn) -> Out<'a> {
        Out {
            outcome: Outcome::Failure,
            reason: Some(reason),
            user: att.user.map(User::Line),
            ip: att.ip().or(conn.ip),
            port: att.port.or(conn.port),
            method: att.method,
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
        let h = syslog::parse(line, &self.opts, &mut self.minute)?;
        let prog = Prog::of(h.program);
        let m = msg::classify(prog, h.message);
        if m == Msg::Ignored && prog != Prog::Sshd {
            return Ok(None);
        }
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
                _ => None,
            },
        };
        let Some(out) = out else { return Ok(None) };
        Ok(Some(self.event(
            out,
            h.timestamp,
            h.host,
            h.program,
            offset,
        )))
    }

    fn event(
        &mut self,
        out: Out<'_>,
        ts: DateTime<Utc>,
        host: Option<&str>,
        program: &str,
        offset: u64,
    ) -> AuthEvent {
        let mut e = AuthEvent::new(ts, Action::Login, out.outcome);
        e.reason = out.reason;
        e.user = out.user.map(|u| match u {
            User::Line(s) => self.names.intern(s),
            User::Held(n) => n,
        });
        e.source_ip = out.ip;
        e.source_port = out.port;
        e.method = out.method.map(Method::from_log);
        e.host = host.map(|h| cached(&mut self.last_host, &mut self.names, h));
        e.service = Some(cached(&mut self.last_prog, &mut self.names, program));
        e.log_path = Some(self.ctx.path.clone());
        e.log_offset = Some(offset);
        e
    }
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

/// Emits the held failure, completed with what the current line knows.
fn flush<'a>(conn: &mut Conn, att: &Attempt<'a>) -> Option<Out<'a>> {
    let p = conn.pending.take()?;
    conn.counted = conn.counted.saturating_add(1);
    conn.awaiting_failed = false;
    Some(Out {
        outcome: Outcome::Failure,
        reason: Some(p.reason),
        user: p.user.map(User::Held).or(att.user.map(User::Line)),
        ip: p.ip.or(att.ip()).or(conn.ip),
        port: att.port.or(conn.port),
        method: att.method,
    })
}

/// Counts a failure now if the connection's address is known, else holds it.
fn count_or_hold<'a>(
    conn: &mut Conn,
    reason: Reason,
    att: &Attempt<'a>,
    names: &mut Interner,
) -> Option<Out<'a>> {
    // A host name (sshd with UseDNS) is still an address the line gave: emit
    // without an IP rather than wait for one that will not come.
    if att.host.is_some() || conn.ip.is_some() {
        conn.counted = conn.counted.saturating_add(1);
        return Some(Out::failure(reason, att, conn));
    }
    conn.pending = Some(Pending {
        user: att.user.map(|u| names.intern(u)),
        ip: None,
        reason,
    });
    None
}

/// The correlation rules for sshd lines (see the module doc).
fn sshd<'a>(conn: &mut Conn, m: Msg<'a>, names: &mut Interner) -> Option<Out<'a>> {
    let att = match &m {
        Msg::Ignored => return None,
        Msg::Failed(a)
        | Msg::Accepted(a)
        | Msg::InvalidUser(a)
        | Msg::PamFailure(a)
        | Msg::PamMore(a)
        | Msg::PamError(a)
        | Msg::Refused(a)
        | Msg::TooMany(a)
        | Msg::Noise(a)
        | Msg::ConnectionFrom(a)
        | Msg::Address(a)
        | Msg::LocalFailure(a)
        | Msg::End { att: a, .. } => a.clone(),
    };
    if let Some(ip) = att.ip() {
        if conn.ip.is_some_and(|c| c != ip) || matches!(m, Msg::ConnectionFrom(_)) {
            conn.reset();
        }
        conn.ip = Some(ip);
        if att.port.is_some() {
            conn.port = att.port;
        }
    }
    let has_addr = att.host.is_some() || conn.ip.is_some();
    let once = |conn: &mut Conn, reason: Reason, names: &mut Interner| {
        if conn.pending.is_some() {
            // Keep holding until a line gives the address.
            if has_addr { flush(conn, &att) } else { None }
        } else if conn.counted > 0 || conn.success {
            None
        } else {
            count_or_hold(conn, reason, &att, names)
        }
    };
    match m {
        Msg::Ignored | Msg::ConnectionFrom(_) | Msg::Address(_) | Msg::LocalFailure(_) => None,
        Msg::Failed(a) => {
            let method = a.method.unwrap_or("");
            if conn.pending.is_some() {
                let mut out = flush(conn, &a)?;
                out.user = a.user.map(User::Line).or(out.user);
                if a.invalid && out.reason == Some(Reason::BadPassword) {
                    out.reason = Some(Reason::UnknownUser);
                }
                return Some(out);
            }
            if method == "none" || (method == "publickey" && !a.invalid) {
                return None;
            }
            if conn.awaiting_failed {
                conn.awaiting_failed = false;
                return None;
            }
            let reason = if a.invalid {
                Reason::UnknownUser
            } else {
                Reason::BadPassword
            };
            conn.counted = conn.counted.saturating_add(1);
            Some(Out::failure(reason, &a, conn))
        }
        Msg::Accepted(a) => {
            conn.pending = None;
            conn.awaiting_failed = false;
            conn.success = true;
            Some(Out {
                outcome: Outcome::Success,
                reason: None,
                user: a.user.map(User::Line),
                ip: a.ip().or(conn.ip),
                port: a.port.or(conn.port),
                method: a.method,
            })
        }
        Msg::InvalidUser(a) => {
            conn.pending = None;
            conn.counted = conn.counted.saturating_add(1);
            conn.awaiting_failed = true;
            Some(Out::failure(Reason::UnknownUser, &a, conn))
        }
        Msg::PamFailure(a) => {
            if !conn.awaiting_failed && conn.pending.is_none() {
                conn.pending = Some(Pending {
                    user: a.user.map(|u| names.intern(u)),
                    ip: a.ip(),
                    reason: Reason::BadPassword,
                });
            }
            None
        }
        Msg::PamError(a) | Msg::Refused(a) => {
            conn.pending = None;
            let reason = a.reason.unwrap_or(Reason::Other);
            let out = count_or_hold(conn, reason, &a, names);
            conn.awaiting_failed = true;
            out
        }
        Msg::PamMore(_) => once(conn, Reason::BadPassword, names),
        Msg::TooMany(_) => once(conn, Reason::TooManyAttempts, names),
        Msg::Noise(_) => once(conn, Reason::Other, names),
        Msg::End { att: a, preauth } => {
            if conn.pending.is_some() && has_addr {
                return flush(conn, &a);
            }
            if !preauth {
                return None;
            }
            once(
                conn,
                if a.invalid {
                    Reason::UnknownUser
                } else {
                    Reason::Other
                },
                names,
            )
        }
    }
}

/// su / sudo: the PAM failure counts; `FAILED SU` / `incorrect password
/// attempts` is its echo, or one failure when no PAM line was seen.
fn local<'a>(conn: &mut Conn, m: Msg<'a>) -> Option<Out<'a>> {
    match m {
        Msg::PamFailure(a) => {
            conn.counted = conn.counted.saturating_add(1);
            Some(Out::failure(Reason::BadPassword, &a, &Conn::default()))
        }
        Msg::LocalFailure(a) => {
            if conn.counted > 0 {
                conn.counted = 0;
                None
            } else {
                Some(Out::failure(Reason::BadPassword, &a, &Conn::default()))
            }
        }
        _ => None,
    }
}

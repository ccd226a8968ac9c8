//! Classifies one sshd / PAM / su / sudo message into a [`Msg`], borrowing from it.
//!
//! This is the per-line half of the sshd parser: it knows the wording of each
//! message but nothing about other lines (correlation lives in `correlate`). It
//! dispatches on the first bytes with `starts_with` and cuts fields with
//! `find`/`rfind`, without a regex and without allocating.
//!
//! User names are attacker-chosen and may contain spaces, ` from `, or text that
//! looks like the rest of the message (fail2ban's injection tests). Every field
//! cut therefore anchors on the part sshd itself writes: `from HOST port N ssh2`
//! must be followed by the end, `: ` (auth info) or ` [preauth]`; `USER HOST port
//! N` lines are cut from the right.

use std::cell::Cell;
use std::net::IpAddr;

use crate::event::{Reason, RefusedBy};

mod conn;
mod find;
mod pam;
mod verdict;

use conn::{
    connection, disconnect, max_attempts, noise_from, rare, received, server_audit, unable,
};
use find::{FOR, FROM};

use pam::{pam_error, pam_module, pam_more, pam_unix, su, sudo};
use verdict::{not_allowed, root_refused, verification_code};

/// What a message says, with its fields borrowed from the line.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<'a> {
    /// `Failed <method> for [invalid user] U from H port P ssh2`.
    Failed(Attempt<'a>),
    /// `Accepted <method> for U from H port P ssh2`.
    Accepted(Attempt<'a>),
    /// `Invalid user U from H [port P]` / `Illegal user ...`.
    InvalidUser(Attempt<'a>),
    /// `pam_unix(svc:auth): authentication failure; ... rhost=H user=U`.
    PamFailure(Attempt<'a>),
    /// `PAM N more authentication failures; ...`: a summary of logged failures.
    PamMore(Attempt<'a>),
    /// `error: PAM: Authentication failure for U from H`: the PAM stack's verdict.
    PamError(Attempt<'a>),
    /// sshd's refusal of the user, with its reason and directive: `User U
    /// [from H] not allowed because ...`, `ROOT LOGIN REFUSED`.
    Refused(Attempt<'a>),
    /// A verdict on the attempt under way, with its reason, that does not end
    /// it by itself: an expired password or account, an inactive account, a
    /// wrong or missing MFA code, an attempt on an OS-locked account. sshd's
    /// `Accepted`, `Failed` or end line of the pid decides what it was.
    Verdict(Attempt<'a>),
    /// The OS locked the account (`pam_faillock`, `pam_tally2`): an event of
    /// its own beside the attempt's failure. `refuses`: the line also refuses
    /// the attempt under way (pam_tally2 logs when it denies).
    Lockout { att: Attempt<'a>, refuses: bool },
    /// `maximum authentication attempts exceeded` / `Too many authentication failures`.
    TooMany(Attempt<'a>),
    /// The connection ended (`Connection closed by`, `Disconnected from`,
    /// `Received disconnect`, `Connection reset by`); `preauth` when before login.
    End { att: Attempt<'a>, preauth: bool },
    /// Connection-level trouble with no credential involved (scanners, kex
    /// failures, timeouts, refused connects).
    Noise(Attempt<'a>),
    /// `Connection from H port P`: the start of a connection.
    ConnectionFrom(Attempt<'a>),
    /// A line that only tells the client address (`SSH: Server;...;Remote: H-P`).
    Address(Attempt<'a>),
    /// `su: FAILED SU (to T) U on tty`, `sudo: U : N incorrect password attempts`.
    LocalFailure(Attempt<'a>),
    /// Anything else (session opened/closed, kex noise, other programs).
    Ignored,
}

/// The fields an attempt line may carry.
#[derive(Debug, Clone, Default)]
pub struct Attempt<'a> {
    pub user: Option<&'a str>,
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    pub method: Option<&'a str>,
    /// `invalid user` / `illegal user`: the account does not exist.
    pub invalid: bool,
    pub reason: Option<Reason>,
    /// The directive or account state that refused the user, when named.
    pub by: Option<RefusedBy>,
    /// `host` read as an address, once: the correlation asks for it up to
    /// three times a line, and parsing it was 5.2% of replay's instructions
    /// (bench/PROFILE.md). Not part of what the attempt says (`PartialEq`).
    pub(super) ip_memo: Cell<Option<Option<IpAddr>>>,
}

impl PartialEq for Attempt<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.user == o.user
            && self.host == o.host
            && self.port == o.port
            && self.method == o.method
            && self.invalid == o.invalid
            && self.reason == o.reason
            && self.by == o.by
    }
}

impl Attempt<'_> {
    /// The address [`Attempt::ip`] read on another thread (see
    /// `super::staged`), so it is not read again.
    pub fn known_ip(self, ip: Option<IpAddr>) -> Self {
        self.ip_memo.set(Some(ip));
        self
    }

    /// The host as an address, when it is one (v4-mapped v6 reads as v4).
    /// Names (sshd with UseDNS) and oddities like `192.030.0.6` give `None`.
    pub fn ip(&self) -> Option<IpAddr> {
        if let Some(ip) = self.ip_memo.get() {
            return ip;
        }
        let ip = self.host.and_then(parse_ip);
        self.ip_memo.set(Some(ip));
        ip
    }
}

/// An address from text without allocating; `::ffff:a.b.c.d` becomes `a.b.c.d`.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Some(v4) = dotted_quad(s.as_bytes()) {
        return Some(IpAddr::from(v4));
    }
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The common case of [`parse_ip`], several times faster than the general
/// parser: four decimal octets without leading zeros. It accepts only what
/// `IpAddr::from_str` accepts with the same value; anything else (v6,
/// names, `192.030.0.6`) is left to the general parser.
fn dotted_quad(b: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut i = 0;
    for (n, slot) in out.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            v = v * 10 + u32::from(c - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        let len = i - start;
        if len == 0 || (len > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        *slot = u8::try_from(v).ok()?;
    }
    (i == b.len()).then_some(out)
}

/// The kind of program a line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prog {
    Sshd,
    Su,
    Sudo,
    /// Any other program: only its PAM auth failures are read.
    Other,
}

impl Prog {
    /// Classifies a syslog program name. `sshd(pam_google_authenticator)` is a
    /// PAM module inside sshd naming itself after the PAM service: its lines
    /// belong to the sshd process whose pid they carry.
    pub fn of(program: &str) -> Prog {
        match program {
            "sshd" | "sshd-session" | "sshd-auth" => Prog::Sshd,
            "su" => Prog::Su,
            "sudo" => Prog::Sudo,
            p if p.starts_with("sshd(") && p.ends_with(')') => Prog::Sshd,
            _ => Prog::Other,
        }
    }
}

/// Classifies `msg` written by a program of kind `prog`.
pub fn classify(prog: Prog, msg: &str) -> Msg<'_> {
    // PAM lines look the same whichever program wrote them.
    if let Some(r) = msg.strip_prefix("pam_") {
        if r.starts_with("unix(") || r.starts_with("unix: ") {
            return pam_unix(msg);
        }
        // Other modules' lines not read there still get the program's own
        // wordings (an expiry notice, say).
        let m = pam_module(msg);
        if m != Msg::Ignored {
            return m;
        }
    }
    if msg.starts_with("(pam_unix)") {
        return pam_unix(msg);
    }
    match prog {
        Prog::Sshd => sshd(msg),
        Prog::Su => su(msg),
        Prog::Sudo => sudo(msg),
        Prog::Other => Msg::Ignored,
    }
}

fn sshd(msg: &str) -> Msg<'_> {
    // Solaris writes `[ID 800047 auth.info] ` before the message.
    let mut m = msg;
    if m.starts_with("[ID ")
        && let Some(i) = m.find("] ")
    {
        m = m.get(i + 2..).unwrap_or("");
    }
    // rsyslog de-duplication: the repeated message is inside the brackets.
    if let Some(r) = m.strip_prefix("message repeated ")
        && let Some(inner) = r.find("times: [ ").and_then(|i| r.get(i + 9..))
    {
        m = inner.strip_suffix(']').unwrap_or(inner);
    }
    let m = m
        .strip_prefix("error: ")
        .or_else(|| m.strip_prefix("fatal: "))
        .unwrap_or(m);
    let first = m.as_bytes().first().copied().unwrap_or(0);
    let r = match first {
        b'F' => attempt_line(m, "Failed ").map(Msg::Failed),
        b'A' => attempt_line(m, "Accepted ").map(Msg::Accepted),
        b'I' | b'i' => invalid_user(m).or_else(|| verification_code(m)),
        b'C' => connection(m),
        b'D' => disconnect(m).or_else(|| verification_code(m)),
        b'R' => received(m).or_else(|| root_refused(m)),
        b'P' => pam_more(m).or_else(|| pam_error(m)),
        b'U' => not_allowed(m).or_else(|| unable(m)),
        b'm' => max_attempts(m),
        b'M' => noise_from(m, "Magic value check failed"),
        b'S' => server_audit(m),
        _ => None,
    };
    r.or_else(|| rare(m)).unwrap_or(Msg::Ignored)
}

/// Reads `HOST[ port P][ ssh2]` at the start of `s`; returns the attempt
/// fields and what follows.
fn host_port(s: &str) -> (Attempt<'_>, &str) {
    let end = memchr::memchr(b' ', s.as_bytes()).unwrap_or(s.len());
    let host = s.get(..end).unwrap_or("");
    let host = host.strip_suffix(':').unwrap_or(host);
    let host = host.strip_suffix(',').unwrap_or(host);
    let mut rest = s.get(end..).unwrap_or("");
    let mut port = None;
    if let Some(r) = rest.strip_prefix(" port ") {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        port = r.get(..n).and_then(|d| d.parse::<u16>().ok());
        rest = r.get(n..).unwrap_or("");
    }
    for proto in [" ssh2", " ssh1"] {
        if let Some(r) = rest.strip_prefix(proto) {
            rest = r;
        }
    }
    let att = Attempt {
        host: (!host.is_empty()).then_some(host),
        port,
        ..Attempt::default()
    };
    (att, rest)
}

/// True when what follows `from HOST port P ssh2` is something sshd writes.
fn tail_ok(rest: &str) -> bool {
    rest.is_empty()
        || rest.starts_with(": ")
        || rest.starts_with(':')
        || rest.starts_with(" [preauth]")
        || rest.starts_with(" via ")
        || rest == " "
}

/// `U from HOST port P ssh2...`: the first ` from ` whose tail reads correctly,
/// so a user name containing ` from X port N ssh2` cannot move the address.
fn user_from(s: &str) -> Option<(&str, Attempt<'_>)> {
    let mut at = 0;
    while let Some(i) = s.get(at..).and_then(|r| FROM.find(r)) {
        let i = at + i;
        let (att, rest) = host_port(s.get(i + 6..)?);
        if att.host.is_some() && tail_ok(rest) {
            return Some((s.get(..i)?, att));
        }
        at = i + 1;
    }
    None
}

/// `invalid user U` / `illegal user U` / `user U` prefixes of a user field.
fn strip_invalid(u: &str) -> (&str, bool) {
    for p in ["invalid user ", "illegal user "] {
        if let Some(r) = u.strip_prefix(p) {
            return (r, true);
        }
    }
    if u == "invalid user" {
        return ("", true);
    }
    (u, false)
}

/// `Failed|Accepted <method> for [invalid user] U from H port P ssh2[: info]`.
fn attempt_line<'a>(m: &'a str, verb: &str) -> Option<Attempt<'a>> {
    let r = m.strip_prefix(verb)?;
    let sp = FOR.find(r)?;
    let method = r.get(..sp)?;
    if method.contains(' ') {
        return None;
    }
    let (user, mut att) = user_from(r.get(sp + 5..)?)?;
    let (user, invalid) = strip_invalid(user);
    // Solaris writes `<invalid username>` instead of a name.
    if user == "<invalid username>" {
        att.invalid = true;
    } else {
        att.user = Some(user);
        att.invalid = invalid;
    }
    att.method = Some(method);
    Some(att)
}

fn invalid_user(m: &str) -> Option<Msg<'_>> {
    let r = m
        .strip_prefix("Invalid user ")
        .or_else(|| m.strip_prefix("Illegal user "))?;
    let (user, mut att) = user_from(r)?;
    att.user = Some(user);
    att.invalid = true;
    Some(Msg::InvalidUser(att))
}

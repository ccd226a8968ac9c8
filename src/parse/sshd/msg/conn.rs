//! Connection-level messages of sshd: a connection opening, its ends and
//! disconnects (which close an attempt in pre-auth), `maximum authentication
//! attempts`, and the noise a client makes without credentials (banners,
//! key exchange, scanners). Split from the parent module's attempt lines;
//! they share its field cutters.

use super::find::{FROM, PORT};
use super::verdict::expired;
use super::{Attempt, Msg, host_port, strip_invalid, user_from};
use crate::event::Reason;

/// Messages seen rarely: scanned only when the common prefixes did not match.
pub(super) fn rare(m: &str) -> Option<Msg<'_>> {
    let noise_prefix = [
        "Did not receive identification string",
        "Bad protocol version identification",
        "banner exchange: ",
        "ssh_dispatch_run_fatal: ",
        "Timeout before authentication",
        "refused connect from ",
    ];
    if noise_prefix.iter().any(|p| m.starts_with(p)) {
        if let Some(r) = m.strip_prefix("refused connect from ") {
            // `refused connect from NAME (IP)`: the address is in the parentheses.
            let host = r
                .rfind('(')
                .and_then(|i| r.get(i + 1..))
                .and_then(|h| h.strip_suffix(')'));
            return Some(Msg::Noise(Attempt {
                host,
                ..Attempt::default()
            }));
        }
        let mut att = m
            .rfind(" from ")
            .and_then(|i| m.get(i + 6..))
            .or_else(|| m.strip_prefix("Timeout before authentication for "))
            .map(|r| host_port(r).0)
            .unwrap_or_default();
        att.reason = Some(Reason::Other);
        return Some(Msg::Noise(att));
    }
    if m.starts_with("kex_exchange_identification: ")
        || m.starts_with("no matching ")
        || m.starts_with("Read from socket failed")
        || m.starts_with("Write failed: Connection reset")
    {
        return Some(Msg::Noise(Attempt::default()));
    }
    expired(m)
}

/// Cuts `[invalid user|authenticating user|user] U HOST port P` from the right.
fn user_host_port(s: &str) -> Option<Attempt<'_>> {
    let s = s.trim_end();
    let s = s.strip_suffix("[preauth]").unwrap_or(s).trim_end();
    let (head, port) = match PORT.rfind(s) {
        Some(i) => (s.get(..i)?, s.get(i + 6..)?.parse::<u16>().ok()),
        None => (s, None),
    };
    let (userpart, host) = match head.rfind(' ') {
        Some(i) => (Some(head.get(..i)?), head.get(i + 1..)?),
        None => (None, head),
    };
    let mut att = Attempt {
        host: Some(host),
        port,
        ..Attempt::default()
    };
    if let Some(u) = userpart {
        if let Some(r) = u.strip_prefix("authenticating user ") {
            att.user = Some(r);
        } else if let Some(r) = u.strip_prefix("invalid user ") {
            att.user = Some(r);
            att.invalid = true;
        } else if let Some(r) = u.strip_prefix("user ") {
            att.user = Some(r);
        } else {
            // Unknown qualifier (`totobad user ftp`): not a form sshd writes.
            return None;
        }
    }
    Some(att)
}

pub(super) fn connection(m: &str) -> Option<Msg<'_>> {
    let preauth = m.ends_with("[preauth]");
    for p in ["Connection closed by ", "Connection reset by "] {
        if let Some(r) = m.strip_prefix(p) {
            return user_host_port(r).map(|att| Msg::End { att, preauth });
        }
    }
    let r = m.strip_prefix("Connection from ")?;
    Some(Msg::ConnectionFrom(host_port(r).0))
}

pub(super) fn disconnect(m: &str) -> Option<Msg<'_>> {
    if let Some(r) = m.strip_prefix("Disconnected from ") {
        let preauth = r.ends_with("[preauth]");
        return user_host_port(r).map(|att| Msg::End { att, preauth });
    }
    if let Some(r) = m.strip_prefix("Disconnecting: Too many authentication failures") {
        // `... for U [preauth]` (old) or no user at all.
        let user = r
            .strip_prefix(" for ")
            .map(|u| u.strip_suffix(" [preauth]").unwrap_or(u))
            .map(|u| strip_invalid(u).0);
        return Some(Msg::TooMany(Attempt {
            user,
            reason: Some(Reason::TooManyAttempts),
            ..Attempt::default()
        }));
    }
    // `Disconnecting [invalid|authenticating] user U H port P: <why> [preauth]`.
    let r = m.strip_prefix("Disconnecting ")?;
    let colon = find_port_colon(r)?;
    let why = r.get(colon + 2..)?;
    let mut att = user_host_port(r.get(..colon)?)?;
    if why.starts_with("Too many authentication failures") {
        att.reason = Some(Reason::TooManyAttempts);
        return Some(Msg::TooMany(att));
    }
    Some(Msg::End { att, preauth: true })
}

/// Position of the `:` in the first ` port N: ` of `s`.
fn find_port_colon(s: &str) -> Option<usize> {
    let mut at = 0;
    while let Some(i) = s.get(at..).and_then(|r| PORT.find(r)) {
        let i = at + i + 6;
        let n = s.get(i..)?.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 && s.get(i + n..)?.starts_with(": ") {
            return Some(i + n);
        }
        at = i;
    }
    None
}

/// `Received disconnect from H[ port P]:[ ]CODE: text [preauth]`. Codes 3
/// (auth failed, as JSch sends) and 14 (no usable auth method) end an attempt
/// like `[preauth]` does.
pub(super) fn received(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("Received disconnect from ")?;
    let (att, rest) = host_port(r);
    let rest = rest.trim_start_matches(':').trim_start();
    let code = rest
        .get(..rest.bytes().take_while(u8::is_ascii_digit).count())
        .unwrap_or("");
    let preauth = m.ends_with("[preauth]") || code == "3" || code == "14";
    Some(Msg::End { att, preauth })
}

/// `Unable to negotiate with H port P: ...` and `Unable to negotiate a key exchange method`.
pub(super) fn unable(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("Unable to negotiate")?;
    let att = r
        .strip_prefix(" with ")
        .map(|h| host_port(h).0)
        .unwrap_or_default();
    Some(Msg::Noise(att))
}

/// `maximum authentication attempts exceeded for [invalid user] U from H port P ssh2`.
pub(super) fn max_attempts(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("maximum authentication attempts exceeded for ")?;
    let (user, mut att) = user_from(r)?;
    let (user, invalid) = strip_invalid(user);
    att.user = Some(user);
    att.invalid = invalid;
    att.reason = Some(Reason::TooManyAttempts);
    Some(Msg::TooMany(att))
}

/// `<prefix> ... from H port P`: the last ` from ` carries the address.
pub(super) fn noise_from<'a>(m: &'a str, prefix: &str) -> Option<Msg<'a>> {
    if !m.starts_with(prefix) {
        return None;
    }
    let i = FROM.rfind(m)?;
    Some(Msg::Noise(host_port(m.get(i + 6..)?).0))
}

/// `SSH: Server;Ltype: Version;Remote: H-P;...`, a vendor audit format: the
/// `Version` record opens a connection, the others only give its address.
pub(super) fn server_audit(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("SSH: Server;Ltype: ")?;
    let remote = r.find(";Remote: ").and_then(|i| r.get(i + 9..))?;
    let remote = remote.get(..remote.find(';').unwrap_or(remote.len()))?;
    let dash = remote.rfind('-')?;
    let att = Attempt {
        host: remote.get(..dash),
        port: remote.get(dash + 1..).and_then(|p| p.parse().ok()),
        ..Attempt::default()
    };
    Some(if r.starts_with("Version;") {
        Msg::ConnectionFrom(att)
    } else {
        Msg::Address(att)
    })
}

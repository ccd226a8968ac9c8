//! What one classified line means on its connection: a new attempt, the echo
//! of one already counted, or a detail held back to complete one. The
//! per-connection half of the sshd parser, applied to each [`Msg`] with its
//! pid's slot.
//!
//! # Correlation rules (per host and sshd pid; a slot idles out after 10 min)
//! * `Connection from H`, or a line whose address differs from the one the pid
//!   had, starts a new connection (pid reuse).
//! * `Failed <method> for ...` is an attempt (`bad_password`, or `unknown_user`
//!   for `invalid user`), except: it is the echo of an `Invalid user`, refusal
//!   or `error: PAM:` line emitted just before (Ok(None)); it completes a held
//!   `pam_unix` failure or verdict (one event, with port and method); on a
//!   connection whose user sshd refused, `invalid user` is that refusal again
//!   (its reason and directive), not an unknown user; `Failed none` is
//!   the client asking which methods exist (never counted); `Failed publickey`
//!   for an existing user is not counted, because agents offer every key they
//!   hold and a user with five keys would fail four times on each good login
//!   (fail2ban ignores them too, gh-1263). A connection that then ends in
//!   pre-auth still counts once (below). For an invalid user it is counted.
//! * `pam_unix(sshd:auth): authentication failure` is held, not emitted: the
//!   `Failed ...` line that follows emits it with its port and method, and an
//!   `Accepted` line drops it (a pam_unix failure followed by pam_ldap success
//!   is a good login, fail2ban gh-2070). A connection end flushes it.
//! * Verdicts of other lines on the attempt under way are held the same way,
//!   until the pid's `Failed`, `error: PAM:`, `Accepted` or end line decides:
//!   `pam_unix(sshd:account)` expired passwords (`expired_password`) and
//!   accounts (`expired_account`), sshd's own shadow-file expiry lines,
//!   `pam_lastlog` inactivity (`inactive`), `sshd(pam_google_authenticator)`
//!   wrong or missing codes (`mfa_failed`), pam_tally2 denials (`locked`). The
//!   deciding line gives one failure with the verdict's reason, except
//!   `Accepted`: an expired password does not stop sshd (the user must change
//!   it before the shell starts), so the success carries `expired_password`;
//!   other verdicts are dropped there. A verdict replaces a held pam_unix
//!   failure, and a denial replaces an expired password; otherwise the first stands.
//! * `Invalid user`, `User U from H not allowed because ...`, `ROOT LOGIN
//!   REFUSED`, `error: PAM: ... failure for` are attempts, emitted at once,
//!   unless a verdict is held: it names the cause better (`inactive` before
//!   `PAM: User account has expired`) and is emitted in their place.
//! * `pam_faillock`'s `account temporarily locked`, and pam_tally2's first
//!   denial, are the OS locking the account: an extra event (action `lockout`,
//!   outcome `success`, as Windows 4740), with the pid's address when known.
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
//!   failures, and any program's `pam_faillock`/`pam_tally2` locks, are emitted
//!   as they come, without correlation.

use super::msg::{Attempt, Msg};
use super::state::{Conn, Pending, Refusal};
use super::{Out, User};
use crate::event::{Action, Outcome, Reason, RefusedBy};
use crate::intern::Interner;

/// Emits the held failure, completed with what the current line knows.
fn flush<'a>(conn: &mut Conn, att: &Attempt<'a>) -> Option<Out<'a>> {
    let p = conn.pending.take()?;
    conn.counted = conn.counted.saturating_add(1);
    conn.awaiting_failed = false;
    Some(Out {
        action: Action::Login,
        outcome: Outcome::Failure,
        reason: Some(p.reason),
        by: p.by,
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
        by: att.by,
    });
    None
}

/// How much a held verdict says: pam_unix's plain auth failure least, an
/// expired password next (alone it lets the login through), then the rest.
fn weight(r: Reason) -> u8 {
    match r {
        Reason::BadPassword => 0,
        Reason::ExpiredPassword => 1,
        _ => 2,
    }
}

/// Holds a module's verdict on the attempt under way until sshd's line for
/// it decides. It replaces a held verdict that says less (see [`weight`]);
/// of two that say as much, the first stands.
fn hold(conn: &mut Conn, att: &Attempt<'_>, names: &mut Interner) {
    let reason = att.reason.unwrap_or(Reason::Other);
    if conn
        .pending
        .as_ref()
        .is_some_and(|p| weight(p.reason) >= weight(reason))
    {
        return;
    }
    let prev = conn.pending.take();
    conn.pending = Some(Pending {
        user: att
            .user
            .map(|u| names.intern(u))
            .or_else(|| prev.as_ref().and_then(|p| p.user.clone())),
        ip: att.ip().or(prev.and_then(|p| p.ip)),
        reason,
        by: att.by,
    });
}

/// The reason of a failure for an invalid user: the connection's refusal when
/// sshd refused the user (it then calls the user invalid), else unknown user.
fn invalid_reason(conn: &Conn) -> (Reason, Option<RefusedBy>) {
    match conn.refusal {
        Some(r) => (r.reason, r.by),
        None => (Reason::UnknownUser, None),
    }
}

/// The correlation rules for sshd lines (see the module doc).
pub(super) fn sshd<'a>(conn: &mut Conn, m: Msg<'a>, names: &mut Interner) -> Option<Out<'a>> {
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
        | Msg::Verdict(a)
        | Msg::Lockout { att: a, .. }
        | Msg::End { att: a, .. } => a,
    };
    // Read the address in `m`'s own attempt before the copy, so the arms
    // below (which take `m` apart) find it parsed (`Attempt::ip`).
    let ip = att.ip();
    let att = att.clone();
    if let Some(ip) = ip {
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
                    let (reason, by) = invalid_reason(conn);
                    (out.reason, out.by) = (Some(reason), by);
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
            let (reason, by) = if a.invalid {
                invalid_reason(conn)
            } else {
                (Reason::BadPassword, None)
            };
            conn.counted = conn.counted.saturating_add(1);
            let mut out = Out::failure(reason, &a, conn);
            out.by = by;
            Some(out)
        }
        Msg::Accepted(a) => {
            // sshd lets a user whose password expired in, and makes them change
            // it before the shell starts: the success carries the reason. Any
            // other held verdict was overruled by the PAM stack's success.
            let reason = conn
                .pending
                .take()
                .map(|p| p.reason)
                .filter(|r| *r == Reason::ExpiredPassword);
            conn.awaiting_failed = false;
            conn.success = true;
            Some(Out {
                action: Action::Login,
                outcome: Outcome::Success,
                reason,
                by: None,
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
                    by: None,
                });
            }
            None
        }
        Msg::Verdict(a) => {
            // After a success, or once the attempt was counted, there is no
            // attempt left for it to explain.
            if !conn.success && !conn.awaiting_failed {
                hold(conn, &a, names);
            }
            None
        }
        Msg::Lockout { att: a, refuses } => {
            if refuses && !conn.success && !conn.awaiting_failed {
                hold(conn, &a, names);
            }
            Some(Out::lockout(&a, conn.ip))
        }
        Msg::PamError(a) | Msg::Refused(a) => {
            let (out, refusal) = match conn.pending.as_ref() {
                // A held verdict names the cause better than sshd's line after
                // it (`inactive` before `PAM: User account has expired`,
                // `Account U has expired` before `account is locked`); pam_unix's
                // plain failure does not.
                Some(p) if p.reason != Reason::BadPassword => {
                    let refusal = Refusal {
                        reason: p.reason,
                        by: p.by,
                    };
                    (if has_addr { flush(conn, &a) } else { None }, refusal)
                }
                _ => {
                    conn.pending = None;
                    let reason = a.reason.unwrap_or(Reason::Other);
                    let refusal = Refusal { reason, by: a.by };
                    (count_or_hold(conn, reason, &a, names), refusal)
                }
            };
            conn.awaiting_failed = true;
            if a.by.is_some_and(RefusedBy::invalidates_user) {
                conn.refusal = Some(refusal);
            }
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
pub(super) fn local<'a>(conn: &mut Conn, m: Msg<'a>) -> Option<Out<'a>> {
    match m {
        Msg::PamFailure(a) => {
            conn.counted = conn.counted.saturating_add(1);
            Some(Out::failure(Reason::BadPassword, &a, &Conn::default()))
        }
        Msg::Lockout { att, .. } => Some(Out::lockout(&att, None)),
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

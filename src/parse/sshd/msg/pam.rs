//! PAM, su and sudo messages: the `pam_unix(...)` failure lines any PAM-using
//! program writes, the account verdicts and locks of other PAM modules
//! (`pam_lastlog`, `pam_faillock`, `pam_tally2`), sshd's own `PAM ...`
//! summaries, and the su/sudo failure lines. Split from the sshd wording in the
//! parent module; both share its field cutters.

use super::find::{
    ACCOUNT, COLON_SP, FOR, MORE, PAREN_SP, PASSWORD, RHOST, RUSER, SESSION, USER_EQ,
};
use super::{Attempt, Msg, strip_invalid, user_from};
use crate::event::Reason;

/// `PAM N more authentication failure[s]; logname= ... rhost=H  user=U`.
pub(super) fn pam_more(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("PAM ")?;
    let i = MORE.find(r)?;
    if !r.get(..i)?.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Msg::PamMore(pam_fields(r.get(i..)?)))
}

/// `PAM: Authentication failure for [illegal user] U from H[ via X]` and the
/// `authentication error` / `User not known ...` variants (BSD, macOS).
pub(super) fn pam_error(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("PAM: ")?;
    let f = FOR.find(r)?;
    let unknown = r.starts_with("User not known");
    let (user, mut att) = user_from(r.get(f + 5..)?)?;
    let (user, invalid) = strip_invalid(user);
    att.user = Some(user);
    att.invalid = invalid || unknown;
    att.reason = Some(if att.invalid {
        Reason::UnknownUser
    } else if r.starts_with("User account has expired") {
        // PAM_ACCT_EXPIRED. With keyboard-interactive sshd reports every
        // account-phase refusal this way; a module's own line before it (held
        // as a verdict) says which, and wins.
        Reason::ExpiredAccount
    } else {
        Reason::BadPassword
    });
    Some(Msg::PamError(att))
}

/// `pam_unix(svc:auth): authentication failure; ...`, `(pam_unix) authentication
/// failure; ...`, and pam_unix's account-expiry messages.
pub(super) fn pam_unix(m: &str) -> Msg<'_> {
    let Some(i) = COLON_SP.find(m).or_else(|| PAREN_SP.find(m).map(|i| i + 1)) else {
        return Msg::Ignored;
    };
    let module = m.get(..i).unwrap_or("");
    let text = m.get(i + 1..).unwrap_or("").trim_start();
    if let Some(fields) = text.strip_prefix("authentication failure;") {
        // Session, password-change and account modules do not authenticate.
        if SESSION.find(module).is_some() || PASSWORD.find(module).is_some() {
            return Msg::Ignored;
        }
        return Msg::PamFailure(pam_fields(fields));
    }
    if ACCOUNT.find(module).is_some() {
        // `expired password for user U (password aged|root enforced)`: the
        // login may still go through, with a forced change (PAM_NEW_AUTHTOK_REQD).
        if text.contains("expired password") || text.contains("password expired") {
            return verdict(
                text.strip_prefix("expired password for user ")
                    .map(|r| r.rfind(" (").and_then(|i| r.get(..i)).unwrap_or(r)),
                Reason::ExpiredPassword,
            );
        }
        // `account U has expired (account expired)`, and `(failed to change
        // password)`: expired password past its inactivity period.
        if let Some(u) = text
            .strip_prefix("account ")
            .and_then(|r| r.rfind(" has expired (").and_then(|i| r.get(..i)))
        {
            return verdict(Some(u), Reason::ExpiredAccount);
        }
    }
    Msg::Ignored
}

fn verdict(user: Option<&str>, reason: Reason) -> Msg<'_> {
    Msg::Verdict(Attempt {
        user,
        reason: Some(reason),
        ..Attempt::default()
    })
}

/// `pam_<module>(svc:type): text` of modules other than pam_unix; only the
/// lines that decide an attempt or lock an account are read.
pub(super) fn pam_module(m: &str) -> Msg<'_> {
    let Some(i) = COLON_SP.find(m) else {
        return Msg::Ignored;
    };
    let module = m.get(..i).unwrap_or("");
    let text = m.get(i + 2..).unwrap_or("");
    if module.starts_with("pam_faillock(") {
        // Logged once, by the failure that reaches `deny`: that failure stays
        // what it was (a wrong password), and the lock is an event of its own.
        if let Some(u) = text
            .strip_prefix("Consecutive login failures for user ")
            .and_then(|r| r.strip_suffix(" account temporarily locked"))
        {
            return Msg::Lockout {
                att: Attempt {
                    user: Some(u),
                    ..Attempt::default()
                },
                refuses: false,
            };
        }
    } else if module.starts_with("pam_tally2(") || module.starts_with("pam_tally(") {
        return tally(text);
    } else if module.starts_with("pam_lastlog(") && ACCOUNT.find(module).is_some() {
        // `user U inactive for N days - denied`.
        if let Some(u) = text
            .strip_prefix("user ")
            .and_then(|r| r.strip_suffix(" days - denied"))
            .and_then(|r| r.rfind(" inactive for ").and_then(|i| r.get(..i)))
        {
            return verdict(Some(u), Reason::Inactive);
        }
    }
    Msg::Ignored
}

/// `user U (UID) tally N, deny M`: pam_tally2 logs this each time it denies an
/// attempt because the count exceeds `deny`. The first denial (`N = M + 1`) is
/// where the lock shows, so it is the lockout event; every denial, that one
/// included, is the attempt's cause (`locked`).
fn tally(text: &str) -> Msg<'_> {
    let Some((user, tally, deny)) = tally_fields(text) else {
        return Msg::Ignored;
    };
    let att = Attempt {
        user: Some(user),
        reason: Some(Reason::Locked),
        ..Attempt::default()
    };
    if deny.checked_add(1) == Some(tally) {
        Msg::Lockout { att, refuses: true }
    } else if tally > deny {
        Msg::Verdict(att)
    } else {
        Msg::Ignored
    }
}

/// (user, tally, deny), cut from the right: the user name may hold anything.
fn tally_fields(text: &str) -> Option<(&str, u32, u32)> {
    let r = text.strip_prefix("user ")?;
    let d = r.rfind(", deny ")?;
    let deny = r.get(d + 7..)?.parse().ok()?;
    let r = r.get(..d)?;
    let t = r.rfind(" tally ")?;
    let tally = r.get(t + 7..)?.parse().ok()?;
    let r = r.get(..t)?;
    let user = r.rfind(" (").and_then(|i| r.get(..i))?;
    Some((user, tally, deny))
}

/// The `ruser= rhost= user=` fields of a PAM failure. `rhost` is a single
/// token followed by ` user=` (pam_unix's order), so a `ruser` or `user`
/// value containing `rhost=` cannot move the address. The user is `user=`
/// (the account tried), else a non-empty `ruser=`.
fn pam_fields(s: &str) -> Attempt<'_> {
    let s = s.trim_end();
    let s = s.strip_suffix("[preauth]").unwrap_or(s).trim_end();
    let mut chosen: Option<(usize, &str, Option<&str>)> = None;
    let mut last: Option<(usize, &str)> = None;
    let mut at = 0;
    while let Some(i) = s.get(at..).and_then(|r| RHOST.find(r)) {
        let i = at + i;
        let v = s.get(i + 6..).unwrap_or("");
        let end = memchr::memchr(b' ', v.as_bytes()).unwrap_or(v.len());
        let host = v.get(..end).unwrap_or("");
        let after = v.get(end..).unwrap_or("").trim_start();
        if let Some(u) = after.strip_prefix("user=") {
            chosen = Some((i, host, Some(u)));
            break;
        }
        last = Some((i, host));
        at = i + 6;
    }
    let (i, host, user) = match (chosen, last) {
        (Some(c), _) => c,
        (None, Some((i, h))) => (i, h, None),
        (None, None) => (s.len(), "", USER_EQ.rfind(s).and_then(|j| s.get(j + 6..))),
    };
    let ruser = s
        .get(..i)
        .and_then(|h| RUSER.find(h).and_then(|j| h.get(j + 6..)))
        .map(str::trim_end)
        .filter(|r| !r.is_empty());
    Attempt {
        user: user.filter(|u| !u.is_empty()).or(ruser),
        host: (!host.is_empty()).then_some(host),
        reason: Some(Reason::BadPassword),
        ..Attempt::default()
    }
}

/// `FAILED SU (to T) U on tty`: the target account's password failed.
pub(super) fn su(m: &str) -> Msg<'_> {
    let r = m
        .strip_prefix("FAILED SU (to ")
        .or_else(|| m.strip_prefix("FAILED su for "));
    let Some(r) = r else { return Msg::Ignored };
    let user = r
        .find(')')
        .and_then(|i| r.get(..i))
        .unwrap_or_else(|| r.split(' ').next().unwrap_or(""));
    Msg::LocalFailure(Attempt {
        user: Some(user),
        reason: Some(Reason::BadPassword),
        ..Attempt::default()
    })
}

/// `U : N incorrect password attempts ; TTY=...`: the invoking user's own password.
pub(super) fn sudo(m: &str) -> Msg<'_> {
    let Some(i) = m.find(" : ") else {
        return Msg::Ignored;
    };
    let rest = m.get(i + 3..).unwrap_or("");
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = rest.get(n..).unwrap_or("");
    if n == 0 || !tail.starts_with(" incorrect password attempt") {
        return Msg::Ignored;
    }
    Msg::LocalFailure(Attempt {
        user: m.get(..i).map(str::trim),
        reason: Some(Reason::BadPassword),
        ..Attempt::default()
    })
}

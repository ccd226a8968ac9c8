//! PAM, su and sudo messages: the `pam_unix(...)` failure lines any PAM-using
//! program writes, sshd's own `PAM ...` summaries, and the su/sudo failure lines.
//! Split from the sshd wording in the parent module; both share its field cutters.

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
        if text.contains("expired password") || text.contains("password expired") {
            return Msg::Refused(Attempt {
                user: text
                    .strip_prefix("expired password for user ")
                    .and_then(|r| r.split(' ').next()),
                reason: Some(Reason::ExpiredPassword),
                ..Attempt::default()
            });
        }
        if let Some(u) = text
            .strip_prefix("account ")
            .and_then(|r| r.strip_suffix(" has expired (account expired)"))
        {
            return Msg::Refused(Attempt {
                user: Some(u),
                reason: Some(Reason::ExpiredAccount),
                ..Attempt::default()
            });
        }
    }
    Msg::Ignored
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

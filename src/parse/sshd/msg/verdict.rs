//! sshd's refusals of a user and its verdicts on an attempt under way: the
//! `not allowed because` refusals with their directive, `ROOT LOGIN REFUSED`,
//! expired passwords and accounts as sshd words them, and the MFA module that
//! logs under sshd's name. Split from the parent module's common wordings.

use super::find::FROM;
use super::{Attempt, Msg, host_port};
use crate::event::{Reason, RefusedBy};

/// `ROOT LOGIN REFUSED FROM H port P`: `PermitRootLogin` refused root.
pub(super) fn root_refused(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("ROOT LOGIN REFUSED FROM ")?;
    let (mut att, _) = host_port(r);
    att.user = Some("root");
    att.reason = Some(Reason::NoPermission);
    att.by = Some(RefusedBy::PermitRootLogin);
    Some(Msg::Refused(att))
}

/// `User U [from H] not allowed because <why>`.
pub(super) fn not_allowed(m: &str) -> Option<Msg<'_>> {
    let r = m.strip_prefix("User ")?;
    let i = r.rfind(" not allowed because ")?;
    let why = r.get(i + 21..)?;
    let why = why.strip_suffix(" [preauth]").unwrap_or(why);
    let who = r.get(..i)?;
    let (user, host) = match FROM.rfind(who) {
        Some(j) => (who.get(..j)?, who.get(j + 6..)),
        None => (who, None),
    };
    let (reason, by) = refusal(why);
    Some(Msg::Refused(Attempt {
        user: Some(user),
        host,
        reason: Some(reason),
        by,
        ..Attempt::default()
    }))
}

/// The reason and directive of sshd's `allowed_user()` refusals.
///
/// `AllowUsers`/`DenyUsers` are `no_permission`, not `ip_denied`: their
/// patterns may be `USER@HOST`, but the line does not say whether a host part
/// decided, and most lists name users only. The directive is kept, so a rule
/// or the help desk can tell which list to look at. The group checks and a
/// missing shell refuse the account wherever it comes from: `no_permission`.
/// `account is locked` (sshd without PAM, on a `passwd -l`'d account) is an
/// administrator's lock: `disabled`, not the temporary `locked` of a lockout.
fn refusal(why: &str) -> (Reason, Option<RefusedBy>) {
    // The shell path is the admin's text: test it before the wordings below.
    if why.starts_with("shell ") {
        return (Reason::NoPermission, Some(RefusedBy::Shell));
    }
    let by = match why {
        "account is locked" => return (Reason::Disabled, Some(RefusedBy::AccountLocked)),
        "not listed in AllowUsers" => RefusedBy::AllowUsers,
        "listed in DenyUsers" => RefusedBy::DenyUsers,
        "none of user's groups are listed in AllowGroups" => RefusedBy::AllowGroups,
        "a group is listed in DenyGroups" => RefusedBy::DenyGroups,
        "not in any group" => RefusedBy::NoGroup,
        w if w.contains("expired") => return (Reason::ExpiredAccount, None),
        w if w.contains("locked") => return (Reason::Disabled, Some(RefusedBy::AccountLocked)),
        _ => return (Reason::NoPermission, None),
    };
    (Reason::NoPermission, Some(by))
}

/// pam_google_authenticator's failures (`sshd(pam_google_authenticator)[pid]:`):
/// `Invalid verification code for U`, `Did not receive verification code from user`.
pub(super) fn verification_code(m: &str) -> Option<Msg<'_>> {
    let user = match m.strip_prefix("Invalid verification code for ") {
        Some(u) => Some(u),
        None if m == "Did not receive verification code from user" => None,
        None => return None,
    };
    Some(Msg::Verdict(Attempt {
        user,
        reason: Some(Reason::MfaFailed),
        ..Attempt::default()
    }))
}

/// Expired accounts and passwords as sshd words them, verdicts on the
/// attempt under way:
/// * `User U password has expired (root forced|password aged)` (no PAM, shadow
///   check): sshd then logs `Accepted` and makes the user change it;
/// * `Account U has expired` (no PAM, shadow check): sshd then refuses the user
///   as `account is locked`, which this line explains;
/// * `password for user U has expired`;
/// * `Your password has expired`, `Password change required but no TTY
///   available`: sshd writes these to the client, not to syslog, but a wrapper
///   logging the session's output under the pid may.
pub(super) fn expired(m: &str) -> Option<Msg<'_>> {
    let shadow_pw = m
        .strip_prefix("User ")
        .and_then(|r| r.rfind(" password has expired").and_then(|i| r.get(..i)));
    let (user, reason) = if let Some(u) = shadow_pw {
        (Some(u), Reason::ExpiredPassword)
    } else if let Some(u) = m
        .strip_prefix("Account ")
        .and_then(|r| r.strip_suffix(" has expired"))
    {
        (Some(u), Reason::ExpiredAccount)
    } else if let Some(u) = m
        .strip_prefix("password for user ")
        .and_then(|r| r.strip_suffix(" has expired"))
    {
        (Some(u), Reason::ExpiredPassword)
    } else if m.starts_with("Password change required")
        || m.contains("password has expired")
        || m.contains("password expired")
    {
        (None, Reason::ExpiredPassword)
    } else if m.contains("account has expired") {
        (None, Reason::ExpiredAccount)
    } else {
        return None;
    };
    Some(Msg::Verdict(Attempt {
        user,
        reason: Some(reason),
        ..Attempt::default()
    }))
}

//! cybozu.com common administration audit rows: `Date, User, Level, Service,
//! Module, Action, Result, Supplement` (or 日時, ユーザー, レベル, サービス,
//! モジュール, アクション, 結果, 補足).
//!
//! Only rows of the sign-in module (`Authentication` / 認証) are auth events;
//! the audit log also records app and user administration. The action says what
//! (login, SAML login, API login, password change or reset), the result whether
//! it worked. Two cybozu conventions carry detection-relevant facts:
//! - the user `nobody` means the login name does not exist; the name that was
//!   tried is in the supplement, and it is what user-enumeration rules count, so
//!   it becomes `user.name` with reason `unknown_user`;
//! - a supplement reading `lockout` means the account is locked: the failure gets
//!   reason `locked`, so attempts against a locked account do not count as more
//!   bad passwords (the lock itself already was the consequence).

use super::memo::Which;
use super::{Col, Row, RowCtx};
use crate::event::{Action, AuthEvent, Outcome, Reason};
use crate::parse::json::mapping::parse_ip;
use crate::parse::{ParseError, UnparsedReason};

/// Labels a supplement may put before the attempted login name.
const NAME_LABELS: &[&str] = &["login name:", "ログイン名:", "ログイン名：", "user:"];

/// The attempted name of a `nobody` row's supplement.
pub fn attempted_name(supplement: &str) -> &str {
    let s = supplement.trim();
    for label in NAME_LABELS {
        if let Some(head) = s.get(..label.len())
            && head.eq_ignore_ascii_case(label)
        {
            return s[label.len()..].trim();
        }
    }
    s
}

/// One row -> an event, `Ok(None)` for other modules and ignored actions.
pub fn event(row: &Row<'_>, cx: &mut RowCtx<'_>) -> Result<Option<AuthEvent>, ParseError> {
    let t = cx.tables;
    if !t.module_filter.is_empty()
        && let Some(module) = row.get(Col::Module)
        && !cx.memo.any(Which::ModuleFilter, &t.module_filter, module)
    {
        return Ok(None);
    }
    let action_text = row.need(Col::Action, "an Action")?;
    let Some(am) = cx.memo.meaning(Which::Action, &t.action, action_text) else {
        return Err(ParseError::new(
            UnparsedReason::BadValue,
            "an Action the format's table knows (add it to a declared format)",
        ));
    };
    if am.ignore {
        return Ok(None);
    }
    let result_text = row.need(Col::Result, "a Result")?;
    let Some(rm) = cx.memo.meaning(Which::Result, &t.result, result_text) else {
        return Err(ParseError::new(
            UnparsedReason::BadValue,
            "a Result the format's table knows (SUCCESS, FAILED, ...)",
        ));
    };
    let timestamp = cx.time(row)?;
    let action = am.action.unwrap_or(Action::Login);
    let outcome = rm.outcome.unwrap_or(Outcome::Unknown);
    let mut ev = AuthEvent::new(timestamp, action, outcome);
    let user = row.need(Col::User, "a User")?;
    let supplement = row.get(Col::Supplement);
    let nobody = cx.memo.any(Which::Nobody, &t.nobody, user);
    if outcome == Outcome::Failure {
        // A failed password change is not a wrong login password: only logins
        // (and MFA) take the result's reason.
        let base = match action {
            Action::Login | Action::Mfa => rm.reason.unwrap_or(Reason::Other),
            _ => Reason::Other,
        };
        ev.reason = Some(if supplement.is_some_and(|s| t.lockout.any(s)) {
            Reason::Locked
        } else if nobody {
            Reason::UnknownUser
        } else {
            base
        });
    }
    ev.user = if nobody {
        supplement
            .map(attempted_name)
            .filter(|s| !s.is_empty())
            .map(|s| cx.names.intern(s))
    } else {
        Some(cx.names.intern(user))
    };
    ev.method = am.method.clone();
    ev.source_ip = row.get(Col::Ip).and_then(parse_ip);
    ev.service = row.get(Col::Service).map(|s| cx.names.intern(s));
    ev.user_agent = row.get(Col::UserAgent).map(|s| cx.names.intern(s));
    Ok(Some(ev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempted_name_strips_known_labels() {
        assert_eq!(attempted_name(" admin "), "admin");
        assert_eq!(attempted_name("Login name: guest"), "guest");
        assert_eq!(attempted_name("ログイン名：テスト"), "テスト");
    }
}

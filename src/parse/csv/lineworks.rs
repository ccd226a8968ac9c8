//! LINE WORKS login audit rows: `Date, User, Description, Service Type, IP
//! Address` (+ `Login method` in newer exports).
//!
//! The `Description` text alone says what happened (success, a failure and its
//! reason, logout, password change); the table that reads it lives in
//! `formats/lineworks-audit.toml` so operators extend it without a rebuild.
//! `User` is written `Name(id@domain)`: the id is what the service logs in with
//! and what rules and the inventory key on, so it becomes `user.name`; the
//! display name is dropped (accounts come from the inventory, not from logs).

use super::memo::Which;
use super::{Col, Row, RowCtx};
use crate::event::{Action, AuthEvent, Method, Outcome, Reason};
use crate::parse::json::mapping::parse_ip;
use crate::parse::{ParseError, UnparsedReason};

/// The login id of a `Name(id@domain)` cell: the text of the last parenthesised
/// group that ends the cell (display names may hold parentheses themselves);
/// the whole cell when it has none. Full-width parentheses are accepted too.
pub fn user_id(cell: &str) -> &str {
    let cell = cell.trim();
    for (open, close) in [('(', ')'), ('（', '）')] {
        if let Some(inner) = cell.strip_suffix(close)
            && let Some(at) = inner.rfind(open)
        {
            let id = inner[at + open.len_utf8()..].trim();
            if !id.is_empty() {
                return id;
            }
        }
    }
    cell
}

/// One row -> an event, `Ok(None)` for a known non-auth text (logout).
pub fn event(row: &Row<'_>, cx: &mut RowCtx<'_>) -> Result<Option<AuthEvent>, ParseError> {
    let desc = row.need(Col::Description, "a Description")?;
    let Some(m) = cx
        .memo
        .meaning(Which::Description, &cx.tables.description, desc)
    else {
        return Err(ParseError::new(
            UnparsedReason::BadValue,
            "a Description the format's table knows (add it to a declared format)",
        ));
    };
    if m.ignore {
        return Ok(None);
    }
    let timestamp = cx.time(row)?;
    let user = user_id(row.need(Col::User, "a User")?);
    let outcome = m.outcome.unwrap_or(Outcome::Unknown);
    let mut ev = AuthEvent::new(timestamp, m.action.unwrap_or(Action::Login), outcome);
    if outcome == Outcome::Failure {
        ev.reason = Some(m.reason.unwrap_or(Reason::Other));
    }
    ev.user = Some(cx.names.intern(user));
    ev.source_ip = row.get(Col::Ip).and_then(parse_ip);
    ev.service = row.get(Col::Service).map(|s| cx.names.intern(s));
    ev.method = match row.get(Col::Method) {
        Some(w) => Some(
            match cx
                .memo
                .meaning(Which::Method, &cx.tables.method, w)
                .and_then(|m| m.method.clone())
            {
                Some(m) => m,
                None => Method::Other(cx.names.intern(w)),
            },
        ),
        None => m.method.clone(),
    };
    ev.user_agent = row.get(Col::UserAgent).map(|s| cx.names.intern(s));
    Ok(Some(ev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_takes_the_last_parenthesised_group() {
        assert_eq!(user_id("Taro Yamada(taro@example.com)"), "taro@example.com");
        assert_eq!(
            user_id("山田 (営業)(yamada@example.jp)"),
            "yamada@example.jp"
        );
        assert_eq!(user_id("山田（yamada@example.jp）"), "yamada@example.jp");
        assert_eq!(user_id("plain@example.com"), "plain@example.com");
        assert_eq!(user_id("odd()"), "odd()");
        assert_eq!(user_id("(x) trailing"), "(x) trailing");
    }
}

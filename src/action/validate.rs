//! The values of a decision, checked before any of them reaches an action.
//!
//! User names come from logs: an attacker chooses them. A program given the
//! argument `-rf` may take it for an option, `../x` or `a\b` may become a path,
//! and a control character may drive a terminal or split a log line. Such a name
//! is refused: the action is not run and the refusal is reported (the daemon
//! alerts on it), because quoting cannot make a value safe for a program whose
//! own argument parsing we do not know.

use chrono::{DateTime, SecondsFormat, Utc};

use super::template::Values;
use crate::decision::Decision;
use crate::escape::Escaped;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsafe {
    #[error("user name is empty")]
    Empty,
    #[error("user name \"{}\" has a control character", Escaped(.0))]
    Control(String),
    #[error("user name \"{}\" starts with '-' (it could be read as an option)", Escaped(.0))]
    LeadingDash(String),
    #[error("user name \"{}\" has a path separator ('/' or '\\')", Escaped(.0))]
    PathSeparator(String),
    #[error("user name \"{}\" is \".\" or \"..\"", Escaped(.0))]
    DotName(String),
    #[error("rule id \"{}\" has a control character", Escaped(.0))]
    RuleControl(String),
}

/// Checks a user name for use as an action argument.
pub fn user(name: &str) -> Result<(), Unsafe> {
    if name.is_empty() {
        return Err(Unsafe::Empty);
    }
    // NUL is a control character: covered here.
    if name.chars().any(char::is_control) {
        return Err(Unsafe::Control(name.to_owned()));
    }
    if name.starts_with('-') {
        return Err(Unsafe::LeadingDash(name.to_owned()));
    }
    if name.contains(['/', '\\']) {
        return Err(Unsafe::PathSeparator(name.to_owned()));
    }
    if name == "." || name == ".." {
        return Err(Unsafe::DotName(name.to_owned()));
    }
    Ok(())
}

/// The template values of `decision` at `now`; an unsafe user name refuses all.
///
/// `{ip}` is the address, or the network in CIDR form for network decisions;
/// `{until}` is RFC 3339 UTC and `{seconds}` the whole seconds left until then
/// (at least 1), both absent for a decision without an end.
pub fn values(decision: &Decision, now: DateTime<Utc>) -> Result<Values, Unsafe> {
    let user = match &decision.target.user {
        Some(u) => {
            self::user(u)?;
            Some(u.to_string())
        }
        None => None,
    };
    if decision.rule.chars().any(char::is_control) {
        return Err(Unsafe::RuleControl(decision.rule.to_string()));
    }
    let ip = match (decision.target.ip, decision.target.net) {
        (Some(ip), _) => Some(ip.to_string()),
        (None, Some(net)) => Some(net.to_string()),
        (None, None) => None,
    };
    Ok(Values {
        user,
        ip,
        until: decision
            .until
            .map(|u| u.to_rfc3339_opts(SecondsFormat::Secs, true)),
        seconds: decision.until.map(|u| seconds_left(u, now).to_string()),
        rule: Some(decision.rule.to_string()),
        id: Some(decision.id.clone()),
        severity: Some(decision.severity.as_str().to_owned()),
    })
}

/// Whole seconds from `now` to `until`, at least 1 (an end already past still
/// asks for the shortest timeout, never for "no timeout").
pub fn seconds_left(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let ms = (until - now).num_milliseconds();
    ((ms + 999) / 1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_names_are_refused_ordinary_ones_kept() {
        for bad in [
            "-rf", "../x", "a/b", "a\\b", "a\u{1b}b", "a\0b", "", "..", "\n",
        ] {
            assert!(user(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "alice",
            "alice@example.jp",
            "山田太郎",
            "ａｄｍｉｎ",
            "a-b",
            "a.b",
        ] {
            assert_eq!(user(good), Ok(()), "{good:?} refused");
        }
        let msg = user("a\u{1b}[2J").unwrap_err().to_string();
        assert!(!msg.contains('\u{1b}'), "{msg}");
    }

    #[test]
    fn seconds_round_up_and_never_reach_zero() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(seconds_left(t(100), t(40)), 60);
        assert_eq!(seconds_left(t(100), t(200)), 1);
        let half = DateTime::from_timestamp(100, 500_000_000).unwrap();
        assert_eq!(seconds_left(half, t(40)), 61);
    }
}

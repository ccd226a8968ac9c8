//! What `why` answers, as JSON and the CLI show it: the [`Diagnosis`], its
//! causes with their [`Code`] and [`Evidence`], the account as loginwatch
//! knows it, and the [`Input`] the caller gathers.

use std::net::IpAddr;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::Language;
use crate::account::History;
use crate::account::normalize::Mistake;
use crate::decision::{Assessment, Decision, DecisionAction, Mode};
use crate::event::{Account, Name};

/// What `why` says about a cause (`"code"` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Locked,
    Disabled,
    ExpiredAccount,
    ExpiredPassword,
    Inactive,
    IpDenied,
    NoPermission,
    // Before the failure kinds: when others are guessing, the wrong passwords
    // are theirs, and the user needs to hear that first.
    UnderAttack,
    MfaFailed,
    MistypedLoginId,
    WrongPassword,
    NewCountry,
    NewDevice,
    UnknownUser,
    NoProblemSeen,
}

/// `as_str` and `ALL` from one list: `as_str`'s match is exhaustive, so a
/// code missing from the list does not compile, and `ALL` cannot lack it.
macro_rules! code_names {
    ($($v:ident => $s:literal),* $(,)?) => {
        impl Code {
            /// The JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$v => $s),* }
            }
            /// Every code's spelling, in the order of [`Code`]: what the
            /// golden scenarios must each show as a primary cause.
            pub const ALL: &'static [&'static str] = &[$($s),*];
            /// Every code, in the same order.
            #[cfg(test)]
            const EVERY: &'static [Code] = &[$(Code::$v),*];
        }
    };
}

code_names! {
    Locked => "locked",
    Disabled => "disabled",
    ExpiredAccount => "expired_account",
    ExpiredPassword => "expired_password",
    Inactive => "inactive",
    IpDenied => "ip_denied",
    NoPermission => "no_permission",
    UnderAttack => "under_attack",
    MfaFailed => "mfa_failed",
    MistypedLoginId => "mistyped_login_id",
    WrongPassword => "wrong_password",
    NewCountry => "new_country",
    NewDevice => "new_device",
    UnknownUser => "unknown_user",
    NoProblemSeen => "no_problem_seen",
}

/// Who holds a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockedBy {
    /// A loginwatch decision.
    Loginwatch,
    /// The system or identity provider (pam_faillock, pam_tally2, Windows,
    /// an IdP's lock event).
    Os,
}

/// A linked spelling of the login ID, as `why` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpellingView {
    /// Exactly as typed (escape before printing to a terminal).
    pub typed: Name,
    pub count: u32,
    #[serde(serialize_with = "unix_time")]
    pub last: i64,
    /// What explains it (`case`, `full_width`, `look_alike`, ...).
    pub mistakes: Vec<Mistake>,
}

/// What a cause rests on; fields a cause does not use are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Attempts of this kind in the look-back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_unix")]
    pub first: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_unix")]
    pub last: Option<i64>,
    /// Their source addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<IpAddr>,
    /// True when every one of them came from a place the account logs in from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_known_sources: Option<bool>,
    /// A success came after the last of them: the user got in since.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_unix")]
    pub then_logged_in: Option<i64>,
    /// Locks: who holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<LockedBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<DecisionAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// When the lock ends by itself; absent when an admin must unlock.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_time")]
    pub until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    /// The exact command that ends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlock: Option<String>,
    /// The system's lock: the PAM module that holds it (`pam_faillock`,
    /// `pam_tally2`), which says whether it ends by itself. Not in JSON:
    /// `unlock` names it.
    #[serde(skip)]
    pub lock_module: Option<&'static str>,
    /// A blocked address (the lock is on where the user connects from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_ip: Option<IpAddr>,
    /// Mistyped IDs linked to the account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spellings: Vec<SpellingView>,
    /// MFA: failures then a success within two minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew_suspected: Option<bool>,
    /// The login went through but the password must be changed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub must_change_now: Option<bool>,
    /// New countries or devices seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_values: Vec<Name>,
    /// Which sshd directive or account state refused (`AllowGroups`,
    /// `account_locked`, ...), as `loginwatch.event.reason_detail` spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_by: Option<&'static str>,
    /// The inventory's status (`suspended`, `deleted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Accounts the name may have been meant for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub did_you_mean: Vec<Name>,
}

/// One reason the person cannot (or could not) log in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cause {
    pub code: Code,
    /// A short paragraph an admin can read to the user.
    pub summary: String,
    /// Since when (RFC 3339), when known.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_time")]
    pub since: Option<DateTime<Utc>>,
    pub evidence: Evidence,
    /// What to do next.
    pub next_step: String,
    /// True while it still stands (nothing since has resolved it).
    #[serde(skip)]
    pub current: bool,
}

/// What `why` knows about the account itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountView {
    /// True when loginwatch has seen the account (a history or an inventory entry).
    pub known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_unix")]
    pub last_success: Option<i64>,
    /// Addresses it logged in from, most recent first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usual_sources: Vec<IpAddr>,
}

/// The answer of `why`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The name asked about, exactly as given.
    pub user: Name,
    /// The time diagnosed at.
    #[serde(serialize_with = "time")]
    pub at: DateTime<Utc>,
    /// The primary cause first.
    pub causes: Vec<Cause>,
    pub account: AccountView,
    /// Mistyped spellings of this ID linked to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked_spellings: Vec<SpellingView>,
}

/// Everything `why` reads, gathered by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub user: &'a str,
    pub at: DateTime<Utc>,
    pub history: Option<&'a History>,
    /// Decisions in force at `at` about the user or about an address the
    /// user's recent attempts came from.
    pub decisions: &'a [Decision],
    /// The inventory's entry.
    pub account: Option<&'a Account>,
    /// Known account names, for "did you mean" when `user` is unknown
    /// (the caller may cap them), and the accounts whose history lists `user`
    /// as a linked spelling.
    pub similar: &'a [Name],
    pub language: Language,
}

fn time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::event::rfc3339(t))
}

fn opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => time(t, s),
        None => s.serialize_none(),
    }
}

fn unix_time<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    match Utc.timestamp_opt(*t, 0).single() {
        Some(t) => time(&t, s),
        None => s.serialize_none(),
    }
}

fn opt_unix<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => unix_time(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn all_lists_every_code_once_in_order_as_json_spells_it() {
        assert_eq!(Code::ALL.len(), Code::EVERY.len());
        for (c, s) in Code::EVERY.iter().zip(Code::ALL) {
            assert_eq!(c.as_str(), *s);
            assert_eq!(serde_json::to_value(c).unwrap(), *s);
        }
        assert!(
            Code::EVERY.windows(2).all(|w| w[0] < w[1]),
            "in the order of Code"
        );
        // Variants number 0, 1, ...: the last one's number says how many.
        assert_eq!(
            Code::EVERY.last().map(|c| *c as usize + 1),
            Some(Code::ALL.len()),
            "every variant listed"
        );
    }
}

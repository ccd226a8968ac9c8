//! `why`: the answer to the helpdesk's question, *why can't this person log in?*
//!
//! Reads what the pipeline already knows and decides nothing new: the
//! account's history (its last attempts with their reasons, where it logs in
//! from, the spellings of its ID linked to it, a lock by the system), the
//! decisions in force against it or its addresses, and the inventory's entry.
//! Out comes a [`Diagnosis`]: causes, the primary one first, each with what
//! to tell the user and what to do ([`text`], English and Japanese).
//!
//! Pure: the caller gathers the inputs (from a replay of files, the running
//! daemon's state, or the state file) and the time to diagnose at.

pub mod gather;
pub mod text;

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::account::History;
use crate::account::history::Attempt;
use crate::account::normalize::{self, Mistake};
use crate::decision::{Assessment, Decision, DecisionAction, Mode};
use crate::event::{Account, AccountStatus, Action, Name, Outcome, Reason};

pub use text::Language;

/// How far back `why` looks at attempts: a helpdesk call is about today.
pub const LOOKBACK_SECS: i64 = 24 * 3600;

/// A success this soon after failed one-time codes suggests the codes were
/// right but the phone's clock was off (TOTP windows are 30 s each).
const CLOCK_SKEW_SECS: i64 = 120;

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
    /// `account_locked`, ...), as `event.reason_detail` spells it.
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

/// Diagnoses `input`; see the module header.
pub fn diagnose(input: &Input<'_>) -> Diagnosis {
    let t = input.at.timestamp();
    let h = input.history;
    let attempts: Vec<&Attempt> = h
        .map(|h| {
            h.attempts_until(input.at)
                .filter(|a| a.at > t - LOOKBACK_SECS)
                .collect()
        })
        .unwrap_or_default();
    let mut causes = Vec::new();
    locks(input, &attempts, &mut causes);
    inventory(input, &mut causes);
    if let Some(h) = h {
        by_reason(input, h, &attempts, &mut causes);
        if let Some(since) = h.must_change_password
            && !causes.iter().any(|c| c.code == Code::ExpiredPassword)
        {
            let ev = Evidence {
                must_change_now: Some(true),
                ..Evidence::default()
            };
            causes.push(cause(input, Code::ExpiredPassword, Some(since), ev, true));
        }
        novelty(input, h, &attempts, &mut causes);
        attack(input, h, &attempts, &mut causes);
    }
    let known = h.is_some() || input.account.is_some() || !input.decisions.is_empty();
    if !known {
        let ev = Evidence {
            did_you_mean: input.similar.to_vec(),
            ..Evidence::default()
        };
        causes.push(cause(input, Code::UnknownUser, None, ev, true));
    }
    if causes.is_empty() {
        causes.push(cause(
            input,
            Code::NoProblemSeen,
            None,
            Evidence::default(),
            true,
        ));
    }
    // Primary first: what still stands before what a later success resolved,
    // then by how hard it blocks (the order of `Code`), then newest first.
    causes.sort_by(|a, b| {
        b.current
            .cmp(&a.current)
            .then(a.code.cmp(&b.code))
            .then(b.since.cmp(&a.since))
    });
    Diagnosis {
        user: Name::from(input.user),
        at: input.at,
        causes,
        account: account_view(input),
        linked_spellings: h.map(|h| spellings(h, input.user)).unwrap_or_default(),
    }
}

fn cause(input: &Input<'_>, code: Code, since: Option<i64>, ev: Evidence, current: bool) -> Cause {
    let since = since.and_then(|s| Utc.timestamp_opt(s, 0).single());
    let (summary, next_step) = text::explain(input.language, input.user, code, &ev);
    Cause {
        code,
        summary,
        since,
        evidence: ev,
        next_step,
        current,
    }
}

/// Locks in force: loginwatch's decisions on the account or on an address the
/// user came from, and the system's own lock.
fn locks(input: &Input<'_>, attempts: &[&Attempt], out: &mut Vec<Cause>) {
    let used: BTreeSet<IpAddr> = attempts.iter().filter_map(|a| a.ip).collect();
    for d in input.decisions {
        let on_user = d.target.user.as_deref() == Some(input.user);
        let on_ip = d.target.ip.filter(|ip| used.contains(ip));
        let blocks = matches!(
            d.action,
            DecisionAction::LockAccount | DecisionAction::DisableAccount | DecisionAction::BlockIp
        );
        if !blocks || !(on_user || on_ip.is_some()) || d.exempt {
            continue;
        }
        let ev = Evidence {
            by: Some(LockedBy::Loginwatch),
            rule: Some(d.rule.clone()),
            decision_id: Some(d.id.clone()),
            action: Some(d.action),
            mode: Some(d.mode),
            until: d.until,
            assessment: Some(d.assessment),
            unlock: Some(format!(
                "loginwatch decisions unlock {} --reason \"identity confirmed by phone\"",
                d.id
            )),
            blocked_ip: on_ip.filter(|_| !on_user),
            ..Evidence::default()
        };
        out.push(cause(input, Code::Locked, Some(d.at.timestamp()), ev, true));
    }
    if let Some(h) = input.history
        && let Some(since) = h.os_locked
        && since <= input.at.timestamp()
    {
        let service = h
            .recent
            .iter()
            .rev()
            .find(|a| a.action == Action::Lockout)
            .and_then(|a| a.service.as_deref());
        // pam_tally2 logs every denial, the first one with the lock, and
        // each is an attempt refused as `locked`; pam_faillock logs the lock
        // once, and the attempts it refuses then read as wrong passwords.
        let tally = h
            .recent
            .iter()
            .any(|a| a.at >= since && a.reason == Some(Reason::Locked));
        out.push(cause(
            input,
            Code::Locked,
            Some(since),
            os_lock(input.user, service, tally),
            true,
        ));
    }
}

/// The evidence of a lock held by the system: who holds it and the command
/// that ends it. `tally`: the system's denials were logged as `locked`.
fn os_lock(user: &str, service: Option<&str>, tally: bool) -> Evidence {
    let (module, unlock) = match service {
        Some("sshd" | "sshd-session" | "sshd-auth" | "su" | "sudo" | "login") if tally => (
            Some("pam_tally2"),
            format!("pam_tally2 --user {user} --reset"),
        ),
        Some("sshd" | "sshd-session" | "sshd-auth" | "su" | "sudo" | "login") => (
            Some("pam_faillock"),
            format!("faillock --user {user} --reset"),
        ),
        None => (
            None,
            format!(
                "faillock --user {user} --reset   (pam_tally2: pam_tally2 --user {user} --reset)"
            ),
        ),
        Some(other) => (None, format!("unlock {user} in the {other} admin console")),
    };
    Evidence {
        by: Some(LockedBy::Os),
        unlock: Some(unlock),
        lock_module: module,
        ..Evidence::default()
    }
}

/// The inventory's status when it keeps the account from logging in.
fn inventory_status(input: &Input<'_>) -> Option<&'static str> {
    match input.account?.status {
        AccountStatus::Active => None,
        AccountStatus::Suspended => Some("suspended"),
        AccountStatus::Deleted => Some("deleted"),
    }
}

/// The inventory's word: suspended or removed.
fn inventory(input: &Input<'_>, out: &mut Vec<Cause>) {
    let Some(status) = inventory_status(input) else {
        return;
    };
    let ev = Evidence {
        status: Some(status),
        ..Evidence::default()
    };
    out.push(cause(input, Code::Disabled, None, ev, true));
}

/// The code a failure reason points to.
fn code_of(reason: Reason) -> Option<Code> {
    Some(match reason {
        Reason::BadPassword | Reason::TooManyAttempts => Code::WrongPassword,
        Reason::UnknownUser => Code::MistypedLoginId,
        Reason::Locked => Code::Locked,
        Reason::Disabled => Code::Disabled,
        Reason::ExpiredPassword => Code::ExpiredPassword,
        Reason::ExpiredAccount => Code::ExpiredAccount,
        Reason::MfaFailed => Code::MfaFailed,
        Reason::IpDenied => Code::IpDenied,
        Reason::NoPermission => Code::NoPermission,
        Reason::Inactive => Code::Inactive,
        Reason::CertFailed | Reason::Other => return None,
    })
}

/// One cause per kind of failure in the look-back.
fn by_reason(input: &Input<'_>, h: &History, attempts: &[&Attempt], out: &mut Vec<Cause>) {
    let last_success = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Success && a.action == Action::Login)
        .map(|a| a.at)
        .max();
    let mut codes: Vec<Code> = Vec::new();
    for a in attempts.iter().filter(|a| a.outcome == Outcome::Failure) {
        if let Some(c) = a.reason.and_then(code_of)
            && !codes.contains(&c)
        {
            codes.push(c);
        }
    }
    for code in codes {
        let these: Vec<&&Attempt> = attempts
            .iter()
            .filter(|a| a.outcome == Outcome::Failure && a.reason.and_then(code_of) == Some(code))
            .collect();
        let first = these.iter().map(|a| a.at).min();
        let last = these.iter().map(|a| a.at).max();
        let mut ips: Vec<IpAddr> = these.iter().filter_map(|a| a.ip).collect();
        ips.sort();
        ips.dedup();
        let after = last.and_then(|l| last_success.filter(|s| *s > l));
        let refused_by = these
            .iter()
            .rev()
            .find_map(|a| a.detail)
            .map(|d| d.as_str());
        let mut ev = Evidence {
            count: Some(these.len() as u32),
            first,
            last,
            source_ips: ips,
            from_known_sources: Some(these.iter().all(|a| familiar(h, a))),
            then_logged_in: after,
            refused_by,
            ..Evidence::default()
        };
        // A password that has expired stays so until it is changed: a login
        // that went through since had to change it at once.
        let must_change = code == Code::ExpiredPassword && h.must_change_password.is_some();
        match code {
            Code::MistypedLoginId => ev.spellings = spellings(h, input.user),
            Code::MfaFailed => {
                let skew = last.is_some_and(|l| {
                    attempts.iter().any(|a| {
                        a.outcome == Outcome::Success && a.at >= l && a.at - l <= CLOCK_SKEW_SECS
                    })
                });
                ev.clock_skew_suspected = Some(skew);
            }
            // Refusals by the system's lock: the lock's cause, when the lock
            // itself was seen, counts them; else they are the lock.
            Code::Locked => {
                if let Some(c) = out
                    .iter_mut()
                    .find(|c| c.code == Code::Locked && c.evidence.by == Some(LockedBy::Os))
                {
                    c.evidence = Evidence {
                        by: c.evidence.by,
                        unlock: c.evidence.unlock.take(),
                        lock_module: c.evidence.lock_module,
                        ..ev
                    };
                    rerender(input, c);
                    continue;
                }
                let service = these.last().and_then(|a| a.service.as_deref());
                let lock = os_lock(input.user, service, true);
                ev = Evidence {
                    by: lock.by,
                    unlock: lock.unlock,
                    lock_module: lock.lock_module,
                    ..ev
                };
            }
            Code::ExpiredPassword if must_change => ev.must_change_now = Some(true),
            // A suspended or removed account's logins often fail as wrong
            // passwords whatever is typed (the directory refuses the bind).
            Code::WrongPassword => ev.status = inventory_status(input),
            _ => {}
        }
        // A later success ends a kind of failure, except an expired password
        // that the success itself had to change.
        let current = after.is_none() || must_change;
        out.push(cause(input, code, first, ev, current));
    }
}

/// Renders `c`'s sentences again after its evidence changed.
fn rerender(input: &Input<'_>, c: &mut Cause) {
    let (summary, next_step) = text::explain(input.language, input.user, c.code, &c.evidence);
    c.summary = summary;
    c.next_step = next_step;
}

/// Failed attempts from a country or a device the account has not logged in
/// from.
fn novelty(input: &Input<'_>, h: &History, attempts: &[&Attempt], out: &mut Vec<Cause>) {
    if !h.has_successes() {
        return;
    }
    let failures = attempts.iter().filter(|a| a.outcome == Outcome::Failure);
    let from_new_country: Vec<(&Attempt, &Name)> = failures
        .clone()
        .filter_map(|a| {
            let c = a.country.as_ref()?;
            let new = !h.countries.is_empty() && !h.countries.iter().any(|s| s.value == *c);
            new.then_some((*a, c))
        })
        .collect();
    // A new device at a known address: the user's new phone or laptop.
    let from_new_device: Vec<(&Attempt, &Name)> = failures
        .filter_map(|a| {
            let d = a.device.as_ref()?;
            let new =
                a.known_source && !h.devices.is_empty() && !h.devices.iter().any(|s| s.value == *d);
            new.then_some((*a, d))
        })
        .collect();
    for (code, these) in [
        (Code::NewCountry, from_new_country),
        (Code::NewDevice, from_new_device),
    ] {
        if these.is_empty() {
            continue;
        }
        let mut new_values: Vec<Name> = Vec::new();
        for (_, v) in &these {
            if !new_values.contains(v) {
                new_values.push((*v).clone());
            }
        }
        let mut ips: Vec<IpAddr> = these.iter().filter_map(|(a, _)| a.ip).collect();
        ips.sort();
        ips.dedup();
        let first = these.iter().map(|(a, _)| a.at).min();
        let ev = Evidence {
            count: Some(these.len() as u32),
            first,
            last: these.iter().map(|(a, _)| a.at).max(),
            source_ips: ips,
            new_values,
            ..Evidence::default()
        };
        out.push(cause(input, code, first, ev, true));
    }
}

/// Others are targeting the account: failures from places it never logged in
/// from, or a lock assessed an attack.
fn attack(input: &Input<'_>, h: &History, attempts: &[&Attempt], out: &mut Vec<Cause>) {
    let hostile: Vec<&&Attempt> = if h.has_successes() {
        attempts
            .iter()
            .filter(|a| a.outcome == Outcome::Failure && a.ip.is_some() && !familiar(h, a))
            .collect()
    } else {
        Vec::new()
    };
    let assessed = input.decisions.iter().any(|d| {
        d.assessment == Assessment::Attack && d.target.user.as_deref() == Some(input.user)
    });
    if hostile.is_empty() && !assessed {
        return;
    }
    let mut ips: Vec<IpAddr> = hostile.iter().filter_map(|a| a.ip).collect();
    ips.sort();
    ips.dedup();
    let ev = Evidence {
        count: Some(hostile.len() as u32).filter(|n| *n > 0),
        first: hostile.iter().map(|a| a.at).min(),
        last: hostile.iter().map(|a| a.at).max(),
        source_ips: ips,
        from_known_sources: Some(false),
        ..Evidence::default()
    };
    // A success from one of those places afterwards: the password is known.
    let got_in = hostile.iter().map(|a| a.at).max().and_then(|l| {
        attempts
            .iter()
            .filter(|a| {
                a.outcome == Outcome::Success
                    && a.at >= l
                    && !a.known_source
                    && a.ip.is_some()
                    && hostile.iter().any(|h| h.ip == a.ip)
            })
            .map(|a| a.at)
            .next()
    });
    let ev = Evidence {
        then_logged_in: got_in,
        ..ev
    };
    let since = ev.first;
    out.push(cause(input, Code::UnderAttack, since, ev, true));
}

/// True when `a` came from a place the account uses: known when it was made,
/// or, for an account with no success on record yet at that time, learned
/// since (a first day's typos from the desk the user then logs in from).
/// An account that already had places of its own does not adopt a new one
/// because a login from it succeeded later: that is what a guessed password
/// looks like.
fn familiar(h: &History, a: &Attempt) -> bool {
    a.known_source
        || (h.first_success.is_none_or(|f| f > a.at)
            && h.familiarity(a.ip, a.device.as_deref()).known())
}

/// The linked spellings of an account, newest first, with their mistakes.
fn spellings(h: &History, user: &str) -> Vec<SpellingView> {
    let mut v: Vec<SpellingView> = h
        .spellings
        .iter()
        .map(|s| SpellingView {
            typed: s.typed.clone(),
            count: s.count,
            last: s.last,
            mistakes: normalize::link(&s.typed, user).unwrap_or_default(),
        })
        .collect();
    v.sort_by(|a, b| b.last.cmp(&a.last).then(a.typed.cmp(&b.typed)));
    v
}

fn account_view(input: &Input<'_>) -> AccountView {
    let h = input.history;
    let mut usual: Vec<(i64, IpAddr)> = h
        .map(|h| h.ips.iter().map(|s| (s.last, s.value)).collect())
        .unwrap_or_default();
    usual.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    AccountView {
        known: h.is_some() || input.account.is_some(),
        email: input.account.and_then(|a| a.email.clone()),
        display_name: input.account.and_then(|a| a.display_name.clone()),
        status: input.account.map(|a| match a.status {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Deleted => "deleted",
        }),
        last_success: h.and_then(|h| h.last_success),
        usual_sources: usual.into_iter().map(|(_, ip)| ip).take(5).collect(),
    }
}

/// Accounts `name` may have been meant for, among `accounts` (a plausible
/// mistyping either way, see [`normalize::link`]), sorted.
pub fn did_you_mean<'a>(name: &str, accounts: impl Iterator<Item = &'a Name>) -> Vec<Name> {
    let mut v: Vec<Name> = accounts
        .filter(|a| normalize::link(name, a).is_some())
        .cloned()
        .collect();
    // Sorted before cutting: the accounts come in hash-map order, which is
    // seeded per process, and the same question must get the same answer.
    v.sort();
    v.truncate(16);
    v
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
mod tests;

#[cfg(test)]
mod code_tests {
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

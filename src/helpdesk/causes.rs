//! The causes `why` finds, one kind per function: locks in force, the
//! inventory's status, each kind of failure in the look-back, logins from
//! new places, and others targeting the account; and the account's view.

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{TimeZone, Utc};

use super::{AccountView, Cause, Code, Evidence, Input, LockedBy, SpellingView, text};
use crate::account::History;
use crate::account::history::Attempt;
use crate::account::normalize;
use crate::decision::{Assessment, DecisionAction};
use crate::event::{AccountStatus, Action, Name, Outcome, Reason};

/// A success this soon after failed one-time codes suggests the codes were
/// right but the phone's clock was off (TOTP windows are 30 s each).
const CLOCK_SKEW_SECS: i64 = 120;

/// A cause of kind `code`, its sentences written in the input's language.
pub(super) fn cause(
    input: &Input<'_>,
    code: Code,
    since: Option<i64>,
    ev: Evidence,
    current: bool,
) -> Cause {
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
pub(super) fn locks(input: &Input<'_>, attempts: &[&Attempt], out: &mut Vec<Cause>) {
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
pub(super) fn inventory(input: &Input<'_>, out: &mut Vec<Cause>) {
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
pub(super) fn by_reason(
    input: &Input<'_>,
    h: &History,
    attempts: &[&Attempt],
    out: &mut Vec<Cause>,
) {
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
pub(super) fn novelty(input: &Input<'_>, h: &History, attempts: &[&Attempt], out: &mut Vec<Cause>) {
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
pub(super) fn attack(input: &Input<'_>, h: &History, attempts: &[&Attempt], out: &mut Vec<Cause>) {
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
pub(super) fn spellings(h: &History, user: &str) -> Vec<SpellingView> {
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

pub(super) fn account_view(input: &Input<'_>) -> AccountView {
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

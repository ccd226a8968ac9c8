//! User error or attack: the assessment every decision carries.
//!
//! A lock is right either way; what the admin does next is not. Failures only
//! from places the account already logs in from are the user fumbling (tell
//! them about Caps Lock and wait for the auto-unlock); failures from places it
//! never used, many accounts from one address, many addresses against one
//! account, listed or anonymizing networks are an attack (look at the source,
//! keep the account locked). Without any successful login on record there is
//! nothing to compare with, and the assessment says so (`unclear`).
//!
//! Pure: the decision, the event that triggered it and the accounts' learned
//! histories (as they were before that event) in, a [`Why`] out.

use std::net::IpAddr;

use super::registry::Accounts;
use crate::decision::{Decision, Why};
use crate::event::{AuthEvent, Name, Reason};

/// What a decision rests on, as far as assessing it goes (the pipeline
/// derives it from the rule's kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Failures counted in a window (threshold, consecutive, distinct,
    /// sequence): their sources decide.
    Failures,
    /// A single success somewhere new (novelty, travel, dormant, restriction).
    Success,
    /// An account-policy finding of the sweep (password age, inactivity).
    Policy,
}

/// Accounts with successes on record before an address no account uses counts
/// as a stranger's: below this a fresh install would call everyone a stranger.
const POPULATION: usize = 10;

/// Several accounts tried from one place, or several places against one
/// account, from this many on: the shape of spraying and distributed guessing.
const MANY: usize = 3;

/// Assesses `d`, made by a rule of `basis` on the event `trigger`, against the
/// accounts' histories as they were before `trigger`.
pub fn assess(d: &Decision, trigger: &AuthEvent, basis: Basis, accounts: &Accounts) -> Why {
    if let Some(ip) = trigger.source_ip {
        if let Some(list) = trigger.lists.as_ref().and_then(|l| l.first()) {
            return Why::Listed {
                ip,
                list: list.clone(),
            };
        }
        if trigger.geo.as_ref().is_some_and(|g| g.anonymous.any) {
            return Why::Anonymous { ip };
        }
    }
    match basis {
        Basis::Policy => return Why::Policy,
        Basis::Success => {
            let user = d.target.user.clone().or_else(|| trigger.user.clone());
            return match user {
                Some(user) => Why::NewPlace { user },
                None => Why::Text {
                    text: String::new(),
                },
            };
        }
        Basis::Failures => {}
    }
    let mut ips: Vec<IpAddr> = d.evidence.source_ips.clone();
    if let Some(ip) = trigger.source_ip.or(d.target.ip)
        && !ips.contains(&ip)
    {
        ips.push(ip);
    }
    let mut users: Vec<Name> = d.evidence.users.clone();
    if let Some(u) = d.target.user.as_ref().or(trigger.user.as_ref())
        && !users.contains(u)
    {
        users.push(u.clone());
    }
    let histories: Vec<(&Name, Option<&super::History>)> = users
        .iter()
        .map(|u| (u, accounts.get(u).filter(|h| h.has_successes())))
        .collect();
    let all_known = !ips.is_empty()
        && histories.iter().all(|(_, h)| {
            h.is_some_and(|h| ips.iter().all(|ip| h.familiarity(Some(*ip), None).known()))
        });
    if all_known {
        return Why::KnownSources {
            user: users.first().cloned().unwrap_or_else(|| Name::from("")),
            ips,
        };
    }
    let none_known = histories.iter().all(|(_, h)| h.is_none());
    if trigger.reason == Some(Reason::UnknownUser) && none_known {
        return Why::UnknownNames { names: users.len() };
    }
    if users.len() >= MANY {
        return Why::ManyAccounts {
            ip: (ips.len() == 1).then(|| ips[0]),
            users: users.len(),
        };
    }
    if ips.len() >= MANY {
        return Why::ManyAddresses {
            user: users.first().cloned().unwrap_or_else(|| Name::from("")),
            ips: ips.len(),
        };
    }
    for (user, h) in &histories {
        if let Some(h) = h
            && let Some(ip) = ips
                .iter()
                .find(|ip| !h.familiarity(Some(**ip), None).known())
        {
            return Why::NewSource {
                user: (*user).clone(),
                ip: *ip,
            };
        }
    }
    // Nothing known of the account: judge the address against everyone's.
    if let Some(user) = users.first()
        && let Some(ip) = ips
            .iter()
            .find(|ip| accounts.anyone_uses(**ip, POPULATION) == Some(false))
    {
        return Why::Stranger {
            user: user.clone(),
            ip: *ip,
        };
    }
    match users.first() {
        Some(user) => Why::NoHistory { user: user.clone() },
        None => Why::Text {
            text: "Nothing on record to tell a user's mistake from an attack.".to_string(),
        },
    }
}

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

mod causes;
pub mod gather;
pub mod text;
mod view;

use crate::account::history::Attempt;
use crate::account::normalize;
use crate::event::Name;
use causes::{account_view, attack, by_reason, cause, inventory, locks, novelty, spellings};

pub use text::Language;
pub use view::{AccountView, Cause, Code, Diagnosis, Evidence, Input, LockedBy, SpellingView};

/// How far back `why` looks at attempts: a helpdesk call is about today.
pub const LOOKBACK_SECS: i64 = 24 * 3600;

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

#[cfg(test)]
mod tests;

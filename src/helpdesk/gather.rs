//! Gathering what [`super::diagnose`] reads: from a pipeline that just
//! replayed files (`why USER FILE...`), or from the state database (the
//! running daemon's API, and the CLI when no daemon answers).

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::{Diagnosis, Input, LOOKBACK_SECS, Language, diagnose, did_you_mean};
use crate::account::{Accounts, History, history};
use crate::decision::Decision;
use crate::enrich::AccountLookup;
use crate::event::Name;
use crate::state::{DecisionFilter, StateError, Store};

/// True when `d` matters at `at`: a lock or block in force then, or any
/// decision made within the look-back (an alert that the account was attacked).
pub fn relevant_at(d: &Decision, at: DateTime<Utc>) -> bool {
    if d.at > at {
        return false;
    }
    if d.action.lasts() {
        return d.until.is_none_or(|u| u > at);
    }
    at.timestamp() - d.at.timestamp() <= LOOKBACK_SECS
}

/// The addresses of `h`'s recent attempts (their blocks matter to the user).
fn recent_ips(h: Option<&History>) -> BTreeSet<IpAddr> {
    h.map(|h| h.recent.iter().filter_map(|a| a.ip).collect())
        .unwrap_or_default()
}

/// The diagnosis of `user` at `at`, from the accounts a pipeline learned and
/// every decision it made.
pub fn from_accounts(
    accounts: &Accounts,
    decisions: &[Decision],
    inventory: Option<&dyn AccountLookup>,
    user: &str,
    at: DateTime<Utc>,
    language: Language,
) -> Diagnosis {
    let h = accounts.get(user);
    let ips = recent_ips(h);
    let relevant: Vec<Decision> = decisions
        .iter()
        .filter(|d| {
            (d.target.user.as_deref() == Some(user)
                || d.target.ip.is_some_and(|i| ips.contains(&i)))
                && relevant_at(d, at)
        })
        .cloned()
        .collect();
    let account = inventory.and_then(|i| i.account(user));
    let similar = if h.is_none() {
        did_you_mean(user, accounts.names())
    } else {
        Vec::new()
    };
    diagnose(&Input {
        user,
        at,
        history: h,
        decisions: &relevant,
        account: account.as_deref(),
        similar: &similar,
        language,
    })
}

/// The diagnosis of `user` now (`at`), from the state database: the stored
/// history, the decisions in force, and the inventory when given.
pub fn from_store(
    store: &Store,
    inventory: Option<&dyn AccountLookup>,
    user: &str,
    at: DateTime<Utc>,
    language: Language,
) -> Result<Diagnosis, StateError> {
    let h = store
        .account_history(user)?
        .and_then(|b| history::decode(&b));
    let mut decisions: Vec<Decision> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut add = |recs: Vec<crate::state::DecisionRecord>, decisions: &mut Vec<Decision>| {
        for r in recs {
            if seen.insert(r.decision.id.clone()) {
                decisions.push(r.decision);
            }
        }
    };
    add(
        store.decisions(&DecisionFilter {
            active_only: true,
            user: Some(user.to_owned()),
            ..DecisionFilter::default()
        })?,
        &mut decisions,
    );
    add(
        store.decisions(&DecisionFilter {
            user: Some(user.to_owned()),
            limit: Some(50),
            ..DecisionFilter::default()
        })?,
        &mut decisions,
    );
    for ip in recent_ips(h.as_ref()) {
        add(
            store.decisions(&DecisionFilter {
                active_only: true,
                ip: Some(ip),
                ..DecisionFilter::default()
            })?,
            &mut decisions,
        );
    }
    // The store's status is the truth for what is in force now (an admin may
    // have unlocked early): keep what is active, and recent non-locks.
    let active: BTreeSet<String> = store
        .decisions(&DecisionFilter {
            active_only: true,
            user: Some(user.to_owned()),
            ..DecisionFilter::default()
        })?
        .into_iter()
        .map(|r| r.decision.id)
        .collect();
    decisions.retain(|d| {
        relevant_at(d, at) && (!d.action.lasts() || active.contains(&d.id) || d.target.ip.is_some())
    });
    let account = inventory.and_then(|i| i.account(user));
    let similar = if h.is_none() {
        let names: Vec<Name> = store.account_names()?.into_iter().map(Name::from).collect();
        did_you_mean(user, names.iter())
    } else {
        Vec::new()
    };
    Ok(diagnose(&Input {
        user,
        at,
        history: h.as_ref(),
        decisions: &decisions,
        account: account.as_deref(),
        similar: &similar,
        language,
    }))
}

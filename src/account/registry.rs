//! Every account's [`History`], the index that links a mistyped login ID to
//! the account it was meant for, and what changed since the last commit.
//!
//! Linking rests on two facts together, never on the name alone: the typed ID
//! is a plausible mistyping of an account's ID ([`normalize::link`]), and the
//! attempt came from a place that account has logged in from (its address,
//! /24 or /64, or device). An attacker guessing `adm1n` from a fresh address
//! stays an unknown user; carol typing `ｃａｒｏｌ` at her desk is carol.
//!
//! Memory is bounded: at most `max_users` accounts are held (the least
//! recently seen eighth is dropped when the map is full), and unknown user
//! names never get a history of their own. Names with failures and no
//! success (an IdP that logs a bad password for a name that does not exist,
//! or a real account that never logged in) hold at most an eighth of
//! `max_users`: a flood of a million such names keeps 12,500 of them, not
//! 100,000 histories, and never pushes out an account that logged in.

use std::net::IpAddr;

use chrono::{TimeZone, Utc};
// Seeded per map (foldhash): accounts are keyed by user names and networks
// from the log, which an attacker chooses; an unseeded hasher such as Fx would
// let crafted names collide into one probe chain (hash flooding). Output built
// from the map is sorted (`facts`) or order-free.
use foldhash::HashMap;

use super::AccountFacts;
use super::history::{self, History, net_of};
use super::normalize::{self, Mistake};
use crate::event::{Action, AuthEvent, Name, Reason};

/// Accounts held in memory by default.
pub const MAX_USERS: usize = 100_000;

/// Accounts remembered per network for linking: a shared office NAT has many
/// users, but a typo is checked against each, so the list stays short.
const MAX_PER_NET: usize = 32;

/// An unknown-user attempt linked to the account it was meant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The account.
    pub user: Name,
    /// What explains the spelling.
    pub mistakes: Vec<Mistake>,
}

/// See the module header.
#[derive(Debug)]
pub struct Accounts {
    users: HashMap<Name, History>,
    /// Accounts with a success from each /24 or /64 (may name accounts that
    /// were dropped since: every use checks the account's own history).
    by_net: HashMap<(bool, u64), Vec<Name>>,
    /// Accounts whose history changed since the last commit (each once: the
    /// history's own flag says whether it is listed, saving a set lookup per event).
    dirty: Vec<Name>,
    max_users: usize,
    /// Accounts held with at least one success: the population an address
    /// no account uses is judged against.
    with_successes: usize,
}

impl Default for Accounts {
    fn default() -> Accounts {
        Accounts::with_capacity(MAX_USERS)
    }
}

impl Accounts {
    /// An empty registry holding at most `max_users` accounts (at least 8).
    pub fn with_capacity(max_users: usize) -> Accounts {
        Accounts {
            users: HashMap::default(),
            by_net: HashMap::default(),
            dirty: Vec::new(),
            max_users: max_users.max(8),
            with_successes: 0,
        }
    }

    /// The history of `user`, when one is held.
    pub fn get(&self, user: &str) -> Option<&History> {
        self.users.get(user)
    }

    /// The names of the accounts held, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        self.users.keys()
    }

    /// The facts the account sweep reads (`password-age`, `inactive`), from
    /// the histories held: what `replay` sweeps with in event time.
    pub fn facts(&self) -> Vec<AccountFacts> {
        let time = |t: Option<i64>| t.and_then(|t| Utc.timestamp_opt(t, 0).single());
        let mut v: Vec<AccountFacts> = self
            .users
            .iter()
            .map(|(u, h)| AccountFacts {
                user: u.to_string(),
                first_success: time(h.first_success),
                last_success: time(h.last_success),
                last_failure: time(
                    h.recent
                        .iter()
                        .filter(|a| a.outcome == crate::event::Outcome::Failure)
                        .map(|a| a.at)
                        .max(),
                ),
                last_source_ip: h.ips.iter().max_by_key(|s| s.last).map(|s| s.value),
                consecutive_failures: 0,
            })
            .collect();
        v.sort_by(|a, b| a.user.cmp(&b.user));
        v
    }

    /// True when some account held has logged in successfully from the /24
    /// or /64 of `ip`, and there are enough such accounts (`min`) for "no
    /// account uses this address" to mean something.
    pub fn anyone_uses(&self, ip: IpAddr, min: usize) -> Option<bool> {
        (self.with_successes >= min).then(|| {
            self.by_net.get(&net_of(ip)).is_some_and(|users| {
                users.iter().any(|u| {
                    self.users
                        .get(u)
                        .is_some_and(|h| h.familiarity(Some(ip), None).known())
                })
            })
        })
    }

    /// Accounts held.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no account is held.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The account an `unknown_user` failure was most likely meant for, when
    /// its spelling and its source both point to one (see the module header).
    pub fn link(&self, ev: &AuthEvent) -> Option<Link> {
        if ev.reason != Some(Reason::UnknownUser) {
            return None;
        }
        let (typed, ip) = (ev.user.as_deref()?, ev.source_ip?);
        let device = history::device_of(ev).map(|d| &**d);
        let candidates = self.by_net.get(&net_of(ip))?;
        let mut best: Option<Link> = None;
        for user in candidates {
            let Some(h) = self.users.get(user) else {
                continue;
            };
            if !h.familiarity(Some(ip), device).known() {
                continue;
            }
            let Some(mistakes) = normalize::link(typed, user) else {
                continue;
            };
            // Fewer mistakes is the likelier account (`Carol` is carol before
            // it is carl); ties go to the name that sorts first, for stable output.
            let better = best
                .as_ref()
                .is_none_or(|b| (mistakes.len(), &**user) < (b.mistakes.len(), &*b.user));
            if better {
                best = Some(Link {
                    user: user.clone(),
                    mistakes,
                });
            }
        }
        best
    }

    /// Folds one event: into the linked account's history when `link` is
    /// given, else into its own account's, unless the name is unknown. With
    /// `teach` false a success is recorded but its places are not learned.
    pub fn observe(&mut self, ev: &AuthEvent, link: Option<&Link>, teach: bool) {
        let (user, typed) = match (link, &ev.user) {
            (Some(l), Some(typed)) => (&l.user, Some(typed)),
            (None, Some(user)) if ev.reason != Some(Reason::UnknownUser) => (user, None),
            _ => return,
        };
        // One lookup for the common case (an account seen before).
        let h = match self.users.get_mut(user) {
            Some(h) => h,
            None => {
                if self.users.len() >= self.max_users {
                    self.shed();
                }
                if !ev.is_success()
                    && self.users.len().saturating_sub(self.with_successes) >= self.max_users / 8
                {
                    self.shed_unproven();
                }
                self.users.entry(user.clone()).or_default()
            }
        };
        let had = h.has_successes();
        h.observe(ev, typed, teach);
        if !had && h.has_successes() {
            self.with_successes += 1;
        }
        if !h.dirty {
            h.dirty = true;
            self.dirty.push(user.clone());
        }
        if teach
            && ev.action == Action::Login
            && ev.outcome == crate::event::Outcome::Success
            && let Some(ip) = ev.source_ip
        {
            index(&mut self.by_net, ip, user);
        }
    }

    /// Drops the least recently seen eighth of the accounts.
    fn shed(&mut self) {
        let mut seen: Vec<(i64, Name)> = self
            .users
            .iter()
            .map(|(u, h)| (h.last_seen, u.clone()))
            .collect();
        seen.sort_unstable();
        // A dropped account's last changes are lost with it; the history of
        // an account idle this long is the least useful to keep.
        for (_, u) in seen.iter().take(self.max_users / 8) {
            if self.users.remove(u).is_some_and(|h| h.has_successes()) {
                self.with_successes -= 1;
            }
        }
        self.by_net.retain(|_, users| {
            users.retain(|u| self.users.contains_key(u));
            !users.is_empty()
        });
        self.forget_dropped();
    }

    /// Drops the least recently seen eighth of the accounts with no success.
    fn shed_unproven(&mut self) {
        let mut seen: Vec<(i64, Name)> = self
            .users
            .iter()
            .filter(|(_, h)| !h.has_successes())
            .map(|(u, h)| (h.last_seen, u.clone()))
            .collect();
        seen.sort_unstable();
        let n = (seen.len() / 8).max(1);
        for (_, u) in seen.iter().take(n) {
            self.users.remove(u);
        }
        // Accounts without a success are in no `by_net` list: nothing to prune.
        self.forget_dropped();
    }

    /// Drops dropped accounts from the dirty list: `replay` never takes it,
    /// and a flood of names would otherwise keep every one alive there.
    fn forget_dropped(&mut self) {
        let users = &self.users;
        self.dirty.retain(|u| users.contains_key(u));
    }

    /// The accounts changed since the last call, in their stored form, sorted
    /// by name (a commit writes rows in a stable order).
    pub fn take_dirty(&mut self) -> Vec<(Name, Vec<u8>)> {
        let mut out: Vec<(Name, Vec<u8>)> = Vec::with_capacity(self.dirty.len());
        for u in self.dirty.drain(..) {
            if let Some(h) = self.users.get_mut(&u) {
                h.dirty = false;
                out.push((u, history::encode(h)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Loads stored rows (as [`Self::take_dirty`] wrote them). Rows that do
    /// not decode are skipped and counted: those accounts are learned anew.
    pub fn restore(&mut self, rows: impl IntoIterator<Item = (String, Vec<u8>)>) -> usize {
        let mut bad = 0;
        for (user, bytes) in rows {
            let Some(h) = history::decode(&bytes) else {
                bad += 1;
                continue;
            };
            if self.users.len() >= self.max_users {
                self.shed();
            }
            let user = Name::from(user);
            for s in &h.ips {
                index(&mut self.by_net, s.value, &user);
            }
            if h.has_successes() {
                self.with_successes += 1;
            }
            if let Some(old) = self.users.insert(user, h)
                && old.has_successes()
            {
                self.with_successes -= 1;
            }
        }
        bad
    }
}

/// Remembers that `user` logged in from the network of `ip`.
fn index(by_net: &mut HashMap<(bool, u64), Vec<Name>>, ip: IpAddr, user: &Name) {
    let list = by_net.entry(net_of(ip)).or_default();
    if list.iter().any(|u| u == user) {
        return;
    }
    if list.len() >= MAX_PER_NET {
        list.remove(0);
    }
    list.push(user.clone());
}

#[cfg(test)]
mod tests;

//! What the engine keeps per rule: one [`KeyState`] per group key in a hash
//! map (fast non-cryptographic hasher; keys are not secret-dependent in a way
//! that matters here, and the per-rule cap bounds any collision flood), with
//! the rule's counters. Every kind's step goes through `RuleState::touch` or
//! `RuleState::slot`, so the caps below hold for all of them.
//!
//! Memory stays bounded: a sweep every minute of event time drops keys that can
//! no longer fire nor need remembering, and a per-rule cap (`max_keys`) evicts the
//! least recently seen keys when a flood of new keys (an attacker cycling through
//! millions of addresses) arrives faster than they expire.
//!
//! Least recently seen is a policy an attacker steers: 60,000 invented user
//! names push a real account's half-full window out. So a `group_by = "user"`
//! key touched by an event of a known account (`AuthEvent::user_known`: an
//! account with successful logins, or in the inventory) is *protected*: it is
//! counted against a cap of its own (`max_keys` again) and evicted only to make
//! room for another protected key. An attacker cannot make names known without
//! logging in, so a flood of unknown names evicts only unknown names.

// Seeded per map (foldhash): rule keys are attacker-chosen user names and
// addresses, and an unseeded hasher such as Fx lets a crafted set of them
// collide into one probe chain (hash flooding). No decision depends on the
// map's order: eviction orders keys by (last seen, key), see `make_room`.
use foldhash::HashMap;

use super::key::{GroupBy, Key};
use super::model::{Kind, Rule};
use super::window::{KeyState, NEVER};
use crate::event::AuthEvent;

/// Everything one rule remembers (fields shared with the engine, the kinds
/// and [`super::snapshot`]).
#[derive(Debug, Default)]
pub(super) struct RuleState {
    pub(super) keys: HashMap<Key, KeyState>,
    /// How many of `keys` are protected (kept by every insertion and removal).
    pub(super) protected: usize,
    pub(super) evicted: u64,
    pub(super) matches: u64,
    pub(super) decisions: u64,
    pub(super) suppressed: u64,
    pub(super) late: u64,
}

/// True while a key still matters: events in its window, an active decision, or
/// a past decision that a repeat would escalate. A `dormant` rule's keys
/// always matter (a user's last success must outlive any idle span; only
/// `max_keys` bounds them).
pub(super) fn alive(rule: &Rule, k: &KeyState, now: i64) -> bool {
    rule.kind == Kind::Dormant
        || k.last_seen >= now.saturating_sub(rule.window.ms())
        || k.quiet_until > now
        || rule.decision.escalation.is_some_and(|e| {
            k.last_fire != NEVER && now.saturating_sub(k.last_fire) <= e.within.ms()
        })
}

impl RuleState {
    /// A matching event's key: counted, created if new (making room at the
    /// `max_keys` cap first), and marked seen at `t`. Every kind goes through here
    /// so the cap and the match count hold for all of them.
    pub(super) fn touch(&mut self, rule: &Rule, key: &Key, ev: &AuthEvent, t: i64) {
        self.matches += 1;
        self.slot(rule, key.clone(), ev, t);
    }

    /// The state of `key` for `ev` at `t`: created if new (after making room in
    /// its class), protected when `ev` is a known account's (see the module
    /// header), marked seen at `t`.
    pub(super) fn slot(&mut self, rule: &Rule, key: Key, ev: &AuthEvent, t: i64) -> &mut KeyState {
        let protect = protects(rule, ev);
        self.admit(rule, &key, protect, t);
        entry(&mut self.keys, &mut self.protected, key, protect, t)
    }

    /// Makes room for `key` when it is new to its class and the class is full.
    #[inline]
    pub(super) fn admit(&mut self, rule: &Rule, key: &Key, protect: bool, t: i64) {
        let full = if protect {
            self.protected >= rule.max_keys
        } else {
            self.keys.len() - self.protected >= rule.max_keys
        };
        // Only at a cap is the extra lookup paid: a key already in the class needs no room.
        if full && !self.keys.get(key).is_some_and(|k| k.protected || !protect) {
            self.make_room(rule, t, protect);
        }
    }

    /// Recounts the protected keys after keys were dropped.
    pub(super) fn recount(&mut self) {
        self.protected = self.keys.values().filter(|k| k.protected).count();
    }

    /// Makes room for one more key of a class (protected or not): sweeps, then
    /// evicts the least recently seen eighth of that class (at least one) if it
    /// is still at its cap. Evicting in batches keeps the cost per new key
    /// constant under a flood; the other class is never touched, so unknown
    /// names cannot push out a known account's window.
    ///
    /// Keys seen at the same time are ordered by the key itself, not by where
    /// the hash map keeps them: which keys go must not depend on the map's
    /// history, or an engine restored from a snapshot (same keys, different
    /// layout) would evict others than the uninterrupted run and decide otherwise.
    pub(super) fn make_room(&mut self, rule: &Rule, now: i64, protected: bool) {
        self.keys.retain(|_, k| alive(rule, k, now));
        self.recount();
        let len = if protected {
            self.protected
        } else {
            self.keys.len() - self.protected
        };
        if len < rule.max_keys || len == 0 {
            return;
        }
        let n = (len / 8).max(len + 1 - rule.max_keys).min(len);
        let mut order: Vec<(i64, &Key)> = self
            .keys
            .iter()
            .filter(|(_, s)| s.protected == protected)
            .map(|(k, s)| (s.last_seen, k))
            .collect();
        let (_, &mut (th_seen, th_key), _) = order.select_nth_unstable(n - 1);
        let th_key = th_key.clone();
        drop(order);
        let before = self.keys.len();
        // (last_seen, key) is a total order over distinct keys: exactly n of
        // the class are at or below it.
        self.keys
            .retain(|k, s| s.protected != protected || (s.last_seen, k) > (th_seen, &th_key));
        self.evicted += (before - self.keys.len()) as u64;
        self.recount();
    }
}

/// True when `ev` protects its key in `rule` (see the module header): only a
/// user key, one per account, so a known account hit from a million addresses
/// still holds one protected key.
#[inline]
pub(super) fn protects(rule: &Rule, ev: &AuthEvent) -> bool {
    ev.user_known && rule.group_by == GroupBy::User
}

/// `key`'s state, created if new and protected if `protect` (room was made by
/// [`RuleState::admit`]), marked seen at `t`. Apart from `RuleState` so a
/// caller can still count into the rule's other fields while holding it.
#[inline]
pub(super) fn entry<'a>(
    keys: &'a mut HashMap<Key, KeyState>,
    protected: &mut usize,
    key: Key,
    protect: bool,
    t: i64,
) -> &'a mut KeyState {
    let ks = keys.entry(key).or_insert_with(|| KeyState::new(t));
    if protect && !ks.protected {
        ks.protected = true;
        *protected += 1;
    }
    ks.last_seen = ks.last_seen.max(t);
    ks
}

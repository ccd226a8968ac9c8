//! The rule engine: events in (in event time), decisions out.
//!
//! Pure: no wall clock, every time comes from the events, so a replay of a log
//! gives the same decisions (with the same ids) as the live run did. Per rule, a
//! hash map (fast non-cryptographic hasher; keys are not secret-dependent in a way
//! that matters here, and the per-rule cap bounds any collision flood) holds one
//! [`KeyState`] per group key. The common path allocates nothing: conditions are
//! bitmasks, keys are shared names or addresses, windows reuse their buffers; only
//! a new key or a firing decision allocates.
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

use std::sync::Arc;

use chrono::{DateTime, Utc};
// Seeded per map (foldhash): rule keys are attacker-chosen user names and
// addresses, and an unseeded hasher such as Fx lets a crafted set of them
// collide into one probe chain (hash flooding). No decision depends on the
// map's order: eviction orders keys by (last seen, key), see `make_room`.
use foldhash::HashMap;
use serde::Serialize;

use super::RuleSet;
use super::cond::in_nets;
use super::key::{GroupBy, Key};
use super::model::{Extra, Kind, Rule};
use super::snapshot::fingerprint;
use super::window::{Entry, KeyState, NEVER, evidence};
use super::{dormant, novelty, restriction, travel};
use crate::decision::{Decision, DecisionAction, Mode, Unlock, decision_id};
use crate::event::{AuthEvent, Name, Outcome};

/// Event time between two sweeps of expired keys.
const SWEEP_EVERY_MS: i64 = 60_000;

/// Counters of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    pub rule: Name,
    /// Keys currently tracked.
    pub keys: usize,
    /// Keys dropped because the rule reached `max_keys`.
    pub evicted: u64,
    /// Events that met the rule's conditions and had its group key (this
    /// process run only: not kept in snapshots).
    pub matches: u64,
    /// Decisions produced.
    pub decisions: u64,
    /// Matches ignored because a decision for the key was active.
    pub suppressed: u64,
    /// Matches ignored because they were older than the key's window.
    pub late: u64,
}

/// Counters of the whole engine, one entry per rule in rule-set order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    pub rules: Vec<RuleStats>,
}

/// Everything one rule remembers (fields shared with [`super::snapshot`]).
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

/// Runs a rule set over a stream of events.
///
/// Its whole state can be saved and restored ([`Engine::snapshot`],
/// [`Engine::restore`]) and the rule set swapped while it runs
/// ([`Engine::reload`]); both live in [`super::snapshot`].
#[derive(Debug)]
pub struct Engine {
    pub(super) rules: Arc<RuleSet>,
    pub(super) mode: Mode,
    /// One per rule, in rule-set order.
    pub(super) states: Vec<RuleState>,
    /// [`super::snapshot::fingerprint`] of each rule, in rule-set order: tells
    /// a reload or a restore which rules' state still applies.
    pub(super) fingerprints: Vec<u64>,
    pub(super) next_sweep: i64,
    /// Per [`Outcome`] (by discriminant), the indices of the rules that can act
    /// on an event of that outcome, in rule-set order. Most events are failures
    /// and a third of the default rules only look at successes (or at nothing,
    /// per event): skipping them up front keeps the per-event loop short.
    pub(super) by_outcome: [Vec<usize>; 3],
}

/// The [`Engine::by_outcome`] index of `rules`.
pub(super) fn outcome_index(rules: &RuleSet) -> [Vec<usize>; 3] {
    let of = |o: Outcome| {
        rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| may_act(r, o))
            .map(|(i, _)| i)
            .collect()
    };
    [
        of(Outcome::Success),
        of(Outcome::Failure),
        of(Outcome::Unknown),
    ]
}

/// False only when [`step`] returns `None` for every event of outcome `o`
/// without touching the rule's state (mirrors its dispatch: each kind's step
/// begins with `rule.cond.matches`, which checks the outcome mask).
fn may_act(rule: &Rule, o: Outcome) -> bool {
    let allowed = rule.cond.allows_outcome(o);
    match (&rule.kind, &rule.extra) {
        (Kind::Travel, Extra::Travel(_))
        | (Kind::Novelty, Extra::Novelty(_))
        | (Kind::Dormant, Extra::Dormant(_)) => o == Outcome::Success && allowed,
        (Kind::PasswordAge | Kind::Inactive, _) => false,
        (Kind::Restriction, Extra::Allow(_)) => allowed,
        _ => allowed || (rule.kind.watches_success() && o == Outcome::Success),
    }
}

impl Engine {
    /// An engine with no history. `mode` applies to rules without their own.
    pub fn new(rules: Arc<RuleSet>, mode: Mode) -> Engine {
        let states = rules.rules.iter().map(|_| RuleState::default()).collect();
        let fingerprints = rules.rules.iter().map(fingerprint).collect();
        let by_outcome = outcome_index(&rules);
        Engine {
            rules,
            mode,
            states,
            fingerprints,
            next_sweep: NEVER,
            by_outcome,
        }
    }

    /// The mode for rules without their own.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The rule set being run.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Feeds one event; returns the decisions it triggers (usually none: the
    /// returned empty `Vec` does not allocate).
    pub fn observe(&mut self, ev: &AuthEvent) -> Vec<Decision> {
        let t = ev.timestamp.timestamp_millis();
        if t >= self.next_sweep {
            self.sweep_at(t);
            self.next_sweep = t.saturating_add(SWEEP_EVERY_MS);
        }
        let mut out = Vec::new();
        let relevant = self
            .by_outcome
            .get(ev.outcome as usize)
            .map_or(&[][..], Vec::as_slice);
        for &i in relevant {
            let (Some(rule), Some(st)) = (self.rules.rules.get(i), self.states.get_mut(i)) else {
                continue;
            };
            if let Some(d) = step(rule, st, ev, t, self.mode) {
                out.push(d);
            }
        }
        out
    }

    /// Typed counters per rule.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            rules: self
                .rules
                .rules
                .iter()
                .zip(&self.states)
                .map(|(r, s)| RuleStats {
                    rule: r.id.clone(),
                    keys: s.keys.len(),
                    evicted: s.evicted,
                    matches: s.matches,
                    decisions: s.decisions,
                    suppressed: s.suppressed,
                    late: s.late,
                })
                .collect(),
        }
    }

    /// Drops, in every rule, the keys that can neither fire nor matter at event
    /// time `now`. `observe` does this every minute of event time by itself; a
    /// caller may also sweep when its input goes quiet.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        self.sweep_at(now.timestamp_millis());
    }

    fn sweep_at(&mut self, now: i64) {
        for (rule, st) in self.rules.rules.iter().zip(self.states.iter_mut()) {
            // A dormant rule's keys are always alive: scanning them would drop nothing.
            if rule.kind != Kind::Dormant {
                st.keys.retain(|_, k| alive(rule, k, now));
                st.recount();
            }
        }
    }
}

/// True while a key still matters: events in its window, an active decision, or
/// a past decision that a repeat would escalate. A `dormant` rule's keys
/// always matter (a user's last success must outlive any idle span; only
/// `max_keys` bounds them).
fn alive(rule: &Rule, k: &KeyState, now: i64) -> bool {
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
fn protects(rule: &Rule, ev: &AuthEvent) -> bool {
    ev.user_known && rule.group_by == GroupBy::User
}

/// `key`'s state, created if new and protected if `protect` (room was made by
/// [`RuleState::admit`]), marked seen at `t`. Apart from `RuleState` so a
/// caller can still count into the rule's other fields while holding it.
#[inline]
fn entry<'a>(
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

/// One rule, one event.
fn step(rule: &Rule, st: &mut RuleState, ev: &AuthEvent, t: i64, mode: Mode) -> Option<Decision> {
    match (&rule.kind, &rule.extra) {
        (Kind::Travel, Extra::Travel(tr)) => return travel::step(rule, tr, st, ev, t, mode),
        (Kind::Novelty, Extra::Novelty(nv)) => return novelty::step(rule, nv, st, ev, t, mode),
        (Kind::Dormant, Extra::Dormant(dm)) => return dormant::step(rule, *dm, st, ev, t, mode),
        // Judged by the periodic sweep (`super::sweep`), never per event.
        (Kind::PasswordAge | Kind::Inactive, _) => return None,
        (Kind::Restriction, Extra::Allow(allow)) => {
            // Violations are counted like a threshold rule's matches.
            return (rule.cond.matches(ev) && restriction::violates(allow, ev))
                .then(|| counted(rule, st, ev, t, mode))
                .flatten();
        }
        _ => {}
    }
    if rule.cond.matches(ev) {
        counted(rule, st, ev, t, mode)
    } else if rule.kind.watches_success() && rule.cond.matches_success(ev) {
        success(rule, st, ev, t, mode)
    } else {
        None
    }
}

/// A matching event: into the key's window; fires when the window is full.
fn counted(
    rule: &Rule,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
) -> Option<Decision> {
    let key = rule.group_by.key(ev)?;
    st.matches += 1;
    let val = match rule.kind {
        // An event without the counted field says nothing to a distinct rule.
        Kind::Distinct(f) => Some(f.value(ev)?),
        _ => None,
    };
    let protect = protects(rule, ev);
    st.admit(rule, &key, protect, t);
    let ks = entry(&mut st.keys, &mut st.protected, key, protect, t);
    if ks.quiet_until > t {
        st.suppressed += 1;
        return None;
    }
    // Out-of-order events are accepted while they fall inside the window that ends
    // at the newest event of the key; older ones are counted as late and dropped.
    let cutoff = ks
        .newest()
        .map_or(t, |n| n.max(t))
        .saturating_sub(rule.window.ms());
    ks.expire(cutoff);
    if t < cutoff {
        st.late += 1;
        return None;
    }
    let entry = Entry {
        t,
        ip: ev.source_ip,
        user: ev.user.clone(),
        val,
    };
    let count = rule.count as usize;
    match rule.kind {
        Kind::Threshold | Kind::Consecutive | Kind::Restriction | Kind::Travel => ks.insert(entry),
        // These kinds have their own step and never count here.
        Kind::Novelty | Kind::Dormant | Kind::PasswordAge | Kind::Inactive => return None,
        Kind::Distinct(_) => ks.insert_distinct(entry),
        Kind::Sequence => {
            // Failures only arm a sequence; the success fires it.
            ks.insert(entry);
            ks.keep_last(count);
            return None;
        }
    }
    if ks.entries.len() < count {
        return None;
    }
    let key = rule.group_by.key(ev)?;
    st.decisions += 1;
    let ks = st.keys.get_mut(&key)?;
    Some(fire(rule, ks, &key, ev, t, mode, false))
}

/// A success for the key: resets a `consecutive` window, fires an armed `sequence`.
fn success(
    rule: &Rule,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
) -> Option<Decision> {
    let key = rule.group_by.key(ev)?;
    let ks = st.keys.get_mut(&key)?;
    ks.last_seen = ks.last_seen.max(t);
    if rule.kind == Kind::Sequence {
        if ks.quiet_until > t {
            st.suppressed += 1;
            return None;
        }
        ks.expire(t.saturating_sub(rule.window.ms()));
        // Only failures before the success count (a late failure after it does not).
        let before = ks.entries.iter().take_while(|e| e.t <= t).count();
        // With success_from_failing_ip, a success from an address that did not
        // fail (the owner at home while a bot fails elsewhere) neither fires
        // nor forgives the failures.
        if matches!(rule.extra, Extra::SuccessFromFailingIp)
            && !ks
                .entries
                .iter()
                .take(before)
                .any(|e| e.ip.is_some() && e.ip == ev.source_ip)
        {
            return None;
        }
        if before >= rule.count as usize {
            ks.entries.truncate(before);
            let mut d = fire(rule, ks, &key, ev, t, mode, true);
            d.evidence.count = before as u64;
            st.decisions += 1;
            return Some(d);
        }
    }
    // A success ends the streak: consecutive starts over, and a sequence needs N
    // failures since the last success (typos before a good login are forgiven).
    ks.clear_through(t);
    None
}

/// Builds the decision for a full window and updates suppression and escalation.
pub(super) fn fire(
    rule: &Rule,
    ks: &mut KeyState,
    key: &Key,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    trigger: bool,
) -> Decision {
    let spec = &rule.decision;
    let repeat = spec
        .escalation
        .is_some_and(|e| ks.last_fire != NEVER && t.saturating_sub(ks.last_fire) <= e.within.ms());
    ks.repeats = if repeat {
        ks.repeats.saturating_add(1)
    } else {
        0
    };
    ks.last_fire = t;
    let duration = spec.duration_for(ks.repeats);
    let quiet = duration.unwrap_or_else(|| rule.quiet_after());
    ks.quiet_until = t.saturating_add(quiet.ms());

    let target = key.target();
    let exempt = is_exempt(rule, key, ev);
    let at = ev.timestamp;
    let (action, until) = if exempt {
        (DecisionAction::Alert, None)
    } else {
        let until = match spec.unlock {
            Unlock::Auto => duration.and_then(|d| at.checked_add_signed(d.delta())),
            Unlock::Admin | Unlock::None => None,
        };
        (spec.action, until)
    };
    let evidence = evidence(&ks.entries, ev, trigger);
    ks.entries.clear();
    Decision {
        kind: "decision",
        id: decision_id(&rule.id, &target, &at, ev.log_offset),
        rule: rule.id.clone(),
        action,
        target,
        at,
        until,
        unlock: Unlock::of(action, spec.unlock),
        severity: spec.severity,
        mode: rule.mode.unwrap_or(mode),
        exempt,
        assessment: crate::decision::Assessment::Unclear,
        why: Default::default(),
        evidence,
    }
}

/// Exempt users are compared with the key's user; exempt networks with the key's
/// address or network, or for user keys with the triggering event's address.
/// An account the inventory marks exempt (break-glass, monitoring) is exempt in
/// every rule keyed by its user.
fn is_exempt(rule: &Rule, key: &Key, ev: &AuthEvent) -> bool {
    let ex = &rule.exempt;
    let user = match key {
        Key::User(u) | Key::UserIp(u, _) => Some(u),
        _ => None,
    };
    if user.is_some_and(|u| ex.users.iter().any(|x| x == u)) {
        return true;
    }
    if user.is_some_and(|u| {
        ev.account
            .as_ref()
            .is_some_and(|a| a.exempt && a.user == *u)
    }) {
        return true;
    }
    if ex.cidrs.is_empty() {
        return false;
    }
    match key {
        Key::Ip(ip) | Key::UserIp(_, ip) => in_nets(&ex.cidrs, ip),
        Key::Net(n) => {
            let net = n.to_ipnet();
            ex.cidrs
                .iter()
                .any(|c| c.contains(&net.network()) || net.contains(&c.network()))
        }
        Key::User(_) => ev.source_ip.is_some_and(|ip| in_nets(&ex.cidrs, &ip)),
    }
}

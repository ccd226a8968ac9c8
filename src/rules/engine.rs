//! The rule engine: events in (in event time), decisions out.
//!
//! Pure: no wall clock, every time comes from the events, so a replay of a log
//! gives the same decisions (with the same ids) as the live run did. Per rule, a
//! hash map holds one [`KeyState`](super::window::KeyState) per group key. The
//! common path allocates nothing: conditions are
//! bitmasks, keys are shared names or addresses, windows reuse their buffers; only
//! a new key or a firing decision allocates.
//!
//! What the engine keeps per rule, and how it stays bounded, is in
//! [`super::rule_state`]; what each kind does with an event is in the kind's
//! module under [`super::kinds`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::kinds;
use super::model::{Kind, RuleSet, fingerprint};
use super::rule_state::{RuleState, alive};
use super::trace::{NoTrace, Trace, Tracer};
use super::window::NEVER;
use crate::decision::{Decision, Mode};
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
    /// [`fingerprint`] of each rule, in rule-set order: tells
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
            .filter(|(_, r)| kinds::may_act(r, o))
            .map(|(i, _)| i)
            .collect()
    };
    [
        of(Outcome::Success),
        of(Outcome::Failure),
        of(Outcome::Unknown),
    ]
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
    #[inline]
    pub fn observe(&mut self, ev: &AuthEvent) -> Vec<Decision> {
        self.observe_with(ev, &mut NoTrace)
    }

    /// [`Engine::observe`], with what every rule did with the event written
    /// into `trace` (one step per rule, in rule-set order): what
    /// `loginwatch explain` shows. The state changes exactly as `observe`'s.
    pub fn observe_traced(&mut self, ev: &AuthEvent, trace: &mut Trace) -> Vec<Decision> {
        trace.start(&self.rules);
        let out = self.observe_with(ev, trace);
        trace.finish(&self.rules, ev);
        out
    }

    /// [`Engine::observe`] reporting to `tr` ([`NoTrace`] compiles to the
    /// untraced loop).
    #[inline]
    fn observe_with<T: Tracer>(&mut self, ev: &AuthEvent, tr: &mut T) -> Vec<Decision> {
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
            tr.begin(i);
            if let Some(d) = kinds::step(rule, st, ev, t, self.mode, tr) {
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

//! The lockout storm breaker. An attacker who knows the lock policy can lock
//! everyone out by failing a few logins per account; when more than
//! `max_accounts` distinct accounts would be locked within `window`, account
//! locks are held (`mode: held`: neither enforced nor alerted one by one), one
//! critical alert goes out, and enforcement
//! resumes after `cooldown` without a would-be lock (the cool-down restarts with
//! each one, so an attack still under way keeps the breaker open) or when an
//! admin resets it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decision::{
    Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock, decision_id,
};
use crate::event::Name;

/// The rule id of storm alerts.
pub const STORM_RULE: &str = "loginwatch-lockout-storm";

/// Breaker thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StormConfig {
    /// More than this many distinct accounts within `window` trips it (default 20).
    pub max_accounts: usize,
    /// Default 10 minutes.
    pub window: Duration,
    /// Quiet time before enforcement resumes (default 30 minutes).
    pub cooldown: Duration,
}

impl Default for StormConfig {
    fn default() -> StormConfig {
        StormConfig {
            max_accounts: 20,
            window: Duration::from_secs(600),
            cooldown: Duration::from_secs(1800),
        }
    }
}

/// The breaker's state, for the state snapshot (a restart must not reset it:
/// an attacker could otherwise crash-loop the daemon to re-enable locks).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StormState {
    /// Accounts that would have been locked lately, with the last such time.
    pub recent: Vec<(String, DateTime<Utc>)>,
    /// Since when it is open, and the last would-be lock since.
    pub tripped: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// What changed, for the daemon to alert on.
#[derive(Debug, Clone, PartialEq)]
pub enum StormEvent {
    /// Account locks are now recommendations.
    Tripped {
        at: DateTime<Utc>,
        accounts: Vec<String>,
        first: DateTime<Utc>,
    },
    /// Enforcement resumed (`by_admin` false: the cool-down passed).
    Resumed {
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        by_admin: bool,
    },
}

impl StormEvent {
    /// The storm as a critical decision the alert pipeline can carry; the
    /// `Resumed` event has the same id as its `Tripped` one (resolve it).
    pub fn decision(&self) -> Decision {
        let target = Target {
            user: None,
            ip: None,
            net: None,
        };
        let (since, last, users) = match self {
            StormEvent::Tripped {
                at,
                accounts,
                first,
            } => (*at, *at, (accounts.clone(), *first)),
            StormEvent::Resumed { at, since, .. } => (*since, *at, (Vec::new(), *since)),
        };
        let (users, first) = users;
        Decision {
            kind: "decision",
            id: decision_id(STORM_RULE, &target, &since, None),
            rule: Name::from(STORM_RULE),
            action: DecisionAction::Alert,
            target,
            at: since,
            until: None,
            unlock: Unlock::None,
            severity: Severity::Critical,
            mode: Mode::Recommend,
            exempt: false,
            assessment: crate::decision::Assessment::Attack,
            why: crate::decision::Why::LockStorm,
            evidence: Evidence {
                count: users.len() as u64,
                first,
                last,
                source_ips: Vec::new(),
                users: users.into_iter().map(Name::from).collect(),
                hosts: Vec::new(),
            },
        }
    }
}

/// The breaker.
#[derive(Debug, Clone)]
pub struct StormBreaker {
    config: StormConfig,
    state: StormState,
}

fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl StormBreaker {
    pub fn new(config: StormConfig) -> StormBreaker {
        StormBreaker {
            config,
            state: StormState::default(),
        }
    }

    /// Whether account locks are currently downgraded.
    pub fn is_tripped(&self) -> bool {
        self.state.tripped.is_some()
    }

    /// A would-be lock of `user` at `now`: `true` when it may go ahead, plus
    /// what changed (a resume, then possibly a new trip).
    pub fn lock(&mut self, user: &str, now: DateTime<Utc>) -> (bool, Vec<StormEvent>) {
        let mut events: Vec<StormEvent> = self.tick(now).into_iter().collect();
        if let Some((_, last)) = &mut self.state.tripped {
            *last = now.max(*last);
            return (false, events);
        }
        let horizon = now - delta(self.config.window);
        self.state.recent.retain(|(_, t)| *t > horizon);
        match self.state.recent.iter_mut().find(|(u, _)| u == user) {
            Some((_, t)) => *t = now.max(*t),
            None => self.state.recent.push((user.to_owned(), now)),
        }
        if self.state.recent.len() <= self.config.max_accounts {
            return (true, events);
        }
        self.state.tripped = Some((now, now));
        let first = self
            .state
            .recent
            .iter()
            .map(|(_, t)| *t)
            .min()
            .unwrap_or(now);
        events.push(StormEvent::Tripped {
            at: now,
            accounts: self.state.recent.iter().map(|(u, _)| u.clone()).collect(),
            first,
        });
        (false, events)
    }

    /// Resumes when the cool-down has passed since the last would-be lock.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<StormEvent> {
        let (since, last) = self.state.tripped?;
        if now < last + delta(self.config.cooldown) {
            return None;
        }
        Some(self.resume(now, since, false))
    }

    /// An admin's command: resume now. `None` when it was not tripped.
    pub fn reset(&mut self, now: DateTime<Utc>) -> Option<StormEvent> {
        let (since, _) = self.state.tripped?;
        Some(self.resume(now, since, true))
    }

    fn resume(&mut self, now: DateTime<Utc>, since: DateTime<Utc>, by_admin: bool) -> StormEvent {
        // The accounts seen before the trip must not re-trip it at once.
        self.state = StormState::default();
        StormEvent::Resumed {
            at: now,
            since,
            by_admin,
        }
    }

    /// The state, for the snapshot.
    pub fn snapshot(&self) -> StormState {
        self.state.clone()
    }

    /// Restores a snapshot taken by [`Self::snapshot`].
    pub fn restore(&mut self, state: StormState) {
        self.state = state;
    }
}

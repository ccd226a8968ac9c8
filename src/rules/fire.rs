//! A rule fires: the decision for a key whose window is full (or whose kind
//! says so), with suppression and escalation updated in the key's state.
//!
//! Shared by every kind's step: a kind decides *that* it fires, this module
//! decides *what* the decision says (action, end, exemption, evidence) and
//! gives it a stable id.

use super::cond::in_nets;
use super::key::Key;
use super::model::Rule;
use super::window::{KeyState, NEVER, evidence};
use crate::decision::{Decision, DecisionAction, Mode, Unlock, decision_id};
use crate::event::AuthEvent;

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

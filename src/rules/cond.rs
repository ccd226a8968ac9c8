//! The typed condition language of `[rule.match]`, pre-evaluated for the hot path.
//!
//! Enum conditions (action, outcome, reason) become bitmasks so a check is one AND,
//! not a string compare; name lists keep shared `Name`s; CIDR lists are parsed
//! `IpNet`s. All conditions present must hold (AND); a list means "any of" (IN).

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use super::enriched::EnrichCond;
use crate::event::{Action, AuthEvent, Method, Name, Outcome, Reason};

/// A set of fieldless enum values as a bitmask (bit = discriminant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mask(pub u32);

impl Mask {
    /// Every value.
    pub const ALL: Mask = Mask(u32::MAX);

    /// The single bit of a discriminant.
    pub const fn bit(discriminant: u32) -> u32 {
        1u32 << discriminant
    }

    /// True when the value with this discriminant is in the set.
    #[inline]
    pub fn has(self, discriminant: u32) -> bool {
        self.0 & Mask::bit(discriminant) != 0
    }
}

/// A condition on a name (user): a list of exact names, or a regex.
#[derive(Debug, Clone)]
pub enum NameMatch {
    List(Vec<Name>),
    Regex(Regex),
}

impl NameMatch {
    /// True when `name` satisfies the condition.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NameMatch::List(v) => v.iter().any(|n| &**n == name),
            NameMatch::Regex(r) => r.is_match(name),
        }
    }
}

/// A compiled `[rule.match]`. `None` / `Mask::ALL` mean "no condition".
#[derive(Debug, Clone)]
pub struct Cond {
    /// `event.action` in this set.
    pub actions: Mask,
    /// True when the file constrained `action` (decides what counts as a success).
    pub action_given: bool,
    /// `event.outcome` in this set.
    pub outcomes: Mask,
    /// `event.reason` in this set; an event without reason fails it.
    pub reasons: Option<Mask>,
    /// `user.name` satisfies this; an event without user fails it.
    pub user: Option<NameMatch>,
    /// `user.name` must not satisfy this; an event without user passes.
    pub not_user: Option<NameMatch>,
    /// `service.name` in this list.
    pub service: Option<Vec<Name>>,
    /// `host.name` in this list.
    pub host: Option<Vec<Name>>,
    /// `loginwatch.auth.method` in this list.
    pub method: Option<Vec<Method>>,
    /// `source.ip` inside one of these networks; an event without IP fails it.
    pub source_ip: Option<Vec<IpNet>>,
    /// `source.ip` inside none of these networks; an event without IP passes.
    pub not_source_ip: Vec<IpNet>,
    /// Conditions on enrichment (GeoIP, IP lists, inventory); boxed because
    /// most rules have none.
    pub enriched: Option<Box<EnrichCond>>,
    /// `mistyped`: whether the event is an unknown-user attempt the account
    /// stage linked to a real account (`loginwatch.user.intended.name` set).
    pub mistyped: Option<bool>,
}

impl Default for Cond {
    fn default() -> Cond {
        Cond {
            actions: Mask::ALL,
            action_given: false,
            outcomes: Mask::ALL,
            reasons: None,
            user: None,
            not_user: None,
            service: None,
            host: None,
            method: None,
            source_ip: None,
            not_source_ip: Vec::new(),
            enriched: None,
            mistyped: None,
        }
    }
}

/// True when `ip` lies in one of `nets`.
pub fn in_nets(nets: &[IpNet], ip: &IpAddr) -> bool {
    nets.iter().any(|n| n.contains(ip))
}

fn name_in(list: &Option<Vec<Name>>, v: &Option<Name>) -> bool {
    match list {
        None => true,
        Some(list) => v.as_deref().is_some_and(|v| list.iter().any(|n| &**n == v)),
    }
}

impl Cond {
    /// True when the event satisfies every condition.
    #[inline]
    pub fn matches(&self, ev: &AuthEvent) -> bool {
        self.actions.has(ev.action as u32)
            && self.outcomes.has(ev.outcome as u32)
            && match self.reasons {
                None => true,
                Some(m) => ev.reason.is_some_and(|r| m.has(r as u32)),
            }
            && self.fields_match(ev)
    }

    /// True when the event is a success that resets a `consecutive` rule or triggers
    /// a `sequence` rule: outcome success, the rule's action (login if the rule names
    /// none), and every other condition except outcome and reason.
    #[inline]
    pub fn matches_success(&self, ev: &AuthEvent) -> bool {
        ev.outcome == Outcome::Success
            && if self.action_given {
                self.actions.has(ev.action as u32)
            } else {
                ev.action == Action::Login
            }
            && self.fields_match(ev)
    }

    /// The name, service, method, network and enrichment conditions.
    fn fields_match(&self, ev: &AuthEvent) -> bool {
        let user = ev.user.as_deref();
        self.mistyped
            .is_none_or(|want| ev.mistyped_of.is_some() == want)
            && self
                .user
                .as_ref()
                .is_none_or(|c| user.is_some_and(|n| c.matches(n)))
            && self
                .not_user
                .as_ref()
                .is_none_or(|c| !user.is_some_and(|n| c.matches(n)))
            && name_in(&self.service, &ev.service)
            && name_in(&self.host, &ev.host)
            && self
                .method
                .as_ref()
                .is_none_or(|ms| ev.method.as_ref().is_some_and(|m| ms.contains(m)))
            && self
                .source_ip
                .as_ref()
                .is_none_or(|nets| ev.source_ip.is_some_and(|ip| in_nets(nets, &ip)))
            && (self.not_source_ip.is_empty()
                || !ev
                    .source_ip
                    .is_some_and(|ip| in_nets(&self.not_source_ip, &ip)))
            && self.enriched.as_ref().is_none_or(|c| c.matches(ev))
    }

    /// True when some event with this outcome could satisfy the condition.
    pub fn allows_outcome(&self, o: Outcome) -> bool {
        self.outcomes.has(o as u32)
    }

    /// True when the reason condition could hold: reasons are set on failures,
    /// and `expired_password` also on successes (logged in, must change it now).
    pub fn reason_possible(&self) -> bool {
        self.reasons.is_none_or(|m| {
            self.allows_outcome(Outcome::Failure)
                || (self.allows_outcome(Outcome::Success) && m.has(Reason::ExpiredPassword as u32))
        })
    }
}

/// Bit of an `Action`.
pub fn action_bit(a: Action) -> u32 {
    Mask::bit(a as u32)
}

/// Bit of an `Outcome`.
pub fn outcome_bit(o: Outcome) -> u32 {
    Mask::bit(o as u32)
}

/// Bit of a `Reason`.
pub fn reason_bit(r: Reason) -> u32 {
    Mask::bit(r as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{EventSetters, failure, t};
    use std::sync::Arc;

    fn ev(outcome: Outcome, reason: Option<Reason>) -> AuthEvent {
        failure("alice", "10.1.2.3", t(0))
            .with_outcome(outcome)
            .with_reason(reason)
    }

    #[test]
    fn masks_and_lists_are_anded() {
        let c = Cond {
            outcomes: Mask(outcome_bit(Outcome::Failure)),
            reasons: Some(Mask(reason_bit(Reason::BadPassword))),
            not_source_ip: vec!["10.0.0.0/8".parse().unwrap()],
            ..Cond::default()
        };
        let bad = ev(Outcome::Failure, Some(Reason::BadPassword));
        assert!(!c.matches(&bad), "excluded network must not match");
        let c = Cond {
            not_source_ip: Vec::new(),
            ..c
        };
        assert!(c.matches(&bad));
        assert!(!c.matches(&ev(Outcome::Failure, Some(Reason::UnknownUser))));
        assert!(!c.matches(&ev(Outcome::Failure, None)));
        assert!(!c.matches(&ev(Outcome::Success, None)));
        assert!(c.matches_success(&ev(Outcome::Success, None)));
    }

    #[test]
    fn user_regex_and_exclusion() {
        let c = Cond {
            user: Some(NameMatch::Regex(Regex::new("^al").unwrap())),
            not_user: Some(NameMatch::List(vec![Arc::from("alice")])),
            ..Cond::default()
        };
        assert!(!c.matches(&ev(Outcome::Failure, None)));
        let mut e = ev(Outcome::Failure, None);
        e.user = Some(Arc::from("albert"));
        assert!(c.matches(&e));
        e.user = None;
        assert!(!c.matches(&e), "a user condition needs a user");
    }
}

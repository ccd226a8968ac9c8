//! `kind = "restriction"`: logins of a user or group from outside the networks
//! or countries it is allowed to use (the IP restriction cybozu.com and LINE
//! WORKS offer, checked on the logs of every service).
//!
//! A rule lists allowances (`[[rule.allow]]`): who they apply to (`user`,
//! `group`) and where from (`cidrs`, `countries`). An event of a user no
//! allowance applies to is unrestricted. For a restricted user, the event is
//! a violation unless its address is in the CIDRs or its country in the
//! countries of one of the user's allowances; violations are then counted like
//! a `threshold` rule (`count`, default 1, within `window`).
//!
//! Unjudgeable events never fire: no user or no address; or an allowance by
//! country when the event has no GeoIP data at all (no database configured:
//! the rule is reported as using geo, hence inactive). An event *with* GeoIP
//! data but no country (an address the database does not place) is judged and
//! fails the countries: the restriction fails closed.

use toml::Spanned;

use super::counting::counted;
use crate::decision::{Decision, Mode};
use crate::event::AuthEvent;
use crate::rules::cond::{NameMatch, in_nets};
use crate::rules::enriched::countries;
use crate::rules::model::Rule;
use crate::rules::params::Allow;
use crate::rules::raw::{NameCond, RawAllow, StrList};
use crate::rules::rule_state::RuleState;
use crate::rules::sink::{Sink, cidrs, names};
use crate::rules::trace::{Note, Status, Tracer};

/// True when the allowance applies to `user` (by name, or by a group of the
/// event's account).
fn applies(a: &Allow, user: &str, ev: &AuthEvent) -> bool {
    a.user.as_ref().is_some_and(|m| m.matches(user))
        || (!a.groups.is_empty()
            && ev
                .account
                .as_ref()
                .is_some_and(|acc| acc.groups.iter().any(|g| a.groups.iter().any(|w| w == g))))
}

/// True when the event is a login the allowances forbid (see the module doc).
pub fn violates(allow: &[Allow], ev: &AuthEvent) -> bool {
    let (Some(user), Some(ip)) = (ev.user.as_deref(), ev.source_ip) else {
        return false;
    };
    let country = ev.geo.as_ref().and_then(|g| g.country_iso_code.as_deref());
    let mut restricted = false;
    let mut by_country = false;
    for a in allow.iter().filter(|a| applies(a, user, ev)) {
        restricted = true;
        if in_nets(&a.cidrs, &ip) || country.is_some_and(|c| a.countries.iter().any(|x| &**x == c))
        {
            return false;
        }
        by_country |= !a.countries.is_empty();
    }
    restricted && !(by_country && ev.geo.is_none())
}

/// One event through a `restriction` rule: violations are counted like a
/// threshold rule's matches.
pub(super) fn step<T: Tracer>(
    rule: &Rule,
    allow: &[Allow],
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    tr: &mut T,
) -> Option<Decision> {
    if !rule.cond.matches(ev) {
        tr.note(|| Note::filtered(rule, ev, false));
        return None;
    }
    if !violates(allow, ev) {
        tr.note(|| Note::plain(Status::Ignored, allowed(allow, ev)));
        return None;
    }
    counted(rule, st, ev, t, mode, tr)
}

/// Why an event the rule's conditions match is no violation (for the trace).
fn allowed(allow: &[Allow], ev: &AuthEvent) -> &'static str {
    let (Some(user), Some(_)) = (ev.user.as_deref(), ev.source_ip) else {
        return "no user or no address to judge";
    };
    if !allow.iter().any(|a| applies(a, user, ev)) {
        "no [[rule.allow]] applies to the user: unrestricted"
    } else if ev.geo.is_none()
        && allow
            .iter()
            .any(|a| applies(a, user, ev) && !a.countries.is_empty())
    {
        "allowed by country, and the event has no GeoIP data to judge it"
    } else {
        "from a network or country the user's [[rule.allow]] permits"
    }
}

/// Compiles the `[[rule.allow]]` tables; each must say who and where.
pub fn compile(sink: &mut Sink, raw: &Spanned<Vec<Spanned<RawAllow>>>) -> Vec<Allow> {
    if raw.get_ref().is_empty() {
        sink.err(
            raw.span(),
            "kind = \"restriction\" needs at least one [[rule.allow]]",
        );
    }
    let mut out = Vec::new();
    for a in raw.get_ref() {
        let span = a.span();
        let a = a.get_ref();
        if a.user.is_none() && a.group.is_none() {
            sink.err(
                span.clone(),
                "[[rule.allow]] needs user or group: whom it applies to (user = { regex = \".*\" } for everyone)",
            );
        }
        if a.cidrs.is_none() && a.countries.is_none() {
            sink.err(
                span.clone(),
                "[[rule.allow]] needs cidrs or countries: where its users may log in from",
            );
        }
        let user = a.user.as_ref().and_then(|u| match u.get_ref() {
            NameCond::List(l) => Some(NameMatch::List(names(l))),
            NameCond::Regex(r) => match regex::Regex::new(r) {
                Ok(r) => Some(NameMatch::Regex(r)),
                Err(e) => {
                    sink.err(u.span(), format!("bad regex in allow.user: {e}"));
                    None
                }
            },
        });
        let empty = Spanned::new(0..0, StrList(Vec::new()));
        out.push(Allow {
            user,
            groups: names(&a.group.as_ref().unwrap_or(&empty).get_ref().0),
            cidrs: a
                .cidrs
                .as_ref()
                .map(|v| cidrs(sink, v, "allow.cidrs"))
                .unwrap_or_default(),
            countries: a
                .countries
                .as_ref()
                .map(|v| countries(sink, v, "allow.countries"))
                .unwrap_or_default(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Account, Geo};
    use crate::test_support::{EventSetters, success, t};
    use std::sync::Arc;

    fn ev(user: &str, ip: &str, country: Option<Option<&str>>, groups: &[&str]) -> AuthEvent {
        let mut e = success(user, ip, t(0));
        if let Some(c) = country {
            e = e.with_geo(Geo {
                country_iso_code: c.map(Arc::from),
                ..Geo::default()
            });
        }
        if !groups.is_empty() {
            e = e.with_account(Account {
                user: Arc::from(user),
                groups: groups.iter().map(|g| Arc::from(*g)).collect(),
                ..Account::default()
            });
        }
        e
    }

    fn admins() -> Vec<Allow> {
        vec![Allow {
            user: None,
            groups: vec![Arc::from("admins")],
            cidrs: vec!["10.0.0.0/8".parse().unwrap()],
            countries: vec![Arc::from("JP")],
        }]
    }

    #[test]
    fn restricted_users_must_come_from_an_allowed_place() {
        let a = admins();
        assert!(violates(
            &a,
            &ev("root", "192.0.2.1", Some(Some("SE")), &["admins"])
        ));
        assert!(!violates(
            &a,
            &ev("root", "10.1.1.1", Some(Some("SE")), &["admins"])
        ));
        assert!(!violates(
            &a,
            &ev("root", "192.0.2.1", Some(Some("JP")), &["admins"])
        ));
        // Not in the group: unrestricted.
        assert!(!violates(
            &a,
            &ev("bob", "192.0.2.1", Some(Some("SE")), &["staff"])
        ));
        assert!(!violates(
            &a,
            &ev("bob", "192.0.2.1", Some(Some("SE")), &[])
        ));
    }

    #[test]
    fn unlocated_is_judged_but_no_geo_at_all_is_not() {
        let a = admins();
        // GeoIP ran and could not place the address: fails closed.
        assert!(violates(
            &a,
            &ev("root", "192.0.2.1", Some(None), &["admins"])
        ));
        // No GeoIP at all: the country allowance cannot be judged.
        assert!(!violates(&a, &ev("root", "192.0.2.1", None, &["admins"])));
        // A CIDR-only allowance needs no GeoIP.
        let cidr_only = vec![Allow {
            user: Some(NameMatch::List(vec![Arc::from("root")])),
            groups: Vec::new(),
            cidrs: vec!["10.0.0.0/8".parse().unwrap()],
            countries: Vec::new(),
        }];
        assert!(violates(&cidr_only, &ev("root", "192.0.2.1", None, &[])));
        assert!(!violates(&cidr_only, &ev("root", "10.0.0.1", None, &[])));
    }
}

//! Which condition of a `[rule.match]` an event fails, named as the rule file
//! writes it (`outcome = failure`, `reason in [bad_password, unknown_user]`),
//! with the event's value for it: what `loginwatch explain` says about a
//! filtered event.
//!
//! Each condition is judged by the matching code itself: a [`Cond`] (or an
//! [`EnrichCond`]) holding that one condition is asked whether the event
//! matches, in the order [`Cond::matches`] checks them. So the explanation
//! cannot drift from what the engine does; it only costs a clone per
//! condition, which only tracing pays.

use super::cond::{Cond, Mask, NameMatch};
use super::enriched::{AnonCond, EnrichCond, STATUSES, account_status};
use crate::event::{AccountStatus, Action, AuthEvent, Name, Outcome, Reason};

/// `(condition, the event's value)`.
pub type Failing = (String, String);

/// The first condition of `cond` that `ev` fails; `success` judges it as a
/// success a `consecutive` or `sequence` rule looks at (action, then every
/// condition but outcome and reason: see [`Cond::matches_success`]).
pub fn failing(cond: &Cond, ev: &AuthEvent, success: bool) -> Option<Failing> {
    if success {
        if ev.outcome != Outcome::Success {
            return Some(("outcome = success".into(), ev.outcome.as_str().into()));
        }
        if !cond.action_given && ev.action != Action::Login {
            // A success resets or fires only for the rule's action, login when it names none.
            return Some(("action = login".into(), ev.action.as_str().into()));
        }
    } else if let Some(f) = outcome(cond, ev) {
        return Some(f);
    }
    let one = |c: Cond| c.matches(ev);
    let all = Cond::default();
    if !one(Cond {
        actions: cond.actions,
        ..all.clone()
    }) {
        return Some((
            mask_text("action", Action::ALL, cond.actions),
            ev.action.as_str().into(),
        ));
    }
    if !success
        && let Some(m) = cond.reasons
        && !one(Cond {
            reasons: Some(m),
            ..all.clone()
        })
    {
        return Some((
            mask_text("reason", Reason::ALL, m),
            ev.reason.map_or("none", Reason::as_str).into(),
        ));
    }
    let user = || ev.user.as_deref().unwrap_or("none").to_owned();
    let ip = || {
        ev.source_ip
            .map_or_else(|| "none".into(), |i| i.to_string())
    };
    let name = |v: &Option<Name>| v.as_deref().unwrap_or("none").to_owned();
    let fields: [(Cond, Box<dyn Fn() -> Failing + '_>); 8] = [
        (
            Cond {
                mistyped: cond.mistyped,
                ..all.clone()
            },
            Box::new(|| {
                (
                    format!("mistyped = {}", cond.mistyped.unwrap_or_default()),
                    ev.mistyped_of.is_some().to_string(),
                )
            }),
        ),
        (
            Cond {
                user: cond.user.clone(),
                ..all.clone()
            },
            Box::new(|| (name_text("user", cond.user.as_ref()), user())),
        ),
        (
            Cond {
                not_user: cond.not_user.clone(),
                ..all.clone()
            },
            Box::new(|| (name_text("not_user", cond.not_user.as_ref()), user())),
        ),
        (
            Cond {
                service: cond.service.clone(),
                ..all.clone()
            },
            Box::new(|| {
                (
                    names_text("service", cond.service.as_deref()),
                    name(&ev.service),
                )
            }),
        ),
        (
            Cond {
                host: cond.host.clone(),
                ..all.clone()
            },
            Box::new(|| (names_text("host", cond.host.as_deref()), name(&ev.host))),
        ),
        (
            Cond {
                method: cond.method.clone(),
                ..all.clone()
            },
            Box::new(|| {
                let want: Vec<&str> = cond.method.iter().flatten().map(|m| m.as_str()).collect();
                (
                    list_text("method", &want),
                    ev.method.as_ref().map_or("none", |m| m.as_str()).into(),
                )
            }),
        ),
        (
            Cond {
                source_ip: cond.source_ip.clone(),
                ..all.clone()
            },
            Box::new(|| {
                let want: Vec<String> = cond
                    .source_ip
                    .iter()
                    .flatten()
                    .map(|n| n.to_string())
                    .collect();
                (list_text("source_ip", &want), ip())
            }),
        ),
        (
            Cond {
                not_source_ip: cond.not_source_ip.clone(),
                ..all.clone()
            },
            Box::new(|| {
                let want: Vec<String> = cond.not_source_ip.iter().map(|n| n.to_string()).collect();
                (list_text("not_source_ip", &want), ip())
            }),
        ),
    ];
    for (c, text) in fields {
        if !one(c) {
            return Some(text());
        }
    }
    cond.enriched.as_deref().and_then(|e| enriched(e, ev))
}

/// The rule's outcome condition, when `ev` fails it.
pub fn outcome(cond: &Cond, ev: &AuthEvent) -> Option<Failing> {
    (!cond.outcomes.has(ev.outcome as u32)).then(|| {
        (
            mask_text("outcome", Outcome::ALL, cond.outcomes),
            ev.outcome.as_str().into(),
        )
    })
}

/// The first enrichment condition `ev` fails.
fn enriched(e: &EnrichCond, ev: &AuthEvent) -> Option<Failing> {
    let geo = ev.geo.as_deref();
    let country = || {
        geo.and_then(|g| g.country_iso_code.as_deref())
            .unwrap_or("none")
            .to_owned()
    };
    let asn = || {
        geo.and_then(|g| g.as_number)
            .map_or_else(|| "none".into(), |a| a.to_string())
    };
    let lists = || {
        let l = ev.lists.as_deref().unwrap_or(&[]);
        if l.is_empty() {
            "none".into()
        } else {
            l.join(", ")
        }
    };
    let account = ev.account.as_deref();
    let none = EnrichCond::default();
    let nums = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>();
    let checks: [(EnrichCond, Box<dyn Fn() -> Failing + '_>); 11] = [
        (
            EnrichCond {
                country: e.country.clone(),
                ..none.clone()
            },
            Box::new(|| (names_text("country", e.country.as_deref()), country())),
        ),
        (
            EnrichCond {
                not_country: e.not_country.clone(),
                ..none.clone()
            },
            Box::new(|| (names_text("not_country", Some(&e.not_country)), country())),
        ),
        (
            EnrichCond {
                asn: e.asn.clone(),
                ..none.clone()
            },
            Box::new(|| {
                (
                    list_text("asn", &nums(e.asn.as_deref().unwrap_or(&[]))),
                    asn(),
                )
            }),
        ),
        (
            EnrichCond {
                not_asn: e.not_asn.clone(),
                ..none.clone()
            },
            Box::new(|| (list_text("not_asn", &nums(&e.not_asn)), asn())),
        ),
        (
            EnrichCond {
                anonymous: e.anonymous,
                ..none.clone()
            },
            Box::new(|| {
                let want = match e.anonymous {
                    Some(AnonCond::Flag(b)) => format!("anonymous = {b}"),
                    Some(AnonCond::Kinds(m)) => {
                        let k: Vec<&str> = super::enriched::ANON_KINDS
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| m & (1 << i) != 0)
                            .map(|(_, k)| *k)
                            .collect();
                        list_text("anonymous", &k)
                    }
                    None => "anonymous".into(),
                };
                let a = geo.map(|g| &g.anonymous);
                let v = match a {
                    None => "no GeoIP data".into(),
                    Some(a) => {
                        let mut f = Vec::new();
                        for (on, k) in [
                            (a.vpn, "vpn"),
                            (a.tor, "tor"),
                            (a.hosting, "hosting"),
                            (a.public_proxy, "public_proxy"),
                        ] {
                            if on {
                                f.push(k);
                            }
                        }
                        if f.is_empty() {
                            if a.any { "anonymous" } else { "not anonymous" }.into()
                        } else {
                            f.join(", ")
                        }
                    }
                };
                (want, v)
            }),
        ),
        (
            EnrichCond {
                in_list: e.in_list.clone(),
                ..none.clone()
            },
            Box::new(|| (names_text("in_list", e.in_list.as_deref()), lists())),
        ),
        (
            EnrichCond {
                not_in_list: e.not_in_list.clone(),
                ..none.clone()
            },
            Box::new(|| (names_text("not_in_list", Some(&e.not_in_list)), lists())),
        ),
        (
            EnrichCond {
                account_status: e.account_status,
                ..none.clone()
            },
            Box::new(|| {
                let m = e.account_status.unwrap_or(0);
                let want: Vec<&str> = STATUSES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| m & (1 << i) != 0)
                    .map(|(_, s)| *s)
                    .collect();
                let v = match account_status(ev) {
                    None => "not in the inventory",
                    Some(AccountStatus::Active) => "active",
                    Some(AccountStatus::Suspended) => "suspended",
                    Some(AccountStatus::Deleted) => "deleted",
                };
                (list_text("account_status", &want), v.into())
            }),
        ),
        (
            EnrichCond {
                admin: e.admin,
                ..none.clone()
            },
            Box::new(|| {
                (
                    format!("admin = {}", e.admin.unwrap_or_default()),
                    account.map_or("not in the inventory".into(), |a| a.admin.to_string()),
                )
            }),
        ),
        (
            EnrichCond {
                group: e.group.clone(),
                ..none.clone()
            },
            Box::new(|| {
                (
                    names_text("group", e.group.as_deref()),
                    account.map_or("not in the inventory".into(), |a| {
                        if a.groups.is_empty() {
                            "none".into()
                        } else {
                            a.groups.join(", ")
                        }
                    }),
                )
            }),
        ),
        (
            EnrichCond {
                exempt: e.exempt,
                ..none.clone()
            },
            Box::new(|| {
                (
                    format!("exempt = {}", e.exempt.unwrap_or_default()),
                    account.map_or("not in the inventory".into(), |a| a.exempt.to_string()),
                )
            }),
        ),
    ];
    checks
        .into_iter()
        .find(|(c, _)| !c.matches(ev))
        .map(|(_, text)| text())
}

/// `what = x` for one value, `what in [x, y]` for several.
fn list_text<S: AsRef<str>>(what: &str, values: &[S]) -> String {
    match values {
        [one] => format!("{what} = {}", one.as_ref()),
        _ => {
            let v: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
            format!("{what} in [{}]", v.join(", "))
        }
    }
}

/// The values of an enum mask, as a list condition.
fn mask_text(what: &str, all: &[&str], mask: Mask) -> String {
    let v: Vec<&str> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| u32::try_from(*i).is_ok_and(|i| mask.has(i)))
        .map(|(_, s)| *s)
        .collect();
    list_text(what, &v)
}

/// A list of names, quoted (names may hold anything).
fn names_text(what: &str, names: Option<&[Name]>) -> String {
    let q: Vec<String> = names
        .unwrap_or(&[])
        .iter()
        .map(|n| format!("{:?}", &**n))
        .collect();
    list_text(what, &q)
}

/// A user condition: a list of names, or a regex.
fn name_text(what: &str, m: Option<&NameMatch>) -> String {
    match m {
        Some(NameMatch::List(l)) => names_text(what, Some(l)),
        Some(NameMatch::Regex(r)) => format!("{what} = {{ regex = {:?} }}", r.as_str()),
        None => what.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::cond::{outcome_bit, reason_bit};
    use crate::test_support::{EventSetters, failure, t};
    use std::sync::Arc;

    #[test]
    fn names_the_first_failing_condition_with_the_event_value() {
        let c = Cond {
            outcomes: Mask(outcome_bit(Outcome::Failure)),
            reasons: Some(Mask(
                reason_bit(Reason::BadPassword) | reason_bit(Reason::UnknownUser),
            )),
            service: Some(vec![Arc::from("sshd")]),
            ..Cond::default()
        };
        let ev = failure("alice", "192.0.2.1", t(0)).with_reason(Some(Reason::Other));
        assert_eq!(
            failing(&c, &ev, false),
            Some((
                "reason in [bad_password, unknown_user]".into(),
                "other".into()
            ))
        );
        let ok = ev.clone().with_reason(Some(Reason::BadPassword));
        assert_eq!(
            failing(&c, &ok, false),
            Some(("service = \"sshd\"".into(), "none".into()))
        );
        let success = ev.with_outcome(Outcome::Success).with_reason(None);
        assert_eq!(
            failing(&c, &success, false),
            Some(("outcome = failure".into(), "success".into()))
        );
    }

    #[test]
    fn a_matching_event_fails_nothing() {
        let c = Cond::default();
        assert_eq!(failing(&c, &failure("bob", "192.0.2.1", t(0)), false), None);
    }
}

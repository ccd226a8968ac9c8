//! The `[rule.match]` and `[rule.decision]` tables of a rule, compiled (part of
//! [`super::compile`], split out to keep each file short).

use regex::Regex;
use toml::Spanned;

use super::cond::{Cond, Mask, NameMatch, action_bit, outcome_bit, reason_bit};
use super::enriched;
use super::model::{DecisionSpec, Escalation, UserErrorSpec};
use super::raw::{NameCond, RawDecision, RawMatch, StrList};
use super::sink::{Sink, cidrs, dur, names, one_of, spelled};
use crate::decision::{DecisionAction, Severity, Unlock};
use crate::event::{Action, Method, Name, Outcome, Reason};

/// A bitmask from a list of enum spellings; `Mask::ALL` when absent.
fn mask<T: Copy>(
    sink: &mut Sink,
    v: &Option<Spanned<StrList>>,
    what: &str,
    all: &[&str],
    parse: impl Fn(&str) -> Option<T>,
    bit: impl Fn(T) -> u32,
) -> Option<Mask> {
    let v = v.as_ref()?;
    if v.get_ref().0.is_empty() {
        sink.err(
            v.span(),
            format!("match.{what} is an empty list: it would match nothing"),
        );
        return Some(Mask(0));
    }
    let mut m = 0;
    for s in &v.get_ref().0 {
        match parse(s) {
            Some(x) => m |= bit(x),
            None => sink.err(
                v.span(),
                format!(
                    "unknown {what} {s:?} in match.{what}: expected {}",
                    one_of(all)
                ),
            ),
        }
    }
    Some(Mask(m))
}

fn name_list(sink: &mut Sink, v: &Option<Spanned<StrList>>, what: &str) -> Option<Vec<Name>> {
    let v = v.as_ref()?;
    if v.get_ref().0.is_empty() {
        sink.err(
            v.span(),
            format!("match.{what} is an empty list: it would match nothing"),
        );
    }
    Some(names(&v.get_ref().0))
}

fn name_cond(sink: &mut Sink, v: &Option<Spanned<NameCond>>, what: &str) -> Option<NameMatch> {
    let v = v.as_ref()?;
    match v.get_ref() {
        NameCond::List(l) => Some(NameMatch::List(names(l))),
        NameCond::Regex(r) => match Regex::new(r) {
            Ok(r) => Some(NameMatch::Regex(r)),
            Err(e) => {
                sink.err(v.span(), format!("bad regex in match.{what}: {e}"));
                None
            }
        },
    }
}

pub fn compile_match(sink: &mut Sink, m: &RawMatch) -> Cond {
    let actions = mask(
        sink,
        &m.action,
        "action",
        Action::ALL,
        Action::parse,
        action_bit,
    );
    Cond {
        action_given: actions.is_some(),
        actions: actions.unwrap_or(Mask::ALL),
        outcomes: mask(
            sink,
            &m.outcome,
            "outcome",
            Outcome::ALL,
            Outcome::parse,
            outcome_bit,
        )
        .unwrap_or(Mask::ALL),
        reasons: mask(
            sink,
            &m.reason,
            "reason",
            Reason::ALL,
            Reason::parse,
            reason_bit,
        ),
        user: name_cond(sink, &m.user, "user"),
        not_user: name_cond(sink, &m.not_user, "not_user"),
        service: name_list(sink, &m.service, "service"),
        host: name_list(sink, &m.host, "host"),
        method: m
            .method
            .as_ref()
            .map(|v| v.get_ref().0.iter().map(|s| Method::from_log(s)).collect()),
        source_ip: m
            .source_ip
            .as_ref()
            .map(|v| cidrs(sink, v, "match.source_ip")),
        not_source_ip: m
            .not_source_ip
            .as_ref()
            .map(|v| cidrs(sink, v, "match.not_source_ip"))
            .unwrap_or_default(),
        enriched: enriched::compile(sink, m),
        mistyped: m.mistyped.as_ref().map(|v| *v.get_ref()),
    }
}

pub fn compile_decision(sink: &mut Sink, d: &Spanned<RawDecision>) -> Option<DecisionSpec> {
    let span = d.span();
    let d = d.get_ref();
    let action = spelled(
        sink,
        &d.action,
        "decision action",
        DecisionAction::ALL,
        DecisionAction::parse,
    );
    let unlock = d
        .unlock
        .as_ref()
        .map(|u| spelled(sink, u, "unlock", Unlock::ALL, Unlock::parse));
    let severity = match &d.severity {
        Some(s) => spelled(sink, s, "severity", Severity::ALL, Severity::parse),
        None => Some(Severity::Medium),
    };
    let duration = d
        .duration
        .as_ref()
        .map(|v| dur(sink, v, "decision.duration"));
    let suppress = d
        .suppress
        .as_ref()
        .map(|v| dur(sink, v, "decision.suppress"));
    let user_error = d.user_error.as_ref().and_then(|u| {
        let r = u.get_ref();
        let action = spelled(
            sink,
            &r.action,
            "user_error action",
            DecisionAction::ALL,
            DecisionAction::parse,
        )?;
        if action.lasts() {
            sink.err(
                r.action.span(),
                format!("user_error.action {action} would need its own duration: use alert or require_password_reset"),
            );
            return None;
        }
        let severity = match &r.severity {
            Some(s) => spelled(sink, s, "severity", Severity::ALL, Severity::parse)?,
            None => Severity::Low,
        };
        Some(UserErrorSpec { action, severity })
    });
    let escalation = d.escalation.as_ref().map(|e| {
        let r = e.get_ref();
        let factor = r.factor.get_ref();
        let factor = match u32::try_from(*factor) {
            Ok(f @ 1..=100) => Some(f),
            _ => {
                sink.err(
                    r.factor.span(),
                    format!("escalation factor {factor} must be 1..=100"),
                );
                None
            }
        };
        let max = dur(sink, &r.max, "escalation.max");
        let within = dur(sink, &r.within, "escalation.within");
        (e.span(), factor, max, within)
    });

    let action = action?;
    // Default: a disable waits for an admin; everything else ends by itself.
    let unlock = match unlock {
        Some(u) => u?,
        None if action == DecisionAction::DisableAccount && duration.is_none() => Unlock::Admin,
        None => Unlock::Auto,
    };
    if action.lasts() {
        match (unlock, &duration) {
            (Unlock::Auto, None) => sink.err(
                span.clone(),
                format!("decision.duration is required for {action} with unlock = \"auto\" (or set unlock = \"admin\")"),
            ),
            (Unlock::None, _) => sink.err(
                span.clone(),
                format!("unlock = \"none\" is for decisions that lock nothing; {action} needs \"auto\" or \"admin\""),
            ),
            (Unlock::Admin, Some(_)) => sink.err(
                d.duration.as_ref().map_or(span.clone(), |v| v.span()),
                "decision.duration conflicts with unlock = \"admin\": an admin unlock has no end; remove duration or set unlock = \"auto\"",
            ),
            _ => {}
        }
    } else {
        if let Some(v) = &d.duration {
            sink.err(
                v.span(),
                format!(
                    "decision.duration has no meaning for {action} (use suppress to limit repeats)"
                ),
            );
        }
        if let Some(v) = &d.unlock {
            sink.err(v.span(), format!("decision.unlock has no meaning for {action}: only lock_account, block_ip and disable_account end"));
        }
    }
    if let (Some(v), Some(Some(_))) = (&d.suppress, &duration) {
        sink.err(v.span(), "decision.suppress applies only to decisions without duration: a lock or block suppresses repeats until it ends");
    }
    let escalation = match escalation {
        None => None,
        Some((esp, factor, max, within)) => {
            if !matches!(duration, Some(Some(_))) {
                sink.err(esp, "decision.escalation needs a duration to multiply");
                None
            } else {
                let (factor, max, within) = (factor?, max?, within?);
                if let Some(Some(base)) = duration
                    && max < base
                {
                    sink.err(
                        esp,
                        format!("escalation.max {max} is shorter than the duration {base}"),
                    );
                }
                Some(Escalation {
                    factor,
                    max,
                    within,
                })
            }
        }
    };
    Some(DecisionSpec {
        action,
        duration: match duration {
            Some(d) => Some(d?),
            None => None,
        },
        unlock,
        severity: severity?,
        escalation,
        suppress: match suppress {
            Some(d) => Some(d?),
            None => None,
        },
        user_error,
    })
}

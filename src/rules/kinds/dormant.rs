//! `kind = "dormant"`: a successful login on an account that had been idle
//! for `days` days (`dormant-reactivated`).
//!
//! An account nobody used for months that suddenly logs in is either its
//! owner back from leave or someone who found old credentials: worth a look
//! either way. The previous success comes from two witnesses, the later one
//! winning: what this rule learned from the stream (one entry per user: the
//! last success), and the inventory's `last_login_at` when the event carries
//! the account (older than the daemon's history, or the only source). An
//! inventory date at or after the event is not a *previous* login (the export
//! may already include this one) and is ignored. The first success ever seen
//! of a user with no inventory date only teaches.
//!
//! Unlike the windowed kinds, a user's last success must be remembered for
//! longer than `days` (that is the point), so keys never expire by time: they
//! are bounded by `max_keys` only (the least recently seen evicted first).

use toml::Spanned;

use crate::decision::{Decision, Mode};
use crate::event::{AuthEvent, rfc3339};
use crate::rules::fire::fire;
use crate::rules::model::Rule;
use crate::rules::params::Dormant;
use crate::rules::rule_state::RuleState;
use crate::rules::sink::Sink;
use crate::rules::trace::{Note, Status, Tracer, key_text, success_matches, time};
use crate::rules::window::Entry;

/// Default `days` of `dormant` and `inactive` rules: a quarter, the usual
/// account-review period.
pub const DEFAULT_DAYS: u32 = 90;

/// Largest `days` accepted (about ten years, as for durations).
pub const MAX_DAYS: u32 = 3650;

/// One event through a `dormant` rule.
pub(super) fn step<T: Tracer>(
    rule: &Rule,
    dm: Dormant,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    tr: &mut T,
) -> Option<Decision> {
    if !success_matches(rule, ev, tr) {
        return None;
    }
    let Some(key) = rule.group_by.key(ev) else {
        tr.note(|| Note::no_key(rule));
        return None;
    };
    st.touch(rule, &key, ev, t);
    let ks = st.keys.get_mut(&key)?;
    let learned = ks.entries.last().cloned();
    if learned.as_ref().is_some_and(|p| p.t >= t) {
        // Not after the last success known: says nothing new.
        tr.note(|| {
            Note::keyed(
                Status::Ignored,
                key_text(&key),
                "not after the last success known of the user".into(),
            )
        });
        return None;
    }
    let listed = ev
        .account
        .as_ref()
        .and_then(|a| a.last_login_at)
        .map(|d| d.timestamp_millis())
        .filter(|&d| d < t);
    let prev = match (learned, listed) {
        (Some(l), Some(d)) if d > l.t => Some(Entry {
            t: d,
            ip: None,
            user: None,
            val: None,
        }),
        (Some(l), _) => Some(l),
        (None, d) => d.map(|t| Entry {
            t,
            ip: None,
            user: None,
            val: None,
        }),
    };
    let mut out = None;
    ks.entries.clear();
    let idle = |p: &Entry| {
        format!(
            "previous success {}, {} days before (days = {})",
            time(p.t).map_or_else(|| "?".into(), |t| rfc3339(&t)),
            t.saturating_sub(p.t) / 86_400_000,
            dm.days
        )
    };
    match prev {
        Some(p) if t.saturating_sub(p.t) >= dm.idle_ms() => {
            tr.note(|| Note::keyed(Status::Fired, key_text(&key), idle(&p)));
            // Evidence: the previous success (first) and this one (last).
            ks.entries.push(p);
            st.decisions += 1;
            let mut d = fire(rule, ks, &key, ev, t, mode, true);
            d.evidence.count = 1;
            out = Some(d);
        }
        Some(p) => tr.note(|| Note::keyed(Status::Learned, key_text(&key), idle(&p))),
        None => tr.note(|| {
            Note::keyed(
                Status::Learned,
                key_text(&key),
                "the first success seen of the user (and no last login in the inventory): remembered".into(),
            )
        }),
    }
    ks.entries.clear();
    ks.entries.push(Entry {
        t,
        ip: ev.source_ip,
        user: None,
        val: None,
    });
    out
}

/// Compiles `days` (default [`DEFAULT_DAYS`]) of a `dormant` or `inactive`
/// rule.
pub fn days(sink: &mut Sink, v: &Option<Spanned<i64>>) -> Option<u32> {
    let Some(v) = v else {
        return Some(DEFAULT_DAYS);
    };
    match u32::try_from(*v.get_ref()) {
        Ok(n @ 1..=MAX_DAYS) => Some(n),
        _ => {
            sink.err(
                v.span(),
                format!("days {} must be 1..={MAX_DAYS}", v.get_ref()),
            );
            None
        }
    }
}

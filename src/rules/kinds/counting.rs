//! The counting kinds' step (`threshold`, `consecutive`, `distinct`,
//! `sequence`, and `restriction`'s violations): matching events go into the
//! key's window, which fires when full; a success resets a `consecutive`
//! window and fires an armed `sequence`.

use crate::decision::{Decision, Mode};
use crate::event::AuthEvent;
use crate::rules::fire::fire;
use crate::rules::model::{Extra, Kind, Rule};
use crate::rules::rule_state::{RuleState, entry, protects};
use crate::rules::trace::{Note, Status, Tracer, ev_key, ip_text, key_text, val_text};
use crate::rules::window::Entry;

/// A matching event: into the key's window; fires when the window is full.
#[inline]
pub(super) fn counted<T: Tracer>(
    rule: &Rule,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    tr: &mut T,
) -> Option<Decision> {
    let Some(key) = rule.group_by.key(ev) else {
        tr.note(|| Note::no_key(rule));
        return None;
    };
    st.matches += 1;
    let val = match rule.kind {
        // An event without the counted field says nothing to a distinct rule.
        Kind::Distinct(f) => {
            let Some(v) = f.value(ev) else {
                tr.note(|| {
                    Note::keyed(
                        Status::Ignored,
                        key_text(&key),
                        format!("the event has no {} to count", f.as_str()),
                    )
                });
                return None;
            };
            Some(v)
        }
        _ => None,
    };
    let protect = protects(rule, ev);
    st.admit(rule, &key, protect, t);
    let ks = entry(&mut st.keys, &mut st.protected, key, protect, t);
    if ks.quiet_until > t {
        st.suppressed += 1;
        tr.note(|| Note::suppressed(ev_key(rule, ev), ks.quiet_until));
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
        tr.note(|| Note::late(ev_key(rule, ev), cutoff));
        return None;
    }
    let before = ks.entries.len();
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
            tr.note(|| Note {
                reason: Some("armed: a success for the key fires the rule once count failures are in the window".into()),
                ..Note::window(Status::Counted, ev_key(rule, ev), before, ks.entries.len())
            });
            return None;
        }
    }
    let after = ks.entries.len();
    if after < count {
        tr.note(|| {
            let mut n = Note::window(Status::Counted, ev_key(rule, ev), before, after);
            if let Kind::Distinct(f) = rule.kind {
                let v = f.value(ev).map(|v| val_text(&v)).unwrap_or_default();
                n.reason = Some(if after > before {
                    format!("a new {} ({v})", f.as_str())
                } else {
                    format!("{} {v} is already in the window", f.as_str())
                });
            }
            n
        });
        return None;
    }
    tr.note(|| Note::window(Status::Fired, ev_key(rule, ev), before, after));
    let key = rule.group_by.key(ev)?;
    st.decisions += 1;
    let ks = st.keys.get_mut(&key)?;
    Some(fire(rule, ks, &key, ev, t, mode, false))
}

/// A success for the key: resets a `consecutive` window, fires an armed `sequence`.
#[inline]
pub(super) fn success<T: Tracer>(
    rule: &Rule,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    tr: &mut T,
) -> Option<Decision> {
    let Some(key) = rule.group_by.key(ev) else {
        tr.note(|| Note::no_key(rule));
        return None;
    };
    let Some(ks) = st.keys.get_mut(&key) else {
        tr.note(|| {
            Note::keyed(
                Status::Ignored,
                key_text(&key),
                "a success, with nothing counted for the key to reset".into(),
            )
        });
        return None;
    };
    ks.last_seen = ks.last_seen.max(t);
    if rule.kind == Kind::Sequence {
        if ks.quiet_until > t {
            st.suppressed += 1;
            tr.note(|| Note::suppressed(key_text(&key), ks.quiet_until));
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
            tr.note(|| {
                Note::keyed(
                    Status::Ignored,
                    key_text(&key),
                    format!(
                        "a success from {}, an address none of the {before} failures came from: neither fires nor forgives them (success_from_failing_ip)",
                        ip_text(ev.source_ip)
                    ),
                )
            });
            return None;
        }
        if before >= rule.count as usize {
            tr.note(|| Note {
                reason: Some("a success after count failures".into()),
                ..Note::window(Status::Fired, key_text(&key), before, before)
            });
            ks.entries.truncate(before);
            let mut d = fire(rule, ks, &key, ev, t, mode, true);
            d.evidence.count = before as u64;
            st.decisions += 1;
            return Some(d);
        }
    }
    // A success ends the streak: consecutive starts over, and a sequence needs N
    // failures since the last success (typos before a good login are forgiven).
    let before = ks.entries.len();
    ks.clear_through(t);
    tr.note(|| Note {
        reason: Some("a success ends the streak".into()),
        ..Note::window(Status::Reset, key_text(&key), before, ks.entries.len())
    });
    None
}

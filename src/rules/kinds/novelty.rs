//! `kind = "novelty"`: a successful login from a country, an AS or a device
//! the user has not used within the learning period (`new-country`,
//! `new-asn`, `new-device`).
//!
//! What counts as normal differs per user, so it is learned from the stream:
//! every success of a user teaches the value it carries, and a success whose
//! value the user has not used within `window` (the learning period) fires,
//! then is learned, so each new value is reported once. Failures never teach:
//! an attacker's failed attempts must not make their country look familiar.
//! Events without the value (no GeoIP data, no device id or user agent) teach
//! and fire nothing.
//!
//! A fresh install knows nobody, so every first login would look new: no
//! alert fires while a user's learned history is younger than `quiet`. The
//! history starts with the first success that carries a value, and starts
//! over once every learned value has expired (a user back after longer than
//! the learning period is learned anew; a long absence is what `dormant`
//! rules are for).
//!
//! Memory per user is bounded: at most [`MAX_VALUES`] values (the least
//! recently used dropped first), kept in the ordinary key state, so users are
//! capped by `max_keys`, swept after `window` and snapshotted like any window.

use crate::decision::{Decision, Mode};
use crate::event::{AuthEvent, rfc3339};
use crate::rules::duration::Dur;
use crate::rules::fire::fire;
use crate::rules::model::Rule;
use crate::rules::params::{Novelty, NoveltyField};
use crate::rules::raw::RawRule;
use crate::rules::rule_state::RuleState;
use crate::rules::sink::{Sink, dur, one_of, spelled};
use crate::rules::trace::{Note, Status, Tracer, key_text, success_matches, time, val_text};
use crate::rules::window::Entry;

/// Default learning period (`window`): values unused for 30 days are forgotten.
pub const DEFAULT_LEARN: Dur = Dur::from_secs(30 * 86_400);

/// Default `quiet`: a user's first week of history only teaches.
pub const DEFAULT_QUIET: Dur = Dur::from_secs(7 * 86_400);

/// Values learned per user at most; the least recently used go first. Sixteen
/// countries or networks is more than a travelling user has in a month, and
/// keeps a user's state a few hundred bytes.
pub const MAX_VALUES: usize = 16;

/// One event through a `novelty` rule.
pub(super) fn step<T: Tracer>(
    rule: &Rule,
    nv: &Novelty,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    tr: &mut T,
) -> Option<Decision> {
    if !success_matches(rule, ev, tr) {
        return None;
    }
    let Some(val) = nv.field.value(ev) else {
        tr.note(|| {
            Note::plain(
                Status::Ignored,
                format!(
                    "the event has no {} to learn (teaches and fires nothing)",
                    nv.field.as_str()
                ),
            )
        });
        return None;
    };
    let Some(key) = rule.group_by.key(ev) else {
        tr.note(|| Note::no_key(rule));
        return None;
    };
    st.touch(rule, &key, ev, t);
    let ks = st.keys.get_mut(&key)?;
    let cutoff = ks
        .newest()
        .map_or(t, |n| n.max(t))
        .saturating_sub(rule.window.ms());
    ks.expire(cutoff);
    if ks.entries.is_empty() {
        // Nothing learned (any more): the history starts here.
        ks.first_seen = t;
    }
    ks.first_seen = ks.first_seen.min(t);
    let known = ks.entries.iter().any(|e| e.val.as_ref() == Some(&val));
    let learning = t.saturating_sub(ks.first_seen) < nv.quiet.ms();
    let mut out = None;
    let what = || format!("{} {}", nv.field.as_str(), val_text(&val));
    if !known && !learning && t >= cutoff {
        // Each new value fires once (it is learned below), so suppression
        // applies only when the rule asks for it explicitly.
        if rule.decision.suppress.is_some() && ks.quiet_until > t {
            st.suppressed += 1;
            tr.note(|| Note::suppressed(key_text(&key), ks.quiet_until));
        } else {
            tr.note(|| {
                Note::keyed(
                    Status::Fired,
                    key_text(&key),
                    format!("{} not used by the user within {}", what(), rule.window),
                )
            });
            // The evidence is this login alone; the learned values stay.
            let learned = std::mem::take(&mut ks.entries);
            ks.entries.push(Entry {
                t,
                ip: ev.source_ip,
                user: ev.user.clone(),
                val: None,
            });
            st.decisions += 1;
            out = Some(fire(rule, ks, &key, ev, t, mode, false));
            ks.entries = learned;
        }
    } else {
        tr.note(|| {
            let why = if known {
                format!("{} already used within {}", what(), rule.window)
            } else if learning {
                format!(
                    "{} learned: the user's history began {}, under quiet = {} ago",
                    what(),
                    time(ks.first_seen).map_or_else(|| "?".into(), |t| rfc3339(&t)),
                    nv.quiet
                )
            } else {
                format!("{}: older than the learning window", what())
            };
            let status = if known || learning {
                Status::Learned
            } else {
                Status::Late
            };
            Note::keyed(status, key_text(&key), why)
        });
    }
    // Learned values keep neither address nor user: the key is the user.
    ks.insert_distinct(Entry {
        t,
        ip: None,
        user: None,
        val: Some(val),
    });
    ks.keep_last(MAX_VALUES);
    out
}

/// Compiles the `novelty` keys (`field`, `quiet`), each refused on other
/// kinds by the caller.
pub fn compile(sink: &mut Sink, raw: &RawRule, line: usize) -> Option<Novelty> {
    let field = match &raw.field {
        Some(f) => spelled(
            sink,
            f,
            "novelty field",
            NoveltyField::ALL,
            NoveltyField::parse,
        ),
        None => {
            sink.err_at(
                Some(line),
                format!(
                    "kind = \"novelty\" needs field = what to learn ({})",
                    one_of(NoveltyField::ALL)
                ),
            );
            None
        }
    };
    let quiet = match &raw.quiet {
        Some(q) => dur(sink, q, "quiet")?,
        None => DEFAULT_QUIET,
    };
    Some(Novelty {
        field: field?,
        quiet,
    })
}

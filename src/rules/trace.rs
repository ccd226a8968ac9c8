//! What each rule did with one event, for `loginwatch explain`: filtered out
//! (by which condition), counted into which key's window (the count before and
//! after), suppressed, late, learned, or fired.
//!
//! The kinds' steps report through a [`Tracer`], so the explanation is what the
//! engine did, not a second implementation of the rules beside it. The daemon
//! and `replay` pass [`NoTrace`]: its methods are empty and inlined, and a note
//! is built by a closure that [`NoTrace`] never calls, so the steps compiled for
//! it are the steps without tracing (the replay benchmark measures the same
//! instructions). [`Trace`] collects one [`Step`] per rule.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::key::{Key, Val};
use super::model::{Kind, Rule, RuleSet};
use super::why_not;
use crate::event::{AuthEvent, Name, Outcome, rfc3339};

/// Where the kinds' steps report what they did with an event.
pub trait Tracer {
    /// The engine is about to run rule `index` of the set.
    fn begin(&mut self, index: usize);
    /// What the current rule did; `note` is called only when tracing.
    fn note(&mut self, note: impl FnOnce() -> Note);
}

/// No tracing: what the daemon and `replay` run.
pub struct NoTrace;

impl Tracer for NoTrace {
    #[inline(always)]
    fn begin(&mut self, _: usize) {}
    #[inline(always)]
    fn note(&mut self, _: impl FnOnce() -> Note) {}
}

/// What a rule did with the event, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The event fired the rule: a decision.
    Fired,
    /// The event went into its key's window, which is not full yet.
    Counted,
    /// A condition of `[rule.match]` (or the kind's own) left the event out.
    Filtered,
    /// The event lacks a field the rule's `group_by` needs.
    NoKey,
    /// A decision for the key is active: matches are not counted meanwhile.
    Suppressed,
    /// Older than the key's window: dropped.
    Late,
    /// A success cleared the key's window (`consecutive`, `sequence`).
    Reset,
    /// The event taught the rule (a user's places, last login) and fired nothing.
    Learned,
    /// The rule looked at the event and found nothing to do (see the reason).
    Ignored,
    /// The rule is not judged per event (the account sweep kinds).
    Skipped,
}

impl Status {
    /// The snake_case word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fired => "fired",
            Status::Counted => "counted",
            Status::Filtered => "filtered",
            Status::NoKey => "no_key",
            Status::Suppressed => "suppressed",
            Status::Late => "late",
            Status::Reset => "reset",
            Status::Learned => "learned",
            Status::Ignored => "ignored",
            Status::Skipped => "skipped",
        }
    }
}

/// What one rule did with one event, as its step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub status: Status,
    /// The condition that left the event out, as the rule file writes it
    /// (`outcome = failure`, `reason in [bad_password, unknown_user]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The event's value for that condition (`success`, `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The group key (`alice`, `192.0.2.7`, `alice 192.0.2.7`, `192.0.2.0/24`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Events (or distinct values) in the key's window before this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<usize>,
    /// And after it (the full window when the rule fired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<usize>,
    /// In plain words, for what the fields above do not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Note {
    /// A note with only a status.
    pub fn of(status: Status) -> Note {
        Note {
            status,
            condition: None,
            value: None,
            key: None,
            before: None,
            after: None,
            reason: None,
        }
    }

    /// Left out by `[rule.match]`; `success` for a success that a
    /// `consecutive` or `sequence` rule looked at to reset or fire.
    pub fn filtered(rule: &Rule, ev: &AuthEvent, success: bool) -> Note {
        let (condition, value) = why_not::failing(&rule.cond, ev, success)
            .unwrap_or_else(|| ("the rule's conditions".into(), String::new()));
        Note {
            condition: Some(condition),
            value: Some(value),
            ..Note::of(Status::Filtered)
        }
    }

    /// Left out by a condition of the kind itself (`outcome = success` for the
    /// kinds that learn from successes).
    pub fn kind_filter(condition: &str, value: String) -> Note {
        Note {
            condition: Some(condition.into()),
            value: Some(value),
            ..Note::of(Status::Filtered)
        }
    }

    /// The event lacks a field of `group_by`.
    pub fn no_key(rule: &Rule) -> Note {
        Note {
            reason: Some(format!(
                "the event has no {} to group by",
                rule.group_by.as_str()
            )),
            ..Note::of(Status::NoKey)
        }
    }

    /// The key's window went from `before` to `after` entries.
    pub fn window(status: Status, key: String, before: usize, after: usize) -> Note {
        Note {
            key: Some(key),
            before: Some(before),
            after: Some(after),
            ..Note::of(status)
        }
    }

    /// A status for `key` with a plain reason.
    pub fn keyed(status: Status, key: String, reason: String) -> Note {
        Note {
            key: Some(key),
            reason: Some(reason),
            ..Note::of(status)
        }
    }

    /// A status with a plain reason and no key.
    pub fn plain(status: Status, reason: impl Into<String>) -> Note {
        Note {
            reason: Some(reason.into()),
            ..Note::of(status)
        }
    }

    /// Suppressed: the key's decision lasts until `until` (event-time ms).
    pub fn suppressed(key: String, until: i64) -> Note {
        Note::keyed(
            Status::Suppressed,
            key,
            format!(
                "a decision for this key is active until {}",
                time(until).map_or_else(|| "later".into(), |t| rfc3339(&t))
            ),
        )
    }

    /// Late: older than the window ending at the key's newest event.
    pub fn late(key: String, cutoff: i64) -> Note {
        Note::keyed(
            Status::Late,
            key,
            format!(
                "older than the key's window, which starts at {}",
                time(cutoff).map_or_else(|| "?".into(), |t| rfc3339(&t))
            ),
        )
    }
}

/// The learning kinds look at successes only: anything else is filtered out
/// (by the kind, or by the rule's own outcome condition).
#[inline]
pub fn success_matches<T: Tracer>(rule: &Rule, ev: &AuthEvent, tr: &mut T) -> bool {
    if ev.outcome != Outcome::Success {
        tr.note(|| Note::kind_filter("outcome = success", ev.outcome.as_str().into()));
        return false;
    }
    if !rule.cond.matches(ev) {
        tr.note(|| Note::filtered(rule, ev, false));
        return false;
    }
    true
}

/// Event-time milliseconds as a time.
pub fn time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The event's key in `rule`, as output shows it (empty without one).
pub fn ev_key(rule: &Rule, ev: &AuthEvent) -> String {
    rule.group_by
        .key(ev)
        .map(|k| key_text(&k))
        .unwrap_or_default()
}

/// A key as output shows it: its parts, space-separated.
pub fn key_text(key: &Key) -> String {
    match key {
        Key::User(u) => u.to_string(),
        Key::Ip(ip) => ip.to_string(),
        Key::UserIp(u, ip) => format!("{u} {ip}"),
        Key::Net(n) => n.to_ipnet().to_string(),
    }
}

/// A counted or learned value as output shows it.
pub fn val_text(v: &Val) -> String {
    match v {
        Val::Name(n) => n.to_string(),
        Val::Ip(ip) => ip.to_string(),
        Val::Net(n) => n.to_ipnet().to_string(),
        Val::Geo(lat, lon) => format!("{:.2},{:.2}", f64::from(*lat) / 1e6, f64::from(*lon) / 1e6),
        Val::Asn(a) => format!("AS{a}"),
    }
}

/// An optional address as output shows it.
pub fn ip_text(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "none".into(), |ip| ip.to_string())
}

/// One rule's part of an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The rule's id.
    pub rule: Name,
    /// Its kind, as the rule file spells it.
    pub kind: &'static str,
    /// Its `group_by`.
    pub group_by: &'static str,
    /// Its `count` (1 for the kinds that do not count).
    pub count: u32,
    /// Its `window` (the learning period of `novelty`, the idle span of
    /// `dormant`), spelled as in rule files.
    pub window: String,
    #[serde(flatten)]
    pub note: Note,
}

/// Collects what every rule did with one event ([`crate::rules::Engine::observe_traced`]).
#[derive(Debug, Default)]
pub struct Trace {
    /// One per rule of the set, in rule-set order, once the event is observed.
    pub steps: Vec<Step>,
    current: Option<usize>,
    notes: Vec<Option<Note>>,
}

impl Tracer for Trace {
    fn begin(&mut self, index: usize) {
        self.current = Some(index);
    }

    fn note(&mut self, note: impl FnOnce() -> Note) {
        if let Some(slot) = self.current.and_then(|i| self.notes.get_mut(i)) {
            *slot = Some(note());
        }
    }
}

impl Trace {
    /// Starts the trace of one event over `rules`.
    pub(super) fn start(&mut self, rules: &RuleSet) {
        self.steps.clear();
        self.current = None;
        self.notes.clear();
        self.notes.resize(rules.rules.len(), None);
    }

    /// Ends the trace: the rules the engine did not run for this event (not
    /// for its outcome, or not judged per event) are explained here.
    pub(super) fn finish(&mut self, rules: &RuleSet, ev: &AuthEvent) {
        let notes = std::mem::take(&mut self.notes);
        self.steps = rules
            .rules
            .iter()
            .zip(notes)
            .map(|(rule, note)| Step {
                rule: rule.id.clone(),
                kind: rule.kind.as_str(),
                group_by: rule.group_by.as_str(),
                count: rule.count,
                window: rule.window.to_string(),
                note: note.unwrap_or_else(|| not_run(rule, ev)),
            })
            .collect();
        self.current = None;
    }
}

/// Why the engine did not run `rule` for `ev` (it skips, by outcome, the rules
/// that cannot act on the event; see `kinds::may_act`).
fn not_run(rule: &Rule, ev: &AuthEvent) -> Note {
    let value = ev.outcome.as_str().to_owned();
    match rule.kind {
        k if k.is_sweep() => Note::plain(
            Status::Skipped,
            "judged by the daily account sweep, not per event",
        ),
        Kind::Travel | Kind::Novelty | Kind::Dormant if ev.outcome != Outcome::Success => {
            Note::kind_filter("outcome = success", value)
        }
        _ => match why_not::outcome(&rule.cond, ev) {
            Some((condition, value)) => Note {
                condition: Some(condition),
                value: Some(value),
                ..Note::of(Status::Filtered)
            },
            None => Note::filtered(rule, ev, false),
        },
    }
}

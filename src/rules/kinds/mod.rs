//! The rule kinds, one module each; this module holds what they share: the
//! keys that belong to one kind only (`count` for the counting kinds, `window`
//! where a span is counted over, `success_from_failing_ip`, `[[rule.allow]]`,
//! the `travel`, `novelty`, `dormant` and sweep settings), checked against the
//! rule's kind for [`super::compile`], and the per-event dispatch to each
//! kind's step for [`super::engine`].
//!
//! A key given to the wrong kind is an error rather than ignored: an operator
//! who writes `ignore_cidrs` on a threshold rule believes it does something.
//!
//! Each kind module holds its compile half (raw keys into its settings in
//! [`super::params`]) and its step half (what an event does to the rule's
//! `RuleState`); they import the model and the leaf helpers ([`Sink`],
//! `RuleState`, [`super::fire`]), never the compiler or the engine.

pub mod counting;
pub mod dormant;
pub mod novelty;
pub mod restriction;
pub mod sweep;
pub mod travel;

use super::cond::Cond;
use super::duration::Dur;
use super::key::GroupBy;
use super::model::{Extra, Kind, MAX_COUNT, Rule};
use super::params::{Dormant, Inactive};
use super::raw::RawRule;
use super::rule_state::RuleState;
use super::sink::{Sink, dur};
use super::trace::{Note, Tracer};
use crate::decision::{Decision, Mode};
use crate::event::{AuthEvent, Outcome};

/// The rule's `count`: required for the counting kinds, 1 by default for
/// `restriction`, refused for the kinds that compare, learn or sweep (they
/// have nothing to count; internally their count is 1).
pub fn count(sink: &mut Sink, raw: &RawRule, kind: Option<Kind>, line: usize) -> Option<u32> {
    let Some(v) = &raw.count else {
        return match kind {
            Some(k) if k.counts() && k != Kind::Restriction => {
                sink.err_at(
                    Some(line),
                    format!("count is required for kind = {:?}", k.as_str()),
                );
                None
            }
            Some(_) => Some(1),
            None => None,
        };
    };
    if let Some(k) = kind
        && !k.counts()
    {
        let why = match k {
            Kind::Travel => "it compares pairs of logins",
            Kind::Novelty => "it fires on the first login from a new value",
            Kind::Dormant => "it fires on one login after a long silence",
            _ => "it sweeps accounts, not events",
        };
        sink.err(
            v.span(),
            format!("count has no meaning for kind = {:?} ({why})", k.as_str()),
        );
        return None;
    }
    let n = *v.get_ref();
    match u32::try_from(n) {
        Ok(c @ 1..=MAX_COUNT) => Some(c),
        _ => {
            sink.err(v.span(), format!("count {n} must be 1..={MAX_COUNT}"));
            None
        }
    }
}

/// The rule's `window`: required for the counting kinds and `travel`; for
/// `novelty` the learning period (default 30 days); refused for the kinds
/// whose span is `days` or `max_age` ([`implied_window`] stands in for it,
/// bounding suppression and the fingerprint like any window). Those kinds get
/// a placeholder here, replaced once their settings are compiled.
pub fn window(sink: &mut Sink, raw: &RawRule, kind: Option<Kind>, line: usize) -> Option<Dur> {
    match (kind, &raw.window) {
        (Some(k @ (Kind::Dormant | Kind::Inactive | Kind::PasswordAge)), Some(v)) => {
            let instead = if k == Kind::PasswordAge {
                "max_age"
            } else {
                "days"
            };
            sink.err(
                v.span(),
                format!(
                    "window has no meaning for kind = {:?}: its span is {instead}",
                    k.as_str()
                ),
            );
            None
        }
        (Some(Kind::Dormant | Kind::Inactive | Kind::PasswordAge), None) => Some(days(1)),
        (_, Some(v)) => dur(sink, v, "window"),
        (Some(Kind::Novelty), None) => Some(novelty::DEFAULT_LEARN),
        (Some(k), None) => {
            sink.err_at(
                Some(line),
                format!("window is required for kind = {:?}", k.as_str()),
            );
            None
        }
        (None, None) => None,
    }
}

/// The span standing in for `window` in the kinds that have none.
pub fn implied_window(extra: &Extra) -> Option<Dur> {
    match extra {
        Extra::Dormant(d) => Some(days(d.days)),
        Extra::Inactive(i) => Some(days(i.days)),
        Extra::PasswordAge(p) => Some(p.max_age),
        _ => None,
    }
}

fn days(n: u32) -> Dur {
    Dur::from_secs(i64::from(n) * 86_400)
}

/// The kind-specific settings; every misplaced or missing key is reported.
pub fn extra(
    sink: &mut Sink,
    raw: &RawRule,
    kind: Option<Kind>,
    group_by: Option<GroupBy>,
    cond: &Cond,
    line: usize,
) -> Extra {
    let not_for = |key: &str, only: &str| {
        format!(
            "{key} is only for kind = {only:?}, not {:?}",
            kind.map_or("", Kind::as_str)
        )
    };
    let is = |k: Kind| kind == Some(k);
    if let Some(v) = &raw.success_from_failing_ip
        && !is(Kind::Sequence)
    {
        sink.err(v.span(), not_for("success_from_failing_ip", "sequence"));
    }
    if let Some(v) = &raw.allow
        && !is(Kind::Restriction)
    {
        sink.err(v.span(), not_for("[[rule.allow]]", "restriction"));
    }
    for (key, span) in [
        (
            "max_speed_kmh",
            raw.max_speed_kmh.as_ref().map(|v| v.span()),
        ),
        (
            "min_distance_km",
            raw.min_distance_km.as_ref().map(|v| v.span()),
        ),
        ("ignore_cidrs", raw.ignore_cidrs.as_ref().map(|v| v.span())),
    ] {
        if let Some(span) = span
            && !is(Kind::Travel)
        {
            sink.err(span, not_for(key, "travel"));
        }
    }
    for (key, span, ok, only) in [
        (
            "field",
            raw.field.as_ref().map(|v| v.span()),
            is(Kind::Novelty),
            "\"novelty\"",
        ),
        (
            "quiet",
            raw.quiet.as_ref().map(|v| v.span()),
            is(Kind::Novelty),
            "\"novelty\"",
        ),
        (
            "days",
            raw.days.as_ref().map(|v| v.span()),
            is(Kind::Dormant) || is(Kind::Inactive),
            "\"dormant\" or \"inactive\"",
        ),
        (
            "max_age",
            raw.max_age.as_ref().map(|v| v.span()),
            is(Kind::PasswordAge),
            "\"password-age\"",
        ),
        (
            "remind_before",
            raw.remind_before.as_ref().map(|v| v.span()),
            is(Kind::PasswordAge),
            "\"password-age\"",
        ),
    ] {
        if let Some(span) = span
            && !ok
        {
            sink.err(
                span,
                format!(
                    "{key} is only for kind = {only}, not {:?}",
                    kind.map_or("", Kind::as_str)
                ),
            );
        }
    }
    if let Some(k) = kind
        && matches!(
            k,
            Kind::Novelty | Kind::Dormant | Kind::PasswordAge | Kind::Inactive
        )
    {
        learned_shape(sink, raw, k, group_by, cond, line);
    }
    match kind {
        Some(Kind::Sequence) => {
            if raw
                .success_from_failing_ip
                .as_ref()
                .is_some_and(|v| *v.get_ref())
            {
                Extra::SuccessFromFailingIp
            } else {
                Extra::None
            }
        }
        Some(Kind::Restriction) => match &raw.allow {
            Some(a) => Extra::Allow(restriction::compile(sink, a)),
            None => {
                sink.err_at(
                    Some(line),
                    "kind = \"restriction\" needs [[rule.allow]] tables: who may log in from where",
                );
                Extra::None
            }
        },
        Some(Kind::Travel) => {
            if group_by.is_some_and(|g| g != GroupBy::User) {
                sink.err(
                    raw.group_by.span(),
                    "kind = \"travel\" follows one user: set group_by = \"user\"",
                );
            }
            if !cond.allows_outcome(Outcome::Success) {
                sink.err_at(
                    Some(line),
                    "kind = \"travel\" compares successful logins, but match.outcome excludes success",
                );
            }
            Extra::Travel(travel::compile(sink, raw))
        }
        Some(Kind::Novelty) => {
            novelty::compile(sink, raw, line).map_or(Extra::None, Extra::Novelty)
        }
        Some(Kind::Dormant) => dormant::days(sink, &raw.days)
            .map_or(Extra::None, |days| Extra::Dormant(Dormant { days })),
        Some(Kind::Inactive) => dormant::days(sink, &raw.days)
            .map_or(Extra::None, |days| Extra::Inactive(Inactive { days })),
        Some(Kind::PasswordAge) => {
            sweep::compile_password_age(sink, raw).map_or(Extra::None, Extra::PasswordAge)
        }
        _ => Extra::None,
    }
}

/// What the learning and sweep kinds need of the common keys: one user per
/// key; successes for the event kinds; no event conditions (and no
/// addresses to exempt) for the sweep kinds, which read accounts.
fn learned_shape(
    sink: &mut Sink,
    raw: &RawRule,
    k: Kind,
    group_by: Option<GroupBy>,
    cond: &Cond,
    line: usize,
) {
    if group_by.is_some_and(|g| g != GroupBy::User) {
        sink.err(
            raw.group_by.span(),
            format!(
                "kind = {:?} follows one account: set group_by = \"user\"",
                k.as_str()
            ),
        );
    }
    if k.is_sweep() {
        if let Some(span) = raw.cond.first_span() {
            sink.err(
                span,
                format!(
                    "kind = {:?} sweeps the inventory and learned accounts, not events: [rule.match] has no meaning",
                    k.as_str()
                ),
            );
        }
        if let Some(v) = &raw.exempt.cidrs {
            sink.err(
                v.span(),
                format!(
                    "kind = {:?} judges accounts, which have no address: use exempt.users",
                    k.as_str()
                ),
            );
        }
    } else if !cond.allows_outcome(Outcome::Success) {
        sink.err_at(
            Some(line),
            format!(
                "kind = {:?} learns from successful logins, but match.outcome excludes success",
                k.as_str()
            ),
        );
    }
}

/// One rule, one event: the step of the rule's kind.
// `#[inline]`s here and on the counting step: the engine calls them per rule
// per event from another module (another codegen unit), and without the hint
// the split of the engine into kinds cost 3.8% more instructions in replay
// (callgrind, 200k lines: 793.8 M before the split, 824.1 M after).
#[inline]
pub(super) fn step<T: Tracer>(
    rule: &Rule,
    st: &mut RuleState,
    ev: &AuthEvent,
    t: i64,
    mode: Mode,
    tr: &mut T,
) -> Option<Decision> {
    match (&rule.kind, &rule.extra) {
        (Kind::Travel, Extra::Travel(p)) => return travel::step(rule, p, st, ev, t, mode, tr),
        (Kind::Novelty, Extra::Novelty(nv)) => {
            return novelty::step(rule, nv, st, ev, t, mode, tr);
        }
        (Kind::Dormant, Extra::Dormant(dm)) => {
            return dormant::step(rule, *dm, st, ev, t, mode, tr);
        }
        // Judged by the periodic sweep ([`sweep`]), never per event (the
        // engine does not call this for them; the trace says so).
        (Kind::PasswordAge | Kind::Inactive, _) => return None,
        (Kind::Restriction, Extra::Allow(allow)) => {
            return restriction::step(rule, allow, st, ev, t, mode, tr);
        }
        _ => {}
    }
    if rule.cond.matches(ev) {
        counting::counted(rule, st, ev, t, mode, tr)
    } else if rule.kind.watches_success() && rule.cond.matches_success(ev) {
        counting::success(rule, st, ev, t, mode, tr)
    } else {
        tr.note(|| {
            Note::filtered(
                rule,
                ev,
                rule.kind.watches_success() && ev.outcome == Outcome::Success,
            )
        });
        None
    }
}

/// False only when [`step`] returns `None` for every event of outcome `o`
/// without touching the rule's state (mirrors its dispatch: each kind's step
/// begins with `rule.cond.matches`, which checks the outcome mask).
pub(super) fn may_act(rule: &Rule, o: Outcome) -> bool {
    let allowed = rule.cond.allows_outcome(o);
    match (&rule.kind, &rule.extra) {
        (Kind::Travel, Extra::Travel(_))
        | (Kind::Novelty, Extra::Novelty(_))
        | (Kind::Dormant, Extra::Dormant(_)) => o == Outcome::Success && allowed,
        (Kind::PasswordAge | Kind::Inactive, _) => false,
        (Kind::Restriction, Extra::Allow(_)) => allowed,
        _ => allowed || (rule.kind.watches_success() && o == Outcome::Success),
    }
}

//! The keys that belong to one kind only (`count` for the counting kinds,
//! `success_from_failing_ip`, `[[rule.allow]]`, the `travel` settings),
//! checked against the rule's kind (part of [`super::compile`]).
//!
//! A key given to the wrong kind is an error rather than ignored: an operator
//! who writes `ignore_cidrs` on a threshold rule believes it does something.

use super::compile::Sink;
use super::cond::Cond;
use super::key::GroupBy;
use super::model::{Extra, Kind, MAX_COUNT};
use super::raw::RawRule;
use super::{restriction, travel};
use crate::event::Outcome;

/// The rule's `count`: required for the counting kinds, 1 by default for
/// `restriction`, refused for `travel` (a pair of logins, nothing to count).
pub fn count(sink: &mut Sink, raw: &RawRule, kind: Option<Kind>, line: usize) -> Option<u32> {
    let Some(v) = &raw.count else {
        return match kind {
            Some(Kind::Restriction | Kind::Travel) => Some(1),
            Some(k) => {
                sink.err_at(
                    Some(line),
                    format!("count is required for kind = {:?}", k.as_str()),
                );
                None
            }
            None => None,
        };
    };
    if kind == Some(Kind::Travel) {
        sink.err(
            v.span(),
            "count has no meaning for kind = \"travel\" (it compares pairs of logins)",
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
        _ => Extra::None,
    }
}

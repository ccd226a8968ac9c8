//! Raw rule tables into typed [`Rule`]s, collecting every error with its line.
//!
//! Each check records a message and goes on, so one `rules check` run lists all
//! the mistakes of a file. Messages for unknown spellings list what is accepted.

use std::sync::Arc;

use toml::Spanned;

use super::key::{Field, GroupBy};
use super::kinds;
use super::model::{DEFAULT_MAX_KEYS, Exempt, Kind, MAX_MAX_KEYS, Rule};
use super::raw::{RawRule, StrList};
use super::sink::{Sink, cidrs, names, one_of, spelled};
use super::tables::{compile_decision, compile_match};
use crate::decision::{DecisionAction, Mode};
use crate::event::Outcome;

/// True when every event of one key has the same value of `f`, so counting
/// distinct values of it is pointless.
fn fixed_by(g: GroupBy, f: Field) -> bool {
    match f {
        Field::User => g.has_user(),
        Field::SourceIp => matches!(g, GroupBy::SourceIp | GroupBy::UserSourceIp),
        Field::SourceNet => g.has_ip(),
        _ => false,
    }
}

/// True for `[a-z0-9-]+`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Compiles one rule; every problem goes to `sink`. `line` is the `[[rule]]` header's.
pub fn compile_rule(sink: &mut Sink, raw: &RawRule, line: usize) -> Option<Rule> {
    let before = sink.errors.len();
    let id = raw.id.get_ref();
    if !valid_id(id) {
        sink.err(
            raw.id.span(),
            format!("rule id {id:?} must be 1 to 64 characters of a-z, 0-9 and -"),
        );
    }
    // `distinct` comes back with a placeholder field, set below.
    let kind = spelled(sink, &raw.kind, "kind", Kind::ALL, Kind::parse);
    let group_by = spelled(
        sink,
        &raw.group_by,
        "group_by",
        GroupBy::ALL,
        GroupBy::parse,
    );
    let count = kinds::count(sink, raw, kind, line);
    let window = kinds::window(sink, raw, kind, line);
    let mode = raw
        .mode
        .as_ref()
        .and_then(|m| spelled(sink, m, "mode", Mode::CONFIGURED, Mode::parse_configured));
    let max_keys = match &raw.max_keys {
        None => Some(DEFAULT_MAX_KEYS),
        Some(v) => match usize::try_from(*v.get_ref()) {
            Ok(n @ 1..=MAX_MAX_KEYS) => Some(n),
            _ => {
                sink.err(
                    v.span(),
                    format!("max_keys {} must be 1..={MAX_MAX_KEYS}", v.get_ref()),
                );
                None
            }
        },
    };
    let distinct = raw.distinct.as_ref().map(|d| {
        (
            d.span(),
            spelled(sink, d, "distinct field", Field::ALL, Field::parse),
        )
    });
    let kind = match (kind, distinct) {
        (Some(Kind::Distinct(_)), Some((span, Some(f)))) => {
            if let Some(g) = group_by
                && fixed_by(g, f)
            {
                sink.err(span, format!(
                    "distinct = {:?} is fixed by group_by = {:?}: it can never count more than one value",
                    raw.distinct.as_ref().map_or("", |d| d.get_ref()),
                    g.as_str()
                ));
            }
            Some(Kind::Distinct(f))
        }
        (Some(Kind::Distinct(_)), None) => {
            sink.err(
                raw.kind.span(),
                format!(
                    "kind = \"distinct\" needs distinct = the field to count ({})",
                    one_of(Field::ALL)
                ),
            );
            None
        }
        (Some(k), Some((span, _))) if !matches!(k, Kind::Distinct(_)) => {
            sink.err(
                span,
                format!(
                    "distinct is only for kind = \"distinct\", not {:?}",
                    k.as_str()
                ),
            );
            Some(k)
        }
        (k, _) => k,
    };
    let cond = compile_match(sink, &raw.cond);
    if let Some(k) = kind
        && k.watches_success()
        && cond.allows_outcome(Outcome::Success)
    {
        sink.err_at(Some(line), format!(
            "kind = {:?} counts failures and watches successes separately: set outcome = \"failure\" in [rule.match]",
            k.as_str()
        ));
    }
    if !cond.reason_possible() {
        let span = raw.cond.reason.as_ref().map_or(0..0, |r| r.span());
        sink.err(span, "match.reason can never hold: reasons are set on failures (and expired_password on successes), and match.outcome excludes them");
    }
    let extra = kinds::extra(sink, raw, kind, group_by, &cond, line);
    let window = kinds::implied_window(&extra).or(window);
    let decision = compile_decision(sink, &raw.decision);
    if let (Some(d), Some(g)) = (&decision, group_by) {
        let span = raw.decision.get_ref().action.span();
        if d.action.needs_user() && !g.has_user() {
            sink.err(span, format!("decision {} needs a user, but group_by = {:?} has none (use \"user\" or \"user+source.ip\")", d.action, g.as_str()));
        } else if d.action == DecisionAction::BlockIp && !g.has_ip() {
            sink.err(span, format!("decision block_ip needs an address, but group_by = {:?} has none (use \"source.ip\", \"user+source.ip\" or \"source.net\")", g.as_str()));
        }
    }
    let exempt = Exempt {
        users: names(&raw.exempt.users),
        cidrs: raw
            .exempt
            .cidrs
            .as_ref()
            .map(|v| {
                let list = Spanned::new(v.span(), StrList(v.get_ref().clone()));
                cidrs(sink, &list, "exempt.cidrs")
            })
            .unwrap_or_default(),
    };
    if sink.errors.len() > before {
        return None;
    }
    Some(Rule {
        id: Arc::from(id.as_str()),
        description: raw.description.clone(),
        kind: kind?,
        group_by: group_by?,
        count: count?,
        window: window?,
        mode,
        max_keys: max_keys?,
        cond,
        decision: decision?,
        exempt,
        extra,
        file: sink.file.to_path_buf(),
        line,
    })
}

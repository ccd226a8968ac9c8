//! `[fleet] group`, `members`, `member`: the detector's place in the fleet
//! (see `crate::fleet::shard`).

use toml::Spanned;

use super::RawFleet;
use crate::config::load::Cx;
use crate::fleet::shard::{Group, Shard};

/// The validated place; the default (group `all`, one member) when a key
/// is wrong (its error recorded at its line).
pub(super) fn shard(cx: &mut Cx, f: &Spanned<RawFleet>) -> Shard {
    let raw = f.get_ref();
    let group = match &raw.group {
        None => Group::All,
        Some(g) => match Group::parse(g.get_ref()) {
            Some(group) => group,
            None => {
                cx.err(
                    g.span(),
                    format!(
                        "group {:?}: \"all\" (one detector, every rule), \"user\" (the rules \
                         keyed by user) or \"address\" (the rules keyed by address or network)",
                        g.get_ref()
                    ),
                );
                return Shard::default();
            }
        },
    };
    let number = |cx: &mut Cx, key: &str, v: &Option<Spanned<i64>>, default: u64| match v {
        None => Some(default),
        Some(n) => match u64::try_from(*n.get_ref()) {
            Ok(n) => Some(n),
            Err(_) => {
                cx.err(n.span(), format!("{key} = {}: not negative", n.get_ref()));
                None
            }
        },
    };
    let (Some(members), Some(member)) = (
        number(cx, "members", &raw.members, 1),
        number(cx, "member", &raw.member, 0),
    ) else {
        return Shard::default();
    };
    let errors = Shard::check(group, members, member);
    let span = raw
        .member
        .as_ref()
        .filter(|_| members != 0 && member >= members && group != Group::All)
        .map(|m| m.span())
        .or_else(|| raw.members.as_ref().map(|m| m.span()))
        .or_else(|| raw.group.as_ref().map(|g| g.span()))
        .unwrap_or_else(|| f.span());
    for e in &errors {
        cx.err(span.clone(), e.clone());
    }
    if errors.is_empty() {
        Shard {
            group,
            members,
            member,
        }
    } else {
        Shard::default()
    }
}

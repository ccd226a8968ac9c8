//! The sweep kinds: rules evaluated not per event but by a periodic sweep
//! over the account inventory and the facts the daemon learned, because what
//! they look for is an *absence* (no password change, no login) that no log
//! line announces.
//!
//! - `password-age`: inventory accounts whose `password_changed_at` is older
//!   than `max_age` get the rule's decision (a `require_password_reset`), and
//!   those within `remind_before` of it an `alert` of severity low (a
//!   reminder, so users can change it before it expires).
//! - `inactive`: accounts with no successful login for `days` days, from the
//!   inventory and the learned facts, the later witness winning
//!   ([`inactive_accounts`]) -> the rule's decision (a `disable_account`).
//!
//! [`sweep`] is pure: `now` comes in, decisions go out. The daemon calls it
//! daily and at start-up, and ids are derived from the rule, the target and
//! the day, so sweeping again the same day yields the same ids (recognised,
//! not repeated) while the next day's sweep reminds again.

use chrono::{DateTime, Utc};
use toml::Spanned;

use crate::account::AccountFacts;
use crate::decision::{
    Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock, decision_id,
};
use crate::enrich::inventory::{Inventory, inactive_accounts};
use crate::event::{AccountStatus, Name};
use crate::rules::duration::Dur;
use crate::rules::model::{Extra, Rule, RuleSet};
use crate::rules::params::PasswordAge;
use crate::rules::raw::RawRule;
use crate::rules::sink::{Sink, dur};

/// Default `max_age` of `password-age`: 90 days, a common password policy.
pub const DEFAULT_MAX_AGE: Dur = Dur::from_secs(90 * 86_400);

/// Default `remind_before`: two weeks, enough to get round to it.
pub const DEFAULT_REMIND: Dur = Dur::from_secs(14 * 86_400);

/// Every decision the sweep kinds of `rules` reach at `now`: rules in set
/// order, then accounts in inventory order (`password-age`) or oldest login
/// first (`inactive`). `mode` applies to rules without their own. Without an
/// inventory, `password-age` finds nothing and `inactive` judges the learned
/// facts alone.
pub fn sweep(
    rules: &RuleSet,
    inventory: Option<&Inventory>,
    facts: &[AccountFacts],
    now: DateTime<Utc>,
    mode: Mode,
) -> Vec<Decision> {
    let mut out = Vec::new();
    for rule in &rules.rules {
        match &rule.extra {
            Extra::PasswordAge(pa) => {
                let Some(inv) = inventory else { continue };
                for a in inv.iter() {
                    if a.status != AccountStatus::Active {
                        continue;
                    }
                    let Some(changed) = a.password_changed_at else {
                        continue;
                    };
                    let Some(expires) = changed.checked_add_signed(pa.max_age.delta()) else {
                        continue;
                    };
                    let found = if now >= expires {
                        Found::Rule
                    } else if pa.remind_before.is_some_and(|r| now >= expires - r.delta()) {
                        Found::Reminder
                    } else {
                        continue;
                    };
                    out.push(decide(rule, &a.user, a.exempt, found, changed, now, mode));
                }
            }
            Extra::Inactive(ia) => {
                for a in inactive_accounts(inventory, facts, ia.days, now) {
                    // Never logged in: the sweep's own time is the only date.
                    let date = a.last_login.unwrap_or(now);
                    out.push(decide(rule, &a.user, false, Found::Rule, date, now, mode));
                }
            }
            _ => {}
        }
    }
    out
}

/// Which decision an account gets.
#[derive(Clone, Copy)]
enum Found {
    /// The rule's `[rule.decision]`.
    Rule,
    /// A low-severity alert ahead of it.
    Reminder,
}

/// The start of `now`'s day (UTC): what makes sweep ids stable for a day.
fn day_of(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| d.and_utc())
}

fn decide(
    rule: &Rule,
    user: &Name,
    listed_exempt: bool,
    found: Found,
    date: DateTime<Utc>,
    now: DateTime<Utc>,
    mode: Mode,
) -> Decision {
    let spec = &rule.decision;
    let target = Target::user(user.clone());
    let exempt = listed_exempt || rule.exempt.users.iter().any(|u| u == user);
    let (action, severity) = match found {
        _ if exempt => (DecisionAction::Alert, spec.severity),
        Found::Rule => (spec.action, spec.severity),
        Found::Reminder => (DecisionAction::Alert, Severity::Low),
    };
    let until = match (action, spec.unlock) {
        (DecisionAction::Alert, _) | (_, Unlock::Admin | Unlock::None) => None,
        (_, Unlock::Auto) => spec
            .duration
            .and_then(|d| now.checked_add_signed(d.delta())),
    };
    Decision {
        kind: "decision",
        id: decision_id(&rule.id, &target, &day_of(now), None),
        rule: rule.id.clone(),
        action,
        target,
        at: now,
        until,
        unlock: Unlock::of(action, spec.unlock),
        severity,
        mode: rule.mode.unwrap_or(mode),
        exempt,
        assessment: crate::decision::Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 1,
            first: date,
            last: date,
            source_ips: Vec::new(),
            users: vec![user.clone()],
            hosts: Vec::new(),
        },
    }
}

/// Compiles the `password-age` keys; each is refused on other kinds by the
/// caller. `remind_before` must be shorter than `max_age`; `"0d"` turns the
/// reminder off.
pub fn compile_password_age(sink: &mut Sink, raw: &RawRule) -> Option<PasswordAge> {
    let max_age = match &raw.max_age {
        Some(v) => dur(sink, v, "max_age"),
        None => Some(DEFAULT_MAX_AGE),
    };
    let remind_before = match &raw.remind_before {
        Some(v) if is_zero(v) => Some(None),
        Some(v) => dur(sink, v, "remind_before").map(Some),
        None => Some(Some(DEFAULT_REMIND)),
    };
    let (max_age, remind_before) = (max_age?, remind_before?);
    if let (Some(r), Some(v)) = (remind_before, &raw.remind_before)
        && r >= max_age
    {
        sink.err(
            v.span(),
            format!(
                "remind_before {:?} must be shorter than max_age (a reminder before the password was even changed)",
                v.get_ref()
            ),
        );
        return None;
    }
    Some(PasswordAge {
        max_age,
        remind_before,
    })
}

/// `"0"`, `"0d"`, `"0s"`...: no reminder.
fn is_zero(v: &Spanned<String>) -> bool {
    let s = v.get_ref().trim_end_matches(['s', 'm', 'h', 'd']);
    !s.is_empty() && s.bytes().all(|b| b == b'0')
}

#[cfg(test)]
mod tests;

//! Compiled rules: the typed form the engine runs (built by [`super::compile`]).
//!
//! Plain data: this module imports only leaf value types (conditions, keys,
//! durations, the kinds' settings in [`super::params`]), never a kind module,
//! the compiler or the engine, so every one of them can import it.

use std::path::PathBuf;

use ipnet::IpNet;

use super::cond::Cond;
use super::duration::Dur;
use super::key::{Field, GroupBy};
use super::params::{Allow, Dormant, Inactive, Novelty, PasswordAge, Travel};
use crate::decision::{DecisionAction, Mode, Severity, Unlock};
use crate::event::Name;
use crate::parse::custom::Declared;

/// Largest `count` a rule may have: a key's window holds at most `count` events,
/// so this (times `max_keys`) bounds the engine's memory per rule.
pub const MAX_COUNT: u32 = 1000;

/// Default cap on keys tracked per rule (`max_keys`), and again on the keys
/// of known accounts (see `engine`). A flood key costs about 200 bytes with a
/// one-entry window; six default rules at this cap are about 60 MiB of the
/// 146 MiB `bench/flood.sh` measures in `replay` for a million distinct
/// addresses and names (the least recently seen are evicted, counted in a metric).
pub const DEFAULT_MAX_KEYS: usize = 50_000;

/// Largest `max_keys` accepted.
pub const MAX_MAX_KEYS: usize = 10_000_000;

/// How a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// N matching events for the key within the sliding window.
    Threshold,
    /// N matching events with no success for the key in between, within the window.
    Consecutive,
    /// N distinct values of a field among matching events within the window.
    Distinct(Field),
    /// A success after at least N matching events within the window before it.
    Sequence,
    /// N matching events within the window from outside what `[[rule.allow]]`
    /// permits for the user (see [`super::kinds::restriction`]).
    Restriction,
    /// Two successes of one user too far apart for the time between them (see
    /// [`super::kinds::travel`]).
    Travel,
    /// A success from a value (country, ASN, device) the user has not used
    /// within the learning period (see [`super::kinds::novelty`]).
    Novelty,
    /// A success on an account idle for N days (see [`super::kinds::dormant`]).
    Dormant,
    /// Sweep kind: inventory passwords older than the policy's maximum age
    /// (see [`super::kinds::sweep`]); ignored by the engine.
    PasswordAge,
    /// Sweep kind: accounts with no successful login for N days (see
    /// [`super::kinds::sweep`]); ignored by the engine.
    Inactive,
}

impl Kind {
    /// Spellings accepted in rule files.
    pub const ALL: &'static [&'static str] = &[
        "threshold",
        "consecutive",
        "distinct",
        "sequence",
        "restriction",
        "travel",
        "novelty",
        "dormant",
        "password-age",
        "inactive",
    ];

    /// Parses a rule-file spelling (`distinct` comes back with a placeholder
    /// field that the caller replaces).
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "threshold" => Kind::Threshold,
            "consecutive" => Kind::Consecutive,
            "distinct" => Kind::Distinct(Field::User),
            "sequence" => Kind::Sequence,
            "restriction" => Kind::Restriction,
            "travel" => Kind::Travel,
            "novelty" => Kind::Novelty,
            "dormant" => Kind::Dormant,
            "password-age" => Kind::PasswordAge,
            "inactive" => Kind::Inactive,
            _ => return None,
        })
    }

    /// True for the kinds a periodic sweep evaluates over the inventory and
    /// learned facts ([`super::kinds::sweep::sweep`]), not the engine over events.
    pub fn is_sweep(self) -> bool {
        matches!(self, Kind::PasswordAge | Kind::Inactive)
    }

    /// True for the kinds that count events up to `count` (the others refuse
    /// the key: they compare, learn or sweep).
    pub fn counts(self) -> bool {
        matches!(
            self,
            Kind::Threshold
                | Kind::Consecutive
                | Kind::Distinct(_)
                | Kind::Sequence
                | Kind::Restriction
        )
    }

    /// True for kinds that look at successes (to reset or to trigger).
    pub fn watches_success(self) -> bool {
        matches!(self, Kind::Consecutive | Kind::Sequence)
    }

    /// The rule-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Threshold => "threshold",
            Kind::Consecutive => "consecutive",
            Kind::Distinct(_) => "distinct",
            Kind::Sequence => "sequence",
            Kind::Restriction => "restriction",
            Kind::Travel => "travel",
            Kind::Novelty => "novelty",
            Kind::Dormant => "dormant",
            Kind::PasswordAge => "password-age",
            Kind::Inactive => "inactive",
        }
    }
}

/// Repeat-offender escalation: each repeat within `within` of the previous
/// decision multiplies the duration by `factor`, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    pub factor: u32,
    pub max: Dur,
    pub within: Dur,
}

/// `[rule.decision]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionSpec {
    pub action: DecisionAction,
    /// Length of a lock/block; `None` for admin unlock and for non-lasting actions.
    pub duration: Option<Dur>,
    pub unlock: Unlock,
    pub severity: Severity,
    pub escalation: Option<Escalation>,
    /// For decisions without an end: no repeat for the key within this
    /// (defaults to the rule's window).
    pub suppress: Option<Dur>,
    /// What the decision becomes when the pipeline assesses it a user's own
    /// mistake (`user_error = { ... }`); `None` keeps it as it is.
    pub user_error: Option<UserErrorSpec>,
}

/// `[rule.decision] user_error`: a milder decision for a user's own mistake
/// (the user getting a password right after typos is not a compromise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserErrorSpec {
    /// An action that does not last (`alert`, `require_password_reset`).
    pub action: DecisionAction,
    pub severity: Severity,
}

impl DecisionSpec {
    /// The duration of the decision that is the `repeats`-th repeat (0 = first),
    /// escalated and capped; `None` when the decision has no duration.
    pub fn duration_for(&self, repeats: u32) -> Option<Dur> {
        let base = self.duration?;
        let Some(esc) = self.escalation else {
            return Some(base);
        };
        if esc.factor <= 1 {
            return Some(base.min(esc.max));
        }
        let mut ms = base.ms();
        for _ in 0..repeats {
            ms = ms.saturating_mul(i64::from(esc.factor));
            if ms >= esc.max.ms() {
                return Some(esc.max);
            }
        }
        Some(Dur::from_ms(ms.min(esc.max.ms())))
    }
}

/// `[rule.exempt]`: targets never locked or blocked (they get an alert instead).
#[derive(Debug, Clone, Default)]
pub struct Exempt {
    pub users: Vec<Name>,
    pub cidrs: Vec<IpNet>,
}

/// What some kinds need beyond the common keys.
#[derive(Debug, Clone, Default)]
pub enum Extra {
    #[default]
    None,
    /// `sequence` with `success_from_failing_ip = true`: only a success from
    /// an address among the failures fires (or forgives) the sequence.
    SuccessFromFailingIp,
    /// `restriction`: who may log in from where.
    Allow(Vec<Allow>),
    /// `travel`: speed, noise floor and ignored ranges.
    Travel(Travel),
    /// `novelty`: what is learned and how long to stay quiet.
    Novelty(Novelty),
    /// `dormant`: idle days that make a success a reactivation.
    Dormant(Dormant),
    /// `password-age`: maximum age and reminder.
    PasswordAge(PasswordAge),
    /// `inactive`: idle days.
    Inactive(Inactive),
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id (`[a-z0-9-]+`).
    pub id: Name,
    pub description: String,
    pub kind: Kind,
    pub group_by: GroupBy,
    /// Events (or distinct values) needed to fire, 1..=[`MAX_COUNT`]; 1 for
    /// the kinds that do not count.
    pub count: u32,
    /// The span counted over; a `novelty` rule's learning period; for
    /// `dormant` and `inactive` their `days`, for `password-age` its `max_age`.
    pub window: Dur,
    /// Per-rule override of the engine's mode.
    pub mode: Option<Mode>,
    /// Cap on keys tracked; past it the least recently seen are evicted.
    pub max_keys: usize,
    pub cond: Cond,
    pub decision: DecisionSpec,
    pub exempt: Exempt,
    /// Kind-specific settings.
    pub extra: Extra,
    /// Where the rule is written (for listings and messages).
    pub file: PathBuf,
    pub line: usize,
}

impl Rule {
    /// How long after a decision further matches for the key are suppressed, when
    /// the decision itself has no end (admin unlock, alert, password reset).
    pub fn quiet_after(&self) -> Dur {
        self.decision.suppress.unwrap_or(self.window)
    }

    /// True when the rule needs GeoIP data: geo conditions, an allowance by
    /// country, impossible travel, or a new country or ASN. Without a database such a rule never
    /// fires, so the daemon says so at start-up.
    pub fn uses_geo(&self) -> bool {
        self.cond.enriched.as_ref().is_some_and(|c| c.uses_geo())
            || self.kind == Kind::Travel
            || matches!(&self.extra, Extra::Novelty(n) if n.field.uses_geo())
            || matches!(&self.extra, Extra::Allow(a) if a.iter().any(|a| !a.countries.is_empty()))
    }
}

/// A compiled, validated set of rules (and the formats the files declare).
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Formats declared by `[[format]]` tables.
    pub formats: Vec<Declared>,
    /// The rules, in file order (files sorted by name).
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.id == id)
    }

    /// True when some rule needs GeoIP data ([`Rule::uses_geo`]): without a
    /// database those rules never fire, which the daemon reports at start-up.
    pub fn uses_geo(&self) -> bool {
        self.rules.iter().any(Rule::uses_geo)
    }

    /// The ids of the rules that need GeoIP data, for that report.
    pub fn geo_rules(&self) -> Vec<Name> {
        self.rules
            .iter()
            .filter(|r| r.uses_geo())
            .map(|r| r.id.clone())
            .collect()
    }

    /// The named IP lists the rules refer to (`in_list`, `not_in_list`),
    /// sorted, once each: the daemon rejects names no configured list has.
    pub fn referenced_lists(&self) -> Vec<Name> {
        let mut v: Vec<Name> = self
            .rules
            .iter()
            .filter_map(|r| r.cond.enriched.as_deref())
            .flat_map(|c| c.lists().cloned())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// A 64-bit fingerprint of what a rule does: everything compiled from its file
/// except the description and where it is written (moving a rule between files
/// or rewording it keeps its state).
///
/// Taken over the `Debug` form of the compiled parts: it covers every field
/// without a hand-kept list that could miss a new one, and it is deterministic
/// (no hash maps inside; a regex shows its pattern). Should a toolchain change
/// that form, rules only start with fresh state once: the safe direction.
pub fn fingerprint(rule: &Rule) -> u64 {
    let text = format!(
        "{:?}|{:?}|{}|{}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
        rule.kind,
        rule.group_by,
        rule.count,
        rule.window.ms(),
        rule.mode,
        rule.max_keys,
        rule.cond,
        rule.decision,
        rule.exempt,
        rule.extra
    );
    // FNV-1a 64: stable across runs and builds, unlike std's hashers.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_doubles_and_caps() {
        let d = DecisionSpec {
            action: DecisionAction::LockAccount,
            duration: Some(Dur::from_secs(1800)),
            unlock: Unlock::Auto,
            severity: Severity::Medium,
            escalation: Some(Escalation {
                factor: 2,
                max: Dur::from_secs(86_400),
                within: Dur::from_secs(86_400),
            }),
            suppress: None,
            user_error: None,
        };
        let mins = |r| d.duration_for(r).map(|d| d.ms() / 60_000);
        assert_eq!(mins(0), Some(30));
        assert_eq!(mins(1), Some(60));
        assert_eq!(mins(2), Some(120));
        assert_eq!(mins(5), Some(960));
        assert_eq!(mins(6), Some(1440));
        assert_eq!(mins(u32::MAX), Some(1440));
    }
}

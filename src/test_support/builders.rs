//! Builders for the unit tests: events, decisions and rule sets with fixed
//! defaults, so a test states only what matters to it.
//!
//! Events and decisions are built as the crate's own types and adjusted with
//! the `with_*` setters of [`EventSetters`] and [`DecisionSetters`]; times
//! are [`t`] seconds from one fixed instant.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::decision::{
    Assessment, Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock,
};
use crate::event::{Account, Action, AuthEvent, Geo, Outcome, Reason};
use crate::rules::{Engine, RuleSet};
use crate::state::{DecisionRecord, LockStatus};

/// 2026-03-01 08:00:00 UTC plus `secs`: the clock of the unit tests.
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
}

fn login(user: &str, ip: &str, at: DateTime<Utc>, outcome: Outcome) -> AuthEvent {
    let mut e = AuthEvent::new(at, Action::Login, outcome);
    e.user = Some(Arc::from(user));
    e.source_ip = Some(ip.parse().unwrap());
    e
}

/// A login of `user` from `ip` at `at` that failed on a bad password.
pub fn failure(user: &str, ip: &str, at: DateTime<Utc>) -> AuthEvent {
    login(user, ip, at, Outcome::Failure).with_reason(Some(Reason::BadPassword))
}

/// A successful login of `user` from `ip` at `at`.
pub fn success(user: &str, ip: &str, at: DateTime<Utc>) -> AuthEvent {
    login(user, ip, at, Outcome::Success)
}

/// The log offset of an event at `secs`: distinct events, distinct decision ids.
fn offset(secs: i64) -> Option<u64> {
    u64::try_from(secs).ok().map(|s| s.saturating_mul(100))
}

/// [`failure`] at [`t`]`(secs)`, with a log offset.
pub fn bad(user: &str, ip: &str, secs: i64) -> AuthEvent {
    failure(user, ip, t(secs)).with_offset(offset(secs))
}

/// [`success`] at [`t`]`(secs)`, with a log offset.
pub fn ok(user: &str, ip: &str, secs: i64) -> AuthEvent {
    success(user, ip, t(secs)).with_offset(offset(secs))
}

/// Setters for test events.
pub trait EventSetters: Sized {
    fn with_outcome(self, outcome: Outcome) -> Self;
    fn with_reason(self, reason: Option<Reason>) -> Self;
    fn with_user(self, user: Option<&str>) -> Self;
    fn with_ip(self, ip: Option<&str>) -> Self;
    fn with_offset(self, offset: Option<u64>) -> Self;
    /// Marked as a known account's event (as the pipeline marks it).
    fn with_known(self, known: bool) -> Self;
    fn with_geo(self, geo: Geo) -> Self;
    /// GeoIP data with a country, an AS number (0: none) and a location.
    fn located(self, country: &str, asn: u32, at: Option<(f64, f64)>) -> Self;
    fn with_account(self, account: Account) -> Self;
    fn with_device(self, id: Option<&str>, user_agent: &str) -> Self;
}

impl EventSetters for AuthEvent {
    fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    fn with_reason(mut self, reason: Option<Reason>) -> Self {
        self.reason = reason;
        self
    }

    fn with_user(mut self, user: Option<&str>) -> Self {
        self.user = user.map(Arc::from);
        self
    }

    fn with_ip(mut self, ip: Option<&str>) -> Self {
        self.source_ip = ip.map(|s| s.parse().unwrap());
        self
    }

    fn with_offset(mut self, offset: Option<u64>) -> Self {
        self.log_offset = offset;
        self
    }

    fn with_known(mut self, known: bool) -> Self {
        self.user_known = known;
        self
    }

    fn with_geo(mut self, geo: Geo) -> Self {
        self.geo = Some(Arc::new(geo));
        self
    }

    fn located(self, country: &str, asn: u32, at: Option<(f64, f64)>) -> Self {
        self.with_geo(Geo {
            country_iso_code: Some(Arc::from(country)),
            as_number: (asn != 0).then_some(asn),
            location: at,
            ..Geo::default()
        })
    }

    fn with_account(mut self, account: Account) -> Self {
        self.account = Some(Arc::new(account));
        self
    }

    fn with_device(mut self, id: Option<&str>, user_agent: &str) -> Self {
        self.device_id = id.map(Arc::from);
        self.user_agent = Some(Arc::from(user_agent));
        self
    }
}

/// A lock of user alice by rule `brute-force` (id `d1`, severity medium,
/// admin unlock, recommended), at 2023-11-14 22:13:20 UTC, on 5 events.
pub fn decision() -> Decision {
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap();
    Decision {
        kind: "decision",
        id: "d1".into(),
        rule: "brute-force".into(),
        action: DecisionAction::LockAccount,
        target: Target::user("alice".into()),
        at,
        until: None,
        unlock: Unlock::Admin,
        severity: Severity::Medium,
        mode: Mode::Recommend,
        exempt: false,
        assessment: Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 5,
            first: at,
            last: at,
            source_ips: vec![],
            users: vec![],
            hosts: Vec::new(),
        },
    }
}

/// Setters for test decisions.
pub trait DecisionSetters: Sized {
    fn with_id(self, id: &str) -> Self;
    fn with_rule(self, rule: &str) -> Self;
    fn with_target(self, target: Target) -> Self;
    /// Targets `user`.
    fn with_user(self, user: &str) -> Self;
    /// Decided at `at`, the evidence first and last seen then too.
    fn with_at(self, at: DateTime<Utc>) -> Self;
    fn with_until(self, until: Option<DateTime<Utc>>) -> Self;
    fn with_unlock(self, unlock: Unlock) -> Self;
    fn with_severity(self, severity: Severity) -> Self;
    /// The addresses and users of the evidence.
    fn with_evidence(self, ips: &[&str], users: &[&str]) -> Self;
}

impl DecisionSetters for Decision {
    fn with_id(mut self, id: &str) -> Self {
        self.id = id.into();
        self
    }

    fn with_rule(mut self, rule: &str) -> Self {
        self.rule = rule.into();
        self
    }

    fn with_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    fn with_user(self, user: &str) -> Self {
        self.with_target(Target::user(user.into()))
    }

    fn with_at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self.evidence.first = at;
        self.evidence.last = at;
        self
    }

    fn with_until(mut self, until: Option<DateTime<Utc>>) -> Self {
        self.until = until;
        self
    }

    fn with_unlock(mut self, unlock: Unlock) -> Self {
        self.unlock = unlock;
        self
    }

    fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    fn with_evidence(mut self, ips: &[&str], users: &[&str]) -> Self {
        self.evidence.source_ips = ips.iter().map(|i| i.parse().unwrap()).collect();
        self.evidence.users = users.iter().map(|u| Arc::from(*u)).collect();
        self
    }
}

/// `decision` as the state stores it with `status`: ended at `ended` unless
/// active, unlocked by `ann` (no reason) when unlocked.
pub fn record(decision: Decision, status: LockStatus, ended: DateTime<Utc>) -> DecisionRecord {
    DecisionRecord {
        decision,
        status,
        ended_at: (status != LockStatus::Active).then_some(ended),
        unlocked_by: (status == LockStatus::Unlocked).then(|| "ann".to_owned()),
        unlock_reason: None,
        detector: None,
    }
}

/// The rule set of one rule file's `text`; a mistake in it fails the test.
pub fn rule_set(text: &str) -> RuleSet {
    RuleSet::from_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// (line, message) of every error of a one-file set; empty when it compiles.
pub fn rule_errors(text: &str) -> Vec<(Option<usize>, String)> {
    match RuleSet::from_str(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

/// Fails unless `errors` (from [`rule_errors`]) has one at `line` whose
/// message contains `needle`.
pub fn assert_error_at(errors: &[(Option<usize>, String)], line: usize, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|(l, m)| *l == Some(line) && m.contains(needle)),
        "no error at line {line} containing {needle:?} in {errors:#?}"
    );
}

/// An engine running the rules of `text` in `mode`.
pub fn engine(text: &str, mode: Mode) -> Engine {
    Engine::new(Arc::new(rule_set(text)), mode)
}

/// An engine running only the shipped rule `id` (of the `rules/` directory),
/// recommending.
pub fn shipped(id: &str) -> Engine {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rule = crate::rules::load_dir(&dir)
        .unwrap()
        .rule(id)
        .unwrap()
        .clone();
    let set = RuleSet {
        formats: Vec::new(),
        rules: vec![rule],
    };
    Engine::new(Arc::new(set), Mode::Recommend)
}

/// Every decision `events` make, in order.
pub fn feed(e: &mut Engine, events: &[AuthEvent]) -> Vec<Decision> {
    events.iter().flat_map(|x| e.observe(x)).collect()
}

/// An engine restored from `e`'s snapshot, running `e`'s rules and mode.
pub fn restored(e: &Engine) -> Engine {
    Engine::restore(e.rules().clone(), e.mode(), &e.snapshot()).unwrap()
}

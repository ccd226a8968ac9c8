//! A [`Decision`] builder, so a test states only the fields it is about:
//! `decision().user("alice").until(None).build()`.
//!
//! Defaults: id `0000000000000000`, rule `account-lockout`, a 30-minute
//! automatic account lock of `alice` in enforce mode at 2026-03-01 12:00 UTC,
//! severity high, five events (first and last at the decision's time), no
//! addresses or users listed as evidence.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use loginwatch::decision::{
    Assessment, Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock,
};

/// A builder of a [`Decision`] (see the module header for its defaults).
#[derive(Debug, Clone)]
pub struct DecisionBuilder(Decision);

/// The default decision, to change with the builder's setters.
pub fn decision() -> DecisionBuilder {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    DecisionBuilder(Decision {
        kind: "decision",
        id: "0000000000000000".into(),
        rule: Arc::from("account-lockout"),
        action: DecisionAction::LockAccount,
        target: Target::user(Arc::from("alice")),
        at,
        until: Some(at + Duration::minutes(30)),
        unlock: Unlock::Auto,
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 5,
            first: at,
            last: at,
            source_ips: Vec::new(),
            users: Vec::new(),
            hosts: Vec::new(),
        },
    })
}

impl DecisionBuilder {
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.0.id = id.into();
        self
    }

    pub fn rule(mut self, rule: &str) -> Self {
        self.0.rule = Arc::from(rule);
        self
    }

    pub fn action(mut self, action: DecisionAction) -> Self {
        self.0.action = action;
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.0.target = target;
        self
    }

    /// Targets the account `user` alone.
    pub fn user(self, user: &str) -> Self {
        self.target(Target::user(Arc::from(user)))
    }

    /// Moves the decision to `at`: its evidence's first and last event, and
    /// its end (keeping the lock's length), move with it.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        let d = &mut self.0;
        d.until = d.until.map(|u| at + (u - d.at));
        d.evidence.first = at + (d.evidence.first - d.at);
        d.evidence.last = at + (d.evidence.last - d.at);
        d.at = at;
        self
    }

    /// Its end: `Some` is an automatic unlock then, `None` waits for an admin.
    pub fn until(mut self, until: Option<DateTime<Utc>>) -> Self {
        self.0.until = until;
        self.0.unlock = if until.is_some() {
            Unlock::Auto
        } else {
            Unlock::Admin
        };
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.0.severity = severity;
        self
    }

    pub fn mode(mut self, mode: Mode) -> Self {
        self.0.mode = mode;
        self
    }

    /// How many events it rests on.
    pub fn count(mut self, count: u64) -> Self {
        self.0.evidence.count = count;
        self
    }

    /// When the first event it rests on happened.
    pub fn first(mut self, first: DateTime<Utc>) -> Self {
        self.0.evidence.first = first;
        self
    }

    /// The source addresses of its evidence.
    pub fn ips(mut self, ips: &[&str]) -> Self {
        self.0.evidence.source_ips = ips.iter().map(|s| s.parse::<IpAddr>().unwrap()).collect();
        self
    }

    /// The user names of its evidence.
    pub fn users(mut self, users: &[&str]) -> Self {
        self.0.evidence.users = users.iter().map(|u| Arc::from(*u)).collect();
        self
    }

    pub fn build(self) -> Decision {
        self.0
    }
}

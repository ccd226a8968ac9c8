//! Decisions: what the rules conclude, in the form `replay --json`, alerts and the
//! API share.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::event::{Name, rfc3339};

/// What a decision asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    LockAccount,
    BlockIp,
    RequirePasswordReset,
    DisableAccount,
    Alert,
}

/// How a lock or block ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unlock {
    /// By itself at `until`.
    Auto,
    /// Only when an admin unlocks it.
    Admin,
}

/// How urgent it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Whether loginwatch only recommends the action or carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Recommend,
    Enforce,
}

/// Who or what a decision is about: a user, an IP, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
}

/// What the decision rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Matching events in the window that fired.
    pub count: u64,
    /// Event time of the first of them.
    #[serde(serialize_with = "time")]
    pub first: DateTime<Utc>,
    /// Event time of the last of them (the one that fired).
    #[serde(serialize_with = "time")]
    pub last: DateTime<Utc>,
    /// Distinct source IPs among them, sorted, capped (see the engine).
    pub source_ips: Vec<IpAddr>,
    /// Distinct user names among them, sorted, capped.
    pub users: Vec<Name>,
}

/// One decision of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Always `"decision"` (JSON lines mix decisions with a summary object).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Stable id: the same rule, target and triggering event time always give the
    /// same id, so a decision re-derived after a restart is recognised.
    pub id: String,
    /// The rule id.
    pub rule: Name,
    pub action: DecisionAction,
    pub target: Target,
    /// When it was decided (event time of the triggering event).
    #[serde(serialize_with = "time")]
    pub at: DateTime<Utc>,
    /// When it ends; `None` for admin unlock or for decisions without duration.
    #[serde(serialize_with = "opt_time")]
    pub until: Option<DateTime<Utc>>,
    pub unlock: Unlock,
    pub severity: Severity,
    pub mode: Mode,
    pub evidence: Evidence,
}

fn time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(t))
}

fn opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

//! What the state database holds, as typed values shared by the daemon, the
//! admin API and the CLI.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::decision::Decision;

/// Where a decision's lock/block stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockStatus {
    /// In force (or, for decisions without duration, open).
    Active,
    /// Ended by itself at `until` (auto-unlock).
    Expired,
    /// Ended by an admin.
    Unlocked,
}

/// A decision as stored, with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    #[serde(flatten)]
    pub decision: Decision,
    pub status: LockStatus,
    /// When it stopped being active (auto or admin unlock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Who unlocked it (admin unlock only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlocked_by: Option<String>,
    /// Why (admin unlock only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlock_reason: Option<String>,
}

/// One line of the audit trail admins read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub decision_id: String,
    /// `decided`, `expired`, `unlocked`, ...
    pub what: String,
    /// `loginwatch` or the admin's name.
    pub who: String,
    pub detail: String,
}

/// What the stream taught about one account; kept small on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AccountFacts {
    pub user: String,
    pub first_success: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    pub last_source_ip: Option<std::net::IpAddr>,
    /// Failures since the last success.
    pub consecutive_failures: u64,
}

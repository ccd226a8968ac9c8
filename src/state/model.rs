//! What the state database holds, as typed values shared by the daemon, the
//! admin API and the CLI.

use chrono::{DateTime, Utc};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decision::Decision;

/// Where a decision's lock/block stands.
///
/// Decisions that are not locks (`alert`, `require_password_reset`) are stored
/// `Active` too, meaning "open, not yet acknowledged"; they never expire unless
/// they carry an `until`, and they are not counted as active locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockStatus {
    /// In force (or, for decisions without duration, open).
    Active,
    /// Ended by itself at `until` (auto-unlock).
    Expired,
    /// Ended by an admin.
    Unlocked,
}

impl LockStatus {
    /// The spelling in JSON and in the state database.
    pub fn as_str(self) -> &'static str {
        match self {
            LockStatus::Active => "active",
            LockStatus::Expired => "expired",
            LockStatus::Unlocked => "unlocked",
        }
    }

    /// Parses what [`Self::as_str`] produces.
    pub fn parse(s: &str) -> Option<LockStatus> {
        match s {
            "active" => Some(LockStatus::Active),
            "expired" => Some(LockStatus::Expired),
            "unlocked" => Some(LockStatus::Unlocked),
            _ => None,
        }
    }
}

impl fmt::Display for LockStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Fleet mode: the detector that holds it (its slot's holder id, as in
    /// the decisions bucket); absent on a single host. Not stored: the API
    /// of a detector sets it when it shows the fleet's decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<String>,
}

/// One line of the audit trail admins read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub decision_id: String,
    /// `decided`, `expired`, `unlocked`, ...
    pub what: String,
    /// `loginwatch`, or the name an admin gave (`by`): a note, not checked.
    pub who: String,
    pub detail: String,
    /// What authenticated a person's change: `token:config`,
    /// `token:admin.token` or `cli-offline:uid N`. `None` for loginwatch's own
    /// acts and for lines written before credentials were recorded.
    pub credential: Option<String>,
}

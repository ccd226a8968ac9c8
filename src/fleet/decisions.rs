//! The fleet's decisions: a JetStream key-value bucket the detector writes
//! and every agent watches, and the versioned wire form of its values.
//!
//! One key per decision ([`key`]: the decision id, which is already a valid
//! key). The value is a [`WireDecision`]: the decision as the detector
//! stored it (target, rule, action, mode, `at`, `until`, evidence), whether
//! it is `active` or `lifted`, and for a lifted one when, how (expired, an
//! admin's unlock, gone from the detector's state) and by whom. A lifted
//! decision keeps its key (with the lift as its value), so an agent that
//! missed the lift while it was down still sees it at start and undoes what
//! it applied.
//!
//! Compatibility: `v` is the version of this layout, as for events
//! ([`super::wire`]): a new optional field keeps `v`, a change of meaning is
//! a new `v`, which an older agent refuses (counted, logged, skipped) rather
//! than misreads.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FleetConfig, FleetError};
use crate::decision::Decision;
use crate::state::{DecisionRecord, LockStatus};

/// The layout version written, and the only one read.
pub const VERSION: u32 = 1;

/// Revisions a key keeps: enough to read how a decision went (made, then
/// lifted), few enough that the bucket stays the size of its decisions.
pub const HISTORY: i64 = 5;

/// Whether a decision is in force in the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Active,
    Lifted,
}

/// How a decision stopped being in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// It reached its `until` (auto-unlock).
    Expired,
    /// An admin unlocked it (API, CLI, helpdesk page).
    Unlocked,
    /// The bucket held it active but the detector's state does not (a state
    /// reset, another detector's leftover): lifted so no host keeps it.
    Gone,
}

/// When, how and by whom a decision was lifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifted {
    pub at: DateTime<Utc>,
    pub how: How,
    /// The name an admin gave (`How::Unlocked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Why, as the admin said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One value of the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireDecision {
    /// [`VERSION`].
    pub v: u32,
    /// The detector that wrote it (`[fleet] host`).
    pub detector: String,
    pub state: State,
    /// Present when `state` is `lifted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted: Option<Lifted>,
    /// The agents whose events made it, when known (the decision's
    /// `evidence.hosts`, which the detector fills).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// The lease key of the writer's slot (`<stream>.<group>.<member>`):
    /// who takes the slot over adopts the decision (`daemon::detector::adopt`).
    /// Absent in values written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The decision as the detector stored it.
    pub decision: Decision,
}

/// Why a value of the bucket was not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("decision layout version {0}: this loginwatch reads version {VERSION} only")]
    Version(u64),
    #[error("not a decision of layout version {VERSION}: {0}")]
    Json(String),
}

impl WireDecision {
    /// The wire form of a stored decision, written by `detector`.
    pub fn of(rec: &DecisionRecord, detector: &str) -> WireDecision {
        let lifted = match rec.status {
            LockStatus::Active => None,
            LockStatus::Expired => Some(Lifted {
                at: rec
                    .ended_at
                    .or(rec.decision.until)
                    .unwrap_or(rec.decision.at),
                how: How::Expired,
                by: None,
                reason: None,
            }),
            LockStatus::Unlocked => Some(Lifted {
                at: rec.ended_at.unwrap_or(rec.decision.at),
                how: How::Unlocked,
                by: rec.unlocked_by.clone(),
                reason: rec.unlock_reason.clone(),
            }),
        };
        WireDecision {
            v: VERSION,
            detector: detector.to_owned(),
            state: if lifted.is_some() {
                State::Lifted
            } else {
                State::Active
            },
            lifted,
            hosts: rec
                .decision
                .evidence
                .hosts
                .iter()
                .map(|h| h.to_string())
                .collect(),
            slot: None,
            decision: rec.decision.clone(),
        }
    }

    /// `self` written by the holder of `slot`.
    pub fn in_slot(mut self, slot: &str) -> WireDecision {
        self.slot = Some(slot.to_owned());
        self
    }

    /// The stored record this value stands for (the inverse of [`Self::of`]):
    /// an unlock without a name is by `(unknown)`, a decision lifted as
    /// `gone` is unlocked by the system, and a lifted value without its
    /// details ended at its `until`. `detector` is left to the caller.
    pub fn record(&self) -> DecisionRecord {
        let (status, ended_at, by, reason) = match (&self.state, &self.lifted) {
            (State::Active, _) => (LockStatus::Active, None, None, None),
            (State::Lifted, None) => (LockStatus::Expired, self.decision.until, None, None),
            (State::Lifted, Some(l)) => match l.how {
                How::Expired => (LockStatus::Expired, Some(l.at), None, None),
                How::Unlocked => (
                    LockStatus::Unlocked,
                    Some(l.at),
                    Some(l.by.clone().unwrap_or_else(|| "(unknown)".into())),
                    l.reason.clone(),
                ),
                How::Gone => (
                    LockStatus::Unlocked,
                    Some(l.at),
                    Some(crate::state::decisions::SYSTEM.to_owned()),
                    l.reason.clone(),
                ),
            },
        };
        DecisionRecord {
            decision: self.decision.clone(),
            status,
            ended_at,
            unlocked_by: by,
            unlock_reason: reason,
            detector: None,
        }
    }

    /// `self` lifted at `at` as `how` (a decision the detector's state no
    /// longer holds).
    pub fn lift(mut self, at: DateTime<Utc>, how: How, reason: &str) -> WireDecision {
        self.state = State::Lifted;
        self.lifted = Some(Lifted {
            at,
            how,
            by: None,
            reason: Some(reason.to_owned()),
        });
        self
    }

    /// The JSON bytes of the value.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of strings, numbers and typed values: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a value; an unknown version or a bad value is an error, never a
    /// panic.
    pub fn decode(bytes: &[u8]) -> Result<WireDecision, DecodeError> {
        #[derive(Deserialize)]
        struct Probe {
            v: Option<serde_json::Value>,
        }
        let probe: Probe =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
        match probe.v.as_ref().map(|v| v.as_u64()) {
            Some(Some(v)) if v == u64::from(VERSION) => {}
            Some(Some(v)) => return Err(DecodeError::Version(v)),
            Some(None) => return Err(DecodeError::Json("`v` is not a number".into())),
            None => return Err(DecodeError::Json("no `v`".into())),
        }
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))
    }
}

/// The key of a decision: its id when that is a valid key (letters, digits,
/// `-`, `_`, `=`, `/`, `.`, not at either end), which the daemon's ids (16 hex
/// digits) always are; else `x` and the id's bytes in hex.
pub fn key(id: &str) -> String {
    let valid = !id.is_empty()
        && !id.starts_with('.')
        && !id.ends_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=/.".contains(&b));
    if valid {
        id.to_owned()
    } else {
        let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("x{hex}")
    }
}

/// The bucket's settings when the detector creates it: file storage,
/// [`HISTORY`] revisions a key, no age limit (an active lock must not vanish
/// by age), `replicas` copies (1 unless configured). An existing bucket is
/// used as it is.
pub fn config(fleet: &FleetConfig, replicas: usize) -> jetstream::stream::Config {
    super::stream::bucket_config(
        &fleet.decisions_bucket,
        "loginwatch: the fleet's decisions (one key per decision)",
        HISTORY,
        replicas,
    )
}

/// The bucket, created when missing (the detector).
pub async fn ensure(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    replicas: usize,
) -> Result<kv::Store, FleetError> {
    super::stream::bucket(js, config(fleet, replicas)).await
}

/// The bucket as it is (an agent): an error while the detector has not
/// created it yet.
pub async fn open(js: &jetstream::Context, fleet: &FleetConfig) -> Result<kv::Store, FleetError> {
    js.get_key_value(fleet.decisions_bucket.clone())
        .await
        .map_err(|e| bucket_error(fleet, e))
}

fn bucket_error(fleet: &FleetConfig, e: impl std::fmt::Display) -> FleetError {
    FleetError::Stream {
        stream: format!("KV_{}", fleet.decisions_bucket),
        error: e.to_string(),
    }
}

/// The pause after `failures` failed attempts in a row at the bucket:
/// doubling from 200 ms to 5 s.
pub fn backoff(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(5);
    (Duration::from_millis(200) * 2u32.pow(shift)).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests;

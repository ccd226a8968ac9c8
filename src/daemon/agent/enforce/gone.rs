//! Decisions whose key is gone from the fleet's bucket: the detector purges
//! a lifted decision's key after `[fleet] lifted_keep`
//! (`crate::fleet::purge`). An agent watching sees the purge as the key's
//! removal and lifts what it applied ([`Applier::entry`] with no value). An
//! agent that was down longer finds, when it starts watching, a decision it
//! applied whose key is no longer there: [`check`] lifts it here.
//!
//! Only decisions this agent applied from the bucket are judged (each has
//! an audit line [`APPLIED`], written when applied), never one recorded
//! here another way; and not after the bucket was made anew (a server that
//! lost its storage), whose active keys the detector puts back.

use std::collections::HashSet;

use async_nats::jetstream::kv;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use tracing::{info, warn};

use super::{Applier, poisoned};
use crate::escape::Escaped;
use crate::fleet::FleetError;
use crate::fleet::decisions::{self, How, WireDecision};
use crate::state::decisions::SYSTEM;
use crate::state::{DecisionFilter, LockStatus, StateError};

/// The audit line (`what`) of a decision applied from the bucket.
pub const APPLIED: &str = "fleet-applied";

/// Why a decision is lifted here when its key is gone.
pub const REASON: &str = "gone from the fleet's bucket";

impl Applier {
    /// Writes the [`APPLIED`] audit line of `id` (a failure is logged: the
    /// decision is then never judged gone, the safe side).
    pub(super) fn mark_applied(&self, id: &str, detector: &str, revision: u64, now: DateTime<Utc>) {
        let detail =
            format!("applied from the fleet's bucket (detector {detector}, revision {revision})");
        let result = self
            .store
            .lock()
            .map_err(|_| poisoned())
            .and_then(|mut s| s.record_audit(id, APPLIED, SYSTEM, &detail, now));
        if let Err(e) = result {
            warn!(id = %id, error = %e, "Cannot record that a fleet decision was applied.");
        }
    }

    /// The active decisions applied from the bucket whose key is not in
    /// `present`: lifted here, their inverse actions run. Returns their ids.
    pub fn lift_gone(
        &mut self,
        present: &HashSet<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StateError> {
        let candidates: Vec<_> = {
            let s = self.store.lock().map_err(|_| poisoned())?;
            let active = s.decisions(&DecisionFilter {
                active_only: true,
                ..DecisionFilter::default()
            })?;
            let mut out = Vec::new();
            for r in active {
                if present.contains(&decisions::key(&r.decision.id)) {
                    continue;
                }
                if s.audit(&r.decision.id)?.iter().any(|a| a.what == APPLIED) {
                    out.push(r);
                }
            }
            out
        };
        let mut lifted = Vec::new();
        for rec in candidates {
            if rec.status != LockStatus::Active {
                continue;
            }
            let w = WireDecision::of(&rec, "(unknown)").lift(now, How::Gone, REASON);
            self.lift(&w, now)?;
            info!(id = %rec.decision.id, target = %Escaped(&rec.decision.target.to_string()), "Fleet decision lifted: its key is gone from the fleet's bucket.");
            lifted.push(rec.decision.id.clone());
        }
        Ok(lifted)
    }
}

/// Lifts here what `applier` applied and `store` (the bucket) no longer
/// holds (see the module header).
pub(super) async fn check(
    store: &kv::Store,
    applier: &mut Applier,
    now: DateTime<Utc>,
) -> Result<(), FleetError> {
    let err = |e: &dyn std::fmt::Display| FleetError::Stream {
        stream: store.stream_name.clone(),
        error: e.to_string(),
    };
    let mut keys = store.keys().await.map_err(|e| err(&e))?;
    let mut present = HashSet::new();
    while let Some(k) = keys.next().await {
        present.insert(k.map_err(|e| err(&e))?);
    }
    tokio::task::block_in_place(|| applier.lift_gone(&present, now))
        .map_err(|e| err(&format!("the agent's state: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests;

//! Adopting the fleet's decisions at a slot's takeover: the decisions the
//! slot's earlier holder left active in the fleet's bucket become records
//! of this detector's state, so its expiry, its API's unlock and its bucket
//! task answer for them (`daemon::detector::adopt`).
//!
//! Like `decisions import` ([`super::import`]) it is ONE transaction and
//! runs no action and sends no alert: it records what another detector
//! decided. A record whose id is already stored is left as it is (this
//! detector held the slot before, or adopted it already). Lifts the bucket
//! holds for records this state still has active (it was away while the
//! other holder lifted them) are recorded too, so a returning holder does
//! not publish a lock again that was lifted without it. Each gets an audit
//! line naming the detector and the slot.

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};

use super::codec;
use super::decisions::{SYSTEM, audit_by, decided_detail, get, insert_row};
use super::error::StateError;
use super::model::{DecisionRecord, LockStatus};
use super::store::Store;

/// One change of an adoption.
#[derive(Debug, Clone, PartialEq)]
pub enum Adopt {
    /// An active decision of detector `from`: recorded as active here.
    Active {
        record: DecisionRecord,
        from: String,
    },
    /// A decision `from` lifted (`record` as the bucket says it ended:
    /// status, end, who and why): ended here too when still active here.
    Lifted {
        record: DecisionRecord,
        from: String,
    },
}

/// What [`Store::adopt`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdoptReport {
    /// Active decisions recorded now.
    pub imported: usize,
    /// Decisions ended here as the bucket ended them.
    pub lifted: usize,
    /// Already stored (active ones) or not active here (lifts): unchanged.
    pub unchanged: usize,
}

impl Store {
    /// Records `changes` at the takeover of `slot`, in one transaction.
    pub fn adopt(
        &mut self,
        changes: &[Adopt],
        slot: &str,
        now: DateTime<Utc>,
    ) -> Result<AdoptReport, StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = AdoptReport::default();
        for c in changes {
            match c {
                Adopt::Active { record, from } => {
                    let d = &record.decision;
                    if get(&tx, &d.id)?.is_some() || !insert_row(&tx, d, &now)? {
                        report.unchanged += 1;
                        continue;
                    }
                    let line = format!(
                        "adopted from detector {from} at takeover of slot {slot}: {}",
                        decided_detail(d)
                    );
                    let credential = format!("fleet:{from}");
                    audit_by(
                        &tx,
                        &now,
                        &d.id,
                        "adopted",
                        SYSTEM,
                        &line,
                        Some(&credential),
                    )?;
                    report.imported += 1;
                }
                Adopt::Lifted { record, from } => {
                    let id = &record.decision.id;
                    let here = get(&tx, id)?;
                    if here.is_none_or(|r| r.status != LockStatus::Active)
                        || record.status == LockStatus::Active
                    {
                        report.unchanged += 1;
                        continue;
                    }
                    let ended = record.ended_at.unwrap_or(now);
                    tx.execute(
                        "UPDATE decisions SET status = ?2, ended_at = ?3, unlocked_by = ?4,
                             unlock_reason = ?5 WHERE id = ?1",
                        params![
                            id,
                            record.status.as_str(),
                            codec::time(&ended),
                            record.unlocked_by,
                            record.unlock_reason
                        ],
                    )?;
                    let who = record.unlocked_by.as_deref().unwrap_or(SYSTEM);
                    let line = format!(
                        "{} on the fleet's detector {from} while this detector did not hold \
                         slot {slot}; adopted at its takeover{}",
                        record.status,
                        record
                            .unlock_reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                    let credential = format!("fleet:{from}");
                    audit_by(
                        &tx,
                        &now,
                        id,
                        record.status.as_str(),
                        who,
                        &line,
                        Some(&credential),
                    )?;
                    report.lifted += 1;
                }
            }
        }
        tx.commit()?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests;

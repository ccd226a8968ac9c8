//! Recording a decision an admin made by hand (`decisions add`): the same row
//! and lifecycle as a rule's, with the admin's name, reason and credential in
//! its `decided` audit line, and its alert in the same transaction.

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;

use super::decisions::{audit_by, get, insert_row};
use super::error::StateError;
use super::model::DecisionRecord;
use super::outbox::{self, OutboxEntry};
use super::store::Store;
use crate::decision::Decision;
use crate::event::rfc3339;

/// The audit line of a manual decision.
fn detail(d: &Decision, reason: &str) -> String {
    let until = d.until.map_or_else(
        || "until an admin unlocks it".to_string(),
        |u| format!("until {}", rfc3339(&u)),
    );
    format!(
        "{} {} by hand ({}, {until}): {reason}",
        d.action, d.target, d.mode
    )
}

impl Store {
    /// Records `d`, decided by hand by `by` (the name given) for `reason`,
    /// authenticated by `credential`, with the alert `alert` renders, in one
    /// transaction. A decision whose id is already stored (the same request
    /// at the same instant) is returned as stored, without a second audit
    /// line or alert; the flag says whether it is new.
    pub fn add_manual(
        &mut self,
        d: &Decision,
        by: &str,
        reason: &str,
        credential: &str,
        now: DateTime<Utc>,
        alert: &mut dyn FnMut(&Decision) -> Option<OutboxEntry>,
    ) -> Result<(DecisionRecord, bool), StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let new = insert_row(&tx, d, &now)?;
        if new {
            audit_by(
                &tx,
                &now,
                &d.id,
                "decided",
                by,
                &detail(d, reason),
                Some(credential),
            )?;
            if let Some(entry) = alert(d) {
                outbox::insert(&tx, &entry, false, &now)?;
            }
        }
        let rec = get(&tx, &d.id)?.ok_or_else(|| StateError::UnknownDecision(d.id.clone()))?;
        tx.commit()?;
        Ok((rec, new))
    }
}

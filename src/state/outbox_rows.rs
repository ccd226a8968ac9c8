//! Writing alert-outbox rows inside a transaction of the state database.
//!
//! The outbox table lives in this database so that an alert can be committed in
//! the SAME transaction as the decision it reports (see [`super::Batch::alerts`]):
//! a crash then leaves either both or neither, never a decision whose alert is
//! lost. The delivery side (reading, retrying, marking rows done) is
//! `crate::alert::outbox`, which also calls [`insert`] for alerts it enqueues on
//! its own (resolutions, rate-limit summaries).

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

use super::codec;
use super::error::StateError;
use crate::alert::AlertStatus;

/// One alert, rendered for each sink that accepts it, waiting to be committed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// Grouping and idempotency key of the alert.
    pub alert_key: String,
    pub status: AlertStatus,
    /// `(sink name, payload as JSON)`: the payload exactly as the sink will send it.
    pub per_sink: Vec<(String, String)>,
}

/// The spelling of a status in the `alert_outbox.status` column.
pub fn status_str(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    }
}

/// Inserts `entry` as the next version of its key for each of its sinks,
/// superseding any undelivered older version (an ongoing attack updates one
/// alert rather than queueing hundreds). Returns the last row id (0 for no sink).
pub fn insert(
    tx: &Transaction<'_>,
    entry: &OutboxEntry,
    summary: bool,
    now: &DateTime<Utc>,
) -> Result<i64, StateError> {
    let now_s = codec::time(now);
    let mut id = 0;
    for (sink, json) in &entry.per_sink {
        let version: i64 = tx
            .prepare_cached(
                "SELECT coalesce(max(version), 0) + 1 FROM alert_outbox
                     WHERE sink = ?1 AND alert_key = ?2",
            )?
            .query_row(params![sink, entry.alert_key], |r| r.get(0))?;
        tx.prepare_cached(
            "UPDATE alert_outbox SET state = 'superseded', done_at = ?3
                 WHERE sink = ?1 AND alert_key = ?2 AND state = 'pending'",
        )?
        .execute(params![sink, entry.alert_key, now_s])?;
        tx.prepare_cached(
            "INSERT INTO alert_outbox (sink, alert_key, status, version, payload,
                 created_at, state, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
        )?
        .execute(params![
            sink,
            entry.alert_key,
            status_str(entry.status),
            version,
            json,
            now_s,
            summary
        ])?;
        id = tx.last_insert_rowid();
    }
    Ok(id)
}

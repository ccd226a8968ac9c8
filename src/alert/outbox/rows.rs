//! Reading undelivered rows back from the outbox table, a page at a time.
//!
//! Why pages: a burst of alerts (a distributed attack against thousands of
//! accounts) leaves thousands of rows pending, each carrying its rendered
//! payload (a few KiB, twice over once decoded). Loading them all for one
//! delivery pass held tens of MiB at the daemon's peak; a pass now holds one
//! [`PAGE`] of rows at a time, whatever the backlog. Rows are decoded here: a
//! row this binary cannot read back (edited by hand, written by a newer
//! version) is marked failed and logged, so that it cannot stall the outbox.

use chrono::{DateTime, Utc};

use super::{Outbox, OutboxError, OutboxRow, RowEnd, StoredRow};
use crate::state::outbox::ReadRow;

/// Rows read per query by a delivery pass.
pub(super) const PAGE: usize = 64;

impl Outbox {
    /// The undelivered rows whose sink is not backing off at `now`, summaries
    /// first, then oldest first, per sink. Loads them all: for inspection and
    /// tests (delivery pages through them with [`Outbox::page`]).
    pub fn due(&mut self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, OutboxError> {
        let read = self.store.outbox_due(now)?;
        self.decode_all(read, now)
    }

    /// Pending rows of `sink` (summaries or the others) whose id is above
    /// `after`, oldest first, at most `limit` of them; undecodable rows are
    /// marked failed and left out. The second value is the id of the last
    /// row read (decodable or not), from which the next page starts; `None`
    /// when nothing is left.
    pub(super) fn page(
        &mut self,
        sink: &str,
        summary: bool,
        after: i64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<(Vec<OutboxRow>, Option<i64>), OutboxError> {
        let read = self.store.outbox_page(sink, summary, after, limit)?;
        let last = read.last().map(|r| r.0);
        Ok((self.decode_all(read, now)?, last))
    }

    /// Pending rows of `sink` that are not summaries (what the rate limit plans for).
    pub(super) fn count_due(&mut self, sink: &str) -> Result<usize, OutboxError> {
        Ok(self.store.outbox_count_due(sink)?)
    }

    fn decode_all(
        &mut self,
        read: Vec<ReadRow>,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxRow>, OutboxError> {
        let mut rows = Vec::with_capacity(read.len());
        for (id, stored) in read {
            match stored.map_err(OutboxError::from).and_then(decode) {
                Ok(row) => rows.push(row),
                Err(e) => {
                    tracing::error!("alert outbox: skipping row {id}: {e}");
                    self.finish(id, RowEnd::Failed, Some(&e.to_string()), now)?;
                }
            }
        }
        Ok(rows)
    }
}

/// The row with its payload decoded for the sink.
fn decode(s: StoredRow) -> Result<OutboxRow, OutboxError> {
    let id = s.id;
    Ok(OutboxRow {
        id,
        sink: s.sink,
        alert_key: s.alert_key,
        status: s.status,
        version: s.version,
        payload: serde_json::from_str(&s.payload)
            .map_err(|source| OutboxError::Payload { id, source })?,
        created_at: s.created_at,
        attempts: s.attempts,
        summary: s.summary,
    })
}

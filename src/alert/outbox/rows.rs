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
use rusqlite::params;

use super::{Outbox, OutboxError, OutboxRow, parse_status};
use crate::state::codec;

/// Rows read per query by a delivery pass.
pub(super) const PAGE: usize = 64;

/// The columns of one row, as stored.
type Raw = (i64, String, String, String, i64, String, String, i64, bool);

const COLUMNS: &str = "o.id, o.sink, o.alert_key, o.status, o.version, o.payload, o.created_at,
                       o.attempts, o.summary";

impl Outbox {
    /// The undelivered rows whose sink is not backing off at `now`, summaries
    /// first, then oldest first, per sink. Loads them all: for inspection and
    /// tests (delivery pages through them with [`Outbox::page`]).
    pub fn due(&mut self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, OutboxError> {
        let now_s = codec::time(&now);
        let conn = self.store.connection();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS}
               FROM alert_outbox o LEFT JOIN alert_sink_state s ON s.sink = o.sink
              WHERE o.state = 'pending' AND (s.retry_at IS NULL OR s.retry_at <= ?1)
              ORDER BY o.sink, o.summary DESC, o.id"
        ))?;
        let raw = st
            .query_map(params![now_s], raw_row)?
            .collect::<Result<Vec<_>, _>>()?;
        drop(st);
        self.decode_all(raw, now)
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
        let conn = self.store.connection();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM alert_outbox o
              WHERE o.state = 'pending' AND o.sink = ?1 AND o.summary = ?2 AND o.id > ?3
              ORDER BY o.id LIMIT ?4"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raw = st
            .query_map(params![sink, summary, after, limit], raw_row)?
            .collect::<Result<Vec<_>, _>>()?;
        drop(st);
        let last = raw.last().map(|r| r.0);
        Ok((self.decode_all(raw, now)?, last))
    }

    /// Pending rows of `sink` that are not summaries (what the rate limit plans for).
    pub(super) fn count_due(&mut self, sink: &str) -> Result<usize, OutboxError> {
        let n: i64 = self.store.connection().query_row(
            "SELECT count(*) FROM alert_outbox WHERE state = 'pending' AND sink = ?1 AND NOT summary",
            [sink],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn decode_all(
        &mut self,
        raw: Vec<Raw>,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxRow>, OutboxError> {
        let mut rows = Vec::with_capacity(raw.len());
        for r in raw {
            let id = r.0;
            match decode(r) {
                Ok(row) => rows.push(row),
                Err(e) => {
                    tracing::error!("alert outbox: skipping row {id}: {e}");
                    self.finish(id, "failed", Some(&e.to_string()), now)?;
                }
            }
        }
        Ok(rows)
    }
}

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn decode(raw: Raw) -> Result<OutboxRow, OutboxError> {
    let (id, sink, alert_key, status, version, payload, created, attempts, summary) = raw;
    Ok(OutboxRow {
        id,
        sink,
        alert_key,
        status: parse_status(&status)?,
        version: u32::try_from(version).unwrap_or(u32::MAX),
        payload: serde_json::from_str(&payload)
            .map_err(|source| OutboxError::Payload { id, source })?,
        created_at: codec::parse_time(&created)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        summary,
    })
}

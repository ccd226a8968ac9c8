//! The alert outbox's tables (`alert_outbox`, `alert_sink_state`): every SQL
//! statement on them is here.
//!
//! The outbox lives in the state database so that an alert can be committed in
//! the SAME transaction as the decision it reports (see [`super::Batch::alerts`]):
//! a crash then leaves either both or neither, never a decision whose alert is
//! lost. The delivery policy (what is due, backoff, rate limits, sending) is
//! `crate::alert::outbox`, which reads and marks rows through the methods here.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::codec;
use super::error::StateError;
use super::store::Store;

/// Whether an alert reports something in force or its end (the
/// `alert_outbox.status` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

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

fn parse_status(s: &str) -> Result<AlertStatus, StateError> {
    match s {
        "firing" => Ok(AlertStatus::Firing),
        "resolved" => Ok(AlertStatus::Resolved),
        _ => Err(codec::corrupt("alert status", s)),
    }
}

/// Where a row ends after a delivery attempt (the `alert_outbox.state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowEnd {
    Delivered,
    /// Given up on (a permanent failure, or a row that cannot be read).
    Failed,
    /// Still to be sent (after a transient failure).
    Pending,
}

impl RowEnd {
    fn as_str(self) -> &'static str {
        match self {
            RowEnd::Delivered => "delivered",
            RowEnd::Failed => "failed",
            RowEnd::Pending => "pending",
        }
    }
}

/// One undelivered row as stored; the payload is still the JSON text the
/// sink will send (its type belongs to `alert`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub id: i64,
    pub sink: String,
    pub alert_key: String,
    pub status: AlertStatus,
    /// 1 for the first version of this key for this sink, then 2, 3...
    pub version: u32,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// A rate-limit summary (never suppressed itself).
    pub summary: bool,
}

/// What the outbox remembers of one sink between passes (and restarts): the
/// `alert_sink_state` row. The delivery plan reads and updates it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkState {
    /// Consecutive failed deliveries (0 after a success).
    pub failures: u32,
    /// No attempt before this (set after a failure).
    pub retry_at: Option<DateTime<Utc>>,
    /// Start of the current rate-limit window.
    pub window_start: Option<DateTime<Utc>>,
    /// Successful deliveries in the current window.
    pub window_sent: u32,
    /// Alerts suppressed since the last summary.
    pub suppressed: u32,
}

/// Inserts `entry` as the next version of its key for each of its sinks,
/// superseding any undelivered older version (an ongoing attack updates one
/// alert rather than queueing hundreds). Returns the last row id (0 for no sink).
pub(super) fn insert(
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

/// The columns of one row, as stored.
type Raw = (i64, String, String, String, i64, String, String, i64, bool);

const COLUMNS: &str = "o.id, o.sink, o.alert_key, o.status, o.version, o.payload, o.created_at,
                       o.attempts, o.summary";

/// A row read back: its id, and the row or why it cannot be decoded (the
/// caller marks such rows failed rather than stopping on them).
pub type ReadRow = (i64, Result<StoredRow, StateError>);

/// The outbox's statements, on a [`Store`] (usually a connection of the
/// outbox's own, so that a slow receiver never holds the ingest path's lock).
impl Store {
    /// Commits `entry` (one row per sink) in one immediate transaction.
    /// Returns the last row id (0 for no sink).
    pub fn outbox_commit(
        &mut self,
        entry: &OutboxEntry,
        summary: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        let tx = self
            .connection()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert(&tx, entry, summary, &now)?;
        tx.commit()?;
        Ok(id)
    }

    /// Deletes finished rows (delivered, superseded, suppressed, failed) that
    /// finished before `before`; pending rows are never deleted. Returns the
    /// rows deleted.
    pub fn outbox_prune(&mut self, before: DateTime<Utc>) -> Result<usize, StateError> {
        Ok(self.connection().execute(
            "DELETE FROM alert_outbox WHERE state <> 'pending' AND done_at < ?1",
            [codec::time(&before)],
        )?)
    }

    /// Undelivered rows per sink, by sink name.
    pub fn outbox_depth(&mut self) -> Result<Vec<(String, u64)>, StateError> {
        let conn = self.connection();
        let mut st = conn.prepare_cached(
            "SELECT sink, count(*) FROM alert_outbox WHERE state = 'pending' GROUP BY sink
                 ORDER BY sink",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, codec::u64_from_sql(r.get(1)?)))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The undelivered rows whose sink is not backing off at `now`, summaries
    /// first, then oldest first, per sink.
    pub fn outbox_due(&mut self, now: DateTime<Utc>) -> Result<Vec<ReadRow>, StateError> {
        let conn = self.connection();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS}
               FROM alert_outbox o LEFT JOIN alert_sink_state s ON s.sink = o.sink
              WHERE o.state = 'pending' AND (s.retry_at IS NULL OR s.retry_at <= ?1)
              ORDER BY o.sink, o.summary DESC, o.id"
        ))?;
        let raw = st
            .query_map(params![codec::time(&now)], raw_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(raw.into_iter().map(decode).collect())
    }

    /// Pending rows of `sink` (summaries or the others) whose id is above
    /// `after`, oldest first, at most `limit` of them.
    pub fn outbox_page(
        &mut self,
        sink: &str,
        summary: bool,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ReadRow>, StateError> {
        let conn = self.connection();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM alert_outbox o
              WHERE o.state = 'pending' AND o.sink = ?1 AND o.summary = ?2 AND o.id > ?3
              ORDER BY o.id LIMIT ?4"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raw = st
            .query_map(params![sink, summary, after, limit], raw_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(raw.into_iter().map(decode).collect())
    }

    /// Pending rows of `sink` that are not summaries.
    pub fn outbox_count_due(&mut self, sink: &str) -> Result<usize, StateError> {
        let n: i64 = self.connection().query_row(
            "SELECT count(*) FROM alert_outbox WHERE state = 'pending' AND sink = ?1 AND NOT summary",
            [sink],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Marks as suppressed the `n` pending rows of `sink` that follow its
    /// first `skip` (summaries aside), in one statement. Returns how many.
    pub fn outbox_suppress(
        &mut self,
        sink: &str,
        skip: usize,
        n: usize,
        now: DateTime<Utc>,
    ) -> Result<u32, StateError> {
        let as_sql = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        let changed = self.connection().execute(
            "UPDATE alert_outbox SET state = 'suppressed', done_at = ?4
              WHERE id IN (SELECT id FROM alert_outbox
                            WHERE state = 'pending' AND sink = ?1 AND NOT summary
                            ORDER BY id LIMIT ?3 OFFSET ?2)",
            params![sink, as_sql(skip), as_sql(n), codec::time(&now)],
        )?;
        Ok(u32::try_from(changed).unwrap_or(u32::MAX))
    }

    /// Records the end of an attempt on row `id`; `error` counts as a failed
    /// attempt and is kept as the row's last error.
    pub fn outbox_finish(
        &mut self,
        id: i64,
        end: RowEnd,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let failed_attempt = i64::from(error.is_some());
        self.connection().execute(
            "UPDATE alert_outbox SET state = ?2, last_error = coalesce(?3, last_error),
                 attempts = attempts + ?4, done_at = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?5 END
               WHERE id = ?1",
            params![id, end.as_str(), error, failed_attempt, codec::time(&now)],
        )?;
        Ok(())
    }

    /// The stored delivery state of `sink` (the default when none is stored).
    pub fn sink_state(&mut self, sink: &str) -> Result<SinkState, StateError> {
        let row = self
            .connection()
            .query_row(
                "SELECT failures, retry_at, window_start, window_sent, suppressed
                   FROM alert_sink_state WHERE sink = ?1",
                [sink],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((failures, retry_at, window_start, sent, suppressed)) = row else {
            return Ok(SinkState::default());
        };
        let n = |v: i64| u32::try_from(v).unwrap_or(0);
        Ok(SinkState {
            failures: n(failures),
            retry_at: codec::parse_opt_time(retry_at)?,
            window_start: codec::parse_opt_time(window_start)?,
            window_sent: n(sent),
            suppressed: n(suppressed),
        })
    }

    /// Stores the delivery state of `sink`.
    pub fn save_sink_state(&mut self, sink: &str, s: &SinkState) -> Result<(), StateError> {
        self.connection().execute(
            "INSERT OR REPLACE INTO alert_sink_state
                 (sink, failures, retry_at, window_start, window_sent, suppressed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                sink,
                s.failures,
                s.retry_at.as_ref().map(codec::time),
                s.window_start.as_ref().map(codec::time),
                s.window_sent,
                s.suppressed
            ],
        )?;
        Ok(())
    }

    /// Sets this connection's page cache to `kib` KiB (the outbox's own
    /// connection reads a page of rows and writes one row at a time).
    pub fn set_cache_kib(&mut self, kib: u32) -> Result<(), StateError> {
        Ok(self
            .connection()
            .execute_batch(&format!("PRAGMA cache_size = -{kib}"))?)
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

fn decode(raw: Raw) -> ReadRow {
    let (id, sink, alert_key, status, version, payload, created, attempts, summary) = raw;
    let row = (|| {
        Ok(StoredRow {
            id,
            sink,
            alert_key,
            status: parse_status(&status)?,
            version: u32::try_from(version).unwrap_or(u32::MAX),
            payload,
            created_at: codec::parse_time(&created)?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            summary,
        })
    })();
    (id, row)
}

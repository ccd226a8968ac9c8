//! The durable alert outbox: alerts are committed to the state database
//! before any delivery attempt, then delivered at least once per sink.
//!
//! One row per sink per alert version. [`Outbox::enqueue`] commits it (and
//! marks any undelivered older version of the same key for the same sink as
//! superseded: an ongoing attack updates one alert instead of queueing
//! hundreds); [`Outbox::deliver_due`] sends what is due and records each
//! result. A crash between the send and the record re-sends the row after the
//! restart with the same idempotency key, so receivers can deduplicate: that
//! is the "at least once". The scheduling (backoff, rate limit) is the pure
//! [`plan`] module; this one is the I/O around it.
//!
//! The outbox keeps its own [`Store`] connection (WAL lets it write next to
//! the daemon's batch writer) so that a slow receiver never holds the lock the
//! ingest path needs: the database is only touched between sends.

mod deliver;
pub mod plan;
mod rows;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use plan::{Backoff, RateLimit, SinkState};

use super::{AlertStatus, Payload};
use crate::state::outbox::{OutboxEntry, RowEnd, StoredRow, status_str};
use crate::state::{StateError, Store};

/// Errors of the outbox itself (delivery failures are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("alert outbox: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("alert outbox: unreadable payload of row {id}: {source}")]
    Payload {
        id: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("alert outbox: cannot encode a payload: {0}")]
    Encode(#[source] serde_json::Error),
}

/// One undelivered row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub sink: String,
    pub alert_key: String,
    pub status: AlertStatus,
    /// 1 for the first version of this key for this sink, then 2, 3...
    pub version: u32,
    pub payload: Payload,
    pub created_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// A rate-limit summary (never suppressed itself).
    pub summary: bool,
}

impl OutboxRow {
    /// The idempotency key: the same for every attempt of this row (also after
    /// a restart), different for another version or status of the alert. A
    /// digest, because alert keys contain user names and header values must
    /// be printable ASCII.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(&self.alert_key, self.status, self.version)
    }
}

/// See [`OutboxRow::idempotency_key`].
pub fn idempotency_key(alert_key: &str, status: AlertStatus, version: u32) -> String {
    let mut h = Sha256::new();
    h.update(alert_key.as_bytes());
    h.update([0]);
    h.update(status_str(status).as_bytes());
    h.update([0]);
    h.update(version.to_be_bytes());
    format!("lw-{}", &hex::encode(h.finalize())[..32])
}

/// What one [`Outbox::deliver_due`] pass did, per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u32,
    /// Transient failures (the row stays, the sink backs off).
    pub retried: u32,
    /// Permanent failures (the row is marked failed).
    pub failed: u32,
    pub suppressed: u32,
    /// Summaries enqueued because a rate-limit window reopened.
    pub summaries: u32,
}

/// Key prefix of summary rows (never an alert's key: those are rule-based).
const SUMMARY_KEY: &str = "loginwatch:suppressed";

/// Page cache of the outbox's connection, in KiB.
const OUTBOX_CACHE_KIB: u32 = 256;

/// The outbox over one state-database connection.
pub struct Outbox {
    store: Store,
    backoff: Backoff,
    jitter: Box<dyn FnMut() -> f64 + Send>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &self.store)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Outbox {
    /// An outbox on `store` (usually a connection of its own: see the module
    /// doc), with the default backoff and random jitter.
    pub fn new(mut store: Store) -> Outbox {
        // This connection reads a page of rows and writes one row at a time:
        // a small page cache does (SQLite's default is 2 MiB per connection,
        // on top of the daemon's main one). Only a cache size: failing to set
        // it changes nothing else.
        let _ = store.set_cache_kib(OUTBOX_CACHE_KIB);
        Outbox {
            store,
            backoff: Backoff::default(),
            jitter: Box::new(fastrand::f64),
        }
    }

    /// Replaces the backoff (tests use short ones).
    pub fn with_backoff(mut self, backoff: Backoff) -> Outbox {
        self.backoff = backoff;
        self
    }

    /// Replaces the jitter source (values in `[0, 1)`), for reproducible tests.
    pub fn with_jitter(mut self, jitter: impl FnMut() -> f64 + Send + 'static) -> Outbox {
        self.jitter = Box::new(jitter);
        self
    }

    /// Commits `payload` for `sink` as the next version of `alert_key`,
    /// superseding any undelivered older version. Returns the row id.
    pub fn enqueue(
        &mut self,
        sink: &str,
        alert_key: &str,
        status: AlertStatus,
        payload: &Payload,
        now: DateTime<Utc>,
    ) -> Result<i64, OutboxError> {
        self.insert(&[(sink, payload)], alert_key, status, now, false)
    }

    /// Commits an alert rendered for several sinks (each with its own
    /// rendering) in ONE transaction: it is committed for all its sinks or for
    /// none. Returns the last row id (0 for no sink).
    pub fn enqueue_entry(
        &mut self,
        entry: &OutboxEntry,
        now: DateTime<Utc>,
    ) -> Result<i64, OutboxError> {
        self.commit_entry(entry, false, now)
    }

    fn insert(
        &mut self,
        per_sink: &[(&str, &Payload)],
        alert_key: &str,
        status: AlertStatus,
        now: DateTime<Utc>,
        summary: bool,
    ) -> Result<i64, OutboxError> {
        let entry = OutboxEntry {
            alert_key: alert_key.to_owned(),
            status,
            per_sink: per_sink
                .iter()
                .map(|(sink, payload)| {
                    serde_json::to_string(payload)
                        .map(|json| ((*sink).to_owned(), json))
                        .map_err(OutboxError::Encode)
                })
                .collect::<Result<_, _>>()?,
        };
        self.commit_entry(&entry, summary, now)
    }

    fn commit_entry(
        &mut self,
        entry: &OutboxEntry,
        summary: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, OutboxError> {
        Ok(self.store.outbox_commit(entry, summary, now)?)
    }

    /// Deletes finished rows (delivered, superseded, suppressed, failed) that
    /// finished before `before`; pending rows are never deleted. The version
    /// counter of a key restarts only once all its rows are gone, which is
    /// harmless: a receiver's deduplication window is far shorter than the
    /// retention an operator would choose. Returns the rows deleted.
    pub fn prune(&mut self, before: DateTime<Utc>) -> Result<usize, OutboxError> {
        Ok(self.store.outbox_prune(before)?)
    }

    /// Undelivered rows per sink (the `loginwatch_alert_outbox_depth` gauge).
    pub fn depth(&mut self) -> Result<Vec<(String, u64)>, OutboxError> {
        Ok(self.store.outbox_depth()?)
    }

    fn load_state(&mut self, sink: &str) -> Result<SinkState, OutboxError> {
        Ok(self.store.sink_state(sink)?)
    }

    fn save_state(&mut self, sink: &str, s: &SinkState) -> Result<(), OutboxError> {
        Ok(self.store.save_sink_state(sink, s)?)
    }

    fn finish(
        &mut self,
        id: i64,
        end: RowEnd,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        Ok(self.store.outbox_finish(id, end, error, now)?)
    }

    /// The store, for callers that also read decisions through it.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
mod tests;

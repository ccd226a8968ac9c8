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

pub mod plan;

use std::time::Instant;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

pub use plan::{Backoff, RateLimit, SinkState};

use super::sink::{Delivery, Sink, SinkError, Summary};
use super::{AlertStatus, Payload};
use crate::escape::Escaped;
use crate::state::codec;
use crate::state::{StateError, Store};
use crate::telemetry::Metrics;

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

fn status_str(s: AlertStatus) -> &'static str {
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
    pub fn new(store: Store) -> Outbox {
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
        self.insert(sink, alert_key, status, payload, now, false)
    }

    fn insert(
        &mut self,
        sink: &str,
        alert_key: &str,
        status: AlertStatus,
        payload: &Payload,
        now: DateTime<Utc>,
        summary: bool,
    ) -> Result<i64, OutboxError> {
        let json = serde_json::to_string(payload).map_err(OutboxError::Encode)?;
        let tx = self
            .store
            .connection()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM alert_outbox
                 WHERE sink = ?1 AND alert_key = ?2",
            params![sink, alert_key],
            |r| r.get(0),
        )?;
        let now_s = codec::time(&now);
        tx.execute(
            "UPDATE alert_outbox SET state = 'superseded', done_at = ?3
                 WHERE sink = ?1 AND alert_key = ?2 AND state = 'pending'",
            params![sink, alert_key, now_s],
        )?;
        tx.execute(
            "INSERT INTO alert_outbox (sink, alert_key, status, version, payload, created_at,
                 state, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
            params![
                sink,
                alert_key,
                status_str(status),
                version,
                json,
                now_s,
                summary
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// The undelivered rows whose sink is not backing off at `now`, summaries
    /// first, then oldest first, per sink.
    pub fn due(&mut self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, OutboxError> {
        let now_s = codec::time(&now);
        let conn = self.store.connection();
        let mut st = conn.prepare_cached(
            "SELECT o.id, o.sink, o.alert_key, o.status, o.version, o.payload, o.created_at,
                    o.attempts, o.summary
               FROM alert_outbox o LEFT JOIN alert_sink_state s ON s.sink = o.sink
              WHERE o.state = 'pending' AND (s.retry_at IS NULL OR s.retry_at <= ?1)
              ORDER BY o.sink, o.summary DESC, o.id",
        )?;
        let rows = st
            .query_map([now_s], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, bool>(8)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, sink, alert_key, status, version, payload, created, attempts, summary)| {
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
                },
            )
            .collect()
    }

    /// Undelivered rows per sink (the `loginwatch_alert_outbox_depth` gauge).
    pub fn depth(&mut self) -> Result<Vec<(String, u64)>, OutboxError> {
        let conn = self.store.connection();
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

    fn load_state(&mut self, sink: &str) -> Result<SinkState, OutboxError> {
        let row = self
            .store
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

    fn save_state(&mut self, sink: &str, s: &SinkState) -> Result<(), OutboxError> {
        self.store.connection().execute(
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

    fn finish(
        &mut self,
        id: i64,
        state: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        let failed_attempt = i64::from(error.is_some());
        self.store.connection().execute(
            "UPDATE alert_outbox SET state = ?2, last_error = coalesce(?3, last_error),
                 attempts = attempts + ?4, done_at = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?5 END
               WHERE id = ?1",
            params![id, state, error, failed_attempt, codec::time(&now)],
        )?;
        Ok(())
    }

    /// Sends every due row of every configured sink once, in order, and
    /// records each result. Blocking (the transports are): run it on a
    /// blocking task. A sink's failure stops that sink's pass (and backs it
    /// off) but not the other sinks'. Rows of sinks no longer configured stay
    /// pending (they are delivered if the sink comes back).
    pub fn deliver_due(
        &mut self,
        sinks: &[Sink],
        metrics: Option<&Metrics>,
        now: DateTime<Utc>,
    ) -> Result<DeliveryReport, OutboxError> {
        let mut report = DeliveryReport::default();
        for sink in sinks {
            self.deliver_sink(sink, metrics, now, &mut report)?;
        }
        if let Some(m) = metrics {
            let depth = self.depth()?;
            for sink in sinks {
                let n = depth
                    .iter()
                    .find(|(s, _)| *s == sink.name)
                    .map_or(0, |d| d.1);
                m.set_alert_outbox_depth(&sink.name, n);
            }
        }
        Ok(report)
    }

    fn deliver_sink(
        &mut self,
        sink: &Sink,
        metrics: Option<&Metrics>,
        now: DateTime<Utc>,
        report: &mut DeliveryReport,
    ) -> Result<(), OutboxError> {
        let count = |result: &str| {
            if let Some(m) = metrics {
                m.alert_result(&sink.name, result);
            }
        };
        let mut state = self.load_state(&sink.name)?;
        let all: Vec<OutboxRow> = self
            .due(now)?
            .into_iter()
            .filter(|r| r.sink == sink.name)
            .collect();
        let (summaries, rows): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.summary);
        let p = plan::plan(&mut state, rows.len(), sink.rate_limit, now);
        // Persist the plan's window before sending: a crash mid-pass must not
        // forget what was suppressed.
        self.save_state(&sink.name, &state)?;
        let mut queue: Vec<OutboxRow> = summaries;
        if let Some(k) = p.summary {
            let s = Summary { suppressed: k, now };
            let payload = sink.transport.summary(&s);
            let key = format!("{SUMMARY_KEY}:{}", codec::time(&now));
            self.insert(&sink.name, &key, AlertStatus::Firing, &payload, now, true)?;
            report.summaries += 1;
            queue = self
                .due(now)?
                .into_iter()
                .filter(|r| r.sink == sink.name && r.summary)
                .collect();
        }
        if state.retry_at.is_some_and(|t| now < t) {
            return Ok(());
        }
        let mut rows = rows.into_iter();
        queue.extend(rows.by_ref().take(p.send));
        for row in rows.by_ref().take(p.suppress) {
            self.finish(row.id, "suppressed", None, now)?;
            report.suppressed += 1;
            count("suppressed");
        }
        for row in queue {
            let key = row.idempotency_key();
            let d = Delivery {
                idempotency_key: &key,
                alert_key: &row.alert_key,
                status: row.status,
                payload: &row.payload,
                now,
            };
            let started = Instant::now();
            let result = sink.transport.send(&d);
            if let Some(m) = metrics {
                m.alert_delivery_seconds(&sink.name, started.elapsed().as_secs_f64());
            }
            match result {
                Ok(()) => {
                    plan::delivered(&mut state);
                    self.finish(row.id, "delivered", None, now)?;
                    report.delivered += 1;
                    count("delivered");
                }
                Err(SinkError::Permanent(e)) | Err(SinkError::Setup(e)) => {
                    tracing::error!(sink = %sink.name, alert = %Escaped(&row.alert_key), "alert not deliverable, giving up: {}", Escaped(&e));
                    self.finish(row.id, "failed", Some(&e), now)?;
                    report.failed += 1;
                    count("failed");
                }
                Err(SinkError::Transient(e)) => {
                    let jitter = (self.jitter)();
                    plan::failed(&mut state, &self.backoff, jitter, now);
                    tracing::warn!(sink = %sink.name, failures = state.failures, "alert delivery failed, will retry: {}", Escaped(&e));
                    self.finish(row.id, "pending", Some(&e), now)?;
                    report.retried += 1;
                    count("retry");
                    break;
                }
            }
        }
        self.save_state(&sink.name, &state)?;
        Ok(())
    }

    /// The store, for callers that also read decisions through it.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;

/// Fixtures shared by unit tests of the alert modules.
#[cfg(test)]
pub(crate) mod tests_support {
    use chrono::TimeZone;

    use crate::decision::{Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock};

    /// A lock decision of rule `brute-force`, severity medium.
    pub fn decision() -> Decision {
        let at = chrono::Utc
            .timestamp_opt(1_700_000_000, 0)
            .single()
            .unwrap_or_default();
        Decision {
            kind: "decision",
            id: "d1".into(),
            rule: "brute-force".into(),
            action: DecisionAction::LockAccount,
            target: Target::user("alice".into()),
            at,
            until: None,
            unlock: Unlock::Admin,
            severity: Severity::Medium,
            mode: Mode::Recommend,
            exempt: false,
            evidence: Evidence {
                count: 5,
                first: at,
                last: at,
                source_ips: vec![],
                users: vec![],
            },
        }
    }
}

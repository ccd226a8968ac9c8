//! The agent's drainer: the spool to the stream, in order, one batch at a
//! time, each acknowledged whole before the spool lets it go
//! (`crate::fleet::spool`). It runs beside the reader: while NATS is down
//! the publisher retries its batch with a growing pause and the reader goes
//! on filling the spool up to its bound.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::fleet::Publisher;
use crate::fleet::health::Link;
use crate::fleet::spool::Spool;
use crate::telemetry::fleet::FleetMetrics;

/// Messages per publish, at most: what the drainer holds in memory.
const BATCH: usize = 1024;
/// And bytes (about): a full batch of ordinary events is under it.
const BATCH_BYTES: u64 = 1024 * 1024;
/// The backstop wait when the spool is empty (an append wakes it sooner).
const IDLE: Duration = Duration::from_secs(1);

/// Sets the spool's gauges.
pub fn show(spool: &Spool, m: &FleetMetrics) {
    let s = spool.stats();
    m.spool_bytes
        .set(i64::try_from(s.bytes).unwrap_or(i64::MAX));
    m.spool_messages
        .set(i64::try_from(s.messages).unwrap_or(i64::MAX));
}

/// Publishes the spool's messages until `cancel`.
pub async fn run(
    spool: Arc<Spool>,
    mut publisher: Publisher,
    m: FleetMetrics,
    cancel: CancellationToken,
) {
    let mut read_failures = 0u32;
    while !cancel.is_cancelled() {
        let batch = match spool.read(spool.acked(), BATCH, BATCH_BYTES) {
            Ok(b) => {
                read_failures = 0;
                b
            }
            Err(e) => {
                read_failures += 1;
                if read_failures == 1 || read_failures.is_multiple_of(60) {
                    warn!(error = %e, "Cannot read the spool; retrying.");
                }
                tokio::select! {
                    _ = tokio::time::sleep(IDLE) => continue,
                    _ = cancel.cancelled() => return,
                }
            }
        };
        if batch.messages.is_empty() {
            tokio::select! {
                _ = spool.appended() => {}
                _ = tokio::time::sleep(IDLE) => {}
                _ = cancel.cancelled() => return,
            }
            continue;
        }
        let Some(acked) = publisher.publish_all(&batch.messages, &cancel).await else {
            // Stopped before every ack came: the batch stays in the spool.
            return;
        };
        m.published.inc_by(acked.stored as u64);
        m.duplicates.inc_by(acked.duplicates as u64);
        if acked.duplicates > 0 {
            // Expected after a crash or a lost ack; anything else (two
            // agents with one host name) is worth seeing.
            info!(
                stored = acked.stored,
                duplicates = acked.duplicates,
                "Events already in the stream (sent again after a restart or a failed attempt) were dropped by their message ids."
            );
        } else {
            debug!(stored = acked.stored, "Batch stored.");
        }
        if let Err(e) = spool.ack(&batch) {
            // The position is kept in memory; the files go at the next ack.
            warn!(error = %e, "Cannot record the acknowledged position in the spool.");
        }
        show(&spool, &m);
    }
}

/// Keeps `loginwatch_fleet_connected` current until `cancel`.
pub async fn watch_connection(link: Arc<Link>, m: FleetMetrics, cancel: CancellationToken) {
    loop {
        m.connected.set(i64::from(link.connected()));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

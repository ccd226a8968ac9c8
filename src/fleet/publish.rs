//! Publishing a batch of events and waiting until the stream has stored
//! every one of them.
//!
//! A batch is sent whole (the publishes are pipelined, then their acks
//! awaited), and it is done only when every message is acknowledged. On any
//! failure (no connection, a timed-out ack, the stream missing) the whole
//! batch is sent again after a pause: the copies the stream already has are
//! dropped by their `Nats-Msg-Id` and acknowledged as duplicates. Memory is
//! bounded by the batch: the agent's drainer takes its batches from the
//! spool ([`super::spool`]), which holds the rest on disk.

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{FleetConfig, FleetError, stream};

/// How long a publish waits for its acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The first pause after a failed attempt; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub subject: String,
    /// `Nats-Msg-Id`; `None` for a line that cannot be read again (network
    /// syslog), whose re-send after a failed attempt cannot be told from a
    /// new message.
    pub id: Option<String>,
    pub body: bytes::Bytes,
}

/// What a batch came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acked {
    /// Stored now.
    pub stored: usize,
    /// Already stored (a re-send after a failed attempt or a crash).
    pub duplicates: usize,
}

/// Publishes batches to the fleet's stream, creating it when missing.
pub struct Publisher {
    js: jetstream::Context,
    fleet: FleetConfig,
    /// The stream was found or created on this connection's watch.
    ensured: bool,
    /// Failed attempts in a row.
    failures: u32,
    /// Told of each failed attempt (true) and of each batch stored (false).
    on_attempt: Option<Box<dyn Fn(bool) + Send + Sync>>,
}

impl Publisher {
    pub fn new(client: async_nats::Client, fleet: FleetConfig) -> Publisher {
        let js = jetstream::context::ContextBuilder::new()
            .timeout(ACK_TIMEOUT)
            .build(client);
        Publisher {
            js,
            fleet,
            ensured: false,
            failures: 0,
            on_attempt: None,
        }
    }

    /// Calls `f(true)` after each failed attempt and `f(false)` after each
    /// batch stored (metrics, readiness).
    pub fn on_attempt(mut self, f: impl Fn(bool) + Send + Sync + 'static) -> Publisher {
        self.on_attempt = Some(Box::new(f));
        self
    }

    /// Publishes every message of `batch` and returns once the stream has
    /// acknowledged all of them, retrying with a growing pause (and saying
    /// so in the log) as long as it takes; `None` when `cancel` fires first
    /// (then nothing is known of the batch: the caller must not count it as
    /// stored).
    pub async fn publish_all(
        &mut self,
        batch: &[Outgoing],
        cancel: &CancellationToken,
    ) -> Option<Acked> {
        loop {
            let attempt = tokio::select! {
                r = self.attempt(batch) => r,
                _ = cancel.cancelled() => return None,
            };
            match attempt {
                Ok(acked) => {
                    if self.failures > 0 {
                        info!(
                            failed_attempts = self.failures,
                            events = batch.len(),
                            "NATS stores events again."
                        );
                    }
                    self.failures = 0;
                    if let Some(f) = &self.on_attempt {
                        f(false);
                    }
                    return Some(acked);
                }
                Err(e) => {
                    // Whatever failed, check the stream again on the next try
                    // (it may have been deleted, or the server replaced).
                    self.ensured = false;
                    let pause = pause(self.failures);
                    self.failures += 1;
                    if let Some(f) = &self.on_attempt {
                        f(true);
                    }
                    // The first failure and then about once a minute.
                    if self.failures == 1 || self.failures.is_multiple_of(12) {
                        warn!(
                            error = %e,
                            events = batch.len(),
                            failed_attempts = self.failures,
                            retry_in = ?pause,
                            "NATS unreachable or refusing: events held in the spool, sent again until stored."
                        );
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = cancel.cancelled() => return None,
                    }
                }
            }
        }
    }

    /// One attempt at the whole batch.
    async fn attempt(&mut self, batch: &[Outgoing]) -> Result<Acked, FleetError> {
        if !self.ensured {
            stream::ensure(&self.js, &self.fleet).await?;
            self.ensured = true;
        }
        let mut pending = Vec::with_capacity(batch.len());
        for m in batch {
            let mut p = PublishMessage::build().payload(m.body.clone());
            if let Some(id) = &m.id {
                p = p.message_id(id);
            }
            let ack = self
                .js
                .send_publish(m.subject.clone(), p)
                .await
                .map_err(|e| FleetError::Publish(e.to_string()))?;
            pending.push(ack);
        }
        let mut acked = Acked::default();
        for ack in pending {
            let a = ack.await.map_err(|e| FleetError::Publish(e.to_string()))?;
            if a.duplicate {
                acked.duplicates += 1;
            } else {
                acked.stored += 1;
            }
        }
        Ok(acked)
    }
}

/// The pause after `failures` failed attempts in a row.
fn pause(failures: u32) -> Duration {
    (FIRST_PAUSE * 2u32.pow(failures.min(5))).min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_a_bound() {
        assert_eq!(pause(0), FIRST_PAUSE);
        assert_eq!(pause(1), FIRST_PAUSE * 2);
        assert_eq!(pause(4), Duration::from_millis(3200));
        assert_eq!(pause(5), MAX_PAUSE);
        assert_eq!(pause(u32::MAX), MAX_PAUSE);
    }
}

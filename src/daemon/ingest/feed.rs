//! The detector's input: the fleet's events from the stream consumer
//! (`crate::fleet::consume`), in place of lines from local sources.
//!
//! A delivery is decoded from the wire form and goes through the same
//! pipeline as a parsed line; its stream sequence is the detector's
//! position. The position is committed with the rule state in the
//! committer's transaction (as a cursor row named [`cursor_name`]), and the
//! messages are acknowledged only after that commit. So after a `kill -9`
//! the detector resumes from the state of its last commit; the server
//! redelivers what was not acked, and a delivery at or below the applied
//! sequence is dropped (acked again when already committed): no event is
//! lost or counted twice.

use tokio::sync::mpsc;
use tracing::warn;

use crate::decision::Decision;
use crate::event::Name;
use crate::fleet::consume::Delivery;
use crate::fleet::wire;
use crate::parse::UnparsedReason;
use crate::pipeline::Pipeline;
use crate::source::Cursor;
use crate::telemetry::Metrics;

/// The `source` label of the detector's metrics (events, malformed messages).
pub const SOURCE: &str = "fleet";

/// The cursor row holding the detector's position in `stream` through
/// `consumer`.
pub fn cursor_name(stream: &str, consumer: &str) -> String {
    format!("fleet:{stream}:{consumer}")
}

/// The stream's deliveries, and how far they are applied and committed.
pub struct Feed {
    deliveries: mpsc::Receiver<Delivery>,
    /// Committed sequences to the consumer task, which acks up to them.
    acks: mpsc::UnboundedSender<u64>,
    cursor: String,
    /// The sequence of the last message applied (0: none yet).
    applied: u64,
    /// The sequence of the last committed message.
    committed: u64,
    /// Messages that could not be decoded, since start.
    malformed: u64,
}

/// What one drain of the feed did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Messages taken (applied, malformed or dropped as redelivered).
    pub taken: usize,
    /// Messages that moved the position (to be committed).
    pub advanced: usize,
}

impl Feed {
    /// A feed resuming after `resume` (the committed sequence of the last run).
    pub fn new(
        deliveries: mpsc::Receiver<Delivery>,
        acks: mpsc::UnboundedSender<u64>,
        cursor: String,
        resume: u64,
    ) -> Feed {
        Feed {
            deliveries,
            acks,
            cursor,
            applied: resume,
            committed: resume,
            malformed: 0,
        }
    }

    /// The committed sequence in `cursors` under `name` (0 when absent or
    /// unreadable: from the stream's first message).
    pub fn resume_from(cursors: &[Cursor], name: &str) -> u64 {
        cursors
            .iter()
            .find(|c| c.source == name)
            .and_then(|c| c.cursor.parse().ok())
            .unwrap_or(0)
    }

    /// Takes up to `max` waiting deliveries through `pipeline`; decisions go
    /// to `made`.
    pub fn drain(
        &mut self,
        max: usize,
        pipeline: &mut Pipeline,
        metrics: &Metrics,
        made: &mut Vec<Decision>,
    ) -> Drained {
        let mut d = Drained::default();
        while d.taken < max {
            let Ok(msg) = self.deliveries.try_recv() else {
                break;
            };
            d.taken += 1;
            if msg.seq <= self.applied {
                // A redelivery (an ack lost, or older than the ack wait).
                if msg.seq <= self.committed {
                    let _ = self.acks.send(self.committed);
                }
                continue;
            }
            d.advanced += 1;
            self.applied = msg.seq;
            match wire::decode(&msg.body) {
                Ok(env) => {
                    let mut ev = env.event.into_event();
                    // The agent's host when the line did not name one.
                    if ev.host.is_none() {
                        ev.host = Some(Name::from(env.agent.as_str()));
                    }
                    metrics
                        .events
                        .with_label_values(&[SOURCE, ev.outcome.as_str()])
                        .inc();
                    pipeline.observe(&mut ev, made);
                }
                Err(e) => {
                    // Counted and skipped; its position is committed like any other.
                    self.malformed += 1;
                    metrics
                        .unparsed_lines
                        .with_label_values(&[SOURCE, UnparsedReason::Malformed.as_str()])
                        .inc();
                    if self.malformed == 1 || self.malformed.is_multiple_of(1000) {
                        warn!(seq = msg.seq, error = %e, malformed = self.malformed, "Fleet message skipped: not an event of this layout.");
                    }
                }
            }
        }
        d
    }

    /// The position to commit, when something was applied.
    pub fn cursor(&self) -> Option<Cursor> {
        (self.applied > 0).then(|| Cursor {
            source: self.cursor.clone(),
            cursor: self.applied.to_string(),
        })
    }

    /// The commit holding [`Feed::cursor`] succeeded: acknowledge up to it.
    pub fn committed(&mut self) {
        if self.applied > self.committed {
            self.committed = self.applied;
            let _ = self.acks.send(self.committed);
        }
    }
}

#[cfg(test)]
mod tests;

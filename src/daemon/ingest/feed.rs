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
//!
//! A member of a group (`[fleet] group`) reads several partitions, each
//! through its own durable consumer with its own position (one cursor row
//! each), all through this one feed. Their events interleave in arrival
//! order: a key is whole in one partition, so each key still sees its
//! events in stream order, and the engine's windows place an event that is
//! a little late where it belongs; nothing is merged across partitions.
//! Events of a rebuild ([`Kind::Rebuild`], see `crate::fleet::rebuild`)
//! fill the windows and their decisions are dropped.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};
use tracing::warn;

use crate::decision::Decision;
use crate::event::Name;
use crate::fleet::consume::{Delivery, Kind};
use crate::fleet::lease::Fence;
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

/// One consumer's position: how far its deliveries are applied and
/// committed, and where its acks go.
struct Position {
    cursor: String,
    /// Committed sequences to the consumer task, which acks up to them.
    acks: mpsc::UnboundedSender<u64>,
    /// The sequence of the last message applied (0: none yet).
    applied: u64,
    /// The sequence of the last committed message.
    committed: u64,
    /// The last event applied by a rebuild (which does not move `applied`
    /// until it is done): a rebuild tried again skips what it sent already.
    rebuilt: u64,
}

/// One consumer of the feed, as the detector sets it up.
pub struct FeedPart {
    /// Committed sequences to the consumer task.
    pub acks: mpsc::UnboundedSender<u64>,
    /// The cursor row ([`cursor_name`]).
    pub cursor: String,
    /// The committed sequence of the last run.
    pub resume: u64,
}

/// The stream's deliveries, and how far each consumer's are applied and
/// committed.
pub struct Feed {
    deliveries: mpsc::Receiver<Delivery>,
    /// By [`Delivery::part`].
    positions: Vec<Position>,
    /// Whether this detector holds its slot: nothing is taken or committed
    /// without it (`crate::fleet::lease`).
    fence: Fence,
    /// Messages that could not be decoded, since start.
    malformed: u64,
    /// Told after a commit that made decisions: the task that puts them in
    /// the fleet's bucket wakes at once instead of at its next pass.
    decided: Option<Arc<Notify>>,
    /// The agents behind each user's and address's recent events, named in
    /// the decisions made from them.
    hosts: hosts::Hosts,
    /// The last agent's name, shared by its events (one allocation per
    /// change of agent, not per event).
    agent: Option<Name>,
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
    /// A feed of one consumer resuming after `resume` (the committed
    /// sequence of the last run), always allowed to commit.
    pub fn new(
        deliveries: mpsc::Receiver<Delivery>,
        acks: mpsc::UnboundedSender<u64>,
        cursor: String,
        resume: u64,
    ) -> Feed {
        Feed::parts(
            deliveries,
            vec![FeedPart {
                acks,
                cursor,
                resume,
            }],
            Fence::always(),
        )
    }

    /// A feed of several consumers (a member's partitions), taking and
    /// committing only while `fence` is held.
    pub fn parts(deliveries: mpsc::Receiver<Delivery>, parts: Vec<FeedPart>, fence: Fence) -> Feed {
        let positions = parts
            .into_iter()
            .map(|p| Position {
                cursor: p.cursor,
                acks: p.acks,
                applied: p.resume,
                committed: p.resume,
                rebuilt: p.resume,
            })
            .collect();
        Feed {
            deliveries,
            positions,
            fence,
            malformed: 0,
            decided: None,
            hosts: hosts::Hosts::new(chrono::TimeDelta::days(1)),
            agent: None,
        }
    }

    /// The slot's fence this feed commits under (the fleet's unlock
    /// requests are answered only while it is held).
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Tells `n` after each commit that made decisions ([`Feed::decided`]).
    pub fn on_decided(mut self, n: Arc<Notify>) -> Feed {
        self.decided = Some(n);
        self
    }

    /// A commit made new decisions: wakes whoever waits for them.
    pub fn decided(&self) {
        if let Some(n) = &self.decided {
            n.notify_one();
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

    /// Whether a commit may be made now: this detector holds its slot.
    pub fn may_commit(&self) -> bool {
        self.fence.held()
    }

    /// Takes up to `max` waiting deliveries through `pipeline`; decisions go
    /// to `made` (those of a rebuild are dropped). Takes nothing while the
    /// slot is not held.
    pub fn drain(
        &mut self,
        max: usize,
        pipeline: &mut Pipeline,
        metrics: &Metrics,
        made: &mut Vec<Decision>,
    ) -> Drained {
        let mut d = Drained::default();
        let mut dropped = Vec::new();
        while d.taken < max && self.fence.held() {
            let Ok(msg) = self.deliveries.try_recv() else {
                break;
            };
            d.taken += 1;
            let Some(pos) = self.positions.get_mut(msg.part) else {
                continue;
            };
            match msg.kind {
                Kind::Rebuilt => {
                    if msg.seq > pos.applied {
                        pos.applied = msg.seq;
                        d.advanced += 1;
                    }
                    continue;
                }
                Kind::Rebuild => {
                    if msg.seq <= pos.applied.max(pos.rebuilt) {
                        continue;
                    }
                    pos.rebuilt = msg.seq;
                    // Made, committed and acted on by the slot's last holder.
                    self.apply(&msg, pipeline, metrics, &mut dropped);
                    dropped.clear();
                    continue;
                }
                Kind::Live => {}
            }
            if msg.seq <= pos.applied {
                // A redelivery (an ack lost, or older than the ack wait).
                if msg.seq <= pos.committed {
                    let _ = pos.acks.send(pos.committed);
                }
                continue;
            }
            d.advanced += 1;
            pos.applied = msg.seq;
            self.apply(&msg, pipeline, metrics, made);
        }
        d
    }

    /// One message through the pipeline (counted and skipped when it is not
    /// an event).
    fn apply(
        &mut self,
        msg: &Delivery,
        pipeline: &mut Pipeline,
        metrics: &Metrics,
        made: &mut Vec<Decision>,
    ) {
        match wire::decode(&msg.body) {
            Ok(env) => {
                let mut ev = env.event.into_event();
                let agent = match &self.agent {
                    Some(a) if **a == *env.agent => a.clone(),
                    _ => {
                        let a = Name::from(env.agent.as_str());
                        self.agent = Some(a.clone());
                        a
                    }
                };
                // The agent's host when the line did not name one.
                if ev.host.is_none() {
                    ev.host = Some(agent.clone());
                }
                self.hosts
                    .saw(&agent, ev.user.as_ref(), ev.source_ip, ev.timestamp);
                if msg.kind == Kind::Live {
                    metrics
                        .events
                        .with_label_values(&[SOURCE, ev.outcome.as_str()])
                        .inc();
                }
                let before = made.len();
                pipeline.observe(&mut ev, made);
                for d in made.iter_mut().skip(before) {
                    d.evidence.hosts = self.hosts.of(d);
                }
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

    /// The positions to commit: one cursor row per consumer that has one.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.positions
            .iter()
            .filter(|p| p.applied > 0)
            .map(|p| Cursor {
                source: p.cursor.clone(),
                cursor: p.applied.to_string(),
            })
            .collect()
    }

    /// The commit holding [`Feed::cursors`] succeeded: acknowledge up to them.
    pub fn committed(&mut self) {
        for p in &mut self.positions {
            if p.applied > p.committed {
                p.committed = p.applied;
                let _ = p.acks.send(p.committed);
            }
        }
    }
}

mod hosts;
#[cfg(test)]
mod tests;

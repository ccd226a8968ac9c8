//! The detector's side of the stream: a JetStream durable pull consumer
//! whose messages are handed to the daemon's ingest thread, and acknowledged
//! only when the thread says its state up to them is committed.
//!
//! This task runs once per durable consumer of a detector ([`Target`]):
//! one over the whole stream (no filter) for a detector of group `all`, one
//! per owned partition (filter `<prefix>.*.<u>.*` or `<prefix>.*.*.<n>`, see
//! [`super::shard`]) for a member of group `user` or `address`, each with
//! its own position; all hand their messages to the one ingest thread,
//! tagged with their [`Target::part`].
//!
//! Acknowledgements are `AckPolicy::All`: acking the message at stream
//! sequence N acknowledges every one before it, so a commit costs one ack.
//! The server redelivers what is not acked within [`ACK_WAIT`] (a slow or
//! failing commit); the ingest thread drops a delivery at or below the
//! sequence it has applied, so a redelivery never counts twice.
//!
//! The detector's committed sequence, in its own state database, is the
//! authority on where it stands; the consumer's ack floor on the server is
//! not. A message delivered to a detector that then died stays pending on
//! the server until its ack wait ends, while newer ones are delivered at once:
//! a restarted detector would apply those first and then drop the old ones
//! as already applied (a test lost 25 of 100 events so). So the consumer is
//! set up anew, from the sequence after the last one handed to the ingest
//! thread, at start (after the committed one), and again from the sequence
//! after the last acknowledged one whenever a delivery was missed (the
//! consumer's delivery sequence skipped a number: the connection dropped
//! with messages in flight); the ingest thread drops the redelivered ones it
//! has applied. So the consumer's ack floor on the server never passes the
//! detector's committed sequence: a replacement rebuilds up to it
//! ([`super::rebuild`]).

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, message::Acker};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::health::Link;
use super::lease::Fence;
use super::{FleetConfig, FleetError, stream};

/// The durable consumer of the single detector (group `all`).
pub const DETECTOR_CONSUMER: &str = super::shard::ALL_CONSUMER;

/// How long the server waits for an ack before it redelivers: far longer
/// than a commit (`checkpoint_interval`, 1 s by default), short enough that
/// a message lost on its way to a detector comes again soon.
pub const ACK_WAIT: Duration = Duration::from_secs(60);

/// Messages delivered and not yet acknowledged, at most: the bound of what a
/// detector holds in memory before its next commit.
pub const MAX_ACK_PENDING: i64 = 20_000;

/// The pause before the consumer is set up again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// What a message is to the ingest thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A live event: applied, its decisions made, its position committed.
    Live,
    /// An event read again to rebuild the windows of a slot taken over
    /// ([`super::rebuild`]): applied, its decisions (made already) dropped,
    /// the position unmoved.
    Rebuild,
    /// The rebuild is done up to `seq` (no body): the position moves there.
    Rebuilt,
}

/// One message for the ingest thread: which of the detector's consumers it
/// came through (`part`, an index into its targets), its stream sequence and
/// body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub part: usize,
    pub seq: u64,
    pub body: bytes::Bytes,
    pub kind: Kind,
}

impl Delivery {
    /// A live message through the detector's first consumer.
    pub fn live(seq: u64, body: bytes::Bytes) -> Delivery {
        Delivery {
            part: 0,
            seq,
            body,
            kind: Kind::Live,
        }
    }
}

/// One durable consumer of a detector.
#[derive(Debug, Clone)]
pub struct Target {
    /// The index of its deliveries ([`Delivery::part`]).
    pub part: usize,
    pub name: String,
    /// Its filter subject (`None`: the whole stream).
    pub filter: Option<String>,
}

/// The consumer's settings when the detector creates it: durable, explicit
/// acks of everything up to a sequence, from stream sequence `from`.
pub fn config(name: &str, filter: Option<&str>, from: u64) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(name.to_owned()),
        filter_subject: filter.unwrap_or_default().to_owned(),
        deliver_policy: consumer::DeliverPolicy::ByStartSequence {
            start_sequence: from.max(1),
        },
        ack_policy: consumer::AckPolicy::All,
        ack_wait: ACK_WAIT,
        max_ack_pending: MAX_ACK_PENDING,
        ..Default::default()
    }
}

/// Consumes `fleet`'s stream through the durable consumer `target` from
/// stream sequence `from` until `cancel`: each message goes to `out`
/// (waiting when the ingest thread is behind), then `wake` is called; a
/// sequence received on `committed` acks every delivered message at or
/// below it. Creates the stream when missing, the consumer anew (see the
/// module docs), and sets them up again after a failure or a missed
/// delivery, each time only while `fence` is held. `link` says whether the
/// consumer is open (for `/readyz`).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: async_nats::Client,
    fleet: FleetConfig,
    target: Target,
    from: u64,
    out: mpsc::Sender<Delivery>,
    mut committed: mpsc::UnboundedReceiver<u64>,
    wake: std::sync::Arc<dyn Fn() + Send + Sync>,
    fence: Fence,
    link: std::sync::Arc<Link>,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client);
    let name = target.name.clone();
    // The last sequence acknowledged (committed): where a consumer set up
    // again starts after, so the server's ack floor stays behind the commits.
    let mut acked = from.saturating_sub(1);
    // The next sequence to hand over, for the log.
    let mut next = from;
    // The ackers of delivered messages not yet acknowledged, by sequence.
    let mut unacked: BTreeMap<u64, Acker> = BTreeMap::new();
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        // The ackers of a consumer deleted by `open` are of no use.
        unacked.clear();
        // The consumer's delivery sequence of the last message received.
        let mut delivered = 0u64;
        // Setting a consumer up deletes the one of the same name: only the
        // slot's holder may (a process that lost its lease must not take
        // the consumer from the one that took the slot over).
        if !fence.held() {
            tokio::select! {
                _ = tokio::time::sleep(RETRY) => continue,
                _ = cancel.cancelled() => return,
            }
        }
        let from = acked + 1;
        let mut messages = match open(&js, &fleet, &target, from).await {
            Ok(m) => {
                info!(stream = %fleet.stream, consumer = %name, from, "Consuming the fleet's events.");
                link.set_open(target.part, true);
                failures = 0;
                m
            }
            Err(e) => {
                link.set_open(target.part, false);
                failures += 1;
                if failures == 1 || failures.is_multiple_of(60) {
                    warn!(error = %e, failed_attempts = failures, "Cannot consume the fleet's stream; retrying.");
                }
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => continue,
                    _ = cancel.cancelled() => return,
                }
            }
        };
        loop {
            tokio::select! {
                m = messages.next() => match m {
                    Some(Ok(m)) => {
                        if !fence.held() {
                            // The slot is not (or no longer) ours: stop pulling
                            // at once; the message goes to whoever holds it.
                            break;
                        }
                        let Ok((seq, dseq)) = m.info().map(|i| (i.stream_sequence, i.consumer_sequence)) else {
                            // Not a JetStream delivery: nothing to apply or ack.
                            continue;
                        };
                        if dseq != delivered + 1 {
                            warn!(expected = delivered + 1, got = dseq, next, "Fleet deliveries missed (connection lost?); consuming again after the last committed sequence.");
                            break;
                        }
                        delivered = dseq;
                        next = next.max(seq + 1);
                        let (m, acker) = m.split();
                        unacked.insert(seq, acker);
                        let d = Delivery { part: target.part, seq, body: m.payload, kind: Kind::Live };
                        if out.send(d).await.is_err() {
                            return;
                        }
                        wake();
                    }
                    Some(Err(e)) => warn!(error = %e, "Fleet stream consumer."),
                    None => break,
                },
                Some(upto) = committed.recv() => {
                    acked = acked.max(upto);
                    ack_upto(&mut unacked, upto).await;
                }
                _ = cancel.cancelled() => {
                    // Acks the ingest thread sent with its last commit.
                    while let Ok(upto) = committed.try_recv() {
                        ack_upto(&mut unacked, upto).await;
                    }
                    return;
                }
            }
        }
        // Set up again on the next turn; not consuming meanwhile.
        link.set_open(target.part, false);
    }
}

/// The stream (created when missing), the consumer made anew from stream
/// sequence `from`, and its messages.
async fn open(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    target: &Target,
    from: u64,
) -> Result<consumer::pull::Stream, FleetError> {
    let err = |e: String| FleetError::Stream {
        stream: fleet.stream.clone(),
        error: e,
    };
    stream::ensure(js, fleet).await?;
    let s = js
        .get_stream(&fleet.stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    // Missing on a first start: nothing to delete. Another error shows at
    // the creation.
    let _ = s.delete_consumer(&target.name).await;
    let c: consumer::PullConsumer = s
        .create_consumer(config(&target.name, target.filter.as_deref(), from))
        .await
        .map_err(|e| err(e.to_string()))?;
    c.messages().await.map_err(|e| err(e.to_string()))
}

/// Acknowledges every delivered message at or below `upto` with one ack (of
/// the highest of them: `AckPolicy::All`). An ack that fails is not retried:
/// the server redelivers, and the ingest thread drops what it has applied.
async fn ack_upto(unacked: &mut BTreeMap<u64, Acker>, upto: u64) {
    let rest = unacked.split_off(&upto.saturating_add(1));
    let done = std::mem::replace(unacked, rest);
    if let Some((seq, acker)) = done.into_iter().next_back()
        && let Err(e) = acker.ack_with(AckKind::Ack).await
    {
        warn!(error = %e, seq, "Ack to the fleet's stream failed; the server will redeliver.");
    }
}

//! The detector's side of the stream: a JetStream durable pull consumer
//! whose messages are handed to the daemon's ingest thread, and acknowledged
//! only when the thread says its state up to them is committed.
//!
//! One detector for now, so one consumer over the whole stream (no filter
//! subject). The subject layout lets several detectors share the work later
//! without splitting a key's events: each takes a set of partitions through
//! one durable consumer per partition (filter `<prefix>.*.<u>.*` or
//! `<prefix>.*.*.<n>`, see the module docs of [`super`]); this task would
//! then run once per consumer, each with its own position.
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
//! thread, at start (after the committed one), and again whenever a delivery
//! was missed (the consumer's delivery sequence skipped a number: the
//! connection dropped with messages in flight).

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, message::Acker};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::health::Link;
use super::{FleetConfig, FleetError, stream};

/// The durable consumer of the (single) detector.
pub const DETECTOR_CONSUMER: &str = "loginwatch_detector";

/// How long the server waits for an ack before it redelivers: far longer
/// than a commit (`checkpoint_interval`, 1 s by default), short enough that
/// a message lost on its way to a detector comes again soon.
pub const ACK_WAIT: Duration = Duration::from_secs(60);

/// Messages delivered and not yet acknowledged, at most: the bound of what a
/// detector holds in memory before its next commit.
pub const MAX_ACK_PENDING: i64 = 20_000;

/// The pause before the consumer is set up again after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// One message for the ingest thread: its stream sequence and body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub seq: u64,
    pub body: bytes::Bytes,
}

/// The consumer's settings when the detector creates it: durable, explicit
/// acks of everything up to a sequence, from stream sequence `from`.
pub fn config(name: &str, from: u64) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(name.to_owned()),
        deliver_policy: consumer::DeliverPolicy::ByStartSequence {
            start_sequence: from.max(1),
        },
        ack_policy: consumer::AckPolicy::All,
        ack_wait: ACK_WAIT,
        max_ack_pending: MAX_ACK_PENDING,
        ..Default::default()
    }
}

/// Consumes `fleet`'s stream through the durable consumer `name` from
/// stream sequence `from` until `cancel`: each message goes to `out`
/// (waiting when the ingest thread is behind), then `wake` is called; a
/// sequence received on `committed` acks every delivered message at or
/// below it. Creates the stream when missing, the consumer anew (see the
/// module docs), and sets them up again after a failure or a missed delivery.
/// `link` says whether the consumer is open (for `/readyz`).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: async_nats::Client,
    fleet: FleetConfig,
    name: String,
    mut from: u64,
    out: mpsc::Sender<Delivery>,
    mut committed: mpsc::UnboundedReceiver<u64>,
    wake: Box<dyn Fn() + Send>,
    link: std::sync::Arc<Link>,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client);
    // The ackers of delivered messages not yet acknowledged, by sequence.
    let mut unacked: BTreeMap<u64, Acker> = BTreeMap::new();
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        // The ackers of a consumer deleted by `open` are of no use.
        unacked.clear();
        // The consumer's delivery sequence of the last message received.
        let mut delivered = 0u64;
        let mut messages = match open(&js, &fleet, &name, from).await {
            Ok(m) => {
                info!(stream = %fleet.stream, consumer = %name, from, "Consuming the fleet's events.");
                link.set_working(true);
                failures = 0;
                m
            }
            Err(e) => {
                link.set_working(false);
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
                        let Ok((seq, dseq)) = m.info().map(|i| (i.stream_sequence, i.consumer_sequence)) else {
                            // Not a JetStream delivery: nothing to apply or ack.
                            continue;
                        };
                        if dseq != delivered + 1 {
                            warn!(expected = delivered + 1, got = dseq, from, "Fleet deliveries missed (connection lost?); consuming again from the next sequence.");
                            break;
                        }
                        delivered = dseq;
                        from = from.max(seq + 1);
                        let (m, acker) = m.split();
                        unacked.insert(seq, acker);
                        if out.send(Delivery { seq, body: m.payload }).await.is_err() {
                            return;
                        }
                        wake();
                    }
                    Some(Err(e)) => warn!(error = %e, "Fleet stream consumer."),
                    None => break,
                },
                Some(upto) = committed.recv() => ack_upto(&mut unacked, upto).await,
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
        link.set_working(false);
    }
}

/// The stream (created when missing), the consumer made anew from stream
/// sequence `from`, and its messages.
async fn open(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    name: &str,
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
    let _ = s.delete_consumer(name).await;
    let c: consumer::PullConsumer = s
        .create_consumer(config(name, from))
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

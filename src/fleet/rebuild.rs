//! Rebuilding a slot's windows when its state database is behind the
//! server: a standby that took over a dead member's slot (an empty state
//! directory, or an old one), before it consumes live.
//!
//! The durable consumer's ack floor on the server is the slot's committed
//! position: a member acks only after its commit ([`super::consume`]), and a
//! consumer set up again starts after the last ack. When that floor `F` is
//! past the position in the local state database `L`, the events between
//! were counted by another process, whose windows are gone with it. They
//! are read again through an ephemeral consumer with the same filter: from
//! `L + 1` when the local state has a position (its windows are those of
//! `L`), else from the stream time of message `F` minus the longest window
//! of the member's rules (the events a window open at `F` can hold; an
//! agent that published late is covered by [`LATE`]). The ingest thread
//! applies them with their decisions dropped (they were made, and
//! committed, by the other process) and then takes `F` as its position; the
//! durable consumer continues from `F + 1`.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, context::ConsumerInfoErrorKind};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::consume::{Delivery, Kind, Target};
use super::{FleetConfig, FleetError, stream};

/// Added to the longest window: how late (in stream time) an agent may
/// publish an event and still have it rebuilt into its window.
pub const LATE: Duration = Duration::from_secs(300);

/// How long the rebuild waits for the next message before it gives up on
/// reaching `F` (the message was deleted: the rest is live anyway).
const IDLE: Duration = Duration::from_secs(5);

/// The slot's committed position on the server: the durable consumer's ack
/// floor (0 when the consumer does not exist: a new fleet).
pub async fn ack_floor(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    target: &Target,
) -> Result<u64, FleetError> {
    let err = |e: String| FleetError::Stream {
        stream: fleet.stream.clone(),
        error: e,
    };
    stream::ensure(js, fleet).await?;
    let s = js
        .get_stream(&fleet.stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    match s.consumer_info(&target.name).await {
        Ok(info) => Ok(info.ack_floor.stream_sequence),
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => Ok(0),
        Err(e) => Err(err(format!("consumer {}: {e}", target.name))),
    }
}

/// Sends the events of `target` after `local` up to the server's position
/// `floor` to `out` as [`Kind::Rebuild`], then a [`Kind::Rebuilt`] marker
/// at `floor`. Returns the number of events sent.
pub async fn run(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    target: &Target,
    local: u64,
    floor: u64,
    window: Duration,
    out: &mpsc::Sender<Delivery>,
) -> Result<u64, FleetError> {
    let err = |e: String| FleetError::Stream {
        stream: fleet.stream.clone(),
        error: e,
    };
    let s = js
        .get_stream(&fleet.stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    let deliver_policy = if local > 0 {
        consumer::DeliverPolicy::ByStartSequence {
            start_sequence: local + 1,
        }
    } else {
        match s.get_raw_message(floor).await {
            Ok(m) => consumer::DeliverPolicy::ByStartTime {
                start_time: m.time - (window + LATE),
            },
            // Gone (limits): whatever the stream still holds.
            Err(_) => consumer::DeliverPolicy::All,
        }
    };
    info!(consumer = %target.name, local, upto = floor, ?deliver_policy, "Rebuilding the slot's windows from the stream (decisions already made are not made again).");
    let c: consumer::PullConsumer = s
        .create_consumer(consumer::pull::Config {
            filter_subject: target.filter.clone().unwrap_or_default(),
            deliver_policy,
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| err(e.to_string()))?;
    let mut messages = c.messages().await.map_err(|e| err(e.to_string()))?;
    let mut sent = 0u64;
    loop {
        let m = match tokio::time::timeout(IDLE, messages.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => return Err(err(e.to_string())),
            Ok(None) | Err(_) => {
                warn!(consumer = %target.name, upto = floor, "Rebuild: the stream ended before the committed position (messages deleted?); continuing live.");
                break;
            }
        };
        let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
            continue;
        };
        if seq > floor {
            break;
        }
        if seq > local {
            let d = Delivery {
                part: target.part,
                seq,
                body: m.payload.clone(),
                kind: Kind::Rebuild,
            };
            if out.send(d).await.is_err() {
                return Ok(sent);
            }
            sent += 1;
        }
        if seq == floor {
            break;
        }
    }
    drop(messages);
    let name = c.cached_info().name.clone();
    let _ = s.delete_consumer(&name).await;
    let marker = Delivery {
        part: target.part,
        seq: floor,
        body: bytes::Bytes::new(),
        kind: Kind::Rebuilt,
    };
    let _ = out.send(marker).await;
    info!(consumer = %target.name, events = sent, upto = floor, "Rebuilt; consuming live.");
    Ok(sent)
}

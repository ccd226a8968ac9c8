//! Retention of the decisions bucket: a lifted decision keeps its key for
//! `[fleet] lifted_keep` (7 days by default), so an agent down across the
//! lift still undoes what it applied; after that the key is purged, and the
//! bucket stays the size of the fleet's recent decisions instead of all of
//! them.
//!
//! Two steps, each one `lifted_keep` apart:
//!
//! 1. a lifted value older than `lifted_keep` (by its `lifted.at`) is
//!    purged with a compare-and-set on its revision: its history goes, one
//!    purge marker stays, which a watching agent receives as the key's
//!    removal;
//! 2. a marker older than `lifted_keep` (by the server's time of it) is
//!    removed with the key's subject (only up to the marker's revision):
//!    the key is gone.
//!
//! An agent that was down across both finds a decision it applied whose
//! key is gone when it starts watching, and lifts it there
//! (`daemon::agent::enforce`). Active decisions are never purged, whatever
//! their age. Every detector holding its slot runs the purge; two running
//! it on one key at once do it once (the compare-and-set, and a subject
//! purge bounded by the marker's revision).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;

use super::FleetError;
use super::decisions::{State, WireDecision};

/// How long the scan waits for the next value before it stops.
const IDLE: Duration = Duration::from_secs(5);

/// The time between two purge passes for `keep`: a quarter of it, from a
/// second to ten minutes.
pub fn interval(keep: Duration) -> Duration {
    (keep / 4).clamp(Duration::from_secs(1), Duration::from_secs(600))
}

/// The latest revision of one key, as the scan reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub key: String,
    pub revision: u64,
    /// A purge or delete marker (the key's value is gone).
    pub marker: bool,
    /// When the server stored it.
    pub stored: DateTime<Utc>,
    /// The value (empty for a marker).
    pub value: Vec<u8>,
}

/// What to do with a key's latest revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Purge the key's values (a marker stays).
    Purge,
    /// Remove the marker: the key is gone.
    Remove,
}

/// The pure rule of the module header, at `now`.
pub fn verdict(l: &Latest, keep: Duration, now: DateTime<Utc>) -> Verdict {
    let keep = chrono::TimeDelta::from_std(keep).unwrap_or(chrono::TimeDelta::MAX);
    let old = |t: DateTime<Utc>| t.checked_add_signed(keep).is_some_and(|end| end <= now);
    if l.marker {
        return if old(l.stored) {
            Verdict::Remove
        } else {
            Verdict::Keep
        };
    }
    match WireDecision::decode(&l.value) {
        Ok(w) if w.state == State::Lifted => match w.lifted {
            Some(lifted) if old(lifted.at) => Verdict::Purge,
            _ => Verdict::Keep,
        },
        // Active, or not a value of this layout: not ours to judge.
        _ => Verdict::Keep,
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Lifted values purged (a marker left).
    pub keys: usize,
    /// Markers removed.
    pub markers: usize,
}

impl Purged {
    pub fn any(&self) -> bool {
        self.keys + self.markers > 0
    }
}

/// One pass over the bucket at `now`: see the module header.
pub async fn pass(
    js: &jetstream::Context,
    kv: &kv::Store,
    keep: Duration,
    now: DateTime<Utc>,
) -> Result<Purged, FleetError> {
    let mut out = Purged::default();
    for l in latest(kv).await? {
        match verdict(&l, keep, now) {
            Verdict::Keep => {}
            Verdict::Purge => {
                // Refused when the key moved since the scan: judged again
                // at the next pass.
                if kv
                    .purge_expect_revision(&l.key, Some(l.revision))
                    .await
                    .is_ok()
                {
                    out.keys += 1;
                }
            }
            Verdict::Remove => {
                let stream = js
                    .get_stream(&kv.stream_name)
                    .await
                    .map_err(|e| error(kv, &e))?;
                stream
                    .purge()
                    .filter(format!("{}{}", kv.prefix, l.key))
                    .sequence(l.revision + 1)
                    .await
                    .map_err(|e| error(kv, &e))?;
                out.markers += 1;
            }
        }
    }
    Ok(out)
}

fn error(kv: &kv::Store, e: &dyn std::fmt::Display) -> FleetError {
    FleetError::Stream {
        stream: kv.stream_name.clone(),
        error: e.to_string(),
    }
}

/// Every key's latest revision, markers included (`kv::Store::keys` skips
/// them), through an ephemeral consumer delivering the last message of each
/// subject.
pub async fn latest(kv: &kv::Store) -> Result<Vec<Latest>, FleetError> {
    let c: consumer::PullConsumer = kv
        .stream
        .create_consumer(consumer::pull::Config {
            filter_subject: format!("{}>", kv.prefix),
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| error(kv, &e))?;
    let mut pending = c.cached_info().num_pending;
    let mut out = Vec::new();
    if pending > 0 {
        let mut messages = c.messages().await.map_err(|e| error(kv, &e))?;
        while pending > 0 {
            let m = match tokio::time::timeout(IDLE, messages.next()).await {
                Ok(Some(Ok(m))) => m,
                Ok(Some(Err(e))) => return Err(error(kv, &e)),
                // Removed meanwhile: what was read is enough for a pass.
                Ok(None) | Err(_) => break,
            };
            let Ok(info) = m.info() else { continue };
            pending = info.pending;
            let (revision, published) = (info.stream_sequence, info.published);
            let Some(key) = m.subject.strip_prefix(kv.prefix.as_str()) else {
                continue;
            };
            let marker = m
                .headers
                .as_ref()
                .and_then(|h| h.get("KV-Operation"))
                .is_some_and(|op| matches!(op.as_str(), "DEL" | "PURGE"));
            out.push(Latest {
                key: key.to_owned(),
                revision,
                marker,
                stored: DateTime::from_timestamp(
                    published.unix_timestamp(),
                    published.nanosecond(),
                )
                .unwrap_or_default(),
                value: if marker {
                    Vec::new()
                } else {
                    m.payload.to_vec()
                },
            });
        }
    }
    let name = c.cached_info().name.clone();
    let _ = kv.stream.delete_consumer(&name).await;
    Ok(out)
}

#[cfg(test)]
mod tests;

//! The detector's side of the fleet's decisions: the key-value bucket is kept
//! equal to the locks in the detector's state database.
//!
//! ## Why a re-sync, not an outbox
//!
//! Decisions reach the state by three paths (the ingest thread's commit,
//! the expiry task, an admin's unlock through the API, the helpdesk page or
//! the CLI with the daemon running), each its own transaction. Rather than
//! make each of them also write an outbox row, this task treats the state as
//! the truth and the bucket as a copy of it, and repairs the copy:
//!
//! - at start it reads what the bucket holds (every key's latest value);
//! - then, every [`PASS`], it reads the active locks from the state and puts
//!   each one whose value in the bucket differs (a new decision, one the
//!   bucket missed, one written by an older layout); every key the bucket
//!   holds as active that the state no longer holds active is put as lifted,
//!   with how, when and by whom from the state's record (or as `gone` when the
//!   state does not know it at all, e.g. after a state reset);
//! - a commit of the ingest thread that made decisions wakes the task at
//!   once (`Feed::decided`) instead of leaving them to the next pass: in
//!   `bench/fleet.py` the time from a line on one agent to the lock applied
//!   on another went from a p50 of 298 ms and a p99 of 576 ms (half a pass,
//!   on average) to 30 ms and 61 ms;
//! - a put that fails (NATS down) is retried at the next pass, with a
//!   growing pause; what the bucket accepted is remembered only once acked;
//! - every [`CHECK`] it asks for the bucket's last revision: when that is
//!   not the one its own puts left (another writer, a bucket lost with its
//!   server's disk and made anew), or after a failed put, it reads the
//!   bucket again (creating it when missing) before the next pass.
//!
//! So a decision appears in the bucket only after its commit (the task reads
//! committed rows through the daemon's own connection), never one the
//! detector could lose in a crash; and after a crash or restart at any
//! point, the first pass makes the bucket's active decisions equal to the
//! state's again. The cost is a small query of the active locks twice a
//! second and a propagation delay of up to [`PASS`]. An unchanged decision is
//! never put again (values are compared byte for byte), so a restart does
//! not rewrite the bucket and agents see one revision per change.
//!
//! Only locks (lock, block, disable) are published: alerts and reset
//! requests enforce nothing on a host. A lifted key stays in the bucket with
//! the lift as its value, so an agent that was down across the lift still
//! undoes what it applied.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt as _;
use tracing::{info, warn};

use super::holding::{Holding, Ready};
use crate::clock::Clock;
use crate::fleet::decisions::{self, How, State, WireDecision};
use crate::fleet::{self, FleetConfig, FleetError};
use crate::state::{DecisionFilter, DecisionRecord, LockStatus, Store};

/// Time between two passes.
pub const PASS: Duration = Duration::from_millis(500);

/// Time between two checks that the bucket is still what this detector
/// wrote (one request: its last revision).
pub const CHECK: Duration = Duration::from_secs(5);

/// What the bucket holds, as far as this detector knows: key → value bytes
/// and, when the value could be read, the decision's id and whether it is
/// active.
#[derive(Debug, Default)]
struct Mirror {
    values: HashMap<String, Held>,
    /// The bucket's last revision as this detector left it: another one
    /// means someone else wrote (or the bucket was lost and made anew), and
    /// the bucket is read again.
    last: u64,
}

/// One key's value in the bucket.
#[derive(Debug)]
struct Held {
    bytes: Vec<u8>,
    /// The decision's id, whether it is active and the detector that wrote
    /// it; `None` when the value could not be read (another layout).
    read: Option<Read1>,
}

#[derive(Debug, PartialEq)]
struct Read1 {
    id: String,
    active: bool,
    detector: String,
}

impl Mirror {
    fn set(&mut self, key: String, bytes: Vec<u8>) {
        let read = WireDecision::decode(&bytes).ok().map(|w| Read1 {
            id: w.decision.id,
            active: w.state == State::Active,
            detector: w.detector,
        });
        self.values.insert(key, Held { bytes, read });
    }
}

/// Runs until `cancel`: connects, then keeps the bucket equal to the state.
/// `holding.holder` is this detector's id (its slot lease's holder id): the
/// value's `detector`, and the keys this detector answers for. Several
/// detectors (groups and members) share one bucket, and each repairs only
/// what it wrote: a lock another detector decided is not in this one's
/// state, and must not be lifted as `gone` by it. Nothing is written
/// before the slot is held and its earlier holders' decisions adopted, nor
/// while the lease's fence is not held (`super::holding`).
pub async fn run(
    fleet: FleetConfig,
    holding: Holding,
    replicas: usize,
    decided: Arc<tokio::sync::Notify>,
    store: Arc<Mutex<Store>>,
    clock: Arc<dyn Clock>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let client =
        match fleet::connect(&fleet, &format!("loginwatch-detector-kv {}", fleet.host)).await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "The fleet's decisions will not be published.");
                return;
            }
        };
    let js = jetstream::new(client);
    let mut bucket: Option<(kv::Store, Mirror)> = None;
    let mut failures = 0u32;
    let mut checked = tokio::time::Instant::now();
    loop {
        if bucket.is_some() && checked.elapsed() >= CHECK {
            checked = tokio::time::Instant::now();
            let last = bucket.as_ref().map_or(0, |b| b.1.last);
            match last_revision(&js, &fleet).await {
                Ok(now) if now == last => {}
                Ok(now) => {
                    info!(
                        expected = last,
                        found = now,
                        "Fleet decisions: the bucket changed under the detector; reading it again."
                    );
                    bucket = None;
                }
                Err(e) => {
                    warn!(error = %e, "Fleet decisions: the bucket cannot be read; reading it again.");
                    bucket = None;
                }
            }
        }
        let result = match bucket.as_mut() {
            None => load(&js, &fleet, replicas).await.map(|b| {
                info!(
                    bucket = %fleet.decisions_bucket,
                    keys = b.1.values.len(),
                    "Fleet decisions: the bucket read, keeping it equal to the state."
                );
                bucket = Some(b);
            }),
            Some((kv, mirror)) => {
                match holding.ready(&js, &fleet, kv, &store, clock.as_ref()).await {
                    Ok(Ready::Pass) => pass(kv, mirror, &holding, &store, clock.as_ref()).await,
                    Ok(Ready::Wait) => Ok(()),
                    // Adoption wrote to the bucket: read it again.
                    Ok(Ready::Reload) => {
                        bucket = None;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let pause = match result {
            Ok(()) => {
                if failures > 0 {
                    info!(failures, "Fleet decisions: the bucket takes puts again.");
                }
                failures = 0;
                PASS
            }
            Err(e) => {
                // Read (or made) anew at the next attempt: a put may have
                // failed because the bucket was lost.
                bucket = None;
                failures = failures.saturating_add(1);
                if failures.is_power_of_two() {
                    warn!(error = %e, failures, "Fleet decisions: the bucket is not up to date; retrying.");
                }
                decisions::backoff(failures)
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
            // A commit made decisions: put them now (a failing bucket still
            // waits its backoff).
            _ = decided.notified(), if failures == 0 => {}
        }
    }
}

/// The bucket (created when missing) and its current values.
async fn load(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    replicas: usize,
) -> Result<(kv::Store, Mirror), FleetError> {
    let kv = decisions::ensure(js, fleet, replicas).await?;
    let err = |e: &dyn std::fmt::Display| FleetError::Publish(format!("read the bucket: {e}"));
    // Before the keys: a write after this is seen as a change at the next check.
    let last = last_revision(js, fleet).await?;
    let mut keys = kv.keys().await.map_err(|e| err(&e))?;
    let mut mirror = Mirror {
        last,
        ..Mirror::default()
    };
    while let Some(k) = keys.next().await {
        let k = k.map_err(|e| err(&e))?;
        if let Some(bytes) = kv.get(k.clone()).await.map_err(|e| err(&e))? {
            mirror.set(k, bytes.to_vec());
        }
    }
    Ok((kv, mirror))
}

/// The bucket's last revision (its stream's last sequence), asked now.
async fn last_revision(js: &jetstream::Context, fleet: &FleetConfig) -> Result<u64, FleetError> {
    let stream = js
        .get_stream(format!("KV_{}", fleet.decisions_bucket))
        .await
        .map_err(|e| FleetError::Publish(format!("the bucket's stream: {e}")))?;
    Ok(stream.cached_info().state.last_sequence)
}

/// One pass: the puts that make the bucket equal to the state, each
/// remembered once the bucket accepted it.
async fn pass(
    kv: &kv::Store,
    mirror: &mut Mirror,
    holding: &Holding,
    store: &Arc<Mutex<Store>>,
    clock: &dyn Clock,
) -> Result<(), FleetError> {
    let detector = holding.holder.as_str();
    let stale = stale(mirror, detector);
    let store = store.clone();
    let read = tokio::task::spawn_blocking(move || read_state(&store, &stale))
        .await
        .map_err(|e| FleetError::Publish(e.to_string()))??;
    let now = clock.now();
    for (key, bytes) in changes(mirror, &read, detector, Some(&holding.slot), now) {
        if !holding.fence.held() {
            // Deposed (or not renewed in time): another holder may own the
            // slot's keys now; never fight it over one.
            return Ok(());
        }
        let revision = kv
            .put(&key, bytes.clone().into())
            .await
            .map_err(|e| FleetError::Publish(format!("put {key}: {e}")))?;
        // Puts are acked in order: the latest is the bucket's last revision,
        // unless someone else wrote meanwhile (then the next check reads it).
        if mirror.last + 1 == revision {
            mirror.last = revision;
        } else {
            mirror.last = u64::MAX;
        }
        mirror.set(key, bytes);
    }
    Ok(())
}

/// The ids the bucket holds as active that `detector` wrote: those it must
/// check against its state. Another detector's are that one's to repair.
fn stale(mirror: &Mirror, detector: &str) -> Vec<String> {
    mirror
        .values
        .values()
        .filter_map(|h| h.read.as_ref())
        .filter(|r| r.active && r.detector == detector)
        .map(|r| r.id.clone())
        .collect()
}

/// The state as a pass reads it: the active locks, and the records of the
/// ids the bucket holds as active (`None`: unknown to the state).
struct Read {
    active: Vec<DecisionRecord>,
    stale: Vec<(String, Option<DecisionRecord>)>,
}

fn read_state(store: &Mutex<Store>, stale: &[String]) -> Result<Read, FleetError> {
    let state = |e: &dyn std::fmt::Display| FleetError::Publish(format!("read the state: {e}"));
    let s = store
        .lock()
        .map_err(|_| state(&"the state store is poisoned"))?;
    let active = s
        .decisions(&DecisionFilter {
            active_only: true,
            locks_only: true,
            ..DecisionFilter::default()
        })
        .map_err(|e| state(&e))?;
    let mut out = Vec::new();
    for id in stale {
        if active.iter().any(|r| &r.decision.id == id) {
            continue;
        }
        out.push((id.clone(), s.decision(id).map_err(|e| state(&e))?));
    }
    Ok(Read { active, stale: out })
}

/// The puts that make the bucket (`mirror`) equal to the state (`read`).
fn changes(
    mirror: &Mirror,
    read: &Read,
    detector: &str,
    slot: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, Vec<u8>)> {
    let of = |rec: &DecisionRecord| {
        let w = WireDecision::of(rec, detector);
        match slot {
            Some(s) => w.in_slot(s),
            None => w,
        }
    };
    let mut out = Vec::new();
    let differs = |key: &str, bytes: &[u8]| {
        mirror
            .values
            .get(key)
            .is_none_or(|h| h.bytes.as_slice() != bytes)
    };
    for rec in &read.active {
        let key = decisions::key(&rec.decision.id);
        let bytes = of(rec).encode();
        if differs(&key, &bytes) {
            out.push((key, bytes));
        }
    }
    for (id, rec) in &read.stale {
        let key = decisions::key(id);
        let wire = match rec {
            Some(r) if r.status != LockStatus::Active => of(r),
            // Active but no longer a lock cannot happen; unknown: gone.
            _ => match mirror
                .values
                .get(&key)
                .and_then(|h| WireDecision::decode(&h.bytes).ok())
            {
                Some(w) => w.lift(now, How::Gone, "not in the detector's state"),
                None => continue,
            },
        };
        let bytes = wire.encode();
        if differs(&key, &bytes) {
            out.push((key, bytes));
        }
    }
    out
}

#[cfg(test)]
mod tests;

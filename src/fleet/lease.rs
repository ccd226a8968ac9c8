//! One process per member slot: a lease in the JetStream key-value bucket
//! [`BUCKET`], key `<stream>.<group>.<member>`
//! ([`super::shard::Shard::lease_key`]),
//! whose value is the holder's id.
//!
//! The holder renews it every [`RENEW`] with a compare-and-set on the
//! revision it wrote last. A standby watches the key and takes it (again by
//! compare-and-set, so of two standbys one wins) once its revision has not
//! moved for [`STALE`], measured on the standby's own clock: no clock of
//! two machines is compared. A process whose id is the value (the same
//! member restarted with the same state directory) takes it back at once.
//!
//! Fencing: the holder may commit only while [`Fence::held`], i.e. within
//! [`FENCE`] of sending its last successful renewal. FENCE < STALE: by the
//! time a standby can take the slot, the old holder has stopped committing
//! for at least `STALE - FENCE`, even when it cannot reach NATS to learn
//! that it lost. A renewal refused because another holder's revision is
//! there is a definite loss: the process stops.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::FleetError;

/// The bucket of the detectors' leases.
pub const BUCKET: &str = "loginwatch_detectors";
/// How often the holder renews, and a standby looks.
pub const RENEW: Duration = Duration::from_secs(1);
/// How long a lease's revision must stand still before a standby takes it.
pub const STALE: Duration = Duration::from_secs(5);
/// How long after sending its last successful renewal the holder may still
/// commit.
pub const FENCE: Duration = Duration::from_secs(3);

/// Whether this process may commit for its slot now. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Fence(Arc<Mutex<Option<Instant>>>);

impl Fence {
    /// A fence that is always held: the tests' and a feed without a lease.
    pub fn always() -> Fence {
        Fence(Arc::new(Mutex::new(Some(far_future()))))
    }

    /// True while the last renewal is recent enough.
    pub fn held(&self) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|until| Instant::now() < until)
    }

    /// A renewal sent at `sent` succeeded.
    fn renewed(&self, sent: Instant) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(sent + FENCE);
        }
    }

    /// The lease is lost: no more commits.
    fn lose(&self) {
        if let Ok(mut g) = self.0.lock() {
            *g = None;
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// The leases' bucket, created when missing (one value per key, on disk).
pub async fn bucket(js: &jetstream::Context) -> Result<kv::Store, FleetError> {
    if let Ok(s) = js.get_key_value(BUCKET).await {
        return Ok(s);
    }
    let config = super::stream::bucket_config(
        BUCKET,
        "loginwatch: which detector holds each fleet slot",
        1,
        1,
    );
    super::stream::bucket(js, config).await
}

/// Waits until this process (`holder`) holds `key`, or `cancel`; returns
/// the revision it wrote and the holder id it replaced (a stale lease's
/// value; `None` when the slot was free, released, or already ours), and
/// marks `fence` held.
pub async fn acquire(
    store: &kv::Store,
    key: &str,
    holder: &str,
    fence: &Fence,
    cancel: &CancellationToken,
) -> Option<(u64, Option<String>)> {
    // The revision last seen and when it was first seen at that value.
    let mut seen: Option<(u64, Instant)> = None;
    let mut told = false;
    while !cancel.is_cancelled() {
        let sent = Instant::now();
        let mut replaced = None;
        let taken = match store.entry(key).await {
            Ok(None) => store.create(key, Bytes::from(holder.to_owned())).await.ok(),
            Ok(Some(e)) if !matches!(e.operation, kv::Operation::Put) => {
                store.create(key, Bytes::from(holder.to_owned())).await.ok()
            }
            // Ours (restarted on the same state), or released.
            Ok(Some(e)) if e.value == holder.as_bytes() || e.value.is_empty() => store
                .update(key, Bytes::from(holder.to_owned()), e.revision)
                .await
                .ok(),
            Ok(Some(e)) => match seen {
                Some((rev, since)) if rev == e.revision && since.elapsed() >= STALE => {
                    warn!(slot = key, holder = %String::from_utf8_lossy(&e.value), "The slot's lease is stale (its holder stopped renewing); taking it over.");
                    replaced = Some(String::from_utf8_lossy(&e.value).into_owned());
                    store
                        .update(key, Bytes::from(holder.to_owned()), e.revision)
                        .await
                        .ok()
                }
                Some((rev, _)) if rev == e.revision => None,
                _ => {
                    if !told {
                        info!(slot = key, holder = %String::from_utf8_lossy(&e.value), "Standby: another detector holds this slot; waiting for its lease to go stale.");
                        told = true;
                    }
                    seen = Some((e.revision, Instant::now()));
                    None
                }
            },
            Err(e) => {
                warn!(error = %e, slot = key, "Cannot read the detectors' leases; retrying.");
                None
            }
        };
        if let Some(rev) = taken {
            fence.renewed(sent);
            info!(slot = key, "Holding the slot's lease.");
            return Some((rev, replaced));
        }
        tokio::select! {
            _ = tokio::time::sleep(RENEW) => {}
            _ = cancel.cancelled() => {}
        }
    }
    None
}

/// Renews the lease every [`RENEW`] until `cancel`; on a definite loss
/// (another holder's revision) drops the fence and calls `lost`. Returns
/// the last revision written when cancelled (for [`release`]), `None` when
/// lost.
pub async fn keep(
    store: kv::Store,
    key: String,
    holder: String,
    mut rev: u64,
    fence: Fence,
    lost: Box<dyn FnOnce(String) + Send>,
    cancel: CancellationToken,
) -> Option<u64> {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RENEW) => {}
            _ = cancel.cancelled() => return Some(rev),
        }
        let sent = Instant::now();
        match store.update(&key, Bytes::from(holder.clone()), rev).await {
            Ok(r) => {
                rev = r;
                fence.renewed(sent);
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                // A renewal whose reply was lost did move the revision: ours
                // still, when the value is our id.
                match store.entry(&key).await {
                    Ok(Some(en)) if en.value == holder.as_bytes() => rev = en.revision,
                    // Gone (a server that lost its storage): nobody holds
                    // it, so it is taken again.
                    Ok(None) => {
                        if let Ok(r) = store.create(&key, Bytes::from(holder.clone())).await {
                            rev = r;
                            fence.renewed(sent);
                        }
                    }
                    Ok(Some(en)) if !matches!(en.operation, kv::Operation::Put) => {
                        if let Ok(r) = store.create(&key, Bytes::from(holder.clone())).await {
                            rev = r;
                            fence.renewed(sent);
                        }
                    }
                    Err(_) => {}
                    Ok(Some(_)) => {
                        fence.lose();
                        lost(format!(
                            "the fleet slot {key} was taken over by another detector (its lease \
                             was not renewed in time); stopping without committing"
                        ));
                        return None;
                    }
                }
            }
            Err(e) => {
                if !fence.held() {
                    warn!(error = %e, slot = %key, "Cannot renew the slot's lease: commits are paused until it is renewed.");
                }
            }
        }
    }
}

/// Gives the slot up at a clean stop, after the last commit and its acks:
/// the value emptied by compare-and-set on `rev` (a no-op when another
/// holder wrote since), so a standby takes it at its next look instead of
/// after [`STALE`].
pub async fn release(store: &kv::Store, key: &str, rev: u64) {
    match store.update(key, Bytes::new(), rev).await {
        Ok(_) => info!(slot = key, "Slot released."),
        Err(e) => {
            warn!(error = %e, slot = key, "Could not release the slot; a standby takes it once the lease is stale.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_holds_only_after_a_recent_renewal() {
        let f = Fence::default();
        assert!(!f.held());
        f.renewed(Instant::now());
        assert!(f.held());
        f.renewed(Instant::now() - FENCE);
        assert!(
            !f.held(),
            "a renewal sent FENCE ago no longer covers a commit"
        );
        f.renewed(Instant::now());
        f.lose();
        assert!(!f.held());
        assert!(Fence::always().held());
        const { assert!(FENCE.as_secs() < STALE.as_secs()) };
    }
}

//! What the detector's bucket task knows of its slot: the holder id and the
//! slot's lease key it writes under, the lease's fence, and whether the
//! decisions of the slot's earlier holders are adopted yet.
//!
//! The bucket task writes nothing before the slot is held and adopted
//! ([`Holding::ready`]), and stops writing the moment the fence drops: a
//! holder frozen past its lease (SIGSTOP, a hung VM) or cut off from NATS
//! finds the slot's keys rewritten by the new holder, and must not put its
//! older view back over them. The two never write the same key at once:
//! the old holder's fence drops `STALE - FENCE` before a standby may take
//! the slot (`crate::fleet::lease`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use async_nats::jetstream::{self, kv};
use tracing::info;

use crate::clock::Clock;
use crate::fleet::lease::Fence;
use crate::fleet::shard::Shard;
use crate::fleet::{FleetConfig, FleetError, purge};
use crate::state::Store;

/// The detector's hold on its slot, shared by the member task (which takes
/// the lease) and the bucket task. Clones share it.
#[derive(Debug, Clone)]
pub struct Holding {
    /// This detector's id in the lease and in the bucket's values.
    pub holder: String,
    /// The slot's lease key (`<stream>.<group>.<member>`).
    pub slot: String,
    /// The detector's place (which slots of its group are retired).
    pub shard: Shard,
    /// Held while this process may commit and write.
    pub fence: Fence,
    /// Set by the member task once the lease is taken: the holder id it
    /// replaced, if any.
    pub acquired: Arc<OnceLock<Option<String>>>,
    adopted: Arc<AtomicBool>,
    /// When the next purge of old lifted keys is due.
    next_purge: Arc<Mutex<Option<Instant>>>,
}

/// What the bucket task may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Not the slot's holder (yet, or any more): write nothing.
    Wait,
    /// Make the bucket equal to the state.
    Pass,
    /// Adoption or a purge wrote to the bucket: read it again first.
    Reload,
}

impl Holding {
    /// The hold of `holder` on `shard`'s slot in `stream`, not taken yet.
    pub fn new(holder: String, shard: Shard, stream: &str, fence: Fence) -> Holding {
        Holding {
            holder,
            slot: shard.lease_key(stream),
            shard,
            fence,
            acquired: Arc::new(OnceLock::new()),
            adopted: Arc::new(AtomicBool::new(false)),
            next_purge: Arc::new(Mutex::new(None)),
        }
    }

    /// Whether the earlier holders' decisions are adopted.
    pub fn adopted(&self) -> bool {
        self.adopted.load(Ordering::Acquire)
    }

    /// Decides what the bucket task may do, adopting the slot's decisions
    /// after the lease is taken (once) and purging old lifted keys when due.
    pub async fn ready(
        &self,
        js: &jetstream::Context,
        fleet: &FleetConfig,
        kv: &kv::Store,
        store: &Arc<Mutex<Store>>,
        clock: &dyn Clock,
    ) -> Result<Ready, FleetError> {
        if !self.fence.held() {
            return Ok(Ready::Wait);
        }
        if !self.adopted() {
            let Some(replaced) = self.acquired.get() else {
                return Ok(Ready::Wait);
            };
            let report = super::adopt::run(self, replaced.as_deref(), js, kv, store, clock).await?;
            self.adopted.store(true, Ordering::Release);
            info!(slot = %self.slot, adopted = report.imported, lifted = report.lifted, republished = report.republished, "Fleet decisions: the slot's earlier decisions are this detector's now.");
            return Ok(if report.republished > 0 {
                Ready::Reload
            } else {
                Ready::Pass
            });
        }
        if self.purge_due(fleet.lifted_keep) {
            let purged = purge::pass(js, kv, fleet.lifted_keep, clock.now()).await?;
            if purged.any() {
                info!(
                    keys = purged.keys,
                    markers = purged.markers,
                    "Fleet decisions: purged lifted decisions older than lifted_keep."
                );
                return Ok(Ready::Reload);
            }
        }
        Ok(Ready::Pass)
    }

    /// True once every [`purge::interval`]; the first pass is due at once.
    fn purge_due(&self, keep: std::time::Duration) -> bool {
        let Ok(mut next) = self.next_purge.lock() else {
            return false;
        };
        let now = Instant::now();
        if next.is_some_and(|n| now < n) {
            return false;
        }
        *next = Some(now + purge::interval(keep));
        true
    }
}

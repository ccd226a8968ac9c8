//! A detector taking over a slot adopts the decisions the slot's earlier
//! holder left in the fleet's bucket, so that someone answers for them: its
//! expiry ends them, its API unlocks them, its bucket task rewrites them
//! under its own id. Without it a lock waiting for an admin could never be
//! unlocked through the new holder, and a lock's expiry happened only on
//! the agents.
//!
//! ## Whose decisions
//!
//! Every value names the lease key of its writer's slot (`slot`, see
//! `crate::fleet::decisions`). At its takeover a holder reads the bucket and
//! takes every value of its slot written by another holder id, whoever that
//! was: the holder whose stale lease it replaced, one that stopped cleanly
//! and released the slot (its id is then gone from the lease), or any
//! earlier one. A value written before `slot` existed is taken when its
//! writer is the holder id the lease held when it was taken over
//! (`crate::fleet::lease::acquire`).
//!
//! A slot that no longer exists (`members` reduced: the group's slots
//! numbered from `members` on) is adopted by member 0 of the group, at its
//! takeover, when that slot's lease is released or gone (its detector was
//! stopped cleanly or never ran): a retired detector still holding its
//! lease keeps answering for its own. Slots of another group are left to
//! that group.
//!
//! ## What is recorded
//!
//! One transaction of the state ([`crate::state::Store::adopt`]): an active
//! value unknown to this state becomes an active record (audit: "adopted
//! from detector X at takeover of slot S"); a lifted value whose record is
//! still active here (this detector held the slot before and was away while
//! the other one lifted it) ends here as it ended there. A value active in
//! the bucket whose record this state has ended (it ended here while the
//! other holder had the slot) is written back ended, under this holder. The
//! bucket task then puts every adopted record under this holder's id.
//! Nothing runs (no action, no alert): the decisions were acted on when
//! made.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt as _;
use tracing::{info, warn};

use super::holding::Holding;
use crate::clock::Clock;
use crate::fleet::decisions::{State, WireDecision};
use crate::fleet::shard::Group;
use crate::fleet::{FleetError, lease};
use crate::state::{Adopt, DecisionRecord, LockStatus, Store};

/// What an adoption did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adopted {
    /// Active decisions recorded in this state.
    pub imported: usize,
    /// Decisions ended here as the bucket had ended them.
    pub lifted: usize,
    /// Bucket values written back ended (ended here meanwhile).
    pub republished: usize,
}

/// One value of the bucket.
#[derive(Debug, Clone)]
pub struct Value {
    pub key: String,
    pub revision: u64,
    pub wire: WireDecision,
}

/// Who adopts: this holder, its slot, the holder id its lease replaced,
/// and the retired slots it answers for.
#[derive(Debug, Clone)]
pub struct Who<'a> {
    pub holder: &'a str,
    pub slot: &'a str,
    pub replaced: Option<&'a str>,
    pub retired: &'a HashSet<String>,
}

impl Who<'_> {
    /// Whether `w` is a decision this holder takes over.
    pub fn takes(&self, w: &WireDecision) -> bool {
        if w.detector == self.holder {
            return false;
        }
        match &w.slot {
            Some(s) => s == self.slot || self.retired.contains(s),
            None => self.replaced == Some(w.detector.as_str()),
        }
    }
}

/// The slot `slot` names when it is one of `group`'s numbered `members` or
/// above in `stream`: a retired slot of the group.
pub fn retired(slot: &str, stream: &str, group: Group, members: u64) -> bool {
    slot.strip_prefix(stream)
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_prefix(group.as_str()))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|m| m.parse::<u64>().ok())
        .is_some_and(|m| m >= members)
}

/// The plan of an adoption: the state's changes, and the values to write
/// back ended (key, revision, this state's record).
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Adopt>,
    pub republish: Vec<(String, u64, DecisionRecord)>,
}

/// The pure core: `values` (those `who` takes) against `here`, this state's
/// records of their ids (`None`: unknown here).
pub fn plan(values: &[Value], here: &HashMap<String, Option<DecisionRecord>>) -> Plan {
    let mut out = Plan::default();
    for v in values {
        let local = here.get(&v.wire.decision.id).and_then(Option::as_ref);
        let from = v.wire.detector.clone();
        match (v.wire.state, local) {
            (State::Active, None) => out.changes.push(Adopt::Active {
                record: v.wire.record(),
                from,
            }),
            (State::Active, Some(r)) if r.status != LockStatus::Active => {
                out.republish.push((v.key.clone(), v.revision, r.clone()));
            }
            (State::Lifted, Some(r)) if r.status == LockStatus::Active => {
                out.changes.push(Adopt::Lifted {
                    record: v.wire.record(),
                    from,
                });
            }
            _ => {}
        }
    }
    out
}

/// Adopts the slot's decisions for `h` (see the module header).
pub async fn run(
    h: &Holding,
    replaced: Option<&str>,
    js: &jetstream::Context,
    kv: &kv::Store,
    store: &Arc<Mutex<Store>>,
    clock: &dyn Clock,
) -> Result<Adopted, FleetError> {
    let all = read(kv).await?;
    let retired = if h.shard.member == 0 {
        free_retired(js, &all, h).await
    } else {
        HashSet::new()
    };
    let who = Who {
        holder: &h.holder,
        slot: &h.slot,
        replaced,
        retired: &retired,
    };
    let values: Vec<Value> = all.into_iter().filter(|v| who.takes(&v.wire)).collect();
    if values.is_empty() {
        return Ok(Adopted::default());
    }
    let ids: Vec<String> = values.iter().map(|v| v.wire.decision.id.clone()).collect();
    let slot = h.slot.clone();
    let now = clock.now();
    let store2 = store.clone();
    let (report, plan) = tokio::task::spawn_blocking(move || {
        let mut s = store2
            .lock()
            .map_err(|_| state_error(&"the state store is poisoned"))?;
        let mut here = HashMap::new();
        for id in ids {
            let r = s.decision(&id).map_err(|e| state_error(&e))?;
            here.insert(id, r);
        }
        let plan = plan(&values, &here);
        let report = s
            .adopt(&plan.changes, &slot, now)
            .map_err(|e| state_error(&e))?;
        Ok::<_, FleetError>((report, plan))
    })
    .await
    .map_err(|e| state_error(&e))??;
    let mut out = Adopted {
        imported: report.imported,
        lifted: report.lifted,
        republished: 0,
    };
    for c in &plan.changes {
        if let Adopt::Active { record, from } = c {
            info!(id = %record.decision.id, from = %from, slot = %h.slot, "Fleet decision adopted from the slot's earlier holder.");
        }
    }
    for (key, revision, rec) in &plan.republish {
        if !h.fence.held() {
            break;
        }
        let bytes = WireDecision::of(rec, &h.holder).in_slot(&h.slot).encode();
        match kv.update(key, bytes.into(), *revision).await {
            Ok(_) => out.republished += 1,
            // Moved since it was read: the bucket task's passes judge it.
            Err(e) => {
                warn!(key = %key, error = %e, "Fleet decisions: a decision ended here could not be written back ended.")
            }
        }
    }
    Ok(out)
}

fn state_error(e: &dyn std::fmt::Display) -> FleetError {
    FleetError::Publish(format!("adopt into the state: {e}"))
}

/// Every key's latest readable value (another layout's is skipped).
async fn read(kv: &kv::Store) -> Result<Vec<Value>, FleetError> {
    let err = |e: &dyn std::fmt::Display| FleetError::Publish(format!("read the bucket: {e}"));
    let mut keys = kv.keys().await.map_err(|e| err(&e))?;
    let mut names = Vec::new();
    while let Some(k) = keys.next().await {
        names.push(k.map_err(|e| err(&e))?);
    }
    let mut out = Vec::new();
    for key in names {
        let Some(e) = kv.entry(key.clone()).await.map_err(|e| err(&e))? else {
            continue;
        };
        if !matches!(e.operation, kv::Operation::Put) {
            continue;
        }
        if let Ok(wire) = WireDecision::decode(&e.value) {
            out.push(Value {
                key,
                revision: e.revision,
                wire,
            });
        }
    }
    Ok(out)
}

/// The retired slots of `h`'s group named by `values` whose lease is
/// released or gone.
async fn free_retired(js: &jetstream::Context, values: &[Value], h: &Holding) -> HashSet<String> {
    let stream = h.slot.rsplitn(3, '.').nth(2).unwrap_or_default().to_owned();
    let named: HashSet<&str> = values
        .iter()
        .filter_map(|v| v.wire.slot.as_deref())
        .filter(|s| retired(s, &stream, h.shard.group, h.shard.members))
        .collect();
    let mut out = HashSet::new();
    if named.is_empty() {
        return out;
    }
    let Ok(leases) = lease::bucket(js).await else {
        return out;
    };
    for s in named {
        let free = match leases.entry(s).await {
            Ok(None) => true,
            Ok(Some(e)) => !matches!(e.operation, kv::Operation::Put) || e.value.is_empty(),
            Err(_) => false,
        };
        if free {
            out.insert(s.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests;

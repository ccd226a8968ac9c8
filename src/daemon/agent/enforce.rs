//! The agent's side of the fleet's decisions: it watches the detector's
//! key-value bucket (`crate::fleet::decisions`) and applies each lock on
//! this host as the single-host daemon applies its own.
//!
//! The agent opens the same SQLite state a daemon uses, at its configured
//! `state_path` (its source positions live beside it, in `<state>.agent`),
//! and gives it to the daemon's own enforcement service
//! (`crate::app::Services::enforcing`): a decision from the bucket is
//! recorded there as the daemon records its own (the `decided` line of the
//! audit trail), passes the same storm breaker before the record and the same
//! safety filter after it (exemptions, own addresses, the last admins from
//! the agent's inventory), and runs the agent's configured actions, each
//! result audited in the agent's state. A lifted decision is unlocked in that
//! state (by the admin's name, with the detector's reason) and its inverse
//! actions run. The daemon's expiry task runs on the agent's state too, so a
//! lock whose `until` passes while the detector is down ends here on time.
//! The agent does not alert: the detector alerts for the fleet.
//!
//! ## Once per decision
//!
//! Two memories, both in the agent's state: the decisions themselves (an
//! active one is applied only when its id is not recorded yet; a lift only
//! undoes a decision recorded as active), and the highest revision of the
//! bucket handled, a cursor committed with the decision it applied. At
//! start the watch delivers every key's latest value again; those at or
//! below the cursor are skipped without a look, the rest are checked
//! against the recorded decisions. The cursor names the bucket's
//! generation (when its stream was created) with the revision: a bucket
//! lost and made anew numbers its revisions from 1 again, and its values
//! are then all checked (the recorded decisions still keep each one once). So a restarted agent runs no action
//! twice, and one started late applies what is active (a lock whose `until`
//! has already passed is not applied at all).

use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::app::Enforcer;
use crate::clock::Clock;
use crate::config::Config;
use crate::daemon::DaemonError;
use crate::enrich::inventory::InventoryHandle;
use crate::escape::Escaped;
use crate::fleet::decisions::{self, How, State, WireDecision};
use crate::fleet::{FleetConfig, FleetError};
use crate::source::Cursor;
use crate::state::{Batch, LockStatus, StateError, Store};
use crate::telemetry::Metrics;

/// What one entry of the bucket did on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// At or below the revision already handled.
    Seen,
    /// A new decision, recorded and handed to the enforcer.
    Applied,
    /// Active, but recorded here already (applied before a restart).
    Known,
    /// Active in the bucket but past its `until`: not applied.
    Late,
    /// Lifted: unlocked here, inverse actions run.
    Lifted,
    /// Lifted, but not active here (never applied, or ended here already).
    NotHeld,
    /// Not a decision this agent reads (another layout version, bad JSON).
    Malformed,
}

/// Applies the bucket's entries to this host's state and enforcement.
pub struct Applier {
    store: Arc<Mutex<Store>>,
    enforcer: Arc<Enforcer>,
    inventory: Option<Arc<InventoryHandle>>,
    /// The name of the revision cursor in the state.
    cursor: String,
    /// The bucket's generation (its stream's creation time) the revision
    /// counts in.
    generation: String,
    /// The highest revision handled.
    applied: u64,
    /// Values not read, since start.
    malformed: u64,
}

impl Applier {
    /// An applier over `store`, resuming after the revision it recorded for
    /// `bucket`.
    pub fn new(
        store: Arc<Mutex<Store>>,
        enforcer: Arc<Enforcer>,
        inventory: Option<Arc<InventoryHandle>>,
        bucket: &str,
    ) -> Result<Applier, StateError> {
        let cursor = format!("fleet-decisions:{bucket}");
        let (generation, applied) = {
            let s = store.lock().map_err(|_| poisoned())?;
            s.load_resume()?
                .cursors
                .iter()
                .find(|c| c.source == cursor)
                .and_then(|c| c.cursor.split_once(':'))
                .and_then(|(g, r)| Some((g.to_owned(), r.parse().ok()?)))
                .unwrap_or_default()
        };
        Ok(Applier {
            store,
            enforcer,
            inventory,
            cursor,
            generation,
            applied,
            malformed: 0,
        })
    }

    /// The highest revision handled.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The bucket about to be watched is of `generation`: another one than
    /// the cursor's counts its revisions anew.
    pub fn generation(&mut self, generation: &str) {
        if self.generation != generation {
            if !self.generation.is_empty() {
                info!(
                    was = %self.generation,
                    now = %generation,
                    "Fleet decisions: the bucket was made anew; every value is checked again."
                );
            }
            self.generation = generation.to_owned();
            self.applied = 0;
        }
    }

    /// Values refused since start (another version, bad JSON).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Handles the entry of `key` at `revision`: `value` is the put value,
    /// `None` for a delete or purge (the key's decision is lifted). An error
    /// is the state's: the entry is not marked handled, and is retried.
    pub fn entry(
        &mut self,
        key: &str,
        revision: u64,
        value: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StateError> {
        if revision <= self.applied {
            return Ok(Outcome::Seen);
        }
        let outcome = match value.map(WireDecision::decode) {
            Some(Err(e)) => {
                self.malformed += 1;
                if self.malformed == 1 || self.malformed.is_multiple_of(1000) {
                    warn!(key = %Escaped(key), revision, error = %e, malformed = self.malformed, "Fleet decision skipped: not a decision of this layout.");
                }
                Outcome::Malformed
            }
            Some(Ok(w)) if w.state == State::Active => return self.activate(w, revision, now),
            Some(Ok(w)) => self.lift(&w, now)?,
            None => match self.recorded(key)? {
                Some(rec) => {
                    let w = WireDecision::of(&rec, "(unknown)").lift(now, How::Gone, gone::REASON);
                    self.lift(&w, now)?
                }
                None => Outcome::NotHeld,
            },
        };
        self.commit(Vec::new(), revision, now)?;
        Ok(outcome)
    }

    /// The state's record of the decision under `key`.
    fn recorded(&self, key: &str) -> Result<Option<crate::state::DecisionRecord>, StateError> {
        let s = self.store.lock().map_err(|_| poisoned())?;
        s.decision(key)
    }

    fn activate(
        &mut self,
        w: WireDecision,
        revision: u64,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StateError> {
        let mut d = w.decision;
        let outcome = if self.recorded(&d.id)?.is_some() {
            Outcome::Known
        } else if d.until.is_some_and(|u| u <= now) {
            Outcome::Late
        } else {
            Outcome::Applied
        };
        if outcome != Outcome::Applied {
            self.commit(Vec::new(), revision, now)?;
            return Ok(outcome);
        }
        let inventory = self.inventory.as_ref().map(|h| h.current());
        // The storm breaker before the record, as the daemon's committer does.
        self.enforcer
            .screen(std::slice::from_mut(&mut d), inventory.as_deref(), now);
        let new = self.commit(vec![d.clone()], revision, now)?;
        if new {
            self.mark_applied(&d.id, &w.detector, revision, now);
            info!(id = %d.id, rule = %Escaped(&d.rule), target = %Escaped(&d.target.to_string()), detector = %Escaped(&w.detector), mode = %d.mode, "Fleet decision applied.");
            self.enforcer.decided(&d, inventory.as_deref(), now);
        }
        Ok(Outcome::Applied)
    }

    fn lift(&mut self, w: &WireDecision, now: DateTime<Utc>) -> Result<Outcome, StateError> {
        let id = &w.decision.id;
        match self.recorded(id)? {
            Some(r) if r.status == LockStatus::Active => {}
            _ => return Ok(Outcome::NotHeld),
        }
        let lifted = w.lifted.as_ref();
        let how = match lifted.map(|l| l.how) {
            Some(How::Expired) => "expired",
            Some(How::Unlocked) => "unlocked by an admin",
            Some(How::Gone) | None => "no longer held",
        };
        let by = lifted
            .and_then(|l| l.by.clone())
            .unwrap_or_else(|| crate::state::decisions::SYSTEM.to_owned());
        let mut reason = format!("{how} on the fleet's detector {}", w.detector);
        if let Some(r) = lifted.and_then(|l| l.reason.as_deref()) {
            reason.push_str(": ");
            reason.push_str(r);
        }
        let credential = format!("fleet:{}", w.detector);
        let rec = {
            let mut s = self.store.lock().map_err(|_| poisoned())?;
            s.unlock(id, &by, &reason, &credential, now)?
        };
        info!(id = %id, target = %Escaped(&rec.decision.target.to_string()), by = %Escaped(&by), "Fleet decision lifted.");
        // Inverse actions write their own audit lines: not while holding the store.
        self.enforcer.ended(&rec.decision, now);
        Ok(Outcome::Lifted)
    }

    /// Records `decisions` and the revision in one transaction; true when
    /// the (one) decision is new to the state.
    fn commit(
        &mut self,
        decisions: Vec<crate::decision::Decision>,
        revision: u64,
        now: DateTime<Utc>,
    ) -> Result<bool, StateError> {
        let batch = Batch {
            cursors: vec![Cursor {
                source: self.cursor.clone(),
                cursor: format!("{}:{revision}", self.generation),
            }],
            decisions,
            at: now,
            ..Batch::default()
        };
        let result = {
            let mut s = self.store.lock().map_err(|_| poisoned())?;
            s.commit(&batch)?
        };
        self.applied = revision;
        Ok(!result.new.is_empty())
    }
}

/// A thread panicked holding the store: reported as a busy database would
/// be, so the entry is retried rather than marked handled.
fn poisoned() -> StateError {
    StateError::Sqlite(rusqlite::Error::InvalidQuery)
}

/// Opens the agent's state and starts the watch of the bucket and the
/// expiry of what it applied; both end with `cancel`.
pub fn start(
    config: &Config,
    fleet: &FleetConfig,
    client: async_nats::Client,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> Result<Vec<JoinHandle<()>>, DaemonError> {
    let (store, created) = Store::open_guarded(&config.state_path, &clock.now())?;
    if created {
        info!(path = %config.state_path.display(), "First start: new state database for the fleet's decisions.");
    }
    let inventory = crate::app::enrichment::load(config, &[])?.inventory;
    let services = crate::app::Services::enforcing(config, store, clock.clone())?;
    let applier = Applier::new(
        services.store.clone(),
        services.enforcer.clone(),
        inventory,
        &fleet.decisions_bucket,
    )?;
    let expiry = tokio::spawn(crate::daemon::expiry::run(
        services.store.clone(),
        Arc::new(Metrics::new()),
        None,
        services.enforcer.clone(),
        clock.clone(),
        cancel.clone(),
    ));
    let watch = tokio::spawn(watch(
        jetstream::new(client),
        fleet.clone(),
        applier,
        clock,
        cancel,
    ));
    Ok(vec![watch, expiry])
}

/// Watches the bucket until `cancel`; a lost watch (NATS down, the bucket
/// not created yet) is made again after a growing pause.
async fn watch(
    js: jetstream::Context,
    fleet: FleetConfig,
    mut applier: Applier,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) {
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        let Err(e) = watch_once(&js, &fleet, &mut applier, &clock, &cancel, &mut failures).await
        else {
            return;
        };
        failures = failures.saturating_add(1);
        if failures.is_power_of_two() {
            warn!(bucket = %fleet.decisions_bucket, error = %e, failures, "Fleet decisions: not watching the bucket (the detector creates it); retrying.");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(decisions::backoff(failures)) => {}
        }
    }
}

/// One watch: every key's latest value, then each change, until `cancel`
/// (`Ok`) or an error.
async fn watch_once(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    applier: &mut Applier,
    clock: &Arc<dyn Clock>,
    cancel: &CancellationToken,
    failures: &mut u32,
) -> Result<(), FleetError> {
    let store = decisions::open(js, fleet).await?;
    let err = |e: &dyn std::fmt::Display| FleetError::Stream {
        stream: format!("KV_{}", fleet.decisions_bucket),
        error: e.to_string(),
    };
    // Every key's latest value first (`watch_all` would start at new ones).
    let before = applier.generation.clone();
    applier.generation(
        &store
            .stream
            .cached_info()
            .created
            .unix_timestamp_nanos()
            .to_string(),
    );
    if before == applier.generation {
        // Decisions applied here whose key was purged while this agent was
        // away (not after a bucket made anew: its keys come back).
        gone::check(&store, applier, clock.now()).await?;
    }
    let mut entries = store.watch_with_history(">").await.map_err(|e| err(&e))?;
    info!(bucket = %fleet.decisions_bucket, after_revision = applier.applied(), "Fleet decisions: watching the bucket.");
    *failures = 0;
    loop {
        let entry = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            e = entries.next() => e,
        };
        let entry = match entry {
            None => return Err(err(&"the watch ended")),
            Some(Err(e)) => return Err(err(&e)),
            Some(Ok(e)) => e,
        };
        let value = matches!(entry.operation, kv::Operation::Put).then_some(&entry.value[..]);
        let now = clock.now();
        let out =
            tokio::task::block_in_place(|| applier.entry(&entry.key, entry.revision, value, now))
                .map_err(|e| err(&format!("the agent's state: {e}")))?;
        debug!(key = %Escaped(&entry.key), revision = entry.revision, outcome = ?out, "Fleet decision entry.");
    }
}

mod gone;
#[cfg(test)]
mod tests;

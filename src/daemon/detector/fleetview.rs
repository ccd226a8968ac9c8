//! The fleet's decisions in a detector's admin API: its own, from its state,
//! and the other detectors', from the decisions bucket.
//!
//! Each detector keeps the bucket's keys it wrote equal to its own state
//! ([`super::bucket`]); a detector of the user group never sees the address
//! group's blocks in its state. So the detector's [`AdminBackend`] is wrapped
//! ([`FleetBackend`]): lists, a decision's page, an account's active
//! decisions and the helpdesk page's locks show the detector's own records
//! and, beside them, every other detector's from the bucket, each marked
//! with the detector that holds it (`detector`, its holder id). A watch task
//! keeps an in-memory copy of the bucket ([`View`]); a value of another
//! layout version is skipped and counted
//! (`loginwatch_fleet_view_skipped_total`). An unlock of another detector's
//! decision is sent to that detector ([`super::control`]); the rest goes to
//! the wrapped backend unchanged.
//!
//! Where a detector's own record and the bucket disagree, its own state wins
//! (the bucket is a copy of it). A value lifted as `gone` (its writer's
//! state did not know it) is not shown: no detector holds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use tokio::task::JoinHandle;

use crate::account::AccountFacts;
use crate::daemon::DaemonError;
use crate::fleet::FleetConfig;
use crate::fleet::decisions::{self, How, WireDecision};
use crate::fleet::lease::Fence;
use crate::http::{AdminBackend, BackendError, Readiness, UnlockError};
use crate::state::model::{AuditEntry, DecisionRecord, LockStatus};
use crate::telemetry::fleet::ViewMetrics;

/// The bucket as the watch last saw it: bucket key → the decision held.
#[derive(Debug, Default)]
pub struct View {
    keys: Mutex<HashMap<String, DecisionRecord>>,
}

/// What one value did to the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Held,
    Removed,
    /// Not a value of this layout: skipped (and its key dropped).
    Skipped,
}

impl View {
    /// Applies the bucket's `value` under `key` (`None`: deleted) to `keys`.
    fn apply(keys: &mut HashMap<String, DecisionRecord>, key: &str, value: Option<&[u8]>) -> Seen {
        let Some(bytes) = value else {
            keys.remove(key);
            return Seen::Removed;
        };
        match WireDecision::decode(bytes) {
            Ok(w) => match record_of(w) {
                Some(r) => {
                    keys.insert(key.to_owned(), r);
                    Seen::Held
                }
                None => {
                    keys.remove(key);
                    Seen::Removed
                }
            },
            Err(_) => {
                keys.remove(key);
                Seen::Skipped
            }
        }
    }

    /// One change of the bucket.
    pub fn set(&self, key: &str, value: Option<&[u8]>) -> Seen {
        match self.keys.lock() {
            Ok(mut keys) => View::apply(&mut keys, key, value),
            Err(_) => Seen::Skipped,
        }
    }

    /// Replaces the whole view (a new watch has read the bucket anew).
    fn replace(&self, keys: HashMap<String, DecisionRecord>) {
        if let Ok(mut k) = self.keys.lock() {
            *k = keys;
        }
    }

    /// The decisions held by detectors other than `me`.
    pub fn others(&self, me: &str) -> Vec<DecisionRecord> {
        let Ok(keys) = self.keys.lock() else {
            return Vec::new();
        };
        keys.values()
            .filter(|r| r.detector.as_deref() != Some(me))
            .cloned()
            .collect()
    }

    /// The decision `id` as the bucket holds it.
    pub fn get(&self, id: &str) -> Option<DecisionRecord> {
        let keys = self.keys.lock().ok()?;
        keys.get(&decisions::key(id))
            .filter(|r| r.decision.id == id)
            .cloned()
    }
}

/// A bucket value as the record the API shows, marked with its writer;
/// `None` for a value lifted as `gone` (nobody holds it).
pub fn record_of(w: WireDecision) -> Option<DecisionRecord> {
    if w.lifted.as_ref().is_some_and(|l| l.how == How::Gone) {
        return None;
    }
    Some(DecisionRecord {
        detector: Some(w.detector.clone()),
        ..w.record()
    })
}

/// This detector's records (marked as its own, `me`) and the others' from
/// `view` that it does not hold itself, newest first as the store lists
/// them (by `at`, then id); only those in force when `active_only`.
pub fn merge(
    mut own: Vec<DecisionRecord>,
    others: Vec<DecisionRecord>,
    me: &str,
    active_only: bool,
) -> Vec<DecisionRecord> {
    for r in &mut own {
        r.detector = Some(me.to_owned());
    }
    let ids: std::collections::HashSet<String> =
        own.iter().map(|r| r.decision.id.clone()).collect();
    own.extend(others.into_iter().filter(|r| {
        !ids.contains(&r.decision.id) && (!active_only || r.status == LockStatus::Active)
    }));
    own.sort_by(|a, b| {
        b.decision
            .at
            .cmp(&a.decision.at)
            .then_with(|| a.decision.id.cmp(&b.decision.id))
    });
    own
}

/// The audit trail shown for another detector's decision: what the bucket
/// says of it (its full trail is in the holder's state).
fn trail(r: &DecisionRecord) -> Vec<AuditEntry> {
    let holder = r.detector.clone().unwrap_or_default();
    let mut out = vec![AuditEntry {
        at: r.decision.at,
        decision_id: r.decision.id.clone(),
        what: "decided".into(),
        who: "loginwatch".into(),
        detail: format!(
            "by the fleet's detector {holder} (as its decisions bucket shows it; its full audit \
             trail is in that detector's state)"
        ),
        credential: None,
    }];
    if let (Some(at), true) = (r.ended_at, r.status != LockStatus::Active) {
        out.push(AuditEntry {
            at,
            decision_id: r.decision.id.clone(),
            what: r.status.as_str().into(),
            who: r.unlocked_by.clone().unwrap_or_else(|| "loginwatch".into()),
            detail: r.unlock_reason.clone().unwrap_or_default(),
            credential: None,
        });
    }
    out
}

/// The detector's backend with the fleet's decisions beside its own.
pub struct FleetBackend {
    pub(super) local: Arc<dyn AdminBackend>,
    pub(super) view: Arc<View>,
    /// This detector's holder id.
    pub(super) me: String,
    /// Sends unlocks to their holder.
    pub(super) remote: super::control::Remote,
    /// Wakes the bucket task after an unlock, so the lift goes out at once.
    pub(super) decided: Arc<tokio::sync::Notify>,
}

impl AdminBackend for FleetBackend {
    fn decisions(&self, active_only: bool) -> Result<Vec<DecisionRecord>, BackendError> {
        let own = self.local.decisions(active_only)?;
        Ok(merge(
            own,
            self.view.others(&self.me),
            &self.me,
            active_only,
        ))
    }

    fn decision(
        &self,
        id: &str,
    ) -> Result<Option<(DecisionRecord, Vec<AuditEntry>)>, BackendError> {
        if let Some((mut r, audit)) = self.local.decision(id)? {
            r.detector = Some(self.me.clone());
            return Ok(Some((r, audit)));
        }
        Ok(self
            .view
            .get(id)
            .filter(|r| r.detector.as_deref() != Some(self.me.as_str()))
            .map(|r| {
                let t = trail(&r);
                (r, t)
            }))
    }

    fn unlock(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
    ) -> Result<DecisionRecord, UnlockError> {
        let held = self
            .view
            .get(id)
            .filter(|r| r.detector.as_deref() != Some(self.me.as_str()));
        let result = match self.local.unlock(id, by, reason, credential) {
            Err(UnlockError::NotFound) => match held {
                None => Err(UnlockError::NotFound),
                Some(r) if r.status != LockStatus::Active => Err(UnlockError::NotActive(r.status)),
                Some(r) => {
                    let holder = r.detector.unwrap_or_default();
                    return self.remote.unlock(&holder, id, by, reason, credential);
                }
            },
            other => other,
        };
        let mut rec = result?;
        rec.detector = Some(self.me.clone());
        self.decided.notify_one();
        Ok(rec)
    }

    fn add(
        &self,
        req: &crate::http::AddRequest,
        credential: &str,
    ) -> Result<DecisionRecord, crate::http::AddError> {
        self.local.add(req, credential)
    }

    fn import(
        &self,
        req: &crate::http::ImportRequest,
        credential: &str,
    ) -> Result<crate::state::ImportReport, crate::http::ImportError> {
        self.local.import(req, credential)
    }

    fn account(
        &self,
        user: &str,
    ) -> Result<Option<(AccountFacts, Vec<DecisionRecord>)>, BackendError> {
        let others: Vec<DecisionRecord> = self
            .view
            .others(&self.me)
            .into_iter()
            .filter(|r| {
                r.status == LockStatus::Active && r.decision.target.user.as_deref() == Some(user)
            })
            .collect();
        Ok(match self.local.account(user)? {
            Some((facts, own)) => Some((facts, merge(own, others, &self.me, true))),
            None if !others.is_empty() => Some((
                AccountFacts {
                    user: user.to_owned(),
                    ..AccountFacts::default()
                },
                merge(Vec::new(), others, &self.me, true),
            )),
            None => None,
        })
    }

    fn why(
        &self,
        user: &str,
        at: chrono::DateTime<chrono::Utc>,
        language: crate::helpdesk::Language,
    ) -> Result<crate::helpdesk::Diagnosis, BackendError> {
        self.local.why(user, at, language)
    }

    fn history(&self, user: &str) -> Result<Option<crate::account::History>, BackendError> {
        self.local.history(user)
    }

    fn readiness(&self) -> Readiness {
        self.local.readiness()
    }

    fn reset_storm(&self, by: &str, credential: &str) -> Result<bool, BackendError> {
        self.local.reset_storm(by, credential)
    }
}

/// The admin API's backend: `local` as it is on a single host; for a
/// detector, `local` with the fleet's view and unlocks beside it, and the
/// tasks that feed the view and answer the other detectors' unlocks (they
/// end with `cancel`).
pub async fn backend(
    fleet: Option<&FleetConfig>,
    local: Arc<dyn AdminBackend>,
    fence: Option<Fence>,
    state_path: &std::path::Path,
    metrics: &crate::telemetry::Metrics,
    decided: Arc<tokio::sync::Notify>,
    cancel: CancellationToken,
) -> Result<(Arc<dyn AdminBackend>, Vec<JoinHandle<()>>), DaemonError> {
    let (Some(fleet), Some(fence)) = (fleet, fence) else {
        return Ok((local, Vec::new()));
    };
    let me = super::shard::holder_id(state_path)?;
    let client =
        crate::fleet::connect(fleet, &format!("loginwatch-detector-view {}", fleet.host)).await?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| DaemonError::Io(std::io::Error::other(e.to_string())))?;
    let metrics = ViewMetrics::register(metrics);
    let view = Arc::new(View::default());
    let tasks = vec![
        tokio::spawn(watch(
            client.clone(),
            fleet.clone(),
            view.clone(),
            metrics.clone(),
            cancel.clone(),
        )),
        tokio::spawn(super::control::serve(
            super::control::Serve {
                client: client.clone(),
                prefix: fleet.subject_prefix.clone(),
                me: me.clone(),
                fence,
                local: local.clone(),
                decided: decided.clone(),
                metrics,
            },
            cancel,
        )),
    ];
    let remote = super::control::Remote {
        client,
        prefix: fleet.subject_prefix.clone(),
        me: me.clone(),
        runtime,
    };
    let backend = FleetBackend {
        local,
        view,
        me,
        remote,
        decided,
    };
    Ok((Arc::new(backend), tasks))
}

/// Keeps `view` equal to the bucket until `cancel`: a watch of every key's
/// latest value, then each change; a lost watch is made again after a
/// growing pause, and the view replaced once the new watch has read the
/// bucket whole.
pub async fn watch(
    client: async_nats::Client,
    fleet: FleetConfig,
    view: Arc<View>,
    metrics: ViewMetrics,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client);
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        let Err(e) = watch_once(&js, &fleet, &view, &metrics, &cancel, &mut failures).await else {
            return;
        };
        failures = failures.saturating_add(1);
        if failures.is_power_of_two() {
            warn!(bucket = %fleet.decisions_bucket, error = %e, failures, "Fleet view: not watching the decisions bucket; retrying.");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(decisions::backoff(failures)) => {}
        }
    }
}

async fn watch_once(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    view: &View,
    metrics: &ViewMetrics,
    cancel: &CancellationToken,
    failures: &mut u32,
) -> Result<(), String> {
    let store = decisions::open(js, fleet)
        .await
        .map_err(|e| e.to_string())?;
    let mut entries = store
        .watch_with_history(">")
        .await
        .map_err(|e| e.to_string())?;
    // Read whole into a new map first, so the view never shows half a bucket.
    let mut fresh: Option<HashMap<String, DecisionRecord>> = Some(HashMap::new());
    if store.stream.cached_info().state.messages == 0 {
        view.replace(HashMap::new());
        fresh = None;
    }
    info!(bucket = %fleet.decisions_bucket, "Fleet view: watching the decisions bucket.");
    *failures = 0;
    loop {
        let entry = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            e = entries.next() => e,
        };
        let entry = match entry {
            None => return Err("the watch ended".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(e)) => e,
        };
        let value = matches!(entry.operation, kv::Operation::Put).then_some(&entry.value[..]);
        let seen = match fresh.as_mut() {
            Some(keys) => View::apply(keys, &entry.key, value),
            None => view.set(&entry.key, value),
        };
        if seen == Seen::Skipped {
            metrics.skipped.inc();
            let n = metrics.skipped.get();
            if n.is_power_of_two() {
                warn!(key = %crate::escape::Escaped(&entry.key), skipped = n, "Fleet view: a value of the decisions bucket skipped: not a decision of this layout.");
            }
        }
        if entry.seen_current
            && let Some(keys) = fresh.take()
        {
            view.replace(keys);
        }
    }
}

#[cfg(test)]
mod tests;

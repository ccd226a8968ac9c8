//! The admin API's view of the daemon: [`AdminBackend`] over the SQLite store
//! and the tailer's source status.
//!
//! The store sits behind a std `Mutex`, not a tokio one: its methods are
//! synchronous and nothing awaits while it is held (the HTTP handlers call these
//! methods on the blocking pool).

use std::sync::{Arc, Mutex};

use chrono::Utc;

pub mod manual;

use crate::account::AccountFacts;
use crate::clock::Clock;
use crate::decision::Mode;
use crate::http::{
    AddError, AddRequest, AdminBackend, BackendError, ImportError, ImportRequest, Problem,
    Readiness, UnlockError,
};
use crate::source::SourceStatus;
use crate::state::model::{AuditEntry, DecisionRecord, LockStatus};
use crate::state::{DecisionFilter, StateError, Store};
use crate::telemetry::Metrics;

/// The daemon's (or, with no source status, the CLI's offline) backend.
pub struct StoreBackend {
    store: Arc<Mutex<Store>>,
    status: Arc<Mutex<Vec<SourceStatus>>>,
    metrics: Arc<Metrics>,
    /// Sends the "resolved" alert of an admin unlock.
    alerting: Option<Arc<super::alerting::Alerting>>,
    /// Runs the inverse actions of an admin unlock.
    enforcer: Option<Arc<super::enforce::Enforcer>>,
    /// The account inventory, for `why` (mail, name, suspended accounts).
    inventory: Option<Arc<crate::enrich::inventory::InventoryHandle>>,
    /// Failing commits (the daemon's ingest thread reports them here).
    health: Option<Arc<super::health::StateHealth>>,
    /// When unlocks and storm resets happen.
    clock: Arc<dyn Clock>,
    /// Why the embedded defaults chose a source, by source name.
    chosen: Vec<(String, String)>,
    /// The mode of a manual decision that names none (the configuration's).
    mode: Mode,
    /// Further checks of `/readyz` (the fleet detector's link to NATS).
    checks: Vec<ReadyCheck>,
}

/// A check `/readyz` runs: a problem, or `None` when all is well.
pub type ReadyCheck = Arc<dyn Fn() -> Option<Problem> + Send + Sync>;

impl StoreBackend {
    pub fn new(
        store: Arc<Mutex<Store>>,
        status: Arc<Mutex<Vec<SourceStatus>>>,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
    ) -> StoreBackend {
        StoreBackend {
            store,
            status,
            metrics,
            alerting: None,
            enforcer: None,
            inventory: None,
            health: None,
            clock,
            chosen: Vec::new(),
            mode: Mode::Recommend,
            checks: Vec::new(),
        }
    }

    /// Manual decisions that name no mode get `mode` (the configuration's).
    pub fn with_mode(mut self, mode: Mode) -> StoreBackend {
        self.mode = mode;
        self
    }

    /// Also says in `/readyz` why the embedded defaults chose a source.
    pub fn with_chosen(mut self, sources: &[crate::config::SourceConfig]) -> StoreBackend {
        self.chosen = sources
            .iter()
            .filter_map(|s| s.chosen.clone().map(|c| (s.name.clone(), c)))
            .collect();
        self
    }

    /// Also runs `check` for `/readyz`.
    pub fn with_check(mut self, check: ReadyCheck) -> StoreBackend {
        self.checks.push(check);
        self
    }

    /// Also reports failing commits in `/readyz`.
    pub fn with_health(mut self, health: Arc<super::health::StateHealth>) -> StoreBackend {
        self.health = Some(health);
        self
    }

    /// Also reads the inventory (for `why`).
    pub fn with_inventory(
        mut self,
        inventory: Option<Arc<crate::enrich::inventory::InventoryHandle>>,
    ) -> StoreBackend {
        self.inventory = inventory;
        self
    }

    /// Also undoes enforced actions when an admin unlocks.
    pub fn with_enforcer(mut self, enforcer: Arc<super::enforce::Enforcer>) -> StoreBackend {
        self.enforcer = Some(enforcer);
        self
    }

    /// Also alerts when an admin unlocks.
    pub fn with_alerting(
        mut self,
        alerting: Option<Arc<super::alerting::Alerting>>,
    ) -> StoreBackend {
        self.alerting = alerting;
        self
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StateError>,
    ) -> Result<T, BackendError> {
        let mut s = self
            .store
            .lock()
            .map_err(|_| BackendError::Unavailable("state lock poisoned".into()))?;
        Ok(f(&mut s)?)
    }
}

impl AdminBackend for StoreBackend {
    fn why(
        &self,
        user: &str,
        at: chrono::DateTime<Utc>,
        language: crate::helpdesk::Language,
    ) -> Result<crate::helpdesk::Diagnosis, BackendError> {
        let inventory = self
            .inventory
            .as_ref()
            .map(|h| h.as_ref() as &dyn crate::enrich::AccountLookup);
        self.with(|s| crate::helpdesk::gather::from_store(s, inventory, user, at, language))
    }

    fn decisions(&self, active_only: bool) -> Result<Vec<DecisionRecord>, BackendError> {
        let filter = DecisionFilter {
            active_only,
            ..DecisionFilter::default()
        };
        self.with(|s| s.decisions(&filter))
    }

    fn decision(
        &self,
        id: &str,
    ) -> Result<Option<(DecisionRecord, Vec<AuditEntry>)>, BackendError> {
        self.with(|s| match s.decision(id)? {
            Some(r) => Ok(Some((r, s.audit(id)?))),
            None => Ok(None),
        })
    }

    fn unlock(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
    ) -> Result<DecisionRecord, UnlockError> {
        let current = self
            .with(|s| s.decision(id))?
            .ok_or(UnlockError::NotFound)?;
        if current.status != LockStatus::Active {
            return Err(UnlockError::NotActive(current.status));
        }
        let now = self.clock.now();
        // The "resolved" alert is committed with the unlock itself (one transaction).
        let render = |r: &DecisionRecord| {
            self.alerting.as_ref().and_then(|a| {
                let alert = super::alerting::resolved(
                    &r.decision,
                    "admin",
                    now,
                    Some(by.to_owned()),
                    Some(reason.to_owned()),
                );
                a.render(&alert, now)
            })
        };
        let rec = self.with(|s| s.unlock_alerting(id, by, reason, credential, now, &render))?;
        if let Some(e) = &self.enforcer {
            e.ended(&rec.decision, now);
        }
        if let Ok(counts) = self.with(|s| s.active_counts()) {
            for (action, n) in counts {
                self.metrics.set_active_locks(action, n as i64);
            }
        }
        Ok(rec)
    }

    fn add(&self, req: &AddRequest, credential: &str) -> Result<DecisionRecord, AddError> {
        manual::add(self, req, credential)
    }

    fn import(
        &self,
        req: &ImportRequest,
        credential: &str,
    ) -> Result<crate::state::ImportReport, ImportError> {
        manual::import(self, req, credential)
    }

    fn account(
        &self,
        user: &str,
    ) -> Result<Option<(AccountFacts, Vec<DecisionRecord>)>, BackendError> {
        self.with(|s| {
            let facts = s.account(user)?;
            let filter = DecisionFilter {
                active_only: true,
                user: Some(user.to_owned()),
                ..DecisionFilter::default()
            };
            let active = s.decisions(&filter)?;
            Ok(match facts {
                Some(f) => Some((f, active)),
                None if !active.is_empty() => Some((
                    AccountFacts {
                        user: user.to_owned(),
                        ..AccountFacts::default()
                    },
                    active,
                )),
                None => None,
            })
        })
    }

    fn history(&self, user: &str) -> Result<Option<crate::account::History>, BackendError> {
        self.with(|s| {
            Ok(s.account_history(user)?
                .and_then(|b| crate::account::history::decode(&b)))
        })
    }

    fn reset_storm(&self, by: &str, credential: &str) -> Result<bool, BackendError> {
        let e = self
            .enforcer
            .as_ref()
            .ok_or_else(|| BackendError::Unavailable("no enforcement here".into()))?;
        Ok(e.reset_storm(by, credential, self.clock.now()))
    }

    fn readiness(&self) -> Readiness {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut sources = Vec::new();
        if let Ok(status) = self.status.lock() {
            for s in status.iter() {
                sources.push(crate::http::SourceReady {
                    name: s.name.clone(),
                    reads: s.pattern.clone(),
                    up: s.is_up(),
                    chosen: self
                        .chosen
                        .iter()
                        .find(|(n, _)| *n == s.name)
                        .map(|(_, c)| c.clone()),
                });
                if let Some(hint) = s.missing_hint() {
                    problems.push(Problem::Source {
                        name: s.name.clone(),
                        message: hint,
                    });
                }
                for e in &s.errors {
                    problems.push(Problem::Source {
                        name: s.name.clone(),
                        message: format!("{}: {} ({})", e.path.display(), e.problem, e.hint),
                    });
                }
                warnings.extend(s.warnings.iter().map(|w| Problem::Source {
                    name: s.name.clone(),
                    message: w.clone(),
                }));
            }
        }
        problems.extend(self.checks.iter().filter_map(|c| c()));
        if let Some(p) = self.health.as_ref().and_then(|h| h.problem()) {
            problems.push(Problem::State { message: p });
        } else if let Err(e) = self.with(|s| s.check_writable()) {
            problems.push(Problem::State {
                message: e.to_string(),
            });
        }
        Readiness {
            problems,
            warnings,
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceError;

    #[test]
    fn readiness_lists_the_sources_and_why_the_defaults_chose_one() {
        let d = tempfile::tempdir().unwrap();
        let store = Arc::new(Mutex::new(Store::open(&d.path().join("s.db")).unwrap()));
        let journal = SourceStatus {
            name: "journal".into(),
            pattern: "journal".into(),
            files: Vec::new(),
            errors: vec![SourceError::new(
                std::path::Path::new("journal"),
                crate::source::Problem::PermissionDenied,
            )],
            lag_bytes: 0,
            listening: false,
            warnings: Vec::new(),
        };
        let status = Arc::new(Mutex::new(vec![journal]));
        let mut chosen = crate::config::defaults::source();
        chosen.name = "journal".into();
        chosen.chosen = Some("embedded default: /var/log/auth.log does not exist".into());
        let b = StoreBackend::new(
            store,
            status,
            Arc::new(Metrics::new()),
            Arc::new(crate::clock::SystemClock),
        )
        .with_chosen(&[chosen]);
        let r = b.readiness();
        assert!(!r.is_ready());
        assert_eq!(r.sources.len(), 1);
        assert_eq!(r.sources[0].reads, "journal");
        assert!(!r.sources[0].up);
        assert_eq!(
            r.sources[0].chosen.as_deref(),
            Some("embedded default: /var/log/auth.log does not exist")
        );
    }
}

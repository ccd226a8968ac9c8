//! The services the daemon and the offline CLI share: enforcement, alerting,
//! the admin backend over the state store, the state's health, and the
//! enrichment a configuration describes. Built here once, the same way for
//! both, so that an unlock made with the daemon stopped runs the same safety
//! checks, inverse actions, audit and "resolved" alert as one made through the
//! daemon's API. The daemon keeps only its threads and tasks.

pub mod alerting;
pub mod backend;
pub mod enforce;
pub mod enrichment;
pub mod health;

use std::sync::{Arc, Mutex};

pub use alerting::{Alerting, AlertingError};
pub use backend::StoreBackend;
pub use enforce::Enforcer;
pub use enrichment::EnrichError;
pub use health::StateHealth;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::safety::Safety;
use crate::safety::guard::detect_own;
use crate::state::Store;

/// The services over one state store.
pub struct Services {
    pub store: Arc<Mutex<Store>>,
    /// The time every service reads (the system's, or a test's).
    pub clock: Arc<dyn Clock>,
    /// `None` when no alert sink is configured.
    pub alerting: Option<Arc<Alerting>>,
    pub enforcer: Arc<Enforcer>,
    /// The configured mode: a manual decision's when it names none.
    pub mode: crate::decision::Mode,
}

impl Services {
    /// Builds alerting and enforcement for `config` over `store`. With
    /// `dry_run` the enforcer plans and audits actions without running them.
    pub fn new(
        config: &Config,
        store: Store,
        dry_run: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<Services, AlertingError> {
        Services::build(config, store, dry_run, false, clock, true)
    }

    /// The services of a fleet agent applying the detector's decisions: the
    /// same enforcement (safety filter, actions, audit) and no alerting: the
    /// detector alerts for the fleet, once.
    pub fn enforcing(
        config: &Config,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Services, AlertingError> {
        Services::build(config, store, false, false, clock, false)
    }

    /// The services for a command run with the daemon stopped: the same as
    /// the daemon's, except that an action (an unlock's inverse actions) is
    /// waited for, since the command exits right after.
    pub fn offline(config: &Config, store: Store) -> Result<Services, AlertingError> {
        Services::build(config, store, false, true, Arc::new(SystemClock), true)
    }

    /// The admin API's backend over these services; `status` is the
    /// sources' health as the ingest thread last saw it.
    pub fn backend(
        &self,
        status: Arc<Mutex<Vec<crate::source::SourceStatus>>>,
        metrics: Arc<crate::telemetry::Metrics>,
    ) -> StoreBackend {
        StoreBackend::new(self.store.clone(), status, metrics, self.clock.clone())
            .with_alerting(self.alerting.clone())
            .with_enforcer(self.enforcer.clone())
            .with_mode(self.mode)
    }

    fn build(
        config: &Config,
        store: Store,
        dry_run: bool,
        wait: bool,
        clock: Arc<dyn Clock>,
        alerts: bool,
    ) -> Result<Services, AlertingError> {
        let alerting = if alerts {
            Alerting::new(config)?.map(Arc::new)
        } else {
            None
        };
        let store = Arc::new(Mutex::new(store));
        // `detect_own = false`: the configured own_addresses only.
        let detected = if config.safety.detect_own {
            detect_own()
        } else {
            Vec::new()
        };
        let safety = Safety::new(config.safety.clone(), detected);
        let enforcer = Enforcer::new(
            config.actions.clone(),
            safety,
            dry_run,
            store.clone(),
            alerting.clone(),
            clock.clone(),
        );
        let enforcer = Arc::new(if wait { enforcer.waiting() } else { enforcer });
        Ok(Services {
            store,
            clock,
            alerting,
            enforcer,
            mode: config.mode,
        })
    }
}

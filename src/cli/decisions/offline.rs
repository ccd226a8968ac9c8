//! Access to the state file when the daemon is not running.
//!
//! The decisions commands prefer the running daemon's API (so an unlock is seen by
//! the daemon at once and counted in its metrics); when nothing answers they fall
//! back to the state file through this function (an unlock's resolved alert
//! waits in the outbox for the daemon; its inverse actions run here). SQLite's WAL mode and busy
//! timeout make this safe even if a daemon starts meanwhile.

use std::sync::{Arc, Mutex};

use loginwatch::config::Config;
use loginwatch::daemon::alerting::Alerting;
use loginwatch::daemon::backend::StoreBackend;
use loginwatch::daemon::enforce::Enforcer;
use loginwatch::escape::Escaped;
use loginwatch::http::{AdminBackend, BackendError};
use loginwatch::safety::Safety;
use loginwatch::safety::guard::detect_own;
use loginwatch::state::Store;
use loginwatch::telemetry::Metrics;

/// Opens the state file named by `config` as an [`AdminBackend`].
pub fn offline_backend(config: &Config) -> Result<Box<dyn AdminBackend>, BackendError> {
    if !config.state_path.exists() {
        return Err(BackendError::Unavailable(format!(
            "daemon not running and no state file at {}",
            Escaped(&config.state_path.display().to_string())
        )));
    }
    let store = Store::open(&config.state_path).map_err(|e| BackendError::Store(e.to_string()))?;
    // An unlock made here still owes the admins its "resolved" alert: it is
    // written to the outbox with the unlock (one transaction) and delivered by
    // the daemon when it next runs, like any alert it had not yet sent.
    let alerting = Alerting::new(config)
        .map_err(|e| BackendError::Unavailable(format!("alert sinks: {}", Escaped(&e))))?
        .map(Arc::new);
    let store = Arc::new(Mutex::new(store));
    // In enforce mode an unlock also undoes what the lock did (the inverse
    // actions: unlock at the identity provider, remove from the nft set), run
    // here since no daemon will; each is audited like the daemon's.
    let safety = Safety::new(config.safety.clone(), detect_own());
    let enforcer = Enforcer::new(
        config.actions.clone(),
        safety,
        false,
        store.clone(),
        alerting.clone(),
    );
    Ok(Box::new(
        StoreBackend::new(
            store,
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Metrics::new()),
        )
        .with_alerting(alerting)
        .with_enforcer(Arc::new(enforcer.waiting())),
    ))
}

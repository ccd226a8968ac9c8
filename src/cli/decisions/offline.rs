//! Access to the state file when the daemon is not running.
//!
//! The decisions commands prefer the running daemon's API (so an unlock is seen by
//! the daemon at once and counted in its metrics); when nothing answers they fall
//! back to the state file through this function (an unlock's resolved alert
//! waits in the outbox for the daemon; its inverse actions run here). SQLite's WAL mode and busy
//! timeout make this safe even if a daemon starts meanwhile.

use std::sync::{Arc, Mutex};

use loginwatch::app::Services;
use loginwatch::config::Config;
use loginwatch::enrich::inventory::InventoryHandle;
use loginwatch::escape::Escaped;
use loginwatch::http::{AdminBackend, BackendError};
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
    let store = Store::open(&config.state_path)?;
    // An unlock made here still owes the admins its "resolved" alert: it is
    // written to the outbox with the unlock (one transaction) and delivered by
    // the daemon when it next runs, like any alert it had not yet sent. In
    // enforce mode an unlock also undoes what the lock did (the inverse
    // actions: unlock at the identity provider, remove from the nft set), run
    // here since no daemon will; each is audited like the daemon's. The same
    // services as the daemon's, built the same way.
    let services = Services::offline(config, store).map_err(|e| {
        BackendError::Unavailable(format!("alert sinks: {}", Escaped(&e.to_string())))
    })?;
    Ok(Box::new(services.backend(
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Metrics::new()),
    )))
}

/// [`offline_backend`] that also reads the configured inventory, for the
/// safety filter of a manual decision (the last admins, exempt accounts): an
/// inventory that cannot be read refuses the command rather than skip them.
pub fn offline_backend_with_inventory(
    config: &Config,
) -> Result<Box<dyn AdminBackend>, BackendError> {
    if !config.state_path.exists() {
        return offline_backend(config);
    }
    let inventory = match &config.inventory {
        None => None,
        Some(inv) => Some(Arc::new(
            InventoryHandle::open(&inv.path, inv.options.clone()).map_err(|e| {
                BackendError::Unavailable(format!("inventory: {}", Escaped(&e.to_string())))
            })?,
        )),
    };
    let store = Store::open(&config.state_path)?;
    let services = Services::offline(config, store).map_err(|e| {
        BackendError::Unavailable(format!("alert sinks: {}", Escaped(&e.to_string())))
    })?;
    Ok(Box::new(
        services
            .backend(Arc::new(Mutex::new(Vec::new())), Arc::new(Metrics::new()))
            .with_inventory(inventory),
    ))
}

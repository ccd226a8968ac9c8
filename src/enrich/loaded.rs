//! The enrichment a configuration loaded: the enricher and the inventory
//! handle, and their reload. Building it from a configuration is
//! `crate::app::enrichment`'s job.

use std::sync::Arc;

use tracing::{error, info};

use super::Enricher;
use super::inventory::InventoryHandle;

/// What can be loaded: the enricher, plus the inventory handle (kept apart so
/// its owner can reload it).
pub struct Loaded {
    pub enricher: Enricher,
    pub inventory: Option<Arc<InventoryHandle>>,
}

/// Reloads whatever changed on disk, logging failures (the previous version stays).
pub fn reload(loaded: &mut Loaded) {
    let r = loaded.enricher.reload_if_changed();
    for e in &r.errors {
        error!(error = %e, "Enrichment reload failed; the previous data stays in use.");
    }
    if r.changed {
        info!("Enrichment data reloaded.");
    }
    if let Some(inv) = &loaded.inventory {
        match inv.reload_if_changed() {
            Ok(true) => info!("Inventory reloaded."),
            Ok(false) => {}
            Err(e) => {
                error!(error = %e, "Inventory reload failed; the previous inventory stays in use.")
            }
        }
    }
}

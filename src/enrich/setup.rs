//! Building the [`Enricher`] a configuration describes: GeoIP databases, named
//! IP lists and the inventory, each optional. Shared by the daemon and by
//! `replay`/`parse --config`, so history is backtested with the live view.

use std::sync::Arc;

use tracing::{error, info, warn};

use super::inventory::InventoryHandle;
use super::{AccountLookup, Enricher, GeoDbs, IpLists, ListSpec};
use crate::config::Config;
use crate::escape::Escaped;
use crate::event::Name;
use crate::rules::RuleSet;

/// What can be loaded: the enricher, plus the inventory handle (kept apart so
/// its owner can reload it).
pub struct Loaded {
    pub enricher: Enricher,
    pub inventory: Option<Arc<InventoryHandle>>,
}

/// Opens everything `config` names plus `extra_geoip`. Every unusable file is
/// reported (one message each); nothing is half-loaded.
pub fn load(config: &Config, extra_geoip: &[std::path::PathBuf]) -> Result<Loaded, Vec<String>> {
    let mut errors = Vec::new();
    let mut paths = config.geoip.clone();
    paths.extend(extra_geoip.iter().cloned());
    let geo = if paths.is_empty() {
        None
    } else {
        match GeoDbs::open(&paths) {
            Ok(g) => Some(g),
            Err(es) => {
                errors.extend(es.iter().map(|e| e.to_string()));
                None
            }
        }
    };
    let specs: Vec<ListSpec> = config
        .ip_lists
        .iter()
        .map(|l| ListSpec {
            name: Name::from(l.name.as_str()),
            path: l.path.clone(),
        })
        .collect();
    let lists = match IpLists::load(&specs) {
        Ok(l) => l,
        Err(es) => {
            errors.extend(es.iter().map(|e| e.to_string()));
            IpLists::empty()
        }
    };
    let inventory = match &config.inventory {
        None => None,
        Some(inv) => match InventoryHandle::open(&inv.path, inv.options.clone()) {
            Ok(h) => Some(Arc::new(h)),
            Err(es) => {
                errors.push(es.to_string());
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let lookup = inventory.clone().map(|h| h as Arc<dyn AccountLookup>);
    Ok(Loaded {
        enricher: Enricher::new(geo, lists, lookup),
        inventory,
    })
}

/// Checks the rules against what the enricher can answer: an IP list a rule names
/// but the configuration lacks is an error; geo rules without a GeoIP database
/// are reported inactive (one clear line), never left to pass silently.
pub fn check_rules(rules: &RuleSet, config: &Config, enricher: &Enricher) -> Result<(), String> {
    let missing: Vec<String> = rules
        .referenced_lists()
        .into_iter()
        .filter(|n| !config.ip_lists.iter().any(|l| l.name == **n))
        .map(|n| Escaped(&n).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "rules name IP lists the configuration does not define (add [[ip_list]] tables): {}",
            missing.join(", ")
        ));
    }
    let geo_rules = rules.geo_rules();
    if !geo_rules.is_empty() {
        if enricher.geo_active() {
            info!(rules = %geo_rules.join(", "), "Geo rules active.");
        } else {
            warn!(
                rules = %geo_rules.join(", "),
                "Geo rules inactive: no GeoIP database configured (set geoip = [...] in the config)."
            );
        }
    }
    Ok(())
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

//! Building the [`Enricher`] a configuration describes: GeoIP databases, named
//! IP lists and the inventory, each optional. Shared by the daemon and by
//! `replay`/`parse --config`/`why`, so history is backtested with the live view.

use std::sync::Arc;

use tracing::{info, warn};

use crate::config::Config;
use crate::enrich::inventory::{InventoryErrors, InventoryHandle};
use crate::enrich::{
    AccountLookup, Enricher, GeoDbs, GeoError, IpListError, IpLists, ListSpec, Loaded,
};
use crate::escape::Escaped;
use crate::event::Name;
use crate::rules::RuleSet;

/// One file the configuration names that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error(transparent)]
    IpList(#[from] IpListError),
    #[error(transparent)]
    Inventory(#[from] InventoryErrors),
}

/// Why the enrichment a configuration describes cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// Files that cannot be used, every one of them (one per line).
    #[error("{}", lines(.0))]
    Files(Vec<Unusable>),
    /// IP lists the rules name and the configuration does not define.
    #[error(
        "rules name IP lists the configuration does not define (add [[ip_list]] tables): {}",
        .0.iter().map(|n| Escaped(n).to_string()).collect::<Vec<_>>().join(", ")
    )]
    MissingLists(Vec<Name>),
}

fn lines(errors: &[Unusable]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Opens everything `config` names plus `extra_geoip`. Every unusable file is
/// reported (one message each); nothing is half-loaded.
pub fn load(config: &Config, extra_geoip: &[std::path::PathBuf]) -> Result<Loaded, EnrichError> {
    let mut errors = Vec::new();
    let mut paths = config.geoip.clone();
    paths.extend(extra_geoip.iter().cloned());
    let geo = if paths.is_empty() {
        None
    } else {
        match GeoDbs::open(&paths) {
            Ok(g) => Some(g),
            Err(es) => {
                errors.extend(es.into_iter().map(Unusable::from));
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
            errors.extend(es.into_iter().map(Unusable::from));
            IpLists::empty()
        }
    };
    let inventory = match &config.inventory {
        None => None,
        Some(inv) => match InventoryHandle::open(&inv.path, inv.options.clone()) {
            Ok(h) => Some(Arc::new(h)),
            Err(es) => {
                errors.push(Unusable::from(es));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(EnrichError::Files(errors));
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
pub fn check_rules(
    rules: &RuleSet,
    config: &Config,
    enricher: &Enricher,
) -> Result<(), EnrichError> {
    let missing: Vec<Name> = rules
        .referenced_lists()
        .into_iter()
        .filter(|n| !config.ip_lists.iter().any(|l| l.name == **n))
        .collect();
    if !missing.is_empty() {
        return Err(EnrichError::MissingLists(missing));
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

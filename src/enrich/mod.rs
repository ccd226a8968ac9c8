//! Enrichment: what loginwatch knows about an event beyond its log line, added
//! between parsing and the rules: where the address is (GeoIP), which named
//! lists hold it (IP lists), and whose account it is (the inventory). (being built)

pub mod inventory;

use std::sync::Arc;

use crate::event::Account;

/// Finds the inventory's account for a user name as logged (implemented by
/// [`inventory::InventoryHandle`]).
pub trait AccountLookup: Send + Sync {
    fn account(&self, user: &str) -> Option<Arc<Account>>;
}

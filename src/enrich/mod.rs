//! Enrichment: what loginwatch knows about an event beyond its log line, added
//! between parsing and the rules: where the address is (GeoIP), which named
//! lists hold it (IP lists), and whose account it is (the inventory).
//!
//! Parsers leave `geo`, `lists` and `account` of an [`AuthEvent`] empty; the
//! [`Enricher`] fills them in one place, so `replay`, `parse` and the daemon give
//! the rules the same view of an event. Address facts go through a bounded
//! per-address cache ([`cache`]): the same address yields clones of the same
//! `Arc`s, with no database lookup and no allocation. Every source of facts is
//! optional; without a GeoIP database, [`Enricher::geo_active`] is false so the
//! daemon can say at start-up that geo rules cannot fire, instead of letting them
//! pass silently.

pub mod cache;
pub mod geoip;
pub mod inventory;
pub mod iplist;
pub mod loaded;
pub mod mmdb;
pub mod stamp;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::event::{Account, AuthEvent};

pub use cache::{IpCache, IpFacts};
pub use geoip::{DbInfo, DbKind, GeoDbs, GeoError};
pub use iplist::{IpListError, IpLists, ListSpec};
pub use loaded::Loaded;
pub use stamp::Reload;

/// Looks up an account by login name. The inventory loader implements it; the
/// enricher only needs this, so tests and other sources can plug in their own.
pub trait AccountLookup: Send + Sync {
    /// The account `user` logs in as, if the inventory knows it.
    fn account(&self, user: &str) -> Option<Arc<Account>>;
}

/// A reload error of either kind of address source.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error(transparent)]
    List(#[from] IpListError),
}

/// Counters for metrics and the bench.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnrichStats {
    /// Events whose address facts came from the cache.
    pub cache_hits: u64,
    /// Events whose address was looked up in the databases and lists.
    pub cache_misses: u64,
    /// GeoIP lookups that failed (corrupt record); the event keeps what the
    /// other databases said.
    pub geo_errors: u64,
}

/// Fills the enrichment fields of events; see the module header.
pub struct Enricher {
    geo: Option<GeoDbs>,
    lists: IpLists,
    inventory: Option<Arc<dyn AccountLookup>>,
    cache: IpCache,
    stats: EnrichStats,
    last_geo_error: Option<GeoError>,
}

impl fmt::Debug for Enricher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enricher")
            .field("geo", &self.geo)
            .field("lists", &self.lists.info())
            .field("inventory", &self.inventory.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Enricher {
    /// An enricher over the given sources, with the default cache size.
    pub fn new(
        geo: Option<GeoDbs>,
        lists: IpLists,
        inventory: Option<Arc<dyn AccountLookup>>,
    ) -> Enricher {
        Enricher::with_cache_capacity(geo, lists, inventory, cache::DEFAULT_CAPACITY)
    }

    /// As [`Enricher::new`], caching at most `capacity` addresses.
    pub fn with_cache_capacity(
        geo: Option<GeoDbs>,
        lists: IpLists,
        inventory: Option<Arc<dyn AccountLookup>>,
        capacity: usize,
    ) -> Enricher {
        Enricher {
            geo,
            lists,
            inventory,
            cache: IpCache::new(capacity),
            stats: EnrichStats::default(),
            last_geo_error: None,
        }
    }

    /// True when at least one GeoIP database is loaded: geo conditions can match.
    pub fn geo_active(&self) -> bool {
        self.geo.is_some()
    }

    /// True when nothing is configured: enrichment can be skipped.
    pub fn is_noop(&self) -> bool {
        self.geo.is_none() && self.lists.is_empty() && self.inventory.is_none()
    }

    /// The GeoIP databases, when configured.
    pub fn geo(&self) -> Option<&GeoDbs> {
        self.geo.as_ref()
    }

    /// Adds GeoIP databases after the configured ones (a rule test's
    /// `geoip.json`, built in memory); what was cached is looked up again.
    pub fn add_geo(&mut self, more: GeoDbs) {
        match &mut self.geo {
            Some(g) => g.append(more),
            None => self.geo = Some(more),
        }
        self.cache.clear();
    }

    /// The IP lists (empty when none is configured).
    pub fn lists(&self) -> &IpLists {
        &self.lists
    }

    /// Replaces the inventory (after the inventory loader reloaded it).
    pub fn set_inventory(&mut self, inventory: Option<Arc<dyn AccountLookup>>) {
        self.inventory = inventory;
    }

    /// The counters so far.
    pub fn stats(&self) -> EnrichStats {
        self.stats
    }

    /// The last GeoIP lookup error, taken (for a log line; lookups go on).
    pub fn take_geo_error(&mut self) -> Option<GeoError> {
        self.last_geo_error.take()
    }

    /// Fills `ev.geo`, `ev.lists` and `ev.account`. `lists` is `Some` (maybe
    /// empty) when the event has an address and lists are configured; `geo` is
    /// `Some` when a database knows the address; `account` when the inventory
    /// knows the user.
    pub fn enrich(&mut self, ev: &mut AuthEvent) {
        if let Some(ip) = ev.source_ip
            && (self.geo.is_some() || !self.lists.is_empty())
        {
            let facts = self.facts(ip);
            ev.geo = facts.geo;
            ev.lists = facts.lists;
        }
        if let (Some(inv), Some(user)) = (&self.inventory, &ev.user) {
            ev.account = inv.account(user);
        }
    }

    /// The address facts of `ip`, from the cache or looked up and cached.
    pub fn facts(&mut self, ip: IpAddr) -> IpFacts {
        if let Some(f) = self.cache.get(&ip) {
            self.stats.cache_hits += 1;
            return f;
        }
        self.stats.cache_misses += 1;
        let geo = self.geo.as_ref().and_then(|dbs| {
            let l = dbs.lookup(ip);
            if let Some(e) = l.error {
                self.stats.geo_errors += 1;
                self.last_geo_error = Some(e);
            }
            l.geo.map(Arc::new)
        });
        let lists = (!self.lists.is_empty()).then(|| self.lists.lists_for(ip));
        let facts = IpFacts { geo, lists };
        self.cache.insert(ip, facts.clone());
        facts
    }

    /// Reloads the GeoIP databases and IP lists whose files changed (the daemon
    /// calls this periodically). Failed files keep their previous version; the
    /// cache is dropped when anything changed.
    pub fn reload_if_changed(&mut self) -> Reload<EnrichError> {
        let mut out = Reload::default();
        if let Some(g) = &mut self.geo {
            let r = g.reload_if_changed();
            out.changed |= r.changed;
            out.errors
                .extend(r.errors.into_iter().map(EnrichError::from));
        }
        let r = self.lists.reload_if_changed();
        out.changed |= r.changed;
        out.errors
            .extend(r.errors.into_iter().map(EnrichError::from));
        if out.changed {
            self.cache.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Action, Outcome};
    use chrono::TimeZone;

    struct OneUser(Arc<Account>);

    impl AccountLookup for OneUser {
        fn account(&self, user: &str) -> Option<Arc<Account>> {
            (user == &*self.0.user).then(|| self.0.clone())
        }
    }

    fn event(ip: &str, user: &str) -> AuthEvent {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut e = AuthEvent::new(t, Action::Login, Outcome::Success);
        e.source_ip = Some(ip.parse().unwrap());
        e.user = Some(Arc::from(user));
        e
    }

    #[test]
    fn lists_and_accounts_are_filled_and_shared_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vpn.txt");
        std::fs::write(&p, "192.0.2.0/24\n").unwrap();
        let lists = IpLists::load(&[ListSpec {
            name: Arc::from("corp-vpn"),
            path: p,
        }])
        .unwrap();
        let alice = Arc::new(Account {
            user: Arc::from("alice"),
            admin: true,
            ..Account::default()
        });
        let mut en = Enricher::new(None, lists, Some(Arc::new(OneUser(alice.clone()))));
        assert!(!en.geo_active() && !en.is_noop());
        let mut a = event("192.0.2.9", "alice");
        let mut b = event("192.0.2.9", "bob");
        let mut c = event("198.51.100.1", "alice");
        en.enrich(&mut a);
        en.enrich(&mut b);
        en.enrich(&mut c);
        let la = a.lists.clone().unwrap();
        assert_eq!(&*la, &[Arc::<str>::from("corp-vpn")]);
        assert!(Arc::ptr_eq(&la, b.lists.as_ref().unwrap()));
        assert!(c.lists.as_ref().unwrap().is_empty());
        assert!(a.geo.is_none());
        assert!(Arc::ptr_eq(a.account.as_ref().unwrap(), &alice));
        assert!(b.account.is_none());
        assert_eq!(
            en.stats(),
            EnrichStats {
                cache_hits: 1,
                cache_misses: 2,
                geo_errors: 0
            }
        );
    }

    #[test]
    fn nothing_configured_leaves_events_alone() {
        let mut en = Enricher::new(None, IpLists::empty(), None);
        assert!(en.is_noop() && !en.geo_active());
        let mut e = event("192.0.2.9", "alice");
        en.enrich(&mut e);
        assert!(e.geo.is_none() && e.lists.is_none() && e.account.is_none());
        assert_eq!(en.stats().cache_misses, 0);
    }
}

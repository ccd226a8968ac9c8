//! A bounded per-address cache of enrichment answers.
//!
//! Attacks repeat addresses: a brute force sends thousands of lines from one IP,
//! so GeoIP and list answers are cached per address. A hit clones two `Arc`s and
//! allocates nothing; the cache never grows past its capacity (a distributed
//! attack from millions of addresses must not grow the daemon without bound).
//! Eviction is CLOCK (second chance): an LRU's precision is not worth a linked
//! list's pointer chasing here, and CLOCK keeps hot addresses just as well.

use std::net::IpAddr;
use std::sync::Arc;

// Seeded per map (foldhash): keyed by source addresses, which an attacker
// chooses; an unseeded hasher such as Fx would let crafted addresses collide
// into one probe chain (hash flooding).
use foldhash::HashMap;

use crate::event::{Geo, Name};

/// What enrichment knows about one address.
#[derive(Debug, Clone, Default)]
pub struct IpFacts {
    pub geo: Option<Arc<Geo>>,
    pub lists: Option<Arc<[Name]>>,
}

#[derive(Debug)]
struct Slot {
    ip: IpAddr,
    facts: IpFacts,
    referenced: bool,
}

/// The cache; see the module header.
#[derive(Debug)]
pub struct IpCache {
    map: HashMap<IpAddr, usize>,
    slots: Vec<Slot>,
    hand: usize,
    capacity: usize,
}

/// The default capacity: 64k addresses, a few MiB.
pub const DEFAULT_CAPACITY: usize = 65_536;

impl IpCache {
    /// A cache holding at most `capacity` addresses (at least 1).
    pub fn new(capacity: usize) -> IpCache {
        let capacity = capacity.max(1);
        let mut map = HashMap::default();
        // Reserved up front so inserts never reallocate the table.
        map.reserve(capacity);
        IpCache {
            map,
            slots: Vec::with_capacity(capacity),
            hand: 0,
            capacity,
        }
    }

    /// The cached facts for `ip`, marking it recently used.
    pub fn get(&mut self, ip: &IpAddr) -> Option<IpFacts> {
        let i = *self.map.get(ip)?;
        let slot = self.slots.get_mut(i)?;
        slot.referenced = true;
        Some(slot.facts.clone())
    }

    /// Caches `facts` for `ip` (not already cached), evicting an entry not used
    /// since the clock hand last passed it when full.
    pub fn insert(&mut self, ip: IpAddr, facts: IpFacts) {
        if self.slots.len() < self.capacity {
            self.map.insert(ip, self.slots.len());
            self.slots.push(Slot {
                ip,
                facts,
                referenced: false,
            });
            return;
        }
        // Terminates: each pass clears the bits it skips over.
        loop {
            let h = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let Some(slot) = self.slots.get_mut(h) else {
                return;
            };
            if slot.referenced {
                slot.referenced = false;
                continue;
            }
            self.map.remove(&slot.ip);
            *slot = Slot {
                ip,
                facts,
                referenced: false,
            };
            self.map.insert(ip, h);
            return;
        }
    }

    /// Forgets everything (after a database or list reload).
    pub fn clear(&mut self) {
        self.map.clear();
        self.slots.clear();
        self.hand = 0;
    }

    /// Number of cached addresses.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(n.into())
    }

    fn facts(country: &str) -> IpFacts {
        IpFacts {
            geo: Some(Arc::new(Geo {
                country_iso_code: Some(Arc::from(country)),
                ..Geo::default()
            })),
            lists: None,
        }
    }

    #[test]
    fn hits_share_the_same_arcs() {
        let mut c = IpCache::new(4);
        c.insert(ip(1), facts("JP"));
        let a = c.get(&ip(1)).unwrap().geo.unwrap();
        let b = c.get(&ip(1)).unwrap().geo.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(c.get(&ip(2)).is_none());
    }

    #[test]
    fn bounded_and_keeps_recently_used_entries() {
        let mut c = IpCache::new(3);
        for n in 1..=3 {
            c.insert(ip(n), facts("JP"));
        }
        c.get(&ip(1));
        c.insert(ip(4), facts("SE"));
        assert_eq!(c.len(), 3);
        assert!(c.get(&ip(1)).is_some(), "a used entry gets a second chance");
        assert!(c.get(&ip(2)).is_none(), "the unused oldest goes");
        for n in 5..1000 {
            c.insert(ip(n), facts("US"));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.map.len(), 3);
        c.clear();
        assert!(c.is_empty() && c.get(&ip(999)).is_none());
    }
}

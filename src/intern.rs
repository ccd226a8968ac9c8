//! String interning for the hot path.
//!
//! User names, host names and service names repeat on almost every line. Looking
//! a borrowed `&str` up in a set and cloning the stored `Arc<str>` costs no heap
//! allocation once a name has been seen, which is what keeps replay at millions of
//! lines per second. The table is capped so a flood of random user names cannot
//! grow it without bound: at the cap it starts over empty, so the names in use
//! now are remembered again at once, instead of a flood's names filling the
//! table for good (the names already handed out stay shared where they are held).
//! The cap is 65,536: a million invented names once cost 60 MiB here, per parser.

use std::collections::HashSet;
use std::sync::Arc;

// foldhash rather than std's SipHash: several times faster on short names, and
// still seeded per process, so attacker-chosen user names cannot be crafted to
// collide (which rules out an unseeded hasher such as Fx here).
use foldhash::fast::RandomState;

use crate::event::Name;

/// Default number of distinct names remembered.
pub const DEFAULT_CAP: usize = 1 << 16;

/// A bounded set of shared strings.
#[derive(Debug)]
pub struct Interner {
    set: HashSet<Arc<str>, RandomState>,
    cap: usize,
}

impl Default for Interner {
    fn default() -> Self {
        Interner::with_cap(DEFAULT_CAP)
    }
}

impl Interner {
    /// An interner that remembers at most `cap` names.
    pub fn with_cap(cap: usize) -> Interner {
        Interner {
            set: HashSet::with_hasher(RandomState::default()),
            cap,
        }
    }

    /// The shared copy of `s`.
    pub fn intern(&mut self, s: &str) -> Name {
        if let Some(n) = self.set.get(s) {
            return n.clone();
        }
        let n: Name = Arc::from(s);
        if self.set.len() >= self.cap {
            // Keeps the allocation: the table refills to the same size.
            self.set.clear();
        }
        self.set.insert(n.clone());
        n
    }

    /// How many names are remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when no name is remembered.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_shares_one_allocation() {
        let mut i = Interner::default();
        let a = i.intern("alice");
        let b = i.intern("alice");
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn cap_bounds_memory_but_still_returns_names() {
        let mut i = Interner::with_cap(2);
        for n in ["a", "b", "c", "d"] {
            assert_eq!(&*i.intern(n), n);
        }
        assert!(i.len() <= 2);
        // The names of now are remembered again after the table starts over.
        let d = i.intern("d");
        assert!(Arc::ptr_eq(&d, &i.intern("d")));
    }
}

//! Substring search for the fixed words of sshd and PAM messages.
//!
//! `str::find(&str)` builds a fresh two-way searcher on every call; on lines of
//! a hundred bytes that setup cost more than the search, and the classifier
//! searches several times per line. These needles are built once (memchr's
//! prebuilt finders) and shared. Every needle starts with an ASCII byte, so a
//! position found is a `char` boundary, exactly as `str::find` would return.

use std::sync::LazyLock;

use memchr::memmem::{Finder, FinderRev};

/// A needle searchable from either end.
pub(super) struct Needle {
    fwd: Finder<'static>,
    rev: FinderRev<'static>,
}

impl Needle {
    fn new(s: &'static str) -> Needle {
        Needle {
            fwd: Finder::new(s),
            rev: FinderRev::new(s),
        }
    }

    /// Like `h.find(needle)`.
    #[inline]
    pub(super) fn find(&self, h: &str) -> Option<usize> {
        self.fwd.find(h.as_bytes())
    }

    /// Like `h.rfind(needle)`.
    #[inline]
    pub(super) fn rfind(&self, h: &str) -> Option<usize> {
        self.rev.rfind(h.as_bytes())
    }
}

pub(super) static FROM: LazyLock<Needle> = LazyLock::new(|| Needle::new(" from "));
pub(super) static FOR: LazyLock<Needle> = LazyLock::new(|| Needle::new(" for "));
pub(super) static PORT: LazyLock<Needle> = LazyLock::new(|| Needle::new(" port "));
pub(super) static RHOST: LazyLock<Needle> = LazyLock::new(|| Needle::new("rhost="));
pub(super) static RUSER: LazyLock<Needle> = LazyLock::new(|| Needle::new("ruser="));
pub(super) static USER_EQ: LazyLock<Needle> = LazyLock::new(|| Needle::new(" user="));
pub(super) static COLON_SP: LazyLock<Needle> = LazyLock::new(|| Needle::new(": "));
pub(super) static PAREN_SP: LazyLock<Needle> = LazyLock::new(|| Needle::new(") "));
pub(super) static SESSION: LazyLock<Needle> = LazyLock::new(|| Needle::new(":session"));
pub(super) static PASSWORD: LazyLock<Needle> = LazyLock::new(|| Needle::new(":password"));
pub(super) static ACCOUNT: LazyLock<Needle> = LazyLock::new(|| Needle::new(":account"));
pub(super) static MORE: LazyLock<Needle> =
    LazyLock::new(|| Needle::new(" more authentication failure"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_positions_as_str_find() {
        for h in [
            "",
            " from ",
            "root from 1.2.3.4 port 22 from x",
            "éé from é port 1 port 2",
            "no match here",
        ] {
            assert_eq!(FROM.find(h), h.find(" from "), "{h}");
            assert_eq!(FROM.rfind(h), h.rfind(" from "), "{h}");
            assert_eq!(PORT.find(h), h.find(" port "), "{h}");
            assert_eq!(PORT.rfind(h), h.rfind(" port "), "{h}");
        }
    }
}

//! Rows delivered once. SaaS audit exports and pulled audit logs overlap: an
//! admin downloads "the last week" every few days, a pull asks again for a
//! window that a failure cut short. A row an earlier export (or pull) of the
//! same source already delivered must not be counted again, or three failures
//! count as six and lock a user who did nothing wrong.
//!
//! A row is known by its identity ([`RowId`], a hash of its columns), kept per
//! source for the retention of the service (a row older than that cannot be
//! in a new export: LINE WORKS keeps 180 days). The identities live in the
//! state database, committed in the same transaction as the rule state the
//! rows produced ([`Once::take_fresh`] into the batch), so a `kill -9` neither
//! forgets a counted row nor remembers an uncounted one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// A row's identity: the first 128 bits of SHA-256 over its columns. A
/// cryptographic hash, not the seeded in-process one: identities are stored
/// and compared across runs, and a sender must not be able to make two
/// different rows collide so that one hides the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId(pub [u8; 16]);

impl RowId {
    /// The identity of a row given as its column values, in order. Each value
    /// is length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
    pub fn of_fields<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> RowId {
        let mut h = Sha256::new();
        for f in fields {
            h.update((f.len() as u64).to_le_bytes());
            h.update(f);
        }
        RowId::from_digest(&h.finalize())
    }

    /// The identity of a row given as one line (a JSON record, say): its bytes
    /// without trailing whitespace or line terminator.
    pub fn of_line(line: &[u8]) -> RowId {
        let end = line
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        RowId::of_fields([&line[..end]])
    }

    /// The identity of a parsed CSV record: its decoded, unquoted fields with
    /// surrounding blanks trimmed. Two downloads of one row differ in bytes
    /// (a BOM, quoting, CRLF, UTF-8 or Shift_JIS) but not in these.
    pub fn of_record<'a>(fields: impl IntoIterator<Item = &'a str>) -> RowId {
        RowId::of_fields(
            fields
                .into_iter()
                .map(|f| f.trim_matches(|c: char| c.is_whitespace()).as_bytes()),
        )
    }

    /// The identity of the `k`-th copy (from 0) of this row within one file:
    /// the first is the row's own identity.
    pub fn nth(self, k: u32) -> RowId {
        if k == 0 {
            return self;
        }
        RowId::of_fields([&self.0[..], &k.to_le_bytes()[..]])
    }

    fn from_digest(d: &[u8]) -> RowId {
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        RowId(id)
    }
}

/// How many distinct rows [`Occurrences`] remembers: identical rows share
/// their time (to the second), so they stand close together in an export.
const OCCURRENCE_WINDOW: usize = 4096;

/// Numbers identical rows within one file. An export lists every attempt, and
/// five failures of one user from one address within one second are five
/// identical rows: they must count five times. So the `k`-th copy of a row in
/// a file gets its own identity ([`RowId::nth`]), and a later export holding
/// the same five copies repeats exactly those five identities. Only the last
/// [`OCCURRENCE_WINDOW`] distinct rows are remembered, so memory does not
/// grow with the file.
#[derive(Debug, Default)]
pub struct Occurrences {
    counts: HashMap<RowId, u32, foldhash::fast::RandomState>,
    order: std::collections::VecDeque<RowId>,
}

impl Occurrences {
    /// A new file starts: its copies are numbered from 0 again.
    pub fn clear(&mut self) {
        self.counts.clear();
        self.order.clear();
    }

    /// The identity of this copy of `row` in the current file.
    pub fn next(&mut self, row: RowId) -> RowId {
        if let Some(k) = self.counts.get_mut(&row) {
            *k += 1;
            return row.nth(*k);
        }
        if self.order.len() == OCCURRENCE_WINDOW
            && let Some(old) = self.order.pop_front()
        {
            self.counts.remove(&old);
        }
        self.order.push_back(row);
        self.counts.insert(row, 0);
        row
    }
}

/// A row delivered for the first time, to be stored until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRow {
    pub source: String,
    pub id: RowId,
    /// First seen plus the source's retention: after this no export can
    /// carry the row again, and it is forgotten.
    pub expires: DateTime<Utc>,
}

/// The rows of every deduplicated source seen so far, and those seen since the
/// last commit.
#[derive(Debug, Default)]
pub struct Once {
    /// Per source, each identity with when it expires (Unix seconds).
    seen: HashMap<String, HashMap<RowId, i64, foldhash::fast::RandomState>>,
    fresh: Vec<SeenRow>,
    duplicates: u64,
}

impl Once {
    /// Starts from the rows stored by earlier runs.
    pub fn new(stored: impl IntoIterator<Item = SeenRow>) -> Once {
        let mut once = Once::default();
        for row in stored {
            once.seen
                .entry(row.source)
                .or_default()
                .insert(row.id, row.expires.timestamp());
        }
        once
    }

    /// True the first time `id` is offered for `source`: the row is to be
    /// delivered, and is remembered until `expires`. False for a row already
    /// delivered (counted in [`Once::duplicates`]).
    pub fn first_time(&mut self, source: &str, id: RowId, expires: DateTime<Utc>) -> bool {
        let set = match self.seen.get_mut(source) {
            Some(set) => set,
            None => self.seen.entry(source.to_owned()).or_default(),
        };
        if set.contains_key(&id) {
            self.duplicates += 1;
            return false;
        }
        set.insert(id, expires.timestamp());
        self.fresh.push(SeenRow {
            source: source.to_owned(),
            id,
            expires,
        });
        true
    }

    /// The rows first seen since the last call: they go into the commit of
    /// the rule state they produced. A failed commit gives them back with
    /// [`Once::restore_fresh`].
    pub fn take_fresh(&mut self) -> Vec<SeenRow> {
        std::mem::take(&mut self.fresh)
    }

    /// Puts back rows a failed commit did not store (before newer ones).
    pub fn restore_fresh(&mut self, mut rows: Vec<SeenRow>) {
        rows.append(&mut self.fresh);
        self.fresh = rows;
    }

    /// Rows offered again and not delivered, since start.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Forgets the rows that expired by `now` (the state deletes them at
    /// each commit): memory stays bounded by the retention.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let now = now.timestamp();
        for set in self.seen.values_mut() {
            set.retain(|_, expires| *expires > now);
        }
    }

    /// How many identities are held, over all sources.
    pub fn len(&self) -> usize {
        self.seen.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<Utc> {
        "2026-12-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_row_is_delivered_once_per_source() {
        let mut once = Once::default();
        let a = RowId::of_fields([&b"2026-12-01 09:00:00"[..], b"alice", b"Failed"]);
        assert!(once.first_time("lw", a, t()));
        assert!(!once.first_time("lw", a, t()));
        // Another source's copy of the same row is its own.
        assert!(once.first_time("other", a, t()));
        assert_eq!(once.duplicates(), 1);
        let fresh = once.take_fresh();
        assert_eq!(fresh.len(), 2);
        assert!(once.take_fresh().is_empty());
    }

    #[test]
    fn stored_rows_are_known_after_a_restart() {
        let a = RowId::of_line(b"{\"uuid\":\"1\"}\r\n");
        let mut once = Once::new([SeenRow {
            source: "okta".to_owned(),
            id: a,
            expires: t(),
        }]);
        assert!(!once.first_time("okta", RowId::of_line(b"{\"uuid\":\"1\"}"), t()));
        assert!(once.take_fresh().is_empty());
    }

    #[test]
    fn expired_rows_are_forgotten() {
        let mut once = Once::default();
        let later = t() + chrono::Duration::days(180);
        once.first_time("lw", RowId::of_line(b"old"), t());
        once.first_time("lw", RowId::of_line(b"new"), later);
        once.prune(t());
        assert_eq!(once.len(), 1);
        assert!(once.first_time("lw", RowId::of_line(b"old"), later));
        assert!(!once.first_time("lw", RowId::of_line(b"new"), later));
    }

    #[test]
    fn a_record_is_known_by_its_fields_not_its_bytes() {
        let a = RowId::of_record(["2026-05-11 09:00:00", "Sato, Hanako(h@x)", "Login failed"]);
        let b = RowId::of_record([
            " 2026-05-11 09:00:00",
            "Sato, Hanako(h@x)",
            "Login failed\r",
        ]);
        assert_eq!(a, b);
        assert_ne!(
            a,
            RowId::of_record(["2026-05-11 09:00:01", "Sato, Hanako(h@x)", "Login failed"])
        );
    }

    /// Two downloads of one LINE WORKS row: UTF-8 with BOM, quoted, CRLF;
    /// and Shift_JIS, quoted only where needed. One identity.
    #[test]
    fn two_downloads_of_a_row_have_one_identity_whatever_their_bytes() {
        use crate::parse::{Format, LineCtx, ParseOptions, Parser};
        let fields = |lines: &[&[u8]]| {
            let format = Format::by_name("lineworks-audit", &[]).unwrap();
            let opts = ParseOptions::at(t());
            let mut p = Parser::new(&format, &opts, LineCtx { path: "x".into() });
            for l in &lines[..lines.len() - 1] {
                p.parse(l, 0).unwrap();
            }
            let last = lines[lines.len() - 1];
            p.parse(last, 100).unwrap().expect("an event");
            RowId::of_record(p.record().unwrap().iter())
        };
        let sjis = |s: &str| encoding_rs::SHIFT_JIS.encode(s).0.into_owned();
        let utf8 = fields(&[
            "\u{feff}\"日時\",\"ユーザー\",\"内容\"\r".as_bytes(),
            "\"2026-05-11 09:00:00\",\"佐藤 花子(hanako@example.com)\",\"Login failed (Incorrect password)\"\r".as_bytes(),
        ]);
        let (h, r) = (
            sjis("日時,ユーザー,内容"),
            sjis(
                "2026-05-11 09:00:00,佐藤 花子(hanako@example.com),Login failed (Incorrect password)",
            ),
        );
        assert_eq!(utf8, fields(&[&h, &r]));
        let other = sjis(
            "2026-05-11 09:00:01,佐藤 花子(hanako@example.com),Login failed (Incorrect password)",
        );
        assert_ne!(utf8, fields(&[&h, &other]));
    }

    #[test]
    fn identical_rows_in_one_file_are_each_their_own_and_match_the_same_copies_later() {
        let row = RowId::of_line(b"09:00 taro failed");
        let other = RowId::of_line(b"09:00 jiro failed");
        let mut occ = Occurrences::default();
        let first: Vec<RowId> = [row, other, row, row].map(|r| occ.next(r)).into();
        assert_eq!(first[0], row);
        assert_eq!(first[1], other);
        assert_ne!(first[2], row);
        assert_ne!(first[3], first[2]);
        // The next file numbers its copies again: the same identities.
        occ.clear();
        let mut once = Once::default();
        for id in &first {
            assert!(once.first_time("lw", *id, t()));
        }
        let again: Vec<RowId> = [row, row, row, row].map(|r| occ.next(r)).into();
        let delivered = again
            .iter()
            .filter(|id| once.first_time("lw", **id, t()))
            .count();
        // Three copies were counted before: only the fourth is new.
        assert_eq!(delivered, 1);
    }

    #[test]
    fn the_occurrence_window_is_bounded() {
        let mut occ = Occurrences::default();
        for i in 0..(OCCURRENCE_WINDOW as u32 + 10) {
            occ.next(RowId::of_line(&i.to_le_bytes()));
        }
        assert_eq!(occ.counts.len(), OCCURRENCE_WINDOW);
        assert_eq!(occ.order.len(), OCCURRENCE_WINDOW);
    }

    #[test]
    fn fields_are_length_prefixed() {
        assert_ne!(
            RowId::of_fields([&b"ab"[..], b"c"]),
            RowId::of_fields([&b"a"[..], b"bc"])
        );
    }

    #[test]
    fn a_failed_commit_gives_its_rows_back_first() {
        let mut once = Once::default();
        let (a, b) = (RowId::of_line(b"a"), RowId::of_line(b"b"));
        once.first_time("s", a, t());
        let taken = once.take_fresh();
        once.first_time("s", b, t());
        once.restore_fresh(taken);
        let ids: Vec<RowId> = once.take_fresh().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![a, b]);
    }
}

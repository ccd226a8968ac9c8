//! The raw log lines an alert quotes as evidence: a bounded store of the most
//! recent lines per target (user name, source address), kept by the ingest loop.
//!
//! Why references and not text: the ingest path handles a million lines a
//! second, and copying each line into a `String` would cost an allocation per
//! line and, under a spray from a million addresses, tens of megabytes. So the
//! store keeps where each line is (file path, offset, length) and a 32-bit hash
//! of its bytes; the few lines an alert quotes are read back from the file when
//! the alert is built, and a line whose bytes no longer hash the same (the file
//! was rotated, truncated or replaced meanwhile) is left out rather than quoted
//! wrongly.
//!
//! Bounds without an allocation per line or per key: the references live in
//! ONE ring of [`SLOTS`] slots (the most recent lines of every key together),
//! each slot linked to the previous line of its user and of its address; a
//! map gives each key its latest slot. A link is valid while the slot it
//! points to still holds the line it was made for (a sequence number says),
//! so overwritten history simply ends a key's chain. The map is bounded to
//! `2 * generation` keys as two generations: when the current one is full it
//! becomes the previous one and the older one is dropped whole. A key touched
//! in the current generation survives; O(1) per line, no per-key timestamps.

use std::fs::File;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::os::unix::fs::FileExt;

// The key maps are seeded per map (foldhash): user names and source addresses
// are attacker-chosen, and an unseeded hasher such as Fx would let a crafted
// set of them collide into one probe chain (hash flooding).
use foldhash::HashMap;
use foldhash::fast::FixedState;

use crate::decision::Target;
use crate::event::{AuthEvent, Name};

/// Keys per generation (the map holds at most twice this many). 14 Ki and
/// not 16 Ki: a hash table keeps at most 7/8 of its buckets full, so 14 Ki
/// keys fit 16 Ki buckets (512 KiB) where 16 Ki keys would take 32 Ki.
pub const GENERATION: usize = 14 * 1024;

/// Lines remembered in all (56 bytes each: 3.5 MiB, allocated once).
pub const SLOTS: usize = 64 * 1024;

/// What a line is about: a target of decisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SampleKey {
    User(Name),
    Ip(IpAddr),
}

/// Where one line is, and a hash to recognise it when reading it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRef {
    pub path: Name,
    pub offset: u64,
    pub len: u32,
    pub hash: u32,
}

/// The hash a [`SampleRef`] keeps of its line (foldhash: a few cycles per 8
/// bytes). A fixed seed, not a random one: this hash keys no table (nothing to
/// flood) and must only come out the same when the same bytes are read back.
pub fn line_hash(line: &[u8]) -> u32 {
    FixedState::with_seed(LINE_HASH_SEED).hash_one(line) as u32
}

/// Any constant does; see [`line_hash`].
const LINE_HASH_SEED: u64 = 0x6c69_6e65_6861_7368;

impl SampleRef {
    /// The reference of `line`, found at `offset` of `path`.
    pub fn new(path: Name, offset: u64, line: &[u8]) -> SampleRef {
        SampleRef {
            path,
            offset,
            len: u32::try_from(line.len()).unwrap_or(u32::MAX),
            hash: line_hash(line),
        }
    }
}

/// A position in the ring: the write sequence number of a line (1 for the
/// first). The line is in slot `(seq - 1) % SLOTS` and the link is valid
/// while that slot still holds it (its `seq` is the same). One `u64` (and
/// `Option<Link>` too, thanks to the niche): a slot is 56 bytes, not 88.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Link(NonZeroU64);

impl Link {
    fn idx(self) -> usize {
        ((self.0.get() - 1) % SLOTS as u64) as usize
    }
}

#[derive(Debug)]
struct Slot {
    r: SampleRef,
    /// Write sequence of this slot's line.
    seq: Link,
    /// The previous line of the same user and of the same address.
    prev_user: Option<Link>,
    prev_ip: Option<Link>,
}

/// The bounded store (see the module doc).
#[derive(Debug)]
pub struct Samples {
    per_key: usize,
    generation: usize,
    slots: Vec<Slot>,
    /// Lines written so far (the next goes to slot `seq % SLOTS`).
    seq: u64,
    current: HashMap<SampleKey, Link>,
    previous: HashMap<SampleKey, Link>,
    /// The references of each decision made since the last commit, by decision
    /// id, taken when it was made (so later lines do not crowd out the evidence).
    captured: HashMap<String, Vec<SampleRef>>,
}

impl Samples {
    /// A store keeping `per_key` lines per key (0: keeps nothing) and at most
    /// `2 * generation` keys.
    pub fn new(per_key: usize, generation: usize) -> Samples {
        Samples {
            per_key,
            generation: generation.max(1),
            // All at once when enabled: growing by doubling would hold the
            // old and the new vector together for a moment.
            slots: if per_key > 0 {
                Vec::with_capacity(SLOTS)
            } else {
                Vec::new()
            },
            seq: 0,
            current: HashMap::default(),
            previous: HashMap::default(),
            captured: HashMap::default(),
        }
    }

    /// Keeps the current references of `d`'s target for its alert.
    pub fn capture(&mut self, d: &crate::decision::Decision) {
        if self.enabled() {
            let refs = self.for_target(&d.target);
            self.captured.insert(d.id.clone(), refs);
        }
    }

    /// What [`Samples::capture`] kept for decision `id`.
    pub fn captured(&self, id: &str) -> &[SampleRef] {
        self.captured.get(id).map_or(&[], Vec::as_slice)
    }

    /// Forgets the captures (after the decisions they belong to are committed).
    pub fn clear_captured(&mut self) {
        self.captured.clear();
    }

    /// Whether the store keeps anything at all.
    pub fn enabled(&self) -> bool {
        self.per_key > 0
    }

    /// Keys held now (both generations).
    pub fn keys(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Records `line` (at `offset` of `path`) under the event's user and source address.
    pub fn record(&mut self, ev: &AuthEvent, path: &Name, offset: u64, line: &[u8]) {
        if self.enabled() && (ev.user.is_some() || ev.source_ip.is_some()) {
            let r = SampleRef::new(path.clone(), offset, line);
            self.push(ev.user.as_ref(), ev.source_ip, r);
        }
    }

    /// Appends `r` as the latest line of `user` and of `ip`.
    pub fn push(&mut self, user: Option<&Name>, ip: Option<IpAddr>, r: SampleRef) {
        if !self.enabled() {
            return;
        }
        // Slots fill in order (`seq` 1 in slot 0), then wrap around.
        self.seq = self.seq.wrapping_add(1);
        let Some(link) = NonZeroU64::new(self.seq).map(Link) else {
            return;
        };
        let prev_user = user.and_then(|u| self.latest(SampleKey::User(u.clone()), link));
        let prev_ip = ip.and_then(|ip| self.latest(SampleKey::Ip(ip), link));
        let slot = Slot {
            r,
            seq: link,
            prev_user,
            prev_ip,
        };
        match self.slots.get_mut(link.idx()) {
            Some(s) => *s = slot,
            None => self.slots.push(slot),
        }
    }

    /// Makes `link` the latest line of `key`; returns the previous latest.
    fn latest(&mut self, key: SampleKey, link: Link) -> Option<Link> {
        if let Some(l) = self.current.get_mut(&key) {
            return Some(std::mem::replace(l, link));
        }
        let prev = self.previous.remove(&key);
        if self.current.len() >= self.generation {
            self.previous = std::mem::take(&mut self.current);
            self.current.reserve(self.generation);
        }
        self.current.insert(key, link);
        prev
    }

    fn valid(&self, l: Link) -> Option<&Slot> {
        self.slots.get(l.idx()).filter(|s| s.seq == l)
    }

    /// Up to `per_key` links of a chain, newest first.
    fn chain(&self, key: &SampleKey, user: bool) -> Vec<Link> {
        let mut out = Vec::new();
        let mut next = self
            .current
            .get(key)
            .or_else(|| self.previous.get(key))
            .copied();
        while let Some(l) = next.filter(|_| out.len() < self.per_key) {
            let Some(slot) = self.valid(l) else { break };
            out.push(l);
            next = if user { slot.prev_user } else { slot.prev_ip };
        }
        out
    }

    /// The most recent references for a decision's target, oldest first: the
    /// lines of its user and of its address together (a target naming both),
    /// in the order they were read, at most `per_key`.
    pub fn for_target(&self, target: &Target) -> Vec<SampleRef> {
        let mut links: Vec<Link> = Vec::new();
        if let Some(u) = &target.user {
            links.extend(self.chain(&SampleKey::User(u.clone()), true));
        }
        if let Some(ip) = target.ip {
            links.extend(self.chain(&SampleKey::Ip(ip), false));
        }
        links.sort_unstable_by_key(|l| std::cmp::Reverse(*l));
        links.dedup();
        links.truncate(self.per_key);
        links
            .iter()
            .rev()
            .filter_map(|l| self.valid(*l).map(|s| s.r.clone()))
            .collect()
    }
}

/// Reads lines back for alerts, escaped; a line that cannot be read or no
/// longer matches its hash is left out (see the module doc).
///
/// Why a reader and not a function: the alerts of one commit (thousands in a
/// distributed attack) quote lines of the same few files, and opening a file
/// per alert costs a system call pair and, worse, a change notification to
/// the daemon's own file watcher each time. A reader keeps each file open for
/// its lifetime: make one per commit, so a rotated file is seen anew by the
/// next one.
#[derive(Debug, Default)]
pub struct LineReader {
    open: Vec<(Name, Option<File>)>,
}

impl LineReader {
    /// The lines of `refs`, in order, escaped, leaving out the unreadable ones.
    pub fn read(&mut self, refs: &[SampleRef]) -> Vec<String> {
        let mut out = Vec::with_capacity(refs.len());
        let mut buf = Vec::new();
        for r in refs {
            let Some(f) = self.file(&r.path) else {
                continue;
            };
            buf.clear();
            buf.resize(r.len as usize, 0);
            if f.read_exact_at(&mut buf, r.offset).is_ok() && line_hash(&buf) == r.hash {
                out.push(crate::escape::bytes(&buf));
            }
        }
        out
    }

    /// The open file of `path` (`None`: it could not be opened, which is
    /// remembered too, so a missing file is tried once per reader).
    fn file(&mut self, path: &Name) -> Option<&File> {
        let i = match self.open.iter().position(|(p, _)| p == path) {
            Some(i) => i,
            None => {
                self.open.push((path.clone(), File::open(&**path).ok()));
                self.open.len() - 1
            }
        };
        self.open.get(i).and_then(|(_, f)| f.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    fn r(i: u64) -> SampleRef {
        SampleRef::new(Arc::from("/nonexistent"), i, format!("line {i}").as_bytes())
    }

    fn user(u: &str) -> Option<Name> {
        Some(Arc::from(u))
    }

    #[test]
    fn keeps_the_last_n_per_key() {
        let mut s = Samples::new(3, 100);
        for i in 0..10 {
            s.push(user("alice").as_ref(), None, r(i));
            s.push(user("bob").as_ref(), None, r(100 + i));
        }
        let got: Vec<u64> = s
            .for_target(&Target::user(Arc::from("alice")))
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(got, vec![7, 8, 9]);
        assert_eq!(s.for_target(&Target::user(Arc::from("bob")))[0].offset, 107);
        assert!(s.for_target(&Target::user(Arc::from("carol"))).is_empty());
    }

    #[test]
    fn zero_keeps_nothing() {
        let mut s = Samples::new(0, 100);
        s.push(user("alice").as_ref(), None, r(1));
        assert_eq!(s.keys(), 0);
        assert!(s.for_target(&Target::user(Arc::from("alice"))).is_empty());
    }

    #[test]
    fn keys_are_bounded_and_the_oldest_evicted() {
        let mut s = Samples::new(2, 1000);
        for i in 0..1_000_000u32 {
            s.push(None, Some(IpAddr::from(i.to_be_bytes())), r(u64::from(i)));
            assert!(s.keys() <= 2000);
        }
        // The most recent keys are there, the first ones are gone.
        let last = IpAddr::from(999_999u32.to_be_bytes());
        assert_eq!(s.for_target(&Target::ip(last)).len(), 1);
        let first = IpAddr::from(0u32.to_be_bytes());
        assert!(s.for_target(&Target::ip(first)).is_empty());
    }

    #[test]
    fn overwritten_history_ends_a_chain_without_wrong_lines() {
        let mut s = Samples::new(5, 1_000_000);
        s.push(user("old").as_ref(), None, r(1));
        s.push(user("old").as_ref(), None, r(2));
        // A spray overwrites every slot but one of "old"'s lines' slots.
        for i in 0..SLOTS as u64 - 1 {
            s.push(user("spray").as_ref(), None, r(1000 + i));
        }
        let got: Vec<u64> = s
            .for_target(&Target::user(Arc::from("old")))
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(got, vec![2]);
        s.push(user("spray").as_ref(), None, r(7));
        assert!(s.for_target(&Target::user(Arc::from("old"))).is_empty());
        // The chain of the spraying user holds its last five, not the old ones.
        let spray: Vec<u64> = s
            .for_target(&Target::user(Arc::from("spray")))
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(spray.len(), 5);
        assert_eq!(spray[4], 7);
    }

    #[test]
    fn a_key_in_use_survives_generations() {
        let mut s = Samples::new(2, 10);
        for i in 0..1000u32 {
            s.push(user("victim").as_ref(), None, r(u64::from(i)));
            s.push(None, Some(IpAddr::from(i.to_be_bytes())), r(0));
        }
        assert_eq!(s.for_target(&Target::user(Arc::from("victim"))).len(), 2);
    }

    #[test]
    fn user_and_ip_target_merges_without_repeats() {
        let mut s = Samples::new(3, 100);
        let ip: IpAddr = [192, 0, 2, 7].into();
        s.push(None, Some(ip), r(1));
        // One line naming both: quoted once.
        s.push(user("alice").as_ref(), Some(ip), r(2));
        s.push(user("bob").as_ref(), None, r(3));
        s.push(user("alice").as_ref(), None, r(4));
        let t = Target {
            user: Some(Arc::from("alice")),
            ip: Some(ip),
            net: None,
        };
        let got: Vec<u64> = s.for_target(&t).iter().map(|r| r.offset).collect();
        assert_eq!(got, vec![1, 2, 4]);
    }

    #[test]
    fn read_back_checks_the_bytes_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"first\nuser \x1b[2Jx\n").unwrap();
        let p: Name = Arc::from(path.to_str().unwrap());
        let good = SampleRef::new(p.clone(), 6, b"user \x1b[2Jx");
        let stale = SampleRef::new(p.clone(), 0, b"other");
        let gone = SampleRef::new(Arc::from("/nonexistent/x"), 0, b"first");
        let mut reader = LineReader::default();
        assert_eq!(
            reader.read(&[stale, good.clone(), gone.clone()]),
            vec!["user \\u{1b}[2Jx"]
        );
        // Files stay open (a missing one stays missing) for the reader's life.
        assert_eq!(reader.read(&[gone, good]), vec!["user \\u{1b}[2Jx"]);
        assert_eq!(reader.open.len(), 2);
    }
}

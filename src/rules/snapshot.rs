//! Saving and restoring the engine's state, and swapping its rule set live.
//!
//! The daemon commits [`Engine::snapshot`] with the file offsets it corresponds
//! to; after a crash, [`Engine::restore`] plus reading from those offsets gives
//! exactly the decisions (ids included) of a run that never stopped. So the
//! snapshot holds everything that influences a future decision: every key's
//! window entries, its suppression end, escalation history, the sweep clock and
//! the counters.
//!
//! Rule state belongs to a rule *definition*, not just an id: each rule is saved
//! with a [`fingerprint`] of its compiled form, and state whose rule has since
//! changed (a different `count`, window, condition...) is dropped rather than
//! applied to a rule it was not built for. [`Engine::reload`] follows the same
//! rule when the rules directory changes under a running daemon.
//!
//! The wire types below are mirrors of the engine's, kept apart on purpose: the
//! in-memory types can change shape for speed without silently changing the
//! stored format, which only changes with [`ENGINE_FORMAT`]. Saving borrows the
//! engine (no copy of the state is built); restoring borrows names from the
//! bytes and interns them, so a user seen under many keys shares one allocation
//! again, as it did before.

use std::net::IpAddr;
use std::sync::Arc;

// Seeded like the engine's maps (foldhash; see `rule_state`): the restored key
// map is filled from names an attacker chose. The snapshot writes keys in map
// order, so its bytes differ between runs with the same state; restoring reads
// them into a map by key, so what the engine decides does not.
use foldhash::HashMap;
use serde::{Deserialize, Serialize, Serializer};

use super::engine::{Engine, outcome_index};
use super::key::{Key, Net, Val};
use super::model::{RuleSet, fingerprint};
use super::rule_state::RuleState;
use super::window::{Entry, KeyState, NEVER};
use crate::decision::Mode;
use crate::event::Name;
use crate::intern::Interner;
use crate::snapshot::{
    SnapshotError, SnapshotKind, Streamed, decode, encode, encode_to, encoded_len, opt_time,
    version,
};

/// Version of the engine snapshot layout: bump it with any change to the wire
/// types of this module (an older snapshot is then refused, not misread, unless
/// [`Engine::restore`] still reads its layout).
///
/// 5: each key ends with its `protected` flag. Version 4 (the same without
/// it) is still read, its keys unprotected: the flag is set again by the next
/// event of a known account.
pub const ENGINE_FORMAT: u8 = 5;

/// The previous layout, still read (see [`ENGINE_FORMAT`]).
const ENGINE_FORMAT_V4: u8 = 4;

/// What [`Engine::reload`] did with each rule's state, for the daemon's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Unchanged rules: their state carried over.
    pub kept: Vec<Name>,
    /// Rules whose definition changed: they start empty.
    pub reset: Vec<Name>,
    /// Rules new in the set.
    pub added: Vec<Name>,
    /// Rules no longer in the set: their state was dropped.
    pub removed: Vec<Name>,
}

impl Engine {
    /// The engine's whole state as compact versioned bytes (see the module doc).
    /// Costs one pass over the keys; the engine is not changed.
    pub fn snapshot(&self) -> Vec<u8> {
        encode(SnapshotKind::Engine, ENGINE_FORMAT, &self.wire())
    }

    /// The engine's state in its wire form, borrowing every key and window.
    fn wire(&self) -> EngineOut<'_> {
        let rules = self
            .rules
            .rules
            .iter()
            .zip(&self.fingerprints)
            .zip(&self.states)
            .map(|((r, &fingerprint), st)| RuleOut {
                id: &r.id,
                fingerprint,
                evicted: st.evicted,
                decisions: st.decisions,
                suppressed: st.suppressed,
                late: st.late,
                matches: st.matches,
                keys: KeysOut(&st.keys),
            })
            .collect();
        EngineOut {
            next_sweep: opt_time(self.next_sweep),
            rules,
        }
    }

    /// An engine running `rules` with the state saved in `bytes`. State of rules
    /// that are gone or whose definition changed since is dropped (logged); new
    /// rules start empty. An error (another format version, corrupt bytes) means
    /// the caller should start with [`Engine::new`] and say so.
    pub fn restore(rules: Arc<RuleSet>, mode: Mode, bytes: &[u8]) -> Result<Engine, SnapshotError> {
        let snap: EngineIn<bool> = match version(SnapshotKind::Engine, bytes)? {
            ENGINE_FORMAT_V4 => {
                decode::<EngineIn<()>>(SnapshotKind::Engine, ENGINE_FORMAT_V4, bytes)?.upgrade()
            }
            _ => decode(SnapshotKind::Engine, ENGINE_FORMAT, bytes)?,
        };
        let mut engine = Engine::new(rules, mode);
        engine.next_sweep = snap.next_sweep.unwrap_or(NEVER);
        let index: HashMap<&str, usize> = engine
            .rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (&*r.id, i))
            .collect();
        let mut names = Interner::default();
        for saved in snap.rules {
            let Some(&i) = index.get(saved.id) else {
                tracing::info!(
                    rule = saved.id,
                    "rule removed since the snapshot: its state is dropped"
                );
                continue;
            };
            if engine.fingerprints.get(i) != Some(&saved.fingerprint) {
                tracing::info!(
                    rule = saved.id,
                    "rule changed since the snapshot: it starts with no state"
                );
                continue;
            }
            if let Some(st) = engine.states.get_mut(i) {
                *st = rule_state(saved, &mut names);
            }
        }
        Ok(engine)
    }

    /// Swaps in a new rule set. State of unchanged rules (same id, same
    /// [`fingerprint`]) carries over, so an attack straddling a reload is still
    /// counted whole; changed and new rules start empty; removed rules' state is
    /// dropped. The sweep clock and the mode stay.
    pub fn reload(&mut self, rules: Arc<RuleSet>) -> ReloadReport {
        let old_rules = std::mem::replace(&mut self.rules, rules);
        let old_states = std::mem::take(&mut self.states);
        let old_fps = std::mem::take(&mut self.fingerprints);
        let mut old: HashMap<Name, (u64, RuleState)> = old_rules
            .rules
            .iter()
            .zip(old_fps)
            .zip(old_states)
            .map(|((r, fp), st)| (r.id.clone(), (fp, st)))
            .collect();
        let mut report = ReloadReport::default();
        for r in &self.rules.rules {
            let fp = fingerprint(r);
            let st = match old.remove(&*r.id) {
                Some((old_fp, st)) if old_fp == fp => {
                    report.kept.push(r.id.clone());
                    st
                }
                Some(_) => {
                    report.reset.push(r.id.clone());
                    RuleState::default()
                }
                None => {
                    report.added.push(r.id.clone());
                    RuleState::default()
                }
            };
            self.fingerprints.push(fp);
            self.states.push(st);
        }
        // Removed rules, in their old order.
        report.removed = old_rules
            .rules
            .iter()
            .filter(|r| old.contains_key(&*r.id))
            .map(|r| r.id.clone())
            .collect();
        self.by_outcome = outcome_index(&self.rules);
        report
    }
}

fn rule_state(saved: RuleIn<'_, bool>, names: &mut Interner) -> RuleState {
    let mut keys = HashMap::default();
    keys.reserve(saved.keys.len());
    for k in saved.keys {
        let entries: thin_vec::ThinVec<Entry> = k
            .entries
            .into_iter()
            .map(|e| Entry {
                t: k.last_seen.wrapping_sub(e.back),
                ip: e.ip,
                user: e.user.map(|u| names.intern(u)),
                val: e.val.map(|v| v.into_val(names)),
            })
            .collect();
        let state = KeyState {
            entries,
            last_seen: k.last_seen,
            first_seen: k.last_seen.wrapping_sub(k.first_back),
            quiet_until: k.quiet_until.unwrap_or(NEVER),
            last_fire: k.last_fire.unwrap_or(NEVER),
            repeats: k.repeats,
            protected: k.protected,
        };
        keys.insert(k.key.into_key(names), state);
    }
    let mut st = RuleState {
        keys,
        protected: 0,
        evicted: saved.evicted,
        decisions: saved.decisions,
        suppressed: saved.suppressed,
        late: saved.late,
        matches: saved.matches,
    };
    st.recount();
    st
}

// ---- wire types (postcard is positional: the *Out and *In forms of one thing
// must list the same fields in the same order; the round-trip tests pin that).

#[derive(Serialize, Deserialize)]
enum WNet {
    V4(u32),
    V6(u64),
}

impl From<Net> for WNet {
    fn from(n: Net) -> WNet {
        match n {
            Net::V4(p) => WNet::V4(p),
            Net::V6(p) => WNet::V6(p),
        }
    }
}

impl From<WNet> for Net {
    fn from(n: WNet) -> Net {
        match n {
            WNet::V4(p) => Net::V4(p),
            WNet::V6(p) => Net::V6(p),
        }
    }
}

#[derive(Serialize, Deserialize)]
enum WKey<'a> {
    User(&'a str),
    Ip(IpAddr),
    UserIp(&'a str, IpAddr),
    Net(WNet),
}

impl<'a> WKey<'a> {
    fn of(k: &'a Key) -> WKey<'a> {
        match k {
            Key::User(u) => WKey::User(u),
            Key::Ip(ip) => WKey::Ip(*ip),
            Key::UserIp(u, ip) => WKey::UserIp(u, *ip),
            Key::Net(n) => WKey::Net((*n).into()),
        }
    }

    fn into_key(self, names: &mut Interner) -> Key {
        match self {
            WKey::User(u) => Key::User(names.intern(u)),
            WKey::Ip(ip) => Key::Ip(ip),
            WKey::UserIp(u, ip) => Key::UserIp(names.intern(u), ip),
            WKey::Net(n) => Key::Net(n.into()),
        }
    }
}

#[derive(Serialize, Deserialize)]
enum WVal<'a> {
    Name(&'a str),
    Ip(IpAddr),
    Net(WNet),
    Geo(i32, i32),
    Asn(u32),
}

impl<'a> WVal<'a> {
    fn of(v: &'a Val) -> WVal<'a> {
        match v {
            Val::Name(n) => WVal::Name(n),
            Val::Ip(ip) => WVal::Ip(*ip),
            Val::Net(n) => WVal::Net((*n).into()),
            Val::Geo(a, b) => WVal::Geo(*a, *b),
            Val::Asn(n) => WVal::Asn(*n),
        }
    }

    fn into_val(self, names: &mut Interner) -> Val {
        match self {
            WVal::Name(n) => Val::Name(names.intern(n)),
            WVal::Ip(ip) => Val::Ip(ip),
            WVal::Net(n) => Val::Net(n.into()),
            WVal::Geo(a, b) => Val::Geo(a, b),
            WVal::Asn(n) => Val::Asn(n),
        }
    }
}

/// An entry; its time is stored as the distance back from the key's
/// `last_seen` (a byte or two instead of six for an absolute millisecond time).
#[derive(Serialize, Deserialize)]
struct WEntry<'a> {
    back: i64,
    ip: Option<IpAddr>,
    #[serde(borrow)]
    user: Option<&'a str>,
    #[serde(borrow)]
    val: Option<WVal<'a>>,
}

impl<'a> WEntry<'a> {
    fn of(e: &'a Entry, last_seen: i64) -> WEntry<'a> {
        WEntry {
            // Wrapping both ways is exact whatever the values.
            back: last_seen.wrapping_sub(e.t),
            ip: e.ip,
            user: e.user.as_deref(),
            val: e.val.as_ref().map(WVal::of),
        }
    }
}

/// A key's entries, written straight from the engine's deque.
struct EntriesOut<'a>(&'a [Entry], i64);

impl Serialize for EntriesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|e| WEntry::of(e, self.1)))
    }
}

#[derive(Serialize)]
struct KeyOut<'a> {
    key: WKey<'a>,
    last_seen: i64,
    /// `first_seen`, as the distance back from `last_seen`.
    first_back: i64,
    quiet_until: Option<i64>,
    last_fire: Option<i64>,
    repeats: u32,
    entries: EntriesOut<'a>,
    protected: bool,
}

/// A key as read; `P` is its `protected` flag: `bool`, or `()` (nothing on
/// the wire) for a version 4 snapshot.
#[derive(Deserialize)]
struct KeyIn<'a, P> {
    #[serde(borrow)]
    key: WKey<'a>,
    last_seen: i64,
    first_back: i64,
    quiet_until: Option<i64>,
    last_fire: Option<i64>,
    repeats: u32,
    #[serde(borrow)]
    entries: Vec<WEntry<'a>>,
    protected: P,
}

/// A rule's keys, written straight from the engine's map.
struct KeysOut<'a>(&'a HashMap<Key, KeyState>);

impl Serialize for KeysOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(k, st)| KeyOut {
            key: WKey::of(k),
            last_seen: st.last_seen,
            first_back: st.last_seen.wrapping_sub(st.first_seen),
            quiet_until: opt_time(st.quiet_until),
            last_fire: opt_time(st.last_fire),
            repeats: st.repeats,
            entries: EntriesOut(&st.entries, st.last_seen),
            protected: st.protected,
        }))
    }
}

#[derive(Serialize)]
struct RuleOut<'a> {
    id: &'a str,
    fingerprint: u64,
    evicted: u64,
    decisions: u64,
    suppressed: u64,
    late: u64,
    matches: u64,
    keys: KeysOut<'a>,
}

#[derive(Deserialize)]
struct RuleIn<'a, P> {
    id: &'a str,
    fingerprint: u64,
    evicted: u64,
    decisions: u64,
    suppressed: u64,
    late: u64,
    matches: u64,
    #[serde(borrow)]
    keys: Vec<KeyIn<'a, P>>,
}

#[derive(Serialize)]
struct EngineOut<'a> {
    next_sweep: Option<i64>,
    rules: Vec<RuleOut<'a>>,
}

#[derive(Deserialize)]
struct EngineIn<'a, P> {
    next_sweep: Option<i64>,
    #[serde(borrow)]
    rules: Vec<RuleIn<'a, P>>,
}

impl<'a> EngineIn<'a, ()> {
    /// A version 4 snapshot in the current form: every key unprotected.
    fn upgrade(self) -> EngineIn<'a, bool> {
        EngineIn {
            next_sweep: self.next_sweep,
            rules: self
                .rules
                .into_iter()
                .map(|r| RuleIn {
                    id: r.id,
                    fingerprint: r.fingerprint,
                    evicted: r.evicted,
                    decisions: r.decisions,
                    suppressed: r.suppressed,
                    late: r.late,
                    matches: r.matches,
                    keys: r
                        .keys
                        .into_iter()
                        .map(|k| KeyIn {
                            key: k.key,
                            last_seen: k.last_seen,
                            first_back: k.first_back,
                            quiet_until: k.quiet_until,
                            last_fire: k.last_fire,
                            repeats: k.repeats,
                            entries: k.entries,
                            protected: false,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The daemon streams the engine's snapshot into the state database
/// ([`Streamed`]): the same bytes as [`Engine::snapshot`], never held whole.
impl Streamed for Engine {
    fn encoded_len(&self) -> Result<usize, SnapshotError> {
        encoded_len(&self.wire())
    }

    fn write_to(&self, out: &mut dyn std::io::Write) -> Result<(), SnapshotError> {
        encode_to(SnapshotKind::Engine, ENGINE_FORMAT, &self.wire(), out)
    }
}

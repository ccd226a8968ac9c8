//! Per-key window state: the recent matching events of one key of one rule, plus
//! what suppression and escalation must remember about its past decisions.
//!
//! A window holds at most `count` entries (a rule fires, and clears the window,
//! when it reaches `count`; `distinct` keeps one entry per value; `sequence` keeps
//! the latest `count`), so the memory of a key is bounded by the rule itself.
//! Times are event-time milliseconds; entries stay sorted by time even when
//! events arrive slightly out of order.

use std::net::IpAddr;
use thin_vec::ThinVec;

use chrono::{DateTime, Utc};

use super::key::Val;
use crate::decision::Evidence;
use crate::event::{AuthEvent, Name};

/// "Never" for the optional times below (kept as plain `i64` to stay small).
pub const NEVER: i64 = i64::MIN;

/// Evidence lists are capped so one decision stays small even for a flood.
pub const EVIDENCE_CAP: usize = 20;

/// One matching event, as much of it as evidence and `distinct` need.
#[derive(Debug, Clone)]
pub struct Entry {
    pub t: i64,
    pub ip: Option<IpAddr>,
    pub user: Option<Name>,
    /// The counted value (`distinct` rules only).
    pub val: Option<Val>,
}

/// The state of one key of one rule.
#[derive(Debug, Clone)]
pub struct KeyState {
    /// Matching events in the window, sorted by time. A `ThinVec` (one pointer,
    /// length and capacity in the allocation) rather than a `VecDeque` (four
    /// words): a window holds at most `count` entries, so removing from the
    /// front is cheap, and every key of every rule carries this field (the
    /// bench/flood.sh's 1 M distinct keys: peak RSS 146 -> 133 MiB in replay,
    /// 156 -> 145 MiB in the daemon; decisions and speed unchanged).
    pub entries: ThinVec<Entry>,
    /// Newest event time seen for the key (drives sweeping and eviction).
    pub last_seen: i64,
    /// When the key's history began (`novelty` rules stay quiet while it
    /// is young).
    pub first_seen: i64,
    /// Matches before this time are suppressed (a decision is active).
    pub quiet_until: i64,
    /// `at` of the key's last decision, for escalation.
    pub last_fire: i64,
    /// How many decisions in a row were repeats (escalation exponent).
    pub repeats: u32,
    /// A known account's key (see `AuthEvent::user_known`): counted against
    /// its own cap and never evicted to make room for an unknown one.
    pub protected: bool,
}

impl KeyState {
    /// A fresh key first seen at `t`.
    pub fn new(t: i64) -> KeyState {
        KeyState {
            entries: ThinVec::new(),
            last_seen: t,
            first_seen: t,
            quiet_until: NEVER,
            last_fire: NEVER,
            repeats: 0,
            protected: false,
        }
    }

    /// Time of the newest entry.
    pub fn newest(&self) -> Option<i64> {
        self.entries.last().map(|e| e.t)
    }

    /// Drops entries older than `cutoff` (the window is inclusive of `cutoff`).
    pub fn expire(&mut self, cutoff: i64) {
        let old = self.entries.partition_point(|e| e.t < cutoff);
        if old > 0 {
            self.entries.drain(..old);
        }
    }

    /// Adds an entry, keeping time order (a late event goes where it belongs).
    pub fn insert(&mut self, e: Entry) {
        // Most keys of a flood never see a second event: room for one entry,
        // not the four a first push reserves (216 bytes less per key, 65 MiB
        // less for a flood of a million addresses and names across the rules).
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(1);
        }
        if self.newest().is_none_or(|n| n <= e.t) {
            self.entries.push(e);
        } else {
            let i = self.entries.partition_point(|x| x.t <= e.t);
            self.entries.insert(i, e);
        }
    }

    /// Adds an entry for a `distinct` rule: one entry per value, the newest.
    pub fn insert_distinct(&mut self, e: Entry) {
        if let Some(pos) = self.entries.iter().position(|x| x.val == e.val) {
            if self.entries.get(pos).is_some_and(|x| x.t >= e.t) {
                return;
            }
            self.entries.remove(pos);
        }
        self.insert(e);
    }

    /// Drops entries at or before `t` (a success resets what came before it).
    pub fn clear_through(&mut self, t: i64) {
        if self.newest().is_none_or(|n| n <= t) {
            self.entries.clear();
        } else {
            self.entries.retain(|e| e.t > t);
        }
    }

    /// Keeps only the newest `n` entries.
    pub fn keep_last(&mut self, n: usize) {
        let extra = self.entries.len().saturating_sub(n);
        if extra > 0 {
            self.entries.drain(..extra);
        }
    }
}

fn time(ms: i64, fallback: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(fallback)
}

/// The evidence of a firing window; `trigger` is the success that fired a
/// `sequence` rule (it is not one of the counted entries but belongs in the lists).
pub fn evidence(entries: &[Entry], ev: &AuthEvent, trigger: bool) -> Evidence {
    let t = ev.timestamp.timestamp_millis();
    let first = entries.first().map_or(t, |e| e.t.min(t));
    let last = entries.last().map_or(t, |e| e.t.max(t));
    let extra = trigger.then_some(ev);
    let mut ips: Vec<IpAddr> = entries
        .iter()
        .filter_map(|e| e.ip)
        .chain(extra.and_then(|e| e.source_ip))
        .collect();
    ips.sort_unstable();
    ips.dedup();
    ips.truncate(EVIDENCE_CAP);
    let mut users: Vec<Name> = entries
        .iter()
        .filter_map(|e| e.user.clone())
        .chain(extra.and_then(|e| e.user.clone()))
        .collect();
    users.sort_unstable();
    users.dedup();
    users.truncate(EVIDENCE_CAP);
    Evidence {
        count: entries.len() as u64,
        first: time(first, ev.timestamp),
        last: time(last, ev.timestamp),
        source_ips: ips,
        users,
        hosts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(t: i64) -> Entry {
        Entry {
            t,
            ip: None,
            user: None,
            val: None,
        }
    }

    fn times(k: &KeyState) -> Vec<i64> {
        k.entries.iter().map(|e| e.t).collect()
    }

    #[test]
    fn late_entries_are_inserted_in_order() {
        let mut k = KeyState::new(0);
        for t in [10, 30, 20, 5, 30] {
            k.insert(e(t));
        }
        assert_eq!(times(&k), [5, 10, 20, 30, 30]);
        k.expire(20);
        assert_eq!(times(&k), [20, 30, 30]);
        k.clear_through(25);
        assert_eq!(times(&k), [30, 30]);
        k.clear_through(30);
        assert!(k.entries.is_empty());
    }

    #[test]
    fn distinct_keeps_one_entry_per_value() {
        let mut k = KeyState::new(0);
        let v = |t, n: u8| Entry {
            val: Some(Val::Ip(IpAddr::from([10, 0, 0, n]))),
            ..e(t)
        };
        k.insert_distinct(v(1, 1));
        k.insert_distinct(v(2, 2));
        k.insert_distinct(v(3, 1));
        k.insert_distinct(v(0, 2)); // older than the kept one: ignored
        assert_eq!(times(&k), [2, 3]);
    }
}

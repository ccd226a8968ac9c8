//! Bounded per-connection memory for correlating the lines of one attempt.
//!
//! A fixed, direct-mapped table: a slot per key hash, overwritten on collision,
//! so memory is constant however many connections a log holds and no line
//! allocates. A slot whose last line is older than [`EXPIRY_SECS`] of event time
//! starts over, so a reused pid never inherits an old connection's state.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::event::{Name, Reason, RefusedBy};

/// Number of slots (a power of two). Busy servers hold a few hundred
/// connections in pre-auth at once; collisions only cost correlation, never events.
const SLOTS: usize = 4096;

/// A slot idle this long (event time) is treated as a new connection. OpenSSH's
/// LoginGraceTime defaults to 120 s, so an attempt's lines fit well inside.
pub const EXPIRY_SECS: i64 = 600;

/// A failure known to have happened but held back: because its line lacks the
/// address (a later line of the connection gives it); because it is a
/// `pam_unix` module failure that a later success of the PAM stack may
/// overrule (pam_unix + pam_ldap setups log a failure on every good login); or
/// because it is a module's verdict on the attempt (an expired password or
/// account, a wrong MFA code, an inactive account) that sshd's own `Failed`,
/// `Accepted` or end line of the pid then decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub user: Option<Name>,
    pub ip: Option<IpAddr>,
    pub reason: Reason,
    /// The directive or account state that refused, when the line named it.
    pub by: Option<RefusedBy>,
}

/// sshd refused the connection's user (`User U not allowed because ...`) and
/// treats it as invalid from then on: each later `Failed ... invalid user` of
/// the connection is that refusal again, not an unknown user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    pub reason: Reason,
    pub by: Option<RefusedBy>,
}

/// What is remembered about one connection (one sshd pid) or one local
/// su/sudo invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conn {
    /// The table key ([`key`]); 0 for a slot never used.
    pub(super) key: u64,
    /// Event time (seconds) of the connection's last line.
    pub(super) last: i64,
    /// The client address, from any line that carried it.
    pub ip: Option<IpAddr>,
    /// The client port, likewise.
    pub port: Option<u16>,
    /// Failures already emitted for this connection.
    pub counted: u16,
    /// A login succeeded on this connection.
    pub success: bool,
    /// An emitted attempt (`Invalid user`, a refusal, a PAM verdict) whose own
    /// `Failed <method>` line has not come yet: that line is its echo.
    pub awaiting_failed: bool,
    /// A held-back failure, see [`Pending`].
    pub pending: Option<Pending>,
    /// The refusal of the connection's user, see [`Refusal`].
    pub refusal: Option<Refusal>,
}

impl Conn {
    /// Forgets everything but the key (a new connection on the same pid).
    pub fn reset(&mut self) {
        *self = Conn {
            key: self.key,
            last: self.last,
            ..Conn::default()
        };
    }

    /// True when the slot remembers something a later line would act on: a
    /// slot that only holds its key behaves exactly like an empty one.
    pub fn has_state(&self) -> bool {
        self.ip.is_some()
            || self.port.is_some()
            || self.counted > 0
            || self.success
            || self.awaiting_failed
            || self.pending.is_some()
            || self.refusal.is_some()
    }
}

/// The table of connections.
#[derive(Debug)]
pub struct Table {
    slots: Box<[Conn]>,
    /// Newest event time (seconds) looked up, `i64::MIN` before the first:
    /// what "expired" is measured against when the table is saved.
    newest: i64,
}

impl Default for Table {
    /// Empty, with no slots allocated: the slots (some 600 KB) come with the
    /// first line that needs one, so a parser that never sees an sshd line
    /// (`auto` on a JSON file, a restore of an empty snapshot, the fuzz
    /// targets' two parsers per input) costs nothing.
    fn default() -> Self {
        Table {
            slots: Box::default(),
            newest: i64::MIN,
        }
    }
}

/// The slot of a key. Fibonacci hashing spreads sequential pids over the table.
fn slot_of(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % SLOTS
}

impl Table {
    /// The slot for `key` at event time `ts`, fresh when it held another key
    /// or went idle longer than [`EXPIRY_SECS`]. Key 0 is never stored.
    pub fn get(&mut self, key: u64, ts: DateTime<Utc>) -> &mut Conn {
        let now = ts.timestamp();
        self.newest = self.newest.max(now);
        // (The slots are SLOTS long once allocated, so the index is in bounds.)
        let slot = &mut self.slots_mut()[slot_of(key)];
        if slot.key != key || (now - slot.last).abs() > EXPIRY_SECS {
            *slot = Conn {
                key,
                ..Conn::default()
            };
        }
        slot.last = now;
        slot
    }

    /// The slots, allocated on first use (see [`Table::default`]).
    fn slots_mut(&mut self) -> &mut [Conn] {
        if self.slots.is_empty() {
            self.slots = vec![Conn::default(); SLOTS].into_boxed_slice();
        }
        &mut self.slots
    }

    /// Newest event time (seconds) looked up, `i64::MIN` before the first.
    pub fn newest(&self) -> i64 {
        self.newest
    }

    /// The slots worth saving: used, holding state, and not idle longer than
    /// [`EXPIRY_SECS`] before the newest line (a later line would find such a
    /// slot expired and start over, unless its clock stepped back that far).
    pub fn live(&self) -> impl Iterator<Item = &Conn> {
        let horizon = self.newest.saturating_sub(EXPIRY_SECS);
        self.slots
            .iter()
            .filter(move |c| c.key != 0 && c.has_state() && c.last >= horizon)
    }

    /// Replaces the table's content with saved slots (as [`Table::live`] gave
    /// them) and the newest time. Slots with key 0 are ignored.
    pub fn restore(&mut self, newest: i64, conns: impl IntoIterator<Item = Conn>) {
        *self = Table::default();
        self.newest = newest;
        for c in conns {
            if c.key != 0
                && let Some(slot) = self.slots_mut().get_mut(slot_of(c.key))
            {
                *slot = c;
            }
        }
    }
}

/// A table key from a pid (or a name hash for pid-less su/sudo lines), the
/// program kind and the host, so two hosts in one file never share a slot.
pub fn key(id: u64, kind: u8, host: &str) -> u64 {
    // FNV-1a: tiny, allocation-free, good enough to separate hosts.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in host.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let k = id ^ (u64::from(kind) << 56) ^ h.rotate_left(17);
    if k == 0 { 1 } else { k }
}

/// FNV-1a of a name, for keying pid-less su/sudo lines by the account.
pub fn name_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn slots_are_allocated_by_the_first_lookup_only() {
        let mut tab = Table::default();
        assert!(tab.slots.is_empty());
        tab.restore(5, Vec::new());
        assert!(tab.slots.is_empty(), "an empty snapshot allocates nothing");
        assert_eq!(tab.live().count(), 0);
        tab.get(key(7, 0, "h"), t(0)).counted = 1;
        assert_eq!(tab.slots.len(), SLOTS);
        assert_eq!(tab.live().count(), 1);
    }

    #[test]
    fn slots_remember_then_expire() {
        let mut tab = Table::default();
        let k = key(42, 0, "h");
        tab.get(k, t(0)).counted = 2;
        assert_eq!(tab.get(k, t(10)).counted, 2);
        assert_eq!(tab.get(k, t(10 + EXPIRY_SECS + 1)).counted, 0);
    }

    #[test]
    fn hosts_and_kinds_do_not_share_slots() {
        assert_ne!(key(42, 0, "a"), key(42, 0, "b"));
        assert_ne!(key(42, 0, "a"), key(42, 1, "a"));
        let mut tab = Table::default();
        tab.get(key(7, 0, "a"), t(0)).counted = 1;
        assert_eq!(tab.get(key(7, 0, "b"), t(0)).counted, 0);
    }
}

//! Where an event is published and under which id (see the module docs of
//! [`super`] for why the subject carries partitions).

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::event::AuthEvent;

/// Partitions of the user and network tokens. Part of the subject layout:
/// a detector's consumers are made for this count.
pub const PARTITIONS: u64 = 64;

/// The token of an event without a user or without an address.
pub const NONE: &str = "_";

/// `<prefix>.<host>.<u>.<n>`: the user's and the source network's partitions.
pub fn subject(prefix: &str, host: &str, ev: &AuthEvent) -> String {
    let u = ev.user.as_deref().map(|u| partition(u.as_bytes()));
    let n = ev.source_ip.map(|ip| partition(&net_bytes(ip)));
    let token = |p: Option<u64>| p.map_or_else(|| NONE.to_owned(), |p| p.to_string());
    format!("{prefix}.{host}.{}.{}", token(u), token(n))
}

/// The subject every event of the fleet matches (the stream's subject).
pub fn all(prefix: &str) -> String {
    format!("{prefix}.>")
}

/// The partition of a key: FNV-1a (64 bits), fixed here rather than taken
/// from a hasher that may change with a Rust release, modulo [`PARTITIONS`].
/// The user name is hashed as logged: the rule engine keys on it so.
pub fn partition(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % PARTITIONS
}

/// The network an address counts in for `source.net` rules (IPv4 /24, IPv6
/// /64, an IPv4-mapped address as its IPv4 host), as bytes: an address and
/// its network must land in the same partition.
fn net_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => (u32::from(a) & 0xffff_ff00).to_be_bytes().to_vec(),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4) & 0xffff_ff00).to_be_bytes().to_vec(),
            None => ((u128::from(a) >> 64) as u64).to_be_bytes().to_vec(),
        },
    }
}

/// The `Nats-Msg-Id` of the event of one line: the same for the same line
/// read again after a restart (same host, source, position and bytes), so
/// JetStream drops the re-sent copy within its duplicate window. The
/// position alone would not do: a file's offsets start over after a
/// rotation; the bytes alone would not either: two identical lines are two
/// attempts. Two byte-identical lines at the same offset of the same source
/// (a rotated-away file and its successor) within the window would be taken
/// for one; syslog lines carry a time and a pid, which makes that unlikely.
pub fn msg_id(host: &str, source: &str, offset: u64, line: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [host.as_bytes(), source.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(offset.to_be_bytes());
    h.update(line);
    let d = h.finalize();
    format!("lw1-{}", hex::encode(&d[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(user: Option<&str>, ip: Option<&str>) -> AuthEvent {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut e = AuthEvent::new(
            t,
            crate::event::Action::Login,
            crate::event::Outcome::Failure,
        );
        e.user = user.map(Into::into);
        e.source_ip = ip.map(|i| i.parse().unwrap());
        e
    }

    #[test]
    fn subjects_carry_both_partitions() {
        let s = subject(
            "loginwatch.events",
            "web1",
            &ev(Some("alice"), Some("192.0.2.7")),
        );
        let parts: Vec<&str> = s.split('.').collect();
        assert_eq!(parts[..3], ["loginwatch", "events", "web1"]);
        assert_eq!(parts[3], partition(b"alice").to_string());
        assert_eq!(
            subject("p", "h", &ev(None, None)),
            "p.h._._",
            "no user, no address"
        );
    }

    #[test]
    fn an_address_and_its_network_share_a_partition() {
        let a = subject("p", "h", &ev(None, Some("192.0.2.7")));
        let b = subject("p", "h", &ev(None, Some("192.0.2.200")));
        let mapped = subject("p", "h", &ev(None, Some("::ffff:192.0.2.9")));
        assert_eq!(a, b);
        assert_eq!(a, mapped);
        let v6a = subject("p", "h", &ev(None, Some("2001:db8::1")));
        let v6b = subject("p", "h", &ev(None, Some("2001:db8::ffff")));
        assert_eq!(v6a, v6b);
    }

    #[test]
    fn partitions_are_fixed() {
        // The layout is a contract between agents and detectors of different
        // versions: these values must never change.
        assert_eq!(partition(b""), 0xcbf2_9ce4_8422_2325 % 64);
        assert_eq!(partition(b"alice"), partition(b"alice"));
        assert!((0..PARTITIONS).contains(&partition(b"bob")));
    }

    #[test]
    fn ids_differ_by_every_part() {
        let id = msg_id("h", "auth", 10, b"line");
        assert_eq!(id, msg_id("h", "auth", 10, b"line"));
        assert_eq!(id.len(), 4 + 32);
        for other in [
            msg_id("h2", "auth", 10, b"line"),
            msg_id("h", "auth2", 10, b"line"),
            msg_id("h", "auth", 11, b"line"),
            msg_id("h", "auth", 10, b"line2"),
            // Lengths are hashed too: moving a byte between parts changes it.
            msg_id("ha", "uth", 10, b"line"),
        ] {
            assert_ne!(id, other);
        }
    }
}

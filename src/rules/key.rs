//! Group keys (what a rule counts per) and distinct values (what `distinct` counts).
//!
//! Keys are small fixed values (a shared `Name`, an `IpAddr`, a masked network
//! prefix) so building one per event costs no heap allocation, and hashing them is
//! cheap with the engine's fast hasher.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::decision::Target;
use crate::event::{AuthEvent, Name};

/// What a rule groups events by (`group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// `user`
    User,
    /// `source.ip`
    SourceIp,
    /// `user+source.ip`
    UserSourceIp,
    /// `source.net`: IPv4 /24, IPv6 /64.
    SourceNet,
}

impl GroupBy {
    /// Spellings accepted in rule files.
    pub const ALL: &'static [&'static str] = &["user", "source.ip", "user+source.ip", "source.net"];

    /// Parses a rule-file spelling.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "user" => GroupBy::User,
            "source.ip" => GroupBy::SourceIp,
            "user+source.ip" => GroupBy::UserSourceIp,
            "source.net" => GroupBy::SourceNet,
            _ => return None,
        })
    }

    /// The rule-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::User => "user",
            GroupBy::SourceIp => "source.ip",
            GroupBy::UserSourceIp => "user+source.ip",
            GroupBy::SourceNet => "source.net",
        }
    }

    /// True when the key (and so the decision target) carries an address.
    pub fn has_ip(self) -> bool {
        !matches!(self, GroupBy::User)
    }

    /// True when the key (and so the decision target) carries a user.
    pub fn has_user(self) -> bool {
        matches!(self, GroupBy::User | GroupBy::UserSourceIp)
    }

    /// The event's key; `None` when the event lacks a field the key needs.
    #[inline]
    pub fn key(self, ev: &AuthEvent) -> Option<Key> {
        Some(match self {
            GroupBy::User => Key::User(ev.user.clone()?),
            GroupBy::SourceIp => Key::Ip(ev.source_ip?),
            GroupBy::UserSourceIp => Key::UserIp(ev.user.clone()?, ev.source_ip?),
            GroupBy::SourceNet => Key::Net(Net::of(ev.source_ip?)),
        })
    }
}

/// A network prefix, masked: IPv4 /24 or IPv6 /64 (the usual unit one party controls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Net {
    V4(u32),
    V6(u64),
}

impl Net {
    /// The prefix `ip` belongs to.
    pub fn of(ip: IpAddr) -> Net {
        match ip {
            IpAddr::V4(a) => Net::V4(u32::from(a) & 0xffff_ff00),
            // An IPv4-mapped IPv6 address is the IPv4 host it maps.
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Net::V4(u32::from(v4) & 0xffff_ff00),
                None => Net::V6((u128::from(a) >> 64) as u64),
            },
        }
    }

    /// As an `IpNet` (`192.0.2.0/24`, `2001:db8::/64`).
    pub fn to_ipnet(self) -> IpNet {
        match self {
            Net::V4(p) => IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(p), 24).unwrap_or_else(|_| Ipv4Net::default()),
            ),
            Net::V6(p) => IpNet::V6(
                Ipv6Net::new(Ipv6Addr::from(u128::from(p) << 64), 64)
                    .unwrap_or_else(|_| Ipv6Net::default()),
            ),
        }
    }
}

/// One group key. Ordered so eviction can break ties between equally old keys
/// the same way whatever the hash map's layout (a restored engine must evict
/// exactly the keys the uninterrupted one would).
#[derive(Debug, Clone, PartialOrd, Ord)]
pub enum Key {
    User(Name),
    Ip(IpAddr),
    UserIp(Name, IpAddr),
    Net(Net),
}

/// Names are interned, so two equal names are nearly always one allocation:
/// comparing the pointers first skips comparing the bytes on the engine's
/// per-event lookups. Same meaning as the derived comparison.
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        fn same(a: &Name, b: &Name) -> bool {
            std::sync::Arc::ptr_eq(a, b) || a == b
        }
        match (self, other) {
            (Key::User(a), Key::User(b)) => same(a, b),
            (Key::Ip(a), Key::Ip(b)) => a == b,
            (Key::UserIp(a, i), Key::UserIp(b, j)) => i == j && same(a, b),
            (Key::Net(a), Key::Net(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Key {}

/// What `#[derive(Hash)]` would write (the variant's index as an `isize`, then
/// the fields), kept by hand only because `PartialEq` is: equal keys hash alike.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Key::User(u) => {
                0isize.hash(state);
                u.hash(state);
            }
            Key::Ip(ip) => {
                1isize.hash(state);
                ip.hash(state);
            }
            Key::UserIp(u, ip) => {
                2isize.hash(state);
                u.hash(state);
                ip.hash(state);
            }
            Key::Net(n) => {
                3isize.hash(state);
                n.hash(state);
            }
        }
    }
}

impl Key {
    /// The decision target this key names.
    pub fn target(&self) -> Target {
        match self {
            Key::User(u) => Target::user(u.clone()),
            Key::Ip(ip) => Target::ip(*ip),
            Key::UserIp(u, ip) => Target {
                ip: Some(*ip),
                ..Target::user(u.clone())
            },
            Key::Net(n) => Target::net(n.to_ipnet()),
        }
    }
}

/// A field `distinct` can count (`distinct = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    User,
    SourceIp,
    SourceNet,
    Host,
    Service,
    DeviceId,
    UserAgent,
}

impl Field {
    /// Spellings accepted in rule files (ECS names).
    pub const ALL: &'static [&'static str] = &[
        "user.name",
        "source.ip",
        "source.net",
        "host.name",
        "service.name",
        "device.id",
        "user_agent.original",
    ];

    /// Parses a rule-file spelling.
    pub fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "user.name" => Field::User,
            "source.ip" => Field::SourceIp,
            "source.net" => Field::SourceNet,
            "host.name" => Field::Host,
            "service.name" => Field::Service,
            "device.id" => Field::DeviceId,
            "user_agent.original" => Field::UserAgent,
            _ => return None,
        })
    }

    /// The rule-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::User => "user.name",
            Field::SourceIp => "source.ip",
            Field::SourceNet => "source.net",
            Field::Host => "host.name",
            Field::Service => "service.name",
            Field::DeviceId => "device.id",
            Field::UserAgent => "user_agent.original",
        }
    }

    /// The event's value of this field, if it has one.
    #[inline]
    pub fn value(self, ev: &AuthEvent) -> Option<Val> {
        Some(match self {
            Field::User => Val::Name(ev.user.clone()?),
            Field::SourceIp => Val::Ip(ev.source_ip?),
            Field::SourceNet => Val::Net(Net::of(ev.source_ip?)),
            Field::Host => Val::Name(ev.host.clone()?),
            Field::Service => Val::Name(ev.service.clone()?),
            Field::DeviceId => Val::Name(ev.device_id.clone()?),
            Field::UserAgent => Val::Name(ev.user_agent.clone()?),
        })
    }
}

/// A value counted by a `distinct` rule, or remembered by `travel` and
/// `novelty` rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Val {
    Name(Name),
    Ip(IpAddr),
    Net(Net),
    /// A location in micro-degrees (latitude, longitude): what `travel` rules
    /// remember of a user's last located success (integers, so values stay
    /// `Eq`/`Hash` and snapshot exactly).
    Geo(i32, i32),
    /// An AS number (what `novelty` rules on `asn` learn).
    Asn(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_by_content_not_by_allocation() {
        use std::hash::BuildHasher;
        let h = foldhash::fast::RandomState::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b): (Name, Name) = (Name::from("alice"), Name::from("alice"));
        assert!(!std::sync::Arc::ptr_eq(&a, &b));
        for (x, y) in [
            (Key::User(a.clone()), Key::User(b.clone())),
            (Key::UserIp(a.clone(), ip), Key::UserIp(b.clone(), ip)),
            (Key::User(a.clone()), Key::User(a.clone())),
        ] {
            assert_eq!(x, y);
            assert_eq!(h.hash_one(&x), h.hash_one(&y));
        }
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_ne!(Key::User(a.clone()), Key::User(Name::from("bob")));
        assert_ne!(Key::UserIp(a.clone(), ip), Key::UserIp(b, other));
        assert_ne!(Key::Ip(ip), Key::Net(Net::of(ip)));
        assert_ne!(Key::User(a), Key::Ip(ip));
    }

    #[test]
    fn nets_mask_to_24_and_64() {
        let a = Net::of("192.0.2.77".parse().unwrap());
        assert_eq!(a, Net::of("192.0.2.1".parse().unwrap()));
        assert_ne!(a, Net::of("192.0.3.1".parse().unwrap()));
        assert_eq!(a.to_ipnet().to_string(), "192.0.2.0/24");
        let b = Net::of("2001:db8:0:1::5".parse().unwrap());
        assert_eq!(b.to_ipnet().to_string(), "2001:db8:0:1::/64");
        assert_eq!(Net::of("::ffff:192.0.2.9".parse().unwrap()), a);
    }
}

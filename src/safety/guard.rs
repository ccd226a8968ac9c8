//! Addresses that must not be blocked without an admin saying so: the daemon
//! host's own addresses (blocking them cuts the host off from itself, or from
//! its admins behind the same NAT) and private, loopback and link-local ranges
//! (a log behind a proxy or a load balancer often names the proxy, not the
//! attacker: blocking it locks everyone out).

use std::net::IpAddr;

use ipnet::IpNet;

/// Why an address is guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// One of the daemon host's own addresses.
    Own,
    /// Private, loopback, link-local, shared (CGNAT) or unspecified.
    Private,
}

/// True for private, loopback, link-local, CGNAT (100.64/10), unique-local
/// (fc00::/7) and unspecified addresses, and for IPv4-mapped IPv6 forms of them.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Whether blocking `ip` (or any address of `net`) touches a guarded address.
pub fn guarded(ip: Option<IpAddr>, net: Option<IpNet>, own: &[IpAddr]) -> Option<Guarded> {
    if let Some(ip) = ip {
        if own.contains(&ip) {
            return Some(Guarded::Own);
        }
        if is_private(ip) {
            return Some(Guarded::Private);
        }
    }
    if let Some(net) = net {
        if own.iter().any(|o| net.contains(o)) {
            return Some(Guarded::Own);
        }
        // A network is guarded when it overlaps a private range: checking its
        // first and last address covers every range larger than it, and the
        // private ranges are all larger than any network a rule groups by.
        if is_private(net.network()) || is_private(net.broadcast()) {
            return Some(Guarded::Private);
        }
    }
    None
}

/// The host's own addresses, from its interfaces (empty when they cannot be
/// read: the configured `own_addresses` then stand alone). That failure is
/// logged: a sandbox without `AF_NETLINK` would otherwise leave the guard
/// against blocking the host's own addresses quietly without them.
pub fn detect_own() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(v) => v.into_iter().map(|i| i.ip()).collect(),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "Cannot read this host's interface addresses (is AF_NETLINK allowed?); only the configured own_addresses are guarded."
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognised() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in [
            "192.0.2.1",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn own_addresses_and_networks_are_guarded() {
        let own: Vec<IpAddr> = vec!["203.0.113.5".parse().unwrap()];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let net = |s: &str| Some(s.parse::<IpNet>().unwrap());
        assert_eq!(guarded(ip("203.0.113.5"), None, &own), Some(Guarded::Own));
        assert_eq!(
            guarded(None, net("203.0.113.0/24"), &own),
            Some(Guarded::Own)
        );
        assert_eq!(
            guarded(None, net("10.9.8.0/24"), &own),
            Some(Guarded::Private)
        );
        assert_eq!(
            guarded(ip("198.51.100.7"), net("198.51.100.0/24"), &own),
            None
        );
    }
}

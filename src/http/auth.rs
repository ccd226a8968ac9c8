//! The admin token check and the rate limit on failed attempts.
//!
//! The comparison is constant-time (`subtle`) so that response timing does not
//! reveal how many leading bytes of a guess were right. After
//! [`MAX_FAILURES`] wrong or missing tokens from one peer within [`WINDOW`],
//! that peer gets 429 until the window ends, right token or not: a limit that
//! let a right guess through would not slow guessing at all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq as _;

use super::token::AdminToken;

/// Failed authentications one peer may make per [`WINDOW`].
pub const MAX_FAILURES: u32 = 10;
/// The rate limit's window, from a peer's first failure.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Peers tracked at most; past it, failures of new peers share one count (a
/// flood of source addresses must not grow memory without bound).
const MAX_PEERS: usize = 4096;

/// Whether `headers` carry `Authorization: Bearer <expected>`.
pub fn authorized(headers: &HeaderMap, expected: &AdminToken) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .is_some_and(|given| constant_time_eq(given.as_bytes(), expected.secret().as_bytes()))
}

/// The token of a `Bearer` credential (scheme case-insensitive, RFC 7235).
fn bearer(v: &str) -> Option<&str> {
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Compares in time that depends only on the lengths, never on where the first
/// difference is (`subtle` returns early only on a length mismatch, which
/// reveals the length of a token, not its bytes).
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    bool::from(given.ct_eq(expected))
}

/// Failed authentications per peer in fixed windows.
#[derive(Debug, Default)]
pub struct FailureLimiter {
    /// Peer (`None`: unknown, or the shared overflow count) -> (window start, failures).
    peers: Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>,
}

impl FailureLimiter {
    /// How long `peer` must still wait, when it used up its failures.
    pub fn blocked(&self, peer: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let peers = self.peers.lock().ok()?;
        // The same key `failed` counts under.
        let key = if peers.contains_key(&peer) || peers.len() < MAX_PEERS {
            peer
        } else {
            None
        };
        let (start, n) = *peers.get(&key)?;
        let end = start + WINDOW;
        (n >= MAX_FAILURES && now < end).then(|| end - now)
    }

    /// Counts one failure of `peer`.
    pub fn failed(&self, peer: Option<IpAddr>, now: Instant) {
        let Ok(mut peers) = self.peers.lock() else {
            return;
        };
        if !peers.contains_key(&peer) && peers.len() >= MAX_PEERS {
            peers.retain(|_, (start, _)| now < *start + WINDOW);
        }
        let key = if peers.contains_key(&peer) || peers.len() < MAX_PEERS {
            peer
        } else {
            None
        };
        let slot = peers.entry(key).or_insert((now, 0));
        if now >= slot.0 + WINDOW {
            *slot = (now, 0);
        }
        slot.1 = slot.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn compares_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret1", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }

    #[test]
    fn needs_the_bearer_token() {
        let tok = AdminToken::configured("tok");
        assert!(authorized(&with("Bearer tok"), &tok));
        assert!(authorized(&with("bearer  tok"), &tok));
        assert!(!authorized(&with("Bearer nope"), &tok));
        assert!(!authorized(&with("Basic tok"), &tok));
        assert!(!authorized(&with("Bearer "), &tok));
        assert!(!authorized(&HeaderMap::new(), &tok));
    }

    #[test]
    fn a_peer_is_held_after_its_failures_until_the_window_ends() {
        let l = FailureLimiter::default();
        let t0 = Instant::now();
        let (a, b) = (
            Some("192.0.2.1".parse().unwrap()),
            Some("192.0.2.2".parse().unwrap()),
        );
        for i in 0..MAX_FAILURES {
            assert_eq!(l.blocked(a, t0), None, "after {i} failures");
            l.failed(a, t0);
        }
        assert_eq!(
            l.blocked(a, t0 + Duration::from_secs(1)),
            Some(WINDOW - Duration::from_secs(1))
        );
        assert_eq!(l.blocked(b, t0), None, "another peer is not held");
        assert_eq!(l.blocked(a, t0 + WINDOW), None);
        // A new window starts from zero.
        l.failed(a, t0 + WINDOW);
        assert_eq!(l.blocked(a, t0 + WINDOW), None);
    }

    #[test]
    fn past_the_peer_bound_new_peers_share_one_count() {
        let l = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..MAX_PEERS as u32 {
            l.failed(Some(IpAddr::from(i.to_be_bytes())), t0);
        }
        let newcomer = Some(IpAddr::from([10, 255, 255, 255]));
        for _ in 0..MAX_FAILURES {
            l.failed(newcomer, t0);
        }
        assert!(l.peers.lock().unwrap().len() <= MAX_PEERS + 1);
        assert!(l.blocked(newcomer, t0).is_some());
        // Once the old windows end, room is made again.
        let later = t0 + WINDOW;
        l.failed(newcomer, later);
        assert!(l.peers.lock().unwrap().len() <= 2);
    }
}

//! The admin token check for mutating endpoints.
//!
//! The comparison is constant-time in the token's content so that response
//! timing does not reveal how many leading bytes of a guess were right.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// Whether `headers` carry `Authorization: Bearer <expected>`. With no token
/// configured every request passes: the config refuses that on non-loopback
/// addresses, so only local users can reach such an API.
pub fn authorized(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
    else {
        return false;
    };
    constant_time_eq(given.as_bytes(), expected.as_bytes())
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
/// difference is. A length mismatch still walks the expected token, so only the
/// fact that the lengths differ is observable, not the secret's bytes.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(!e);
        diff |= g ^ e;
    }
    // black_box keeps the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
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
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn needs_the_bearer_token_when_one_is_configured() {
        assert!(authorized(&with("Bearer tok"), Some("tok")));
        assert!(authorized(&with("bearer  tok"), Some("tok")));
        assert!(!authorized(&with("Bearer nope"), Some("tok")));
        assert!(!authorized(&with("Basic tok"), Some("tok")));
        assert!(!authorized(&with("Bearer "), Some("tok")));
        assert!(!authorized(&HeaderMap::new(), Some("tok")));
        assert!(authorized(&HeaderMap::new(), None));
    }
}

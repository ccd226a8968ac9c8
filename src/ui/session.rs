//! Sessions of the helpdesk page: who signed in, their CSRF token, until when.
//!
//! Kept in memory only: a restart signs everyone out, which is the safe side
//! (no session file to protect). The session id is 256 random bits, the only
//! thing the browser holds; the CSRF token is another 256 bits, put in every
//! form and compared in constant time on every POST. Time is passed in, so
//! expiry is tested without waiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::http::constant_time_eq;

/// How long a session lasts from sign-in (a working day: the admin signs in
/// again the next morning, a forgotten tab does not stay open for a week).
pub const TTL: Duration = Duration::from_secs(8 * 3600);
/// The session cookie's name.
pub const COOKIE_NAME: &str = "lw_session";
/// The sign-in form's CSRF cookie: a random value the form repeats (there
/// is no session yet to hold a token), so another site cannot sign a
/// browser in under its own name.
pub const LOGIN_COOKIE: &str = "lw_login";
/// The language cookie's name (not secret: `en` or `ja`).
pub const LANG_COOKIE: &str = "lw_lang";
/// Sessions held at most: a flood of sign-ins (each needs the token) must
/// not grow memory without bound; past it the session ending soonest goes.
const MAX_SESSIONS: usize = 1024;
/// Random bytes in a session id and in a CSRF token.
const SECRET_BYTES: usize = 32;

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's CSRF token, in every form.
    pub csrf: String,
    /// The name the admin gave at sign-in (`by` in the audit trail).
    pub by: String,
    /// What authenticated the sign-in (`token:config`, `token:admin.token`).
    pub credential: String,
    expires: Instant,
}

impl Session {
    /// Whether `given` is this session's CSRF token.
    pub fn csrf_ok(&self, given: &str) -> bool {
        constant_time_eq(given.as_bytes(), self.csrf.as_bytes())
    }
}

/// The sessions in force, by id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `by`; its id, or `None` when the system has no
    /// randomness to give (then nobody signs in).
    pub fn create(&self, by: &str, credential: &str, now: Instant) -> Option<String> {
        let (id, csrf) = (random_hex()?, random_hex()?);
        let mut map = self.map.lock().ok()?;
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
        }
        if map.len() >= MAX_SESSIONS
            && let Some(k) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            map.remove(&k);
        }
        let session = Session {
            csrf,
            by: by.to_owned(),
            credential: credential.to_owned(),
            expires: now + TTL,
        };
        map.insert(id.clone(), session);
        Some(id)
    }

    /// The session `id` while it lasts; an expired one is removed.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.map.lock().ok()?;
        match map.get(id) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends the session `id` (sign-out).
    pub fn end(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

/// A fresh random token (hex), for the sign-in form; `None` without randomness.
pub fn random_token() -> Option<String> {
    random_hex()
}

fn random_hex() -> Option<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// The value of the cookie `name` in `headers` (every `Cookie` header read).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value of a new session: script cannot read it, no other
/// site's request carries it, only `/ui` gets it, it ends with the session.
/// `Secure` when the page is served over TLS.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{}",
        TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value of the sign-in form's CSRF cookie (an hour to
/// sign in).
pub fn login_cookie(token: &str, secure: bool) -> String {
    format!(
        "{LOGIN_COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value remembering the chosen language for a year.
pub fn lang_cookie(code: &str, secure: bool) -> String {
    format!(
        "{LANG_COOKIE}={code}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=31536000{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_session_lasts_until_its_expiry_then_is_gone() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let id = s.create("dana", "token:config", t0).unwrap();
        assert_eq!(id.len(), 2 * SECRET_BYTES);
        let got = s.get(&id, t0 + TTL - Duration::from_secs(1)).unwrap();
        assert_eq!(
            (got.by.as_str(), got.credential.as_str()),
            ("dana", "token:config")
        );
        assert!(got.csrf_ok(&got.csrf.clone()));
        assert!(!got.csrf_ok(""));
        assert!(!got.csrf_ok(&id), "the session id is not the CSRF token");
        assert!(s.get(&id, t0 + TTL).is_none());
        assert_eq!(s.len(), 0, "the expired session was removed");
        assert!(s.get("nope", t0).is_none());
    }

    #[test]
    fn sign_out_ends_it_and_ids_differ() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let a = s.create("a", "c", t0).unwrap();
        let b = s.create("a", "c", t0).unwrap();
        assert_ne!(a, b);
        s.end(&a);
        assert!(s.get(&a, t0).is_none());
        assert!(s.get(&b, t0).is_some());
    }

    #[test]
    fn sessions_are_bounded() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let first = s.create("a", "c", t0).unwrap();
        for i in 1..=MAX_SESSIONS as u64 {
            s.create("a", "c", t0 + Duration::from_millis(i)).unwrap();
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(s.get(&first, t0).is_none(), "the one ending soonest went");
    }

    #[test]
    fn cookies_are_read_from_every_header() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; lw_lang=ja"));
        h.append(COOKIE, HeaderValue::from_static("lw_session=abc"));
        assert_eq!(cookie(&h, LANG_COOKIE), Some("ja"));
        assert_eq!(cookie(&h, COOKIE_NAME), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        let c = session_cookie("x", true);
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/ui",
            "Max-Age=28800",
            "Secure",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!session_cookie("x", false).contains("Secure"));
    }
}

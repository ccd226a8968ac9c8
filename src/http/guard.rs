//! The gate in front of every `/api/v1/*` route.
//!
//! In order, each refusal a JSON `{"error"}` body:
//! 1. `Host` must name this listener (`localhost`, the listen address, with
//!    its port), else 421: a DNS-rebinding page reaches us under its own name.
//! 2. A cross-site `Origin` (or `Sec-Fetch-Site`) is 403: a web page in an
//!    admin's browser must not drive the API (CSRF).
//! 3. A POST must be `application/json` (415): HTML forms cannot send that
//!    without a CORS preflight, which this API never grants.
//! 4. A body over [`MAX_BODY`] is 413 (also enforced while streaming by
//!    `DefaultBodyLimit`, for bodies without a length).
//! 5. A peer over its failed-authentication budget gets 429.
//! 6. The bearer token, reads included (401); the credential that passed is
//!    handed to the handlers for the audit trail.
//!
//! The shape checks come before the token so that a browser's forged request
//! is refused without counting as a failed login against the admins' budget.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::auth::authorized;

/// Largest accepted request body.
pub const MAX_BODY: usize = 16 * 1024;

/// The credential that authenticated a request (`token:config`,
/// `token:admin.token`), for the audit trail.
#[derive(Debug, Clone)]
pub struct Credential(pub String);

/// Which `Host` (and `Origin`) names this listener.
#[derive(Debug, Clone)]
pub struct HostCheck {
    listen: SocketAddr,
    /// This machine's name: accepted when listening on every address.
    hostname: Option<String>,
}

impl HostCheck {
    /// For a listener bound to `listen` (the bound address: port 0 resolved).
    pub fn new(listen: SocketAddr) -> HostCheck {
        HostCheck {
            listen,
            hostname: hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .map(|h| h.to_ascii_lowercase()),
        }
    }

    /// Whether `host` (`name:port`, `ip:port`, `[v6]:port`) names this listener.
    /// IP literals cannot be rebound, so any of this listener's addresses is
    /// fine; a name is fine only when it is `localhost` (or, listening on every
    /// address, this machine's name).
    pub fn allows(&self, host: &str) -> bool {
        let Ok(auth) = host.parse::<axum::http::uri::Authority>() else {
            return false;
        };
        let port = auth.port_u16().unwrap_or(80);
        if port != self.listen.port() || auth.as_str().contains('@') {
            return false;
        }
        let name = auth.host().trim_start_matches('[').trim_end_matches(']');
        let listen = self.listen.ip();
        match name.parse::<IpAddr>() {
            Ok(ip) => {
                ip == listen
                    || listen.is_unspecified()
                    || (listen.is_loopback() && ip.is_loopback())
            }
            Err(_) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                (name == "localhost" && (listen.is_loopback() || listen.is_unspecified()))
                    || (listen.is_unspecified() && self.hostname.as_deref() == Some(&name))
            }
        }
    }

    /// Whether an `Origin` header is this API itself (`http://` + an allowed host).
    fn same_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|host| !host.contains('/') && self.allows(host))
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// The request-shape checks (1 to 4 above); `None` when the request passes.
pub fn check_shape(hosts: &HostCheck, method: &Method, h: &HeaderMap) -> Option<Response> {
    check_shape_within(hosts, method, h, MAX_BODY)
}

/// [`check_shape`] with bodies of up to `max_body` bytes.
fn check_shape_within(
    hosts: &HostCheck,
    method: &Method,
    h: &HeaderMap,
    max_body: usize,
) -> Option<Response> {
    match header_str(h, header::HOST) {
        Some(host) if hosts.allows(host) => {}
        _ => {
            return Some(refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "the Host header does not name this listener (use its address or localhost)",
            ));
        }
    }
    if let Some(origin) = header_str(h, header::ORIGIN)
        && !hosts.same_origin(origin)
    {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "cross-origin requests are refused",
        ));
    }
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "cross-site requests are refused",
        ));
    }
    if method == Method::POST {
        let json = header_str(h, header::CONTENT_TYPE).is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Some(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be Content-Type: application/json",
            ));
        }
    }
    let length = header_str(h, header::CONTENT_LENGTH).map(|l| l.trim().parse::<u64>());
    match length {
        Some(Ok(n)) if n > max_body as u64 => Some(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {max_body} bytes"),
        )),
        Some(Err(_)) => Some(refuse(StatusCode::BAD_REQUEST, "bad Content-Length")),
        _ => None,
    }
}

/// The middleware over `/api/v1/*`.
pub async fn api_guard(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    // An import carries a whole export; every other body is a few fields.
    let max_body = if req.uri().path().ends_with("/decisions/import") {
        super::manual::MAX_IMPORT_BODY
    } else {
        MAX_BODY
    };
    if let Some(r) = check_shape_within(&s.hosts, req.method(), req.headers(), max_body) {
        return r;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let now = Instant::now();
    if let Some(wait) = s.limiter.blocked(peer, now) {
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed authentications: wait and retry with the right token",
        );
        let secs = wait.as_secs().max(1).to_string();
        if let Ok(v) = HeaderValue::from_str(&secs) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    if !authorized(req.headers(), &s.admin) {
        s.limiter.failed(peer, now);
        tracing::warn!(
            peer = ?peer,
            "Admin API: request without the right token refused."
        );
        let mut r = refuse(
            StatusCode::UNAUTHORIZED,
            "missing or wrong admin token (Authorization: Bearer ...)",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    req.extensions_mut()
        .insert(Credential(s.admin.credential.clone()));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(listen: &str) -> HostCheck {
        HostCheck {
            listen: listen.parse().unwrap(),
            hostname: Some("box".into()),
        }
    }

    #[test]
    fn hosts_must_name_the_listener() {
        let lo = hc("127.0.0.1:9464");
        for ok in [
            "127.0.0.1:9464",
            "localhost:9464",
            "LOCALHOST.:9464",
            "[::1]:9464",
            "127.0.0.2:9464",
        ] {
            assert!(lo.allows(ok), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:80",
            "evil.example:9464",
            "box:9464",
            "10.0.0.1:9464",
            "u@127.0.0.1:9464",
            "",
            "127.0.0.1:9464/x",
        ] {
            assert!(!lo.allows(bad), "{bad}");
        }
        let any = hc("0.0.0.0:9464");
        assert!(any.allows("box:9464") && any.allows("10.0.0.1:9464"));
        assert!(!any.allows("evil.example:9464"));
        let one = hc("10.0.0.5:80");
        assert!(one.allows("10.0.0.5") && one.allows("10.0.0.5:80"));
        assert!(!one.allows("localhost:80") && !one.allows("10.0.0.6:80"));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn status(m: Method, pairs: &[(&str, &str)]) -> Option<StatusCode> {
        check_shape(&hc("127.0.0.1:9464"), &m, &headers(pairs)).map(|r| r.status())
    }

    #[test]
    fn shapes_are_checked_in_order() {
        let host = ("host", "127.0.0.1:9464");
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(status(Method::GET, &[host]), None);
        assert_eq!(status(Method::POST, &[host, json]), None);
        assert_eq!(
            status(Method::GET, &[]),
            Some(StatusCode::MISDIRECTED_REQUEST)
        );
        assert_eq!(
            status(Method::GET, &[("host", "rebound.example:9464")]),
            Some(StatusCode::MISDIRECTED_REQUEST)
        );
        let cross = ("origin", "http://evil.example");
        assert_eq!(
            status(Method::POST, &[host, json, cross]),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(Method::GET, &[host, ("origin", "null")]),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(
                Method::POST,
                &[host, json, ("origin", "http://localhost:9464")]
            ),
            None
        );
        assert_eq!(
            status(Method::GET, &[host, ("sec-fetch-site", "cross-site")]),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(Method::POST, &[host, ("content-type", "text/plain")]),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            status(Method::POST, &[host]),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            status(Method::POST, &[host, json, ("content-length", "16385")]),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            status(Method::POST, &[host, json, ("content-length", "16384")]),
            None
        );
    }
}

//! The gates of the page: the request's shape on every route, the session
//! on every route but the sign-in, and the headers on every answer.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{self, Session};
use super::{UiState, text};
use crate::helpdesk::Language;

/// The peer of a request (for the failed sign-in budget), `None` when unknown.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

/// The id of the session a request carries, for sign-out.
#[derive(Debug, Clone)]
pub struct SessionId(pub String);

/// No script but our own files (there are none yet), no style but our
/// sheet, no framing, forms post only here.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Adds the security headers to every answer of the page.
pub async fn headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

fn plain(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

/// Every route: the `Host` names this listener (421), a POST comes from this
/// origin (403: `Origin` and `Sec-Fetch-Site`, which browsers send on form
/// posts); notes the peer.
pub async fn shape(State(s): State<UiState>, mut req: Request, next: Next) -> Response {
    let h = req.headers();
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(|host| s.app.hosts.allows(host)) {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "the Host header does not name this listener",
        );
    }
    if req.method() == Method::POST && cross_site(&s, h) {
        return plain(StatusCode::FORBIDDEN, "cross-site requests are refused");
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    req.extensions_mut().insert(Peer(peer));
    next.run(req).await
}

/// Whether a POST says it comes from another site.
fn cross_site(s: &UiState, h: &HeaderMap) -> bool {
    let fetch_site = h.get("sec-fetch-site").map(|v| v.to_str());
    let origin_ok = match h.get(header::ORIGIN).map(|v| v.to_str()) {
        None => true,
        // Our own `Referrer-Policy: no-referrer` makes a browser send
        // `Origin: null` on the page's own form posts (Chromium does); so
        // does a sandboxed or `data:` page elsewhere, but the browser then
        // says `Sec-Fetch-Site: cross-site`, which a page cannot forge.
        Some(Ok("null")) => matches!(fetch_site, Some(Ok("same-origin"))),
        Some(Ok(o)) => o
            .strip_prefix(if s.secure { "https://" } else { "http://" })
            .is_some_and(|host| !host.contains('/') && s.app.hosts.allows(host)),
        Some(Err(_)) => false,
    };
    let site_ok = fetch_site.is_none_or(|v| matches!(v, Ok("same-origin" | "none")));
    !(origin_ok && site_ok)
}

/// Every route but the sign-in: a live session, else the sign-in page (GET)
/// or 401 (anything else).
pub async fn session(State(s): State<UiState>, mut req: Request, next: Next) -> Response {
    let found = session::cookie(req.headers(), session::COOKIE_NAME)
        .and_then(|id| Some((id.to_owned(), s.sessions.get(id, Instant::now())?)));
    match found {
        Some((id, session)) => {
            req.extensions_mut().insert(session);
            req.extensions_mut().insert(SessionId(id));
            next.run(req).await
        }
        None if req.method() == Method::GET => Redirect::to("/ui/login").into_response(),
        None => plain(StatusCode::UNAUTHORIZED, "sign in first"),
    }
}

/// The 403 answer, unless `given` is the session's CSRF token.
pub fn csrf(s: &UiState, lang: Language, session: &Session, given: &str) -> Option<Response> {
    if session.csrf_ok(given) {
        None
    } else {
        Some(s.error(
            StatusCode::FORBIDDEN,
            lang,
            &session.csrf,
            "missing or wrong CSRF token: reload the page and try again",
        ))
    }
}

/// The page's language and, when `?lang=` chose it, the cookie remembering it.
pub fn language(s: &UiState, h: &HeaderMap, asked: Option<&str>) -> (Language, Option<String>) {
    if let Some(l) = asked.and_then(Language::parse) {
        return (l, Some(session::lang_cookie(text::code(l), s.secure)));
    }
    if let Some(l) = session::cookie(h, session::LANG_COOKIE).and_then(Language::parse) {
        return (l, None);
    }
    let accept = h
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (text::from_accept(accept), None)
}

/// `r` with `Set-Cookie: cookie` added when there is one.
pub fn with_cookie(mut r: Response, cookie: Option<String>) -> Response {
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

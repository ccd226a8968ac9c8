//! Sign-in and sign-out.
//!
//! The sign-in takes the admin token (compared in constant time, as the
//! API's bearer check does) and the admin's name, recorded as `by` in the
//! audit trail of what they do. A failed sign-in counts against the same
//! per-peer budget as a failed API call: the page is not a second, unlimited
//! door for guessing the token.

use std::time::Instant;

use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::UiState;
use super::guard::{self, Peer, SessionId};
use super::session::{self, Session};
use crate::escape::Escaped;
use crate::helpdesk::Language;
use crate::http::constant_time_eq;

/// Longest accepted admin name (as the API's `by`).
const MAX_BY: usize = 128;

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

pub async fn form(
    State(s): State<UiState>,
    headers: HeaderMap,
    q: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (lang, cookie) = guard::language(&s, &headers, q.lang.as_deref());
    let Some(token) = session::random_token() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a form",
        )
            .into_response();
    };
    let ctx = json!({ "error": "", "login_csrf": token });
    let r = s.page(StatusCode::OK, "login.html", lang, "", ctx);
    let r = guard::with_cookie(r, Some(session::login_cookie(&token, s.secure)));
    guard::with_cookie(r, cookie)
}

/// The sign-in page again, with `error` and a fresh form token.
fn again(s: &UiState, status: StatusCode, lang: Language, error: &str) -> Response {
    let Some(token) = session::random_token() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a form",
        )
            .into_response();
    };
    let ctx = json!({ "error": error, "login_csrf": token });
    let r = s.page(status, "login.html", lang, "", ctx);
    guard::with_cookie(r, Some(session::login_cookie(&token, s.secure)))
}

/// The sign-in form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    by: String,
    /// The value of the [`session::LOGIN_COOKIE`] the form was served with.
    #[serde(default)]
    csrf: String,
}

pub async fn submit(
    State(s): State<UiState>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    f: Result<Form<SignIn>, FormRejection>,
) -> Response {
    let (lang, _) = guard::language(&s, &headers, None);
    let f = f.map(|Form(f)| f).unwrap_or_default();
    let now = Instant::now();
    // Before the token: a forged sign-in is refused without costing the
    // admins' budget of failures.
    let cookie = session::cookie(&headers, session::LOGIN_COOKIE).unwrap_or("");
    if cookie.is_empty() || !constant_time_eq(f.csrf.as_bytes(), cookie.as_bytes()) {
        return again(&s, StatusCode::FORBIDDEN, lang, "form_expired");
    }
    if s.app.limiter.blocked(peer, now).is_some() {
        return again(&s, StatusCode::TOO_MANY_REQUESTS, lang, "too_many");
    }
    let by = f.by.trim();
    let by_ok = !by.is_empty() && by.chars().count() <= MAX_BY && !by.chars().any(char::is_control);
    let token_ok = constant_time_eq(f.token.trim().as_bytes(), s.app.admin.secret().as_bytes());
    if !(token_ok && by_ok) {
        if !token_ok {
            s.app.limiter.failed(peer, now);
            tracing::warn!(peer = ?peer, "Helpdesk page: sign-in with a wrong token refused.");
        }
        return again(&s, StatusCode::UNAUTHORIZED, lang, "wrong_token");
    }
    let Some(id) = s.sessions.create(by, &s.app.admin.credential, now) else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a session",
        )
            .into_response();
    };
    tracing::info!(
        credential = %s.app.admin.credential,
        "Helpdesk page: {} signed in.",
        Escaped(by)
    );
    let r = Redirect::to("/ui/").into_response();
    guard::with_cookie(r, Some(session::session_cookie(&id, s.secure)))
}

/// The sign-out form's field.
#[derive(Debug, Default, Deserialize)]
pub struct SignOut {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(s): State<UiState>,
    Extension(session): Extension<Session>,
    Extension(SessionId(id)): Extension<SessionId>,
    headers: HeaderMap,
    f: Result<Form<SignOut>, FormRejection>,
) -> Response {
    let (lang, _) = guard::language(&s, &headers, None);
    let given = f.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Some(r) = guard::csrf(&s, lang, &session, &given) {
        return r;
    }
    s.sessions.end(&id);
    let r = Redirect::to("/ui/login").into_response();
    guard::with_cookie(r, Some(session::cleared_cookie(s.secure)))
}

//! The helpdesk page: what `why` knows, for an admin on the phone, in a
//! browser (English or Japanese), served by the daemon under `/ui/`.
//!
//! Routes:
//! - `GET /ui/login`, `POST /ui/login` (the admin token and the admin's
//!   name) and `POST /ui/logout`: sessions ([`session`]).
//! - `GET /ui/`: the search for a user (tolerant of the mistypings `why`
//!   links: `ａｌｉｃｅ`, `Alice`, `a1ice`) and the active locks, newest
//!   first, filterable by assessment (`?assessment=attack`).
//! - `GET /ui/accounts/{user}` ([`account`]): `why`'s causes and next
//!   steps; the account's state: loginwatch's locks with an unlock form
//!   each, the system's lock (pam_faillock, ...) with the command that lifts
//!   it, blocks on the addresses the user comes from with their own unlock;
//!   the last attempts (address, country and network from GeoIP, device,
//!   the mistyped spelling) and a chart of the last week per hour
//!   ([`chart`], inline SVG).
//! - `POST /ui/decisions/{id}/unlock`: the same backend call as the API's
//!   unlock and `decisions unlock`, audited with the admin's name and the
//!   credential of the sign-in (`ui:token:config`).
//!
//! Times are in the admin's zone ([`zone`]: `?tz=`, remembered in a cookie,
//! else `[ui] tz`, else the host's), each with its abbreviation.
//! - `GET /ui/static/ui.css`: the one asset, from the binary.
//!
//! It reads through the same [`AdminBackend`](crate::http::AdminBackend) as
//! the API and signs in with the same token, so the page never shows more
//! than the API would to that credential. Defences, all in [`guard`]: the
//! `Host` must name this listener (DNS rebinding), a POST must come from this
//! origin, every route but the sign-in needs a session (a GET without one is
//! sent to the sign-in, a POST gets 401), every POST carries the session's
//! CSRF token (403 without; the sign-in form a token of its own, repeated
//! from a cookie, as there is no session yet), failed sign-ins count against the API's
//! per-peer budget, and every answer carries a strict Content-Security-Policy
//! (no inline script, no other origin) and `Cache-Control: no-store`.

mod account;
pub mod chart;
mod guard;
mod login;
mod pages;
pub mod render;
pub mod session;
pub mod text;
pub mod zone;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::helpdesk::Language;
use crate::http::AppState;

pub use render::RenderError;

/// Largest accepted form body (a reason of 2000 characters fits many times).
const MAX_FORM: usize = 16 * 1024;

/// What the page's handlers share.
#[derive(Clone)]
pub struct UiState {
    /// The API's state: backend, token, host check, failure limiter, metrics.
    app: AppState,
    sessions: Arc<session::Sessions>,
    pages: Arc<render::Pages>,
    /// Whether cookies get `Secure` (the page is served over TLS).
    secure: bool,
    /// The zone times are shown in unless the admin chose another.
    zone: Tz,
}

impl UiState {
    /// The page over the API's state; `secure` when the listener is TLS.
    pub fn new(app: AppState, secure: bool) -> Result<UiState, RenderError> {
        Ok(UiState {
            app,
            sessions: Arc::new(session::Sessions::default()),
            pages: Arc::new(render::Pages::new()?),
            secure,
            zone: zone::host(),
        })
    }

    /// Shows times in `tz` (`[ui] tz`); `None` keeps the host's zone.
    pub fn with_zone(mut self, tz: Option<Tz>) -> UiState {
        if let Some(tz) = tz {
            self.zone = tz;
        }
        self
    }

    /// `name` rendered with `ctx` and the words, language and CSRF token
    /// every page uses; a broken template is a 500 without details.
    fn page(
        &self,
        status: StatusCode,
        name: &'static str,
        lang: Language,
        csrf: &str,
        mut ctx: Value,
    ) -> Response {
        if let Some(m) = ctx.as_object_mut() {
            m.insert("lang".into(), json!(text::code(lang)));
            m.insert("t".into(), json!(text::words(lang)));
            m.insert("csrf".into(), json!(csrf));
            if !m.contains_key("nav") {
                m.insert(
                    "nav".into(),
                    json!({ "lang_href": format!("?lang={}", text::code(other(lang))), "keep": [], "zones": [], "tz": "" }),
                );
            }
        }
        match self.pages.render(name, &ctx) {
            Ok(html) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                html,
            )
                .into_response(),
            Err(e) => {
                tracing::error!("helpdesk page: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    /// The error page with `message`.
    fn error(&self, status: StatusCode, lang: Language, csrf: &str, message: &str) -> Response {
        self.page(
            status,
            "error.html",
            lang,
            csrf,
            json!({ "message": message }),
        )
    }
}

/// The page's routes over `state`, to merge into the daemon's router.
pub fn router(state: UiState) -> Router {
    let signed_in = Router::new()
        .route("/ui/", get(pages::index))
        .route("/ui/accounts/{user}", get(account::account))
        .route("/ui/decisions/{id}/unlock", post(pages::unlock))
        .route("/ui/logout", post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::session,
        ));
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/static/ui.css", get(css))
        .merge(signed_in)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::shape,
        ))
        .layer(axum::middleware::map_response(guard::headers))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .with_state(state)
}

async fn css() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        render::CSS,
    )
        .into_response()
}

/// The language the switch offers.
fn other(lang: Language) -> Language {
    match lang {
        Language::En => Language::Ja,
        Language::Ja => Language::En,
    }
}

/// Query parameters carried over by the language link and the zone form,
/// at most (a longer query is cut, not reflected whole).
const MAX_KEEP: usize = 8;
const MAX_KEEP_VALUE: usize = 512;

/// The header's language link and zone selector for a page at `uri`: both
/// keep the page's other query parameters (the search, the filter), so
/// switching loses nothing.
fn nav(uri: &Uri, lang: Language, tz: Tz, default: Tz) -> Value {
    let pairs: Vec<(String, String)> =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|q| q.0)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, v)| k != "lang" && k != "tz" && v.len() <= MAX_KEEP_VALUE && k.len() <= 32)
            .take(MAX_KEEP)
            .collect();
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let mut href = String::from("?");
    for (k, v) in &pairs {
        href.push_str(&format!("{}={}&", enc(k), enc(v)));
    }
    href.push_str(&format!("lang={}", text::code(other(lang))));
    json!({
        "lang_href": href,
        "keep": pairs.iter().map(|(k, v)| json!({ "name": k, "value": v })).collect::<Vec<_>>(),
        "zones": zone::offered(tz, default),
        "tz": tz.name(),
    })
}

/// `/ui/accounts/{user}` with the name percent-encoded.
fn account_href(user: &str) -> String {
    format!(
        "/ui/accounts/{}",
        percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC)
    )
}

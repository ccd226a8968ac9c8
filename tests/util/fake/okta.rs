//! An Okta System Log stand-in, from Okta's API documentation
//! ("System Log API", "Rate limits"):
//! - `GET /api/v1/logs` with `Authorization: SSWS <token>`; a wrong token is
//!   a 401 with errorCode `E0000011` ("Invalid token provided");
//! - the first request names `since`; the reply is a JSON array of
//!   `LogEvent`s (with `uuid` and `published`), oldest first, at most a page
//!   (the service may return fewer than `limit`), and always a `Link: <...>;
//!   rel="next"` header when polling; the `after` cursor in it is opaque to
//!   clients (here the index of the next event); an empty page means caught
//!   up, and the same next link is returned to poll again;
//! - every reply carries `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining`,
//!   `X-Rate-Limit-Reset` (Unix seconds) and `Date`; past the limit a 429
//!   with errorCode `E0000047` until the reset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Server, unix_now};

pub const TOKEN: &str = "00test-okta-token";

/// One request, as received.
#[derive(Debug, Clone)]
pub struct Req {
    /// Unix seconds (with the fraction) at arrival.
    pub at: f64,
    pub query: HashMap<String, String>,
    pub status: u16,
}

#[derive(Debug)]
pub struct Ok {
    pub events: Vec<Value>,
    pub page: usize,
    pub requests: Vec<Req>,
    /// Answer the request with this (1-based) number with a 429, resetting
    /// this many seconds after the second it arrives in.
    pub limit_at: Option<(usize, i64)>,
    /// The reset of the 429 given, once given.
    pub reset: Option<i64>,
    /// Refuse this many requests by `after` with a 400 (an `after` cursor
    /// the service no longer accepts).
    pub refuse_after: usize,
}

pub struct FakeOkta {
    pub server: Server,
    pub state: Arc<Mutex<Ok>>,
}

impl FakeOkta {
    pub fn start(page: usize) -> FakeOkta {
        let state = Arc::new(Mutex::new(Ok {
            events: Vec::new(),
            page,
            requests: Vec::new(),
            limit_at: None,
            reset: None,
            refuse_after: 0,
        }));
        let router = axum::Router::new()
            .route("/api/v1/logs", get(logs))
            .with_state(state.clone());
        FakeOkta {
            server: super::serve(router),
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Ok) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn requests(&self) -> Vec<Req> {
        self.with(|s| s.requests.clone())
    }

    /// Adds a sign-in event (`user.session.start`) of `user`.
    pub fn sign_in(&self, user: &str, success: bool) {
        self.with(|s| {
            let n = s.events.len();
            s.events.push(json!({
                "uuid": format!("00000000-0000-4000-8000-{n:012}"),
                "published": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "eventType": "user.session.start",
                "displayMessage": "User login to Okta",
                "severity": if success { "INFO" } else { "WARN" },
                "actor": {"id": "00u1", "type": "User", "alternateId": user, "displayName": user},
                "client": {"ipAddress": "203.0.113.77", "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
                "outcome": if success { json!({"result": "SUCCESS"}) } else {
                    json!({"result": "FAILURE", "reason": "INVALID_CREDENTIALS"})
                },
            }));
        });
    }
}

fn rate_headers(h: &mut axum::http::HeaderMap, remaining: i64, reset: i64) {
    let v = |x: String| HeaderValue::from_str(&x).unwrap();
    h.insert("x-rate-limit-limit", v("60".into()));
    h.insert("x-rate-limit-remaining", v(remaining.to_string()));
    h.insert("x-rate-limit-reset", v(reset.to_string()));
    h.insert(
        header::DATE,
        v(chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()),
    );
}

fn error(status: StatusCode, code: &str, summary: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oaeTest",
            "errorCauses": [],
        })),
    )
        .into_response()
}

async fn logs(
    State(st): State<Arc<Mutex<Ok>>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = st.lock().unwrap();
    let now = unix_now();
    let n = s.requests.len() + 1;
    let record = |s: &mut Ok, status: u16| {
        s.requests.push(Req {
            at: now,
            query: q.clone(),
            status,
        })
    };
    let auth = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if auth != Some(&format!("SSWS {TOKEN}")) {
        record(&mut s, 401);
        return error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    let reset_now = now as i64 + 60;
    if let Some((at, ahead)) = s.limit_at
        && at == n
    {
        let reset = now as i64 + ahead;
        s.reset = Some(reset);
        record(&mut s, 429);
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        );
        rate_headers(r.headers_mut(), 0, reset);
        return r;
    }
    if s.refuse_after > 0 && q.contains_key("after") {
        s.refuse_after -= 1;
        record(&mut s, 400);
        return error(
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: after",
        );
    }
    // The first page from `since`, the next ones from the opaque `after`.
    let from = match (q.get("after"), q.get("since")) {
        (Some(a), _) => a.parse::<usize>().unwrap_or(usize::MAX),
        (None, Some(since)) => {
            let since = chrono::DateTime::parse_from_rfc3339(since).unwrap();
            s.events
                .iter()
                .position(|e| {
                    chrono::DateTime::parse_from_rfc3339(e["published"].as_str().unwrap()).unwrap()
                        >= since
                })
                .unwrap_or(s.events.len())
        }
        (None, None) => 0,
    };
    let to = (from + s.page)
        .min(s.events.len())
        .max(from.min(s.events.len()));
    let page: Vec<Value> = s
        .events
        .get(from..to)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    record(&mut s, 200);
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let link = format!(
        "<http://{host}/api/v1/logs?sortOrder=ASCENDING&limit=1000&after={to}>; rel=\"next\""
    );
    let mut r = axum::Json(page).into_response();
    r.headers_mut().append(
        header::LINK,
        HeaderValue::from_str(&format!("<http://{host}/api/v1/logs>; rel=\"self\"")).unwrap(),
    );
    r.headers_mut()
        .append(header::LINK, HeaderValue::from_str(&link).unwrap());
    rate_headers(r.headers_mut(), 59, reset_now);
    r
}

//! A LINE WORKS stand-in, from the API 2.0 documentation:
//! - `POST /oauth2/v2.0/token` ("Service Account authentication (JWT)"): a
//!   form with `assertion` (a JWT signed RS256 with the service account's
//!   private key: `iss` the Client ID, `sub` the Service Account, `iat`,
//!   `exp` at most 60 minutes later), `grant_type` =
//!   `urn:ietf:params:oauth:grant-type:jwt-bearer`, `client_id`,
//!   `client_secret`, `scope`; the reply is JSON with `access_token` and
//!   `expires_in` as a string (`"86400"`), as the documentation shows it.
//!   The signature is verified with the public key;
//! - `GET /v1.0/audits/logs/download?service=&startTime=&endTime=` ("Audit
//!   log download"), `Authorization: Bearer`: a 302 whose `Location` is a
//!   short-lived CSV URL, here usable once. An unknown or expired token is a
//!   401. The CSV is UTF-8 with a BOM, a header row, one row per line, dates
//!   without a zone in Asia/Tokyo (the admin's zone; what `../shared/docs`
//!   gathered from the collectors that read it); an incomplete download ends
//!   with the documented `downloadLogs error` line;
//! - "do not make parallel requests, not less than 1 minute apart": every
//!   download request's arrival is recorded, and a download requested while
//!   another's CSV was not yet fetched counts as parallel.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};

use super::Server;

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret";
pub const SERVICE_ACCOUNT: &str = "test.serviceaccount@example";

/// The test-only key pair (tests/fixtures/pull/README.md).
pub fn private_key() -> String {
    std::fs::read_to_string(crate::util::repo().join("tests/fixtures/pull/test-only-rsa.pem"))
        .unwrap()
}

fn public_key() -> String {
    std::fs::read_to_string(crate::util::repo().join("tests/fixtures/pull/test-only-rsa.pub.pem"))
        .unwrap()
}

/// One audit row of the `auth` service.
#[derive(Debug, Clone)]
pub struct Row {
    pub at: DateTime<Utc>,
    /// `Name(id@domain)`.
    pub user: String,
    pub description: String,
    pub ip: String,
}

/// One download request, as received.
#[derive(Debug, Clone)]
pub struct Download {
    pub at: Instant,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What the fake holds and saw.
#[derive(Debug, Default)]
pub struct Lw {
    pub rows: Vec<Row>,
    /// Tokens that work now.
    valid: HashSet<String>,
    /// Token requests whose assertion verified.
    pub tokens_issued: usize,
    /// Token requests refused (bad signature, claims, client).
    pub tokens_refused: Vec<String>,
    pub downloads: Vec<Download>,
    /// Download requests answered 401.
    pub unauthorized: usize,
    /// CSVs fetched.
    pub csv_fetches: usize,
    /// The next this many CSVs end after `truncate_after` rows with the trailer.
    pub truncate_next: usize,
    pub truncate_after: usize,
    /// Downloads requested while another's CSV was not fetched yet.
    pub parallel: usize,
    /// Download URLs handed out and not used yet: id -> (start, end).
    pending: HashMap<u64, (DateTime<Utc>, DateTime<Utc>)>,
    next_id: u64,
}

/// The running fake.
pub struct FakeLineworks {
    pub server: Server,
    pub state: Arc<Mutex<Lw>>,
}

impl FakeLineworks {
    pub fn start() -> FakeLineworks {
        let state = Arc::new(Mutex::new(Lw::default()));
        let router = axum::Router::new()
            .route("/oauth2/v2.0/token", post(token))
            .route("/v1.0/audits/logs/download", get(download))
            .route("/files/{id}", get(csv))
            .with_state(state.clone());
        FakeLineworks {
            server: super::serve(router),
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Lw) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Every token issued so far stops working (an expired or revoked token).
    pub fn expire_tokens(&self) {
        self.with(|s| s.valid.clear());
    }

    /// The config keys pointing a source at this fake.
    pub fn source_config(&self, credentials: &std::path::Path) -> String {
        let base = self.server.base();
        format!(
            "[[source]]\npull = \"lineworks\"\nurl = \"{base}/v1.0\"\ntoken_url = \"{base}/oauth2/v2.0/token\"\n\
             credentials = \"{}\"\ninterval = \"1s\"\nstart = \"1h\"\n",
            credentials.display()
        )
    }
}

/// Writes a credentials file (0600) for this fake's service account.
pub fn write_credentials(path: &std::path::Path) {
    let text = format!(
        "client_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\nservice_account = \"{SERVICE_ACCOUNT}\"\nprivate_key = '''\n{}'''\n",
        private_key()
    );
    loginwatch::private::write(path, text.as_bytes()).unwrap();
}

type St = State<Arc<Mutex<Lw>>>;

fn oauth_error(s: &mut Lw, why: String) -> Response {
    s.tokens_refused.push(why);
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            serde_json::json!({"error": "invalid_grant", "error_description": "invalid assertion"}),
        ),
    )
        .into_response()
}

async fn token(State(st): St, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut s = st.lock().unwrap();
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return oauth_error(&mut s, format!("grant_type {:?}", field("grant_type")));
    }
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return oauth_error(&mut s, "client".into());
    }
    if !field("scope").split([' ', ',']).any(|x| x == "audit.read") {
        return oauth_error(&mut s, format!("scope {:?}", field("scope")));
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key().as_bytes()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    v.set_issuer(&[CLIENT_ID]);
    v.sub = Some(SERVICE_ACCOUNT.to_owned());
    let claims = match jsonwebtoken::decode::<serde_json::Value>(field("assertion"), &key, &v) {
        Ok(d) => d.claims,
        Err(e) => return oauth_error(&mut s, format!("assertion: {e}")),
    };
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if exp <= iat || exp - iat > 3600 {
        return oauth_error(&mut s, format!("iat {iat} exp {exp}"));
    }
    s.tokens_issued += 1;
    let t = format!("fake-token-{}", s.tokens_issued);
    s.valid.insert(t.clone());
    axum::Json(serde_json::json!({
        "access_token": t,
        "refresh_token": "unused",
        "scope": "audit.read",
        "token_type": "Bearer",
        "expires_in": "86400",
    }))
    .into_response()
}

fn bearer_ok(s: &Lw, h: &HeaderMap) -> bool {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| s.valid.contains(t))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            serde_json::json!({"code": "UNAUTHORIZED", "description": "Authentication failed"}),
        ),
    )
        .into_response()
}

async fn download(
    State(st): St,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = st.lock().unwrap();
    if !bearer_ok(&s, &h) {
        s.unauthorized += 1;
        return unauthorized();
    }
    // `YYYY-MM-DDThh:mm:ssTZD`.
    let time = |k: &str| {
        q.get(k)
            .and_then(|v| DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%:z").ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(start), Some(end)) = (time("startTime"), time("endTime")) else {
        return (StatusCode::BAD_REQUEST, format!("bad times: {q:?}")).into_response();
    };
    if q.get("service").map(String::as_str) != Some("auth") {
        return (StatusCode::BAD_REQUEST, "service").into_response();
    }
    if !s.pending.is_empty() {
        s.parallel += 1;
    }
    s.downloads.push(Download {
        at: Instant::now(),
        start,
        end,
    });
    s.next_id += 1;
    let id = s.next_id;
    s.pending.insert(id, (start, end));
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("http://{host}/files/{id}"))],
    )
        .into_response()
}

async fn csv(State(st): St, h: HeaderMap, Path(id): Path<u64>) -> Response {
    let mut s = st.lock().unwrap();
    if !bearer_ok(&s, &h) {
        return unauthorized();
    }
    // A download URL works once ("get the latest download URL").
    let Some((start, end)) = s.pending.remove(&id) else {
        return (StatusCode::NOT_FOUND, "expired").into_response();
    };
    s.csv_fetches += 1;
    let mut rows: Vec<&Row> = s
        .rows
        .iter()
        .filter(|r| r.at >= start && r.at <= end)
        .collect();
    rows.sort_by_key(|r| r.at);
    let truncated = s.truncate_next > 0;
    if truncated {
        rows.truncate(s.truncate_after);
    }
    let mut out = String::from("\u{feff}Date,User,Description,Service Type,IP Address\r\n");
    for r in rows {
        let tokyo = r.at + chrono::Duration::hours(9);
        let user = if r.user.contains(',') {
            format!("\"{}\"", r.user)
        } else {
            r.user.clone()
        };
        out.push_str(&format!(
            "{},{user},{},PC Web,{}\r\n",
            tokyo.format("%Y-%m-%d %H:%M:%S"),
            r.description,
            r.ip
        ));
    }
    if truncated {
        s.truncate_next -= 1;
        out.push_str("downloadLogs error\r\n");
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=UTF-8")], out).into_response()
}

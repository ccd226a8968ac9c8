//! The route handlers: translate HTTP to [`AdminBackend`] calls and results to
//! status codes and JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use super::backend::{AdminBackend, BackendError, UnlockError};
use super::guard::Credential;
use crate::account::AccountFacts;
use crate::decision::Mode;
use crate::escape::Escaped;
use crate::state::model::{AuditEntry, DecisionRecord};
use crate::telemetry::UnlockHow;

/// Longest accepted `by` of an unlock (an admin's name).
const MAX_BY: usize = 128;
/// Longest accepted `reason` of an unlock.
const MAX_REASON: usize = 2000;

/// A failed request: its status and the message of the JSON body.
pub struct ApiError(pub(super) StatusCode, pub(super) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        tracing::error!("admin API: {e}");
        let status = match e {
            BackendError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            BackendError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

/// Runs a backend call on the blocking pool (the store is synchronous SQLite and
/// must not stall the async workers serving `/metrics` and `/healthz`).
pub(super) async fn blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&dyn AdminBackend) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let backend = s.backend.clone();
    tokio::task::spawn_blocking(move || f(backend.as_ref()))
        .await
        .map_err(|e| {
            tracing::error!("admin API: backend call failed: {e}");
            ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
        })
}

pub async fn metrics(State(s): State<AppState>) -> Response {
    let body = s.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(s): State<AppState>) -> Result<Response, ApiError> {
    let r = blocking(&s, |b| b.readiness()).await?;
    let status = if r.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "ready": r.is_ready(), "problems": r.problems, "warnings": r.warnings, "sources": r.sources });
    Ok((status, Json(body)).into_response())
}

/// Query of the decision list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    active: bool,
    /// Only decisions in this mode (`held`: a lockout storm's, for one review).
    #[serde(default)]
    mode: Option<String>,
}

#[derive(Serialize)]
struct DecisionList {
    decisions: Vec<DecisionRecord>,
}

pub async fn decisions(
    State(s): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let mode = match q.mode.as_deref() {
        None => None,
        Some(m) => Some(Mode::parse(m).ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown mode {:?}: expected one of {}",
                    m,
                    Mode::ALL.join(", ")
                ),
            )
        })?),
    };
    let mut decisions = blocking(&s, move |b| b.decisions(q.active)).await??;
    if let Some(m) = mode {
        decisions.retain(|r| r.decision.mode == m);
    }
    Ok(Json(DecisionList { decisions }))
}

/// A decision with its audit trail (`GET /api/v1/decisions/{id}`).
#[derive(Serialize)]
struct DecisionDetail {
    decision: DecisionRecord,
    audit: Vec<AuditEntry>,
}

fn no_decision() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no decision with this id".into())
}

pub async fn decision(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<impl Serialize>, ApiError> {
    let found = blocking(&s, move |b| b.decision(&id)).await??;
    let (decision, audit) = found.ok_or_else(no_decision)?;
    Ok(Json(DecisionDetail { decision, audit }))
}

/// Body of `POST /api/v1/decisions/{id}/unlock`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockRequest {
    by: String,
    reason: String,
}

fn bad_request(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, m.into())
}

/// Checks an unlock body: both fields present, bounded, `by` printable.
fn unlock_request(body: &[u8]) -> Result<UnlockRequest, ApiError> {
    let r: UnlockRequest = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "body must be JSON {{\"by\": ..., \"reason\": ...}}: {e}"
        ))
    })?;
    let by = r.by.trim();
    if by.is_empty() || by.chars().count() > MAX_BY || by.chars().any(char::is_control) {
        return Err(bad_request(format!(
            "`by` must be 1 to {MAX_BY} characters without control characters"
        )));
    }
    let reason = r.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(bad_request(format!(
            "`reason` must be 1 to {MAX_REASON} characters"
        )));
    }
    Ok(UnlockRequest {
        by: by.to_owned(),
        reason: reason.to_owned(),
    })
}

/// The `by` and `reason` of an unlock body as [`unlock`] accepts them, or the
/// message of its 400 answer: the body check without a server, used by the
/// fuzz targets.
pub fn unlock_body(body: &[u8]) -> Result<(String, String), String> {
    unlock_request(body)
        .map(|r| (r.by, r.reason))
        .map_err(|e| e.1)
}

/// The admin named by a storm-reset body as [`reset_storm`] accepts it (`admin`
/// when `by` is absent), or the message of its 400 answer: used by the fuzz
/// targets.
pub fn storm_reset_by(body: &[u8]) -> Result<String, String> {
    storm_request(body).map_err(|e| e.1)
}

/// Unlocks; the guard has authenticated the caller, whose credential goes
/// into the audit trail beside the `by` it gave.
pub async fn unlock(
    State(s): State<AppState>,
    Extension(Credential(credential)): Extension<Credential>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<impl Serialize>, Response> {
    let req = unlock_request(&body).map_err(IntoResponse::into_response)?;
    let (by, reason) = (req.by.clone(), req.reason.clone());
    let (id2, cred) = (id.clone(), credential.clone());
    let result = blocking(&s, move |b| b.unlock(&id2, &by, &reason, &cred))
        .await
        .map_err(IntoResponse::into_response)?;
    match result {
        Ok(record) => {
            s.metrics.unlock(UnlockHow::Admin);
            tracing::info!(
                credential = %credential,
                "decision {} unlocked by {}: {}",
                Escaped(&id),
                Escaped(&req.by),
                Escaped(&req.reason)
            );
            Ok(Json(json!({ "decision": record })))
        }
        Err(UnlockError::NotFound) => Err(no_decision().into_response()),
        Err(e @ UnlockError::NotActive(_)) => {
            Err(ApiError(StatusCode::CONFLICT, e.to_string()).into_response())
        }
        Err(UnlockError::Other(e)) => Err(ApiError::from(e).into_response()),
    }
}

/// An account's facts and the decisions in force about it.
#[derive(Serialize)]
struct AccountView {
    facts: AccountFacts,
    active_decisions: Vec<DecisionRecord>,
}

pub async fn account(
    State(s): State<AppState>,
    Path(user): Path<String>,
) -> Result<Json<impl Serialize>, ApiError> {
    let found = blocking(&s, move |b| b.account(&user)).await??;
    let (facts, active_decisions) =
        found.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "account never seen".into()))?;
    Ok(Json(AccountView {
        facts,
        active_decisions,
    }))
}

/// `GET /api/v1/accounts/{user}/why` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhyQuery {
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    at: Option<String>,
}

/// Why `user` cannot log in.
pub async fn why(
    State(s): State<AppState>,
    Path(user): Path<String>,
    q: Result<Query<WhyQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return ApiError(StatusCode::BAD_REQUEST, e.body_text()).into_response(),
    };
    let language = match q.language.as_deref().map(crate::helpdesk::Language::parse) {
        None => crate::helpdesk::Language::En,
        Some(Some(l)) => l,
        Some(None) => {
            return ApiError(
                StatusCode::BAD_REQUEST,
                "language: expected en or ja".into(),
            )
            .into_response();
        }
    };
    let at = match q.at.as_deref().map(chrono::DateTime::parse_from_rfc3339) {
        None => chrono::Utc::now(),
        Some(Ok(t)) => t.with_timezone(&chrono::Utc),
        Some(Err(_)) => {
            return ApiError(
                StatusCode::BAD_REQUEST,
                "at: expected an RFC 3339 time".into(),
            )
            .into_response();
        }
    };
    match blocking(&s, move |b| b.why(&user, at, language)).await {
        Ok(Ok(d)) => Json(d).into_response(),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such endpoint".into())
}

/// `POST /api/v1/safety/storm/reset` with `{"by": "..."}`: an admin closes the
/// lockout storm breaker before its cool-down ends.
pub async fn reset_storm(
    State(s): State<AppState>,
    Extension(Credential(credential)): Extension<Credential>,
    body: Bytes,
) -> Response {
    let by = match storm_request(&body) {
        Ok(by) => by,
        Err(e) => return e.into_response(),
    };
    match blocking(&s, move |b| b.reset_storm(&by, &credential)).await {
        Ok(Ok(was_open)) => Json(serde_json::json!({ "was_open": was_open })).into_response(),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Body of `POST /api/v1/safety/storm/reset`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StormRequest {
    #[serde(default)]
    by: Option<String>,
}

/// The `by` of a storm reset (`admin` when absent), checked like an unlock's.
fn storm_request(body: &[u8]) -> Result<String, ApiError> {
    let r: StormRequest = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("body must be JSON {{\"by\": ...}}: {e}")))?;
    let by = r.by.as_deref().map_or("admin", str::trim);
    if by.is_empty() || by.chars().count() > MAX_BY || by.chars().any(char::is_control) {
        return Err(bad_request(format!(
            "`by` must be 1 to {MAX_BY} characters without control characters"
        )));
    }
    Ok(by.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlock_bodies_are_checked() {
        let ok = unlock_request(br#"{"by": " alice ", "reason": "called the helpdesk"}"#)
            .ok()
            .unwrap();
        assert_eq!(
            (ok.by.as_str(), ok.reason.as_str()),
            ("alice", "called the helpdesk")
        );
        for bad in [
            &br#"{"by": "alice"}"#[..],
            br#"{"by": "", "reason": "x"}"#,
            br#"{"by": "a\u001b[2J", "reason": "x"}"#,
            br#"{"by": "a", "reason": "  "}"#,
            br#"{"by": "a", "reason": "x", "extra": 1}"#,
            b"not json",
        ] {
            let e = unlock_request(bad).err().unwrap();
            assert_eq!(e.0, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn storm_reset_bodies_are_checked() {
        assert_eq!(storm_request(br#"{"by": " bob "}"#).ok().unwrap(), "bob");
        assert_eq!(storm_request(b"{}").ok().unwrap(), "admin");
        for bad in [
            &b"x"[..],
            br#"{"by": ""}"#,
            br#"{"by": "a\u0007"}"#,
            br#"{"who": "a"}"#,
        ] {
            assert_eq!(storm_request(bad).err().unwrap().0, StatusCode::BAD_REQUEST);
        }
    }
}

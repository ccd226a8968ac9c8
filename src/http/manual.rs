//! `POST /api/v1/decisions` (a decision made by hand) and `POST
//! /api/v1/decisions/import` (exported decisions read back): translate the
//! JSON bodies to [`AdminBackend`] calls and their refusals to status codes.
//!
//! A manual decision answers 201 with the decision as stored; a wrong field is
//! 400, a refusal of the safety filter 409 (the message says why: the last
//! admin, an exempt user, an own address, the storm breaker). An import
//! answers 200 with `{"imported", "present"}`; invalid records are 422 and
//! conflicting ones 409, both listing every problem (`errors`: record, field,
//! message) and both writing nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::backend::{AddError, AddRequest, ImportError, ImportRequest};
use super::guard::Credential;
use super::handlers::{ApiError, blocking};

/// Largest import body: about 50,000 decisions. A bigger state moves with
/// the daemon stopped (`decisions import` then writes the file directly).
pub const MAX_IMPORT_BODY: usize = 32 * 1024 * 1024;

fn error(status: StatusCode, message: String) -> Response {
    ApiError(status, message).into_response()
}

/// The body of an add as [`add`] accepts it, or the message of its 400.
pub fn add_body(body: &[u8]) -> Result<AddRequest, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "body must be JSON {{\"user\" or \"ip\", \"action\", \"duration\", \"mode\", \"reason\", \"by\"}}: {e}"
        )
    })
}

/// `POST /api/v1/decisions`.
pub async fn add(
    State(s): State<AppState>,
    Extension(Credential(credential)): Extension<Credential>,
    body: Bytes,
) -> Response {
    let req = match add_body(&body) {
        Ok(r) => r,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    match blocking(&s, move |b| b.add(&req, &credential)).await {
        Ok(Ok(record)) => {
            (StatusCode::CREATED, Json(json!({ "decision": record }))).into_response()
        }
        Ok(Err(e @ AddError::Invalid(_))) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Ok(Err(e @ AddError::Refused(_))) => error(StatusCode::CONFLICT, e.to_string()),
        Ok(Err(AddError::Other(e))) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/decisions/import`.
pub async fn import(
    State(s): State<AppState>,
    Extension(Credential(credential)): Extension<Credential>,
    body: Bytes,
) -> Response {
    let req: ImportRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body must be JSON {{\"by\", \"file\", \"decisions\": [...]}}: {e}"),
            );
        }
    };
    let listed = |status: StatusCode, e: &ImportError, errors| {
        (
            status,
            Json(json!({ "error": e.to_string(), "errors": errors })),
        )
            .into_response()
    };
    match blocking(&s, move |b| b.import(&req, &credential)).await {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(e @ ImportError::Invalid(_))) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Ok(Err(ref e @ ImportError::Records(ref errors))) => {
            listed(StatusCode::UNPROCESSABLE_ENTITY, e, errors.clone())
        }
        Ok(Err(ref e @ ImportError::Conflicts(ref errors))) => {
            listed(StatusCode::CONFLICT, e, errors.clone())
        }
        Ok(Err(ImportError::Other(e))) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_bodies_refuse_unknown_fields() {
        let ok = add_body(br#"{"user": "bob", "reason": "phished", "by": "alice"}"#).unwrap();
        assert_eq!(ok.user.as_deref(), Some("bob"));
        for bad in [
            &br#"{"user": "bob", "reason": "x", "by": "a", "target": "x"}"#[..],
            br#"{"user": "bob", "by": "a"}"#,
            b"[]",
        ] {
            assert!(add_body(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}

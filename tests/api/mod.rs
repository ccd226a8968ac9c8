//! The admin API and its CLI: routes through `tower::ServiceExt::oneshot` over an
//! in-memory backend, the CLI against a served router, configuration errors with
//! their lines, and `promtool check metrics` on the metrics output.

mod cli;
mod config;
mod routes;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use loginwatch::account::AccountFacts;
use loginwatch::decision::{DecisionAction, Mode, Severity, Target};
use loginwatch::http::{
    AdminBackend, AdminToken, AppState, BackendError, Problem, Readiness, UnlockError, router,
};
use loginwatch::state::model::{AuditEntry, DecisionRecord, LockStatus};

use crate::util::decision::decision;
use crate::util::{lw, repo};
use loginwatch::telemetry::Metrics;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An in-memory stand-in for the daemon's store.
#[derive(Default)]
struct Fake {
    records: Mutex<Vec<(DecisionRecord, Vec<AuditEntry>)>>,
    problems: Vec<Problem>,
}

fn record(id: &str, user: &str, status: LockStatus) -> DecisionRecord {
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap();
    DecisionRecord {
        decision: decision()
            .id(id)
            .rule("ssh-brute")
            .user(user)
            .at(at)
            .severity(Severity::Medium)
            .mode(Mode::Recommend)
            .ips(&["192.0.2.7"])
            .users(&[user])
            .build(),
        status,
        ended_at: None,
        unlocked_by: None,
        unlock_reason: None,
        detector: None,
    }
}

fn audit(id: &str, what: &str, who: &str) -> AuditEntry {
    AuditEntry {
        at: Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap(),
        decision_id: id.to_owned(),
        what: what.to_owned(),
        who: who.to_owned(),
        detail: String::new(),
        credential: None,
    }
}

impl Fake {
    fn with_two() -> Fake {
        let f = Fake::default();
        f.records.lock().unwrap().extend([
            (
                record("00000000000000aa", "alice", LockStatus::Active),
                vec![audit("00000000000000aa", "decided", "loginwatch")],
            ),
            (
                record("00000000000000bb", "bob", LockStatus::Expired),
                vec![],
            ),
        ]);
        f
    }
}

impl AdminBackend for Fake {
    fn decisions(&self, active_only: bool) -> Result<Vec<DecisionRecord>, BackendError> {
        let r = self.records.lock().unwrap();
        Ok(r.iter()
            .filter(|(d, _)| !active_only || d.status == LockStatus::Active)
            .map(|(d, _)| d.clone())
            .collect())
    }

    fn decision(
        &self,
        id: &str,
    ) -> Result<Option<(DecisionRecord, Vec<AuditEntry>)>, BackendError> {
        let r = self.records.lock().unwrap();
        Ok(r.iter().find(|(d, _)| d.decision.id == id).cloned())
    }

    fn unlock(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
    ) -> Result<DecisionRecord, UnlockError> {
        let mut r = self.records.lock().unwrap();
        let (d, trail) = r
            .iter_mut()
            .find(|(d, _)| d.decision.id == id)
            .ok_or(UnlockError::NotFound)?;
        if d.status != LockStatus::Active {
            return Err(UnlockError::NotActive(d.status));
        }
        d.status = LockStatus::Unlocked;
        d.unlocked_by = Some(by.to_owned());
        d.unlock_reason = Some(reason.to_owned());
        let mut line = audit(id, "unlocked", by);
        line.credential = Some(credential.to_owned());
        trail.push(line);
        Ok(d.clone())
    }

    fn account(
        &self,
        user: &str,
    ) -> Result<Option<(AccountFacts, Vec<DecisionRecord>)>, BackendError> {
        if user == "broken" {
            // A real SQLite I/O error; its message is "disk I/O error".
            let io = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR);
            return Err(BackendError::Store(
                rusqlite::Error::SqliteFailure(io, None).into(),
            ));
        }
        let active: Vec<DecisionRecord> = self
            .decisions(true)?
            .into_iter()
            .filter(|d| d.decision.target.user.as_deref() == Some(user))
            .collect();
        if user != "alice" && user != "bob" {
            return Ok(None);
        }
        let facts = AccountFacts {
            user: user.to_owned(),
            consecutive_failures: 5,
            ..AccountFacts::default()
        };
        Ok(Some((facts, active)))
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            problems: self.problems.clone(),
            warnings: Vec::new(),
            sources: Vec::new(),
        }
    }
}

const TOKEN: &str = "t0ken-for-tests";

/// The address the routed requests name in `Host`.
const LISTEN: &str = "127.0.0.1:9464";

fn state_on(fake: Fake, listen: std::net::SocketAddr) -> AppState {
    AppState::new(
        Arc::new(fake),
        Arc::new(Metrics::new()),
        AdminToken::configured(TOKEN),
        listen,
    )
}

fn state(fake: Fake) -> AppState {
    state_on(fake, LISTEN.parse().unwrap())
}

/// Sends one request through the router (naming [`LISTEN`] in `Host` unless
/// the request names a host); returns status, content type and body.
fn call(s: &AppState, mut req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    if !req.headers().contains_key(header::HOST) {
        req.headers_mut()
            .insert(header::HOST, header::HeaderValue::from_static(LISTEN));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = router(s.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, ct, body)
    })
}

/// GET with the admin token.
fn get(s: &AppState, uri: &str) -> (StatusCode, Value) {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (st, ct, body) = call(s, req);
    assert!(ct.starts_with("application/json"), "{uri}: {ct}");
    (st, serde_json::from_slice(&body).unwrap())
}

fn post_unlock(s: &AppState, id: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut b = Request::post(format!("/api/v1/decisions/{id}/unlock"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let (st, _, body) = call(s, b.body(Body::from(body.to_string())).unwrap());
    (st, serde_json::from_slice(&body).unwrap())
}

//! The agent's HTTP endpoints, on `[http] listen` when the agent's file has
//! an `[http]` table: `/healthz`, `/readyz` and `/metrics`, open like the
//! daemon's and like them naming no user or address (counts only). There is
//! no admin API on an agent.
//!
//! `/readyz` is `200 ready` while the agent is connected to NATS, its last
//! publish was acknowledged and its spool is below its bound; else `503`
//! with the reason in one plain line (`spool full: ...`, `not connected to
//! NATS ...`), which is what a load balancer's or an operator's check shows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::daemon::DaemonError;
use crate::fleet::health::Link;
use crate::fleet::spool::Spool;
use crate::telemetry::Metrics;

/// What the endpoints read.
#[derive(Clone)]
pub struct AgentState {
    pub link: Arc<Link>,
    pub spool: Arc<Spool>,
    pub metrics: Arc<Metrics>,
}

impl AgentState {
    /// Why the agent is not ready; `None` when it is.
    pub fn problem(&self) -> Option<String> {
        let s = self.spool.stats();
        let spool = s.full().then(|| {
            format!(
                "spool full: {} of {} bytes, {} events waiting for NATS; reading paused",
                s.bytes, s.max_bytes, s.messages
            )
        });
        match (self.link.problem(), spool) {
            (None, None) => None,
            (Some(a), None) | (None, Some(a)) => Some(a),
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        }
    }
}

/// The routes.
pub fn router(state: AgentState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(s): State<AgentState>) -> Response {
    match s.problem() {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(p) => (StatusCode::SERVICE_UNAVAILABLE, format!("{p}\n")).into_response(),
    }
}

async fn metrics(State(s): State<AgentState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// Binds `listen` (its address written to `addr_file`, 0600, once bound)
/// and serves until `cancel`.
pub async fn serve(
    listen: SocketAddr,
    addr_file: Option<PathBuf>,
    state: AgentState,
    cancel: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| DaemonError::Listen {
            addr: listen,
            error,
        })?;
    let addr = listener.local_addr()?;
    info!(%addr, "Listening (health, readiness, metrics).");
    if let Some(f) = &addr_file {
        crate::private::write(f, addr.to_string().as_bytes())?;
    }
    Ok(tokio::spawn(async move {
        if let Err(e) = crate::http::serve(listener, router(state), cancel.cancelled_owned()).await
        {
            tracing::warn!(error = %e, "HTTP server stopped.");
        }
    }))
}

#[cfg(test)]
mod tests;

//! The daemon's HTTP side (axum): metrics, health, readiness and the admin API.
//!
//! Routes:
//! - `GET /metrics`: Prometheus text format ([`crate::telemetry::Metrics`]).
//! - `GET /healthz`: 200 `ok` while the process serves requests.
//! - `GET /readyz`: 200 when every source is readable and the state writable, else
//!   503 with a JSON list of problems ([`Readiness`]).
//! - `GET /api/v1/decisions?active=true`, `GET /api/v1/decisions/{id}` (with its
//!   audit trail), `POST /api/v1/decisions/{id}/unlock` (JSON `{"by", "reason"}`,
//!   bearer token), `GET /api/v1/accounts/{user}`, `GET
//!   /api/v1/accounts/{user}/why?language=en|ja[&at=RFC3339]` (why the person
//!   cannot log in; bearer token when one is configured: it names addresses).
//!
//! The state is behind the [`AdminBackend`] trait so this layer can be tested
//! without a database and the CLI can reuse it offline. Every error body is JSON
//! `{"error": "..."}`, so scripts never have to parse text.

mod auth;
mod backend;
mod handlers;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use auth::constant_time_eq;
pub use backend::{AdminBackend, BackendError, Problem, Readiness, UnlockError, status_str};
pub use handlers::{storm_reset_by, unlock_body};

use crate::telemetry::Metrics;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The state behind the admin API.
    pub backend: Arc<dyn AdminBackend>,
    /// The metrics `/metrics` renders (admin unlocks are counted here).
    pub metrics: Arc<Metrics>,
    /// Token for mutating endpoints. `None` leaves them open, which the config only
    /// allows on a loopback address.
    pub admin_token: Option<String>,
}

/// The application's routes over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(handlers::metrics))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/api/v1/decisions", get(handlers::decisions))
        .route("/api/v1/decisions/{id}", get(handlers::decision))
        .route("/api/v1/decisions/{id}/unlock", post(handlers::unlock))
        .route("/api/v1/accounts/{user}", get(handlers::account))
        .route("/api/v1/accounts/{user}/why", get(handlers::why))
        .route("/api/v1/safety/storm/reset", post(handlers::reset_storm))
        .fallback(handlers::not_found)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in
/// flight finish (graceful shutdown) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

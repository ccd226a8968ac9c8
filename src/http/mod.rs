//! The daemon's HTTP side (axum): metrics, health, readiness and the admin API.
//!
//! Routes:
//! - `GET /metrics`: Prometheus text format ([`crate::telemetry::Metrics`]).
//! - `GET /healthz`: 200 `ok` while the process serves requests.
//! - `GET /readyz`: 200 when every source is readable and the state writable, else
//!   503 with a JSON list of problems ([`Readiness`]).
//! - `GET /api/v1/decisions?active=true`, `GET /api/v1/decisions/{id}` (with its
//!   audit trail), `POST /api/v1/decisions/{id}/unlock` (JSON `{"by", "reason"}`),
//!   `POST /api/v1/decisions` (a decision made by hand, JSON `{"user"|"ip",
//!   "action", "duration", "mode", "reason", "by"}`), `POST
//!   /api/v1/decisions/import` (exported decisions, JSON `{"by", "file",
//!   "decisions"}`, see [`manual`]),
//!   `GET /api/v1/accounts/{user}`, `GET
//!   /api/v1/accounts/{user}/why?language=en|ja[&at=RFC3339]` (why the person
//!   cannot log in), `POST /api/v1/safety/storm/reset` (JSON `{"by"}`).
//!
//! Every `/api/v1/*` route, reads included, passes [`guard::api_guard`]: the
//! bearer token (there always is one: configured, or generated at the first
//! start, see [`token`]), a `Host` naming this listener, no cross-site
//! `Origin`, JSON bodies of at most 16 KiB (an import's: 32 MiB), and a rate limit on failed
//! authentications. `/metrics`, `/healthz` and `/readyz` stay open: they name
//! no user or address.
//!
//! The state is behind the [`AdminBackend`] trait so this layer can be tested
//! without a database and the CLI can reuse it offline. Every error body is JSON
//! `{"error": "..."}`, so scripts never have to parse text.

mod auth;
mod backend;
pub mod guard;
mod handlers;
pub mod manual;
pub mod token;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use auth::{FailureLimiter, MAX_FAILURES, constant_time_eq};
pub use backend::{
    AddError, AddRequest, AdminBackend, BackendError, ImportError, ImportRequest, Problem,
    Readiness, SourceReady, UnlockError, status_str,
};
pub use guard::{Credential, HostCheck, MAX_BODY};
pub use handlers::{storm_reset_by, unlock_body};
pub use manual::add_body;
pub use token::AdminToken;

use crate::telemetry::Metrics;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The state behind the admin API.
    pub backend: Arc<dyn AdminBackend>,
    /// The metrics `/metrics` renders (admin unlocks are counted here).
    pub metrics: Arc<Metrics>,
    /// The token every `/api/v1/*` request must carry.
    pub admin: Arc<AdminToken>,
    /// Which `Host` and `Origin` name this listener.
    pub hosts: Arc<HostCheck>,
    /// Failed authentications per peer.
    pub limiter: Arc<FailureLimiter>,
}

impl AppState {
    /// The state of a listener bound to `listen` (port 0 already resolved).
    pub fn new(
        backend: Arc<dyn AdminBackend>,
        metrics: Arc<Metrics>,
        admin: AdminToken,
        listen: SocketAddr,
    ) -> AppState {
        AppState {
            backend,
            metrics,
            admin: Arc::new(admin),
            hosts: Arc::new(HostCheck::new(listen)),
            limiter: Arc::new(FailureLimiter::default()),
        }
    }
}

/// The application's routes over `state`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/decisions", get(handlers::decisions).post(manual::add))
        .route(
            "/decisions/import",
            post(manual::import).layer(DefaultBodyLimit::max(manual::MAX_IMPORT_BODY)),
        )
        .route("/decisions/{id}", get(handlers::decision))
        .route("/decisions/{id}/unlock", post(handlers::unlock))
        .route("/accounts/{user}", get(handlers::account))
        .route("/accounts/{user}/why", get(handlers::why))
        .route("/safety/storm/reset", post(handlers::reset_storm))
        // route_layer: only matched routes are guarded, an unknown path is a
        // plain 404. The body limit backs up the Content-Length check for
        // chunked bodies.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::api_guard,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Router::new()
        .route("/metrics", get(handlers::metrics))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .nest("/api/v1", api)
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
    // Peer addresses for the per-peer limit on failed authentications.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

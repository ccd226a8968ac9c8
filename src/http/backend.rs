//! What the admin API needs from the daemon's state, as a trait.
//!
//! The HTTP layer does not know SQLite: the daemon implements [`AdminBackend`] over
//! its store, the CLI implements it over the state file when the daemon is
//! stopped, and tests use an in-memory double. Methods are synchronous because the
//! store is (rusqlite); the handlers call them on tokio's blocking pool.

use serde::Serialize;

use crate::account::AccountFacts;
use crate::state::model::{AuditEntry, DecisionRecord, LockStatus};

/// A failure of the state behind the API.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The state cannot be reached (daemon stopped and no offline access, database
    /// closed while shutting down).
    #[error("state not available: {0}")]
    Unavailable(String),
    /// The store failed (an SQLite error, a corrupt row).
    #[error("state store failed: {0}")]
    Store(#[from] crate::state::StateError),
}

/// Why an unlock was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// No decision has this id.
    #[error("no decision with this id")]
    NotFound,
    /// The decision is not in force any more (expired or already unlocked).
    #[error("decision is not active (status {})", status_str(*.0))]
    NotActive(LockStatus),
    /// The store failed.
    #[error(transparent)]
    Other(#[from] BackendError),
}

/// The JSON spelling of a status, for messages.
pub fn status_str(s: LockStatus) -> &'static str {
    match s {
        LockStatus::Active => "active",
        LockStatus::Expired => "expired",
        LockStatus::Unlocked => "unlocked",
    }
}

/// One reason the daemon is not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "component", rename_all = "snake_case")]
pub enum Problem {
    /// A configured source cannot be read (missing, permissions).
    Source {
        /// The source's configured name.
        name: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The state database cannot be written.
    State { message: String },
}

/// Whether the daemon is ready: ready when there is no problem. Warnings
/// (an export that stopped early) are shown and do not make it unready.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Every source, up or not (empty where the backend has none).
    pub sources: Vec<SourceReady>,
}

/// One source in `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceReady {
    /// The configured name.
    pub name: String,
    /// What it reads: a path or glob, a listen address, `journal[:DIR]`.
    pub reads: String,
    pub up: bool,
    /// Why the embedded defaults chose it; absent for a configured source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
}

impl Readiness {
    /// True when nothing is wrong.
    pub fn is_ready(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The state operations of the admin API.
pub trait AdminBackend: Send + Sync + 'static {
    /// Every decision (or only those in force), newest first.
    fn decisions(&self, active_only: bool) -> Result<Vec<DecisionRecord>, BackendError>;

    /// One decision with its audit trail, oldest entry first; `None` if unknown.
    fn decision(&self, id: &str)
    -> Result<Option<(DecisionRecord, Vec<AuditEntry>)>, BackendError>;

    /// Ends an active decision, recording in the audit trail the name the
    /// caller gave (`by`, a note), why, and the `credential` that authenticated
    /// the change (`token:admin.token`, `cli-offline:uid 0`); returns the
    /// updated record. The caller counts the unlock in the metrics.
    fn unlock(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
    ) -> Result<DecisionRecord, UnlockError>;

    /// What is known of an account and the decisions in force about it; `None` if
    /// the account was never seen.
    fn account(
        &self,
        user: &str,
    ) -> Result<Option<(AccountFacts, Vec<DecisionRecord>)>, BackendError>;

    /// Why `user` cannot log in, as of `at` (see [`crate::helpdesk`]).
    fn why(
        &self,
        user: &str,
        at: chrono::DateTime<chrono::Utc>,
        language: crate::helpdesk::Language,
    ) -> Result<crate::helpdesk::Diagnosis, BackendError> {
        let _ = (user, at, language);
        Err(BackendError::Unavailable(
            "no account histories here".into(),
        ))
    }

    /// What currently keeps the daemon from being ready.
    fn readiness(&self) -> Readiness;

    /// Closes the lockout storm breaker now (an admin's command), so account
    /// locks are enforced again; returns whether it was open (`credential` as
    /// for [`AdminBackend::unlock`]). Backends without
    /// enforcement have no breaker.
    fn reset_storm(&self, by: &str, credential: &str) -> Result<bool, BackendError> {
        let _ = (by, credential);
        Err(BackendError::Unavailable(
            "no lockout storm breaker here".into(),
        ))
    }
}

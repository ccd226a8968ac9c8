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

/// A decision an admin makes by hand (`POST /api/v1/decisions`, `decisions
/// add`), as given: the backend parses and checks each field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// The account (one of `user`, `ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `lock_account` (default for a user), `block_ip` (default for an
    /// address), `disable_account`, `require_password_reset` or `alert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// How long it lasts (`30m`, `4h`, `7d`; default `4h`), or `admin`:
    /// until an admin unlocks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// `recommend` or `enforce` (default: the configuration's mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Why (audit trail and alert).
    pub reason: String,
    /// Who decides (a note beside the credential).
    pub by: String,
}

/// Why a manual decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// A field is missing or wrong (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// The safety filter refuses it (exempt, last admin, own address, storm).
    #[error("refused by the safety filter: {0}")]
    Refused(String),
    #[error(transparent)]
    Other(#[from] BackendError),
}

/// An import of exported decisions (`POST /api/v1/decisions/import`).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Who imports (a note beside the credential).
    pub by: String,
    /// Where the records come from, for the audit (a file name).
    #[serde(default)]
    pub file: Option<String>,
    /// The records, as `decisions list --json` prints them.
    pub decisions: Vec<serde_json::Value>,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The request itself is wrong (`by`).
    #[error("{0}")]
    Invalid(String),
    /// Records are invalid: every problem, by record and field.
    #[error("{} invalid records: nothing was imported", .0.len())]
    Records(Vec<crate::state::RecordError>),
    /// Records conflict with stored decisions of the same id.
    #[error("{} records conflict with stored decisions: nothing was imported", .0.len())]
    Conflicts(Vec<crate::state::RecordError>),
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
    /// The fleet's detector is not consuming the stream (not connected to
    /// NATS, or its consumer not set up).
    Fleet { message: String },
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

    /// Records a decision an admin made by hand, after the same safety
    /// filter as a rule's; it then lives like one (alert, actions in enforce
    /// mode, expiry, unlock). `credential` as for [`AdminBackend::unlock`].
    fn add(&self, req: &AddRequest, credential: &str) -> Result<DecisionRecord, AddError> {
        let _ = (req, credential);
        Err(BackendError::Unavailable("no manual decisions here".into()).into())
    }

    /// Imports exported decisions: all, or nothing (see `crate::state::import`).
    fn import(
        &self,
        req: &ImportRequest,
        credential: &str,
    ) -> Result<crate::state::ImportReport, ImportError> {
        let _ = (req, credential);
        Err(BackendError::Unavailable("no imports here".into()).into())
    }

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

    /// The history loginwatch keeps of `user` (its last attempts, their
    /// hourly counts), as last committed; `None` if it keeps none.
    fn history(&self, user: &str) -> Result<Option<crate::account::History>, BackendError> {
        let _ = user;
        Ok(None)
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

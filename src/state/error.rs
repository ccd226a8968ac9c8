//! Errors of the state store, one enum so the daemon, the API and the CLI can
//! tell "unknown decision" (a 404) from "database broken" (a 500).

use std::path::PathBuf;

use super::model::LockStatus;

/// What can go wrong with the state database.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The directory meant to hold the database does not exist; the store does
    /// not create it because a typo in `state_path` should not silently scatter
    /// databases over the disk.
    #[error(
        "state database {path}: directory {dir} does not exist (create it, or point state_path elsewhere)"
    )]
    MissingDir { path: PathBuf, dir: PathBuf },
    /// SQLite could not open the file.
    #[error("state database {path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The database file could not be created (0600, before SQLite opens it).
    #[error("state database {path}: cannot create: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is a SQLite database that some other program owns.
    #[error("{path} is not a loginwatch state database (refusing to modify it)")]
    NotOurs { path: PathBuf },
    /// Written by a newer loginwatch: this binary would misread it.
    #[error(
        "state database {path} has schema version {found}, newer than this loginwatch supports ({supported}); upgrade loginwatch or use another state_path"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// Opened read-only but not yet migrated to this binary's schema.
    #[error(
        "state database {path} has schema version {found}, this loginwatch needs {supported}; start the daemon once to migrate it"
    )]
    TooOld {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A migration step failed; the database is left at the previous version.
    #[error("state database: migration to schema version {version} failed: {source}")]
    Migration {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    /// Any other SQLite failure (busy beyond the timeout, disk full, read-only).
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No decision has this id.
    #[error("no decision with id {0}")]
    UnknownDecision(String),
    /// The decision already ended.
    #[error("decision {id} is not active (it is {status})")]
    NotActive { id: String, status: LockStatus },
    /// A stored value that this binary cannot read back (edited by hand?).
    #[error("state database holds an unreadable {what}: {value:?}")]
    Corrupt { what: &'static str, value: String },
}

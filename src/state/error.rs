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
        "state database {path} has schema version {found}, newer than this loginwatch supports ({supported}); upgrade loginwatch, or run `loginwatch state reset` to move it aside and start clean"
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
    /// The file is damaged (`PRAGMA quick_check` findings, or SQLite calling it
    /// malformed or not a database). Never started over: that would forget
    /// locks, admin unlocks and read positions.
    #[error(
        "state database {path} is damaged ({detail}); loginwatch will not start over it. \
         See what is wrong with `loginwatch state check`; restore the file from a backup, \
         or run `loginwatch state reset` to move it aside (renamed with a timestamp) and start clean"
    )]
    Damaged { path: PathBuf, detail: String },
    /// A marker says a database existed at `path`, but it is gone, empty or
    /// another one (see [`super::guard`]).
    #[error(
        "state database {path} {what}, but {marker} records database {id} there: the state \
         (read positions, locks, admin unlocks) was lost, and starting over would re-read every \
         log from the start and decide again what was decided. Restore the file from a backup, \
         or run `loginwatch state reset` to start clean on purpose"
    )]
    Lost {
        path: PathBuf,
        marker: PathBuf,
        id: String,
        what: Lost,
    },
    /// The database was deleted, emptied or replaced while the daemon ran.
    #[error(
        "state database {path} {what} while the daemon was running; stopping rather than \
         writing into a file nobody will read. Restore the file, or run `loginwatch state reset`, \
         then start again"
    )]
    Moved { path: PathBuf, what: Lost },
    /// The marker file beside the database cannot be read or written.
    #[error("state marker {path}: {error}")]
    Marker {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// The database's path cannot be examined (permissions).
    #[error("state database {path}: {error}")]
    File {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// Any other SQLite failure (busy beyond the timeout, disk full, read-only).
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The engine snapshot could not be encoded into the database.
    #[error("state database: cannot write the engine snapshot: {0}")]
    Snapshot(#[source] crate::snapshot::SnapshotError),
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

/// How a database was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    Missing,
    Empty,
    Replaced,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lost::Missing => "is missing",
            Lost::Empty => "is empty",
            Lost::Replaced => "was replaced by another file",
        })
    }
}

impl StateError {
    /// Every value [`StateError::reason`] returns.
    pub const REASONS: [&'static str; 7] = [
        "disk_full",
        "io_error",
        "busy",
        "read_only",
        "damaged",
        "lost",
        "other",
    ];

    /// Why a commit failed, as the `reason` label of
    /// `loginwatch_state_commit_failures_total`: a handful of fixed values.
    pub fn reason(&self) -> &'static str {
        use rusqlite::ErrorCode as C;
        match self {
            StateError::Lost { .. } | StateError::Moved { .. } => "lost",
            StateError::Damaged { .. } => "damaged",
            StateError::Sqlite(e) | StateError::Open { source: e, .. } => {
                match e.sqlite_error_code() {
                    Some(C::DiskFull) => "disk_full",
                    Some(C::SystemIoFailure | C::CannotOpen) => "io_error",
                    Some(C::DatabaseBusy | C::DatabaseLocked) => "busy",
                    Some(C::ReadOnly | C::PermissionDenied) => "read_only",
                    Some(C::DatabaseCorrupt | C::NotADatabase) => "damaged",
                    _ => "other",
                }
            }
            _ => "other",
        }
    }

    /// True when the database must not be written any more (the daemon stops).
    /// A damaged file is not transient: retrying cannot help, and the next
    /// start refuses it with the way out.
    pub fn is_fatal(&self) -> bool {
        matches!(self.reason(), "lost" | "damaged")
    }
}

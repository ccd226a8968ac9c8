//! Opening the state database, and reading accounts back; committing the
//! daemon's batches is [`super::batch`].
//!
//! SQLite runs in WAL mode so readers (the CLI, `/readyz`) never block the
//! daemon's writer, with `synchronous = NORMAL` (a power loss may drop the
//! last commits but never tears one; a process crash loses nothing committed)
//! and a busy timeout so a second writer (the CLI unlocking while the daemon
//! runs) waits for the lock instead of failing.
//!
//! A `Store` is one connection: `Send`, not `Sync`; share it behind a mutex.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::error::StateError;
use super::facts;
use super::guard;
use super::migrate;
use super::schema::current_version;
use crate::account::AccountFacts;

/// How long a statement waits for another connection's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The state database.
pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    /// The file and id opened by [`Store::open_guarded`], verified before
    /// each commit; `None` for other opens (the CLI, tests, in memory).
    pub(super) identity: Option<guard::Identity>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`. The
    /// directory must exist: a missing one is an error that names it.
    pub fn open(path: &Path) -> Result<Store, StateError> {
        let mut conn = Store::connect(path)?;
        migrate::migrate(&mut conn, path).map_err(|e| damaged(path, e))?;
        Ok(Store {
            conn,
            path: path.into(),
            identity: None,
        })
    }

    /// [`Store::open`] for the daemon, refusing to start over (see
    /// [`super::guard`]): a marker without its database is a loss, a file
    /// failing `PRAGMA quick_check` is damaged, a database holding another id
    /// than the marker's was replaced. A first start writes the marker.
    /// Returns the store and whether this was a first start.
    pub fn open_guarded(path: &Path, now: &DateTime<Utc>) -> Result<(Store, bool), StateError> {
        let marker = guard::read_marker(path)?;
        let before = guard::file_state(path)?;
        guard::check_not_lost(path, marker.as_deref(), before)?;
        let mut conn = Store::connect(path)?;
        if before == guard::FileState::Present
            && let Err(detail) = guard::quick_check(&conn)
        {
            return Err(StateError::Damaged {
                path: path.into(),
                detail,
            });
        }
        migrate::migrate(&mut conn, path).map_err(|e| damaged(path, e))?;
        let id = guard::db_id(&conn)
            .map_err(|e| damaged(path, e.into()))?
            .ok_or_else(|| StateError::Damaged {
                path: path.into(),
                detail: "no database id after migration".into(),
            })?;
        let first = marker.is_none();
        match marker {
            Some(m) if m != id => {
                return Err(StateError::Lost {
                    path: path.into(),
                    marker: guard::marker_path(path),
                    id: m,
                    what: super::error::Lost::Replaced,
                });
            }
            Some(_) => {}
            None => {
                let (what, detail) = if before == guard::FileState::Present {
                    ("marked", "marker written for an existing database")
                } else {
                    ("created", "new database")
                };
                super::maintenance::log(&conn, now, what, "daemon", detail)?;
                guard::write_marker(path, &id)?;
            }
        }
        let identity = guard::Identity::of(path, id).map_err(|error| StateError::File {
            path: path.into(),
            error,
        })?;
        let store = Store {
            conn,
            path: path.into(),
            identity: Some(identity),
        };
        Ok((store, first && before != guard::FileState::Present))
    }

    /// Opens the connection with the daemon's settings, without migrating.
    fn connect(path: &Path) -> Result<Connection, StateError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(StateError::MissingDir {
                path: path.into(),
                dir: dir.into(),
            });
        }
        let open_err = |source| {
            damaged(
                path,
                StateError::Open {
                    path: path.into(),
                    source,
                },
            )
        };
        // Created 0600 before SQLite sees it: SQLite gives the -wal and -shm
        // files the database's mode, so all three stay private whatever the
        // umask (the state names users, addresses and audit trails).
        crate::private::precreate(path).map_err(|source| StateError::Create {
            path: path.into(),
            source,
        })?;
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Reading the mode back is also the first read: a file that is not a
        // database fails here, reported with its path.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(open_err)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(open_err)?;
        Ok(conn)
    }

    /// The state files (database, `-wal`, `-shm`) that group or others can
    /// read, with their modes: the daemon warns about each at start.
    pub fn loose_files(path: &Path) -> Vec<(PathBuf, u32)> {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                let p = PathBuf::from(p);
                crate::private::loose_mode(&p).map(|m| (p, m))
            })
            .collect()
    }

    /// A private database in memory (tests, `--dry-run` style uses).
    pub fn open_in_memory() -> Result<Store, StateError> {
        let path = PathBuf::from(":memory:");
        let mut conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        migrate::migrate(&mut conn, &path)?;
        Ok(Store {
            conn,
            path,
            identity: None,
        })
    }

    /// Opens an existing, current database for reading only: the CLI uses it
    /// while the daemon runs (WAL lets it read without blocking the writer).
    pub fn open_read_only(path: &Path) -> Result<Store, StateError> {
        let open_err = |source| StateError::Open {
            path: path.into(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let found = migrate::check_ours(&conn, path)?;
        if found < current_version() {
            return Err(StateError::TooOld {
                path: path.into(),
                found,
                supported: current_version(),
            });
        }
        Ok(Store {
            conn,
            path: path.into(),
            identity: None,
        })
    }

    /// The connection, for modules of other domains that keep their own
    /// tables in this database (the alert outbox) and manage their own
    /// transactions.
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The database file (`:memory:` for [`Store::open_in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the stream taught about `user`, if anything.
    pub fn account(&self, user: &str) -> Result<Option<AccountFacts>, StateError> {
        facts::load(&self.conn, user)
    }

    /// The stored history of `user` (`crate::account::history::decode` reads it).
    pub fn account_history(&self, user: &str) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .conn
            .query_row(
                "SELECT data FROM account_history WHERE user = ?1",
                [user],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The names of every account with a stored history, sorted.
    pub fn account_names(&self) -> Result<Vec<String>, StateError> {
        let mut st = self
            .conn
            .prepare("SELECT user FROM account_history ORDER BY user")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every stored account history, `(user, stored form)`, by user name.
    pub fn account_histories(&self) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let mut st = self
            .conn
            .prepare("SELECT user, data FROM account_history ORDER BY user")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every account's facts, by user name.
    pub fn all_facts(&self) -> Result<Vec<AccountFacts>, StateError> {
        facts::all(&self.conn)
    }

    /// For `/readyz`: takes the write lock and writes a row, then rolls back.
    /// Fails on a read-only file or directory, a read-only store, or a lock
    /// held longer than the busy timeout.
    pub fn check_writable(&self) -> Result<(), StateError> {
        let tx = self.conn.unchecked_transaction()?;
        let r = tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('writable_probe', '1')",
            [],
        );
        tx.rollback()?;
        r?;
        Ok(())
    }
}

/// An error that shows the file itself is damaged, as [`StateError::Damaged`].
pub(super) fn damaged(path: &Path, e: StateError) -> StateError {
    let source = match &e {
        StateError::Open { source, .. } | StateError::Sqlite(source) => source,
        StateError::Migration { source, .. } => source,
        _ => return e,
    };
    if guard::is_damage(source) {
        StateError::Damaged {
            path: path.into(),
            detail: source.to_string(),
        }
    } else {
        e
    }
}

//! Guards against starting over: a damaged, lost or replaced database is
//! refused, never silently replaced by an empty one.
//!
//! An empty database is indistinguishable from a first start from the inside:
//! no read positions, no locks. Started over one, the daemon re-reads every log
//! from offset 0 and decides again what an admin had already cleared (in
//! enforce mode it runs the lock program again). So the database's identity
//! is kept *outside* it too: a random id is written into the `meta` table at
//! creation and into a sidecar marker file `<db>.marker` (mode 0600). At start:
//! - no marker, no database (or an empty file): a first start;
//! - marker, but the database missing, empty or holding another id: the state
//!   was lost, and the daemon stops with the way out (restore, or
//!   `loginwatch state reset`);
//! - marker and database agree: a normal start. `PRAGMA quick_check` then
//!   finds a damaged file before anything is read from it.
//!
//! While running, each commit first checks that the path still names the file
//! the store opened (device, inode, size) and the id it holds: a database
//! deleted, emptied or replaced under the daemon stops it rather than letting
//! it write into a file nobody will read again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OptionalExtension};

use super::error::{Lost, StateError};

/// The marker's path: `<db>.marker`.
pub fn marker_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".marker");
    PathBuf::from(p)
}

/// The id the marker holds, `None` without a marker.
pub fn read_marker(db: &Path) -> Result<Option<String>, StateError> {
    let path = marker_path(db);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(StateError::Marker { path, error }),
    }
}

/// Writes `id` as the marker of `db`, atomically (temp file, fsync, rename) so
/// a crash never leaves a half-written marker that would read as another id.
pub fn write_marker(db: &Path, id: &str) -> Result<(), StateError> {
    let path = marker_path(db);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let err = |error| StateError::Marker {
        path: path.clone(),
        error,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(err)?;
    writeln!(f, "{id}").map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(())
}

/// Removes the marker of `db` (a reset), if there is one.
pub fn remove_marker(db: &Path) -> Result<(), StateError> {
    let path = marker_path(db);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(StateError::Marker { path, error }),
    }
}

/// What is at the database's path before it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Missing,
    Empty,
    Present,
}

/// Looks at the database's path without opening (and so creating) it.
pub fn file_state(db: &Path) -> Result<FileState, StateError> {
    match std::fs::metadata(db) {
        Ok(m) if m.len() == 0 => Ok(FileState::Empty),
        Ok(_) => Ok(FileState::Present),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileState::Missing),
        Err(error) => Err(StateError::File {
            path: db.into(),
            error,
        }),
    }
}

/// Refuses a start over a lost database: a marker, but no database to match it.
pub fn check_not_lost(db: &Path, marker: Option<&str>, state: FileState) -> Result<(), StateError> {
    let Some(id) = marker else { return Ok(()) };
    let what = match state {
        FileState::Missing => Lost::Missing,
        FileState::Empty => Lost::Empty,
        FileState::Present => return Ok(()),
    };
    Err(StateError::Lost {
        path: db.into(),
        marker: marker_path(db),
        id: id.to_owned(),
        what,
    })
}

/// The database's id (`meta.db_id`), `None` before migration 4.
pub fn db_id(conn: &Connection) -> Result<Option<String>, rusqlite::Error> {
    conn.query_row("SELECT value FROM meta WHERE key = 'db_id'", [], |r| {
        r.get(0)
    })
    .optional()
}

/// `PRAGMA quick_check`: `Ok(())` or the first findings, joined.
pub fn quick_check(conn: &Connection) -> Result<(), String> {
    let mut st = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| e.to_string())?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| e.to_string())?;
    let mut findings = Vec::new();
    for r in rows {
        let line = r.map_err(|e| e.to_string())?;
        if line == "ok" {
            continue;
        }
        // A damaged file yields hundreds of lines; three say enough.
        findings.extend(line.lines().take(3).map(str::to_owned));
        if findings.len() >= 3 {
            break;
        }
    }
    if findings.is_empty() {
        Ok(())
    } else {
        findings.truncate(3);
        Err(findings.join("; "))
    }
}

/// Whether an SQLite error means the file itself is damaged (rather than busy,
/// full or unwritable): those become [`StateError::Damaged`].
pub fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// The identity of the open database file, checked before each commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub id: String,
}

impl Identity {
    /// The identity of the file now at `db`, with the id the store read.
    pub fn of(db: &Path, id: String) -> std::io::Result<Identity> {
        let (dev, ino) = dev_ino(&std::fs::metadata(db)?);
        Ok(Identity { dev, ino, id })
    }

    /// `Ok` while `db` still names this file holding this id.
    pub fn verify(&self, db: &Path, conn: &Connection) -> Result<(), StateError> {
        let lost = |what| StateError::Moved {
            path: db.into(),
            what,
        };
        let meta = match std::fs::metadata(db) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(lost(Lost::Missing)),
            // Unreadable metadata is not proof of loss: let the commit try.
            Err(_) => return Ok(()),
        };
        if dev_ino(&meta) != (self.dev, self.ino) {
            return Err(lost(Lost::Replaced));
        }
        if meta.len() == 0 {
            return Err(lost(Lost::Empty));
        }
        match db_id(conn) {
            Ok(Some(id)) if id == self.id => Ok(()),
            Ok(_) => Err(lost(Lost::Replaced)),
            // An error here is the commit's to report (disk, lock), not a loss.
            Err(_) => Ok(()),
        }
    }
}

#[cfg(unix)]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dev_ino(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        assert_eq!(read_marker(&db).unwrap(), None);
        write_marker(&db, "abc123").unwrap();
        assert_eq!(read_marker(&db).unwrap().as_deref(), Some("abc123"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(marker_path(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        remove_marker(&db).unwrap();
        assert_eq!(read_marker(&db).unwrap(), None);
    }

    #[test]
    fn a_marker_without_its_database_is_a_loss_and_no_marker_a_first_start() {
        let db = Path::new("/nonexistent/s.db");
        assert!(check_not_lost(db, None, FileState::Missing).is_ok());
        assert!(check_not_lost(db, Some("x"), FileState::Present).is_ok());
        let e = check_not_lost(db, Some("x"), FileState::Empty).unwrap_err();
        assert!(
            matches!(
                e,
                StateError::Lost {
                    what: Lost::Empty,
                    ..
                }
            ),
            "{e}"
        );
        let e = check_not_lost(db, Some("x"), FileState::Missing).unwrap_err();
        assert!(e.to_string().contains("state reset"), "{e}");
    }
}

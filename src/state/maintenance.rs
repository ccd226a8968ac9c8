//! `loginwatch state check` and `state reset`: the way out when the daemon
//! refuses its database (see [`super::guard`]), and the database's own trail.
//!
//! `check` never writes: it opens the file read-only (or not at all) and says
//! what is wrong. `reset` never deletes: the old file (with its `-wal` and
//! `-shm` companions) is renamed with a timestamp suffix, so it can still be
//! examined or restored, and the new database records where it went.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, params};

use super::codec;
use super::error::StateError;
use super::guard::{self, FileState};
use super::migrate;
use super::schema::current_version;
use super::store::Store;

/// One entry of the database's own trail (table `state_log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub at: String,
    pub what: String,
    pub who: String,
    pub detail: String,
}

/// Appends to the database's own trail.
pub fn log(
    conn: &Connection,
    at: &DateTime<Utc>,
    what: &str,
    who: &str,
    detail: &str,
) -> Result<(), StateError> {
    conn.execute(
        "INSERT INTO state_log (at, what, who, detail) VALUES (?1, ?2, ?3, ?4)",
        params![codec::time(at), what, who, detail],
    )?;
    Ok(())
}

/// The database's own trail, oldest first.
pub fn entries(conn: &Connection) -> Result<Vec<LogEntry>, StateError> {
    let mut st = conn.prepare("SELECT at, what, who, detail FROM state_log ORDER BY seq")?;
    let rows = st.query_map([], |r| {
        Ok(LogEntry {
            at: r.get(0)?,
            what: r.get(1)?,
            who: r.get(2)?,
            detail: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// What `state check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Facts, one line each (`size: 352256 bytes`).
    pub facts: Vec<(&'static str, String)>,
    /// What is wrong, each with its way out; empty when the state is sound.
    pub problems: Vec<String>,
    /// The database's own trail.
    pub log: Vec<LogEntry>,
}

/// Examines the database at `path` and its marker, writing nothing.
pub fn check(path: &Path) -> CheckReport {
    let mut r = CheckReport::default();
    r.facts.push(("database", path.display().to_string()));
    let marker = match guard::read_marker(path) {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(e.to_string());
            None
        }
    };
    r.facts.push((
        "marker",
        match &marker {
            Some(id) => format!("{} (database {id})", guard::marker_path(path).display()),
            None => "none (the daemon writes it at its first start)".into(),
        },
    ));
    let state = match guard::file_state(path) {
        Ok(s) => s,
        Err(e) => {
            r.problems.push(e.to_string());
            return r;
        }
    };
    if let Err(e) = guard::check_not_lost(path, marker.as_deref(), state) {
        r.problems.push(e.to_string());
    }
    match state {
        FileState::Missing => {
            r.facts.push(("file", "missing".into()));
            return r;
        }
        FileState::Empty => {
            r.facts.push(("file", "empty (0 bytes)".into()));
            return r;
        }
        FileState::Present => {}
    }
    if let Ok(m) = std::fs::metadata(path) {
        r.facts.push(("size", format!("{} bytes", m.len())));
    }
    let damaged = |detail: String| {
        StateError::Damaged {
            path: path.into(),
            detail,
        }
        .to_string()
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(path, flags) {
        Ok(c) => c,
        Err(e) => {
            r.problems.push(damaged(e.to_string()));
            return r;
        }
    };
    let _ = conn.busy_timeout(super::store::BUSY_TIMEOUT);
    match guard::quick_check(&conn) {
        Ok(()) => r.facts.push(("quick_check", "ok".into())),
        Err(detail) => {
            r.facts.push(("quick_check", detail.clone()));
            r.problems.push(damaged(detail));
            return r;
        }
    }
    match migrate::check_ours(&conn, path) {
        Ok(v) => r.facts.push((
            "schema",
            format!("version {v} (this loginwatch: {})", current_version()),
        )),
        Err(e) => {
            r.problems.push(e.to_string());
            return r;
        }
    }
    match guard::db_id(&conn) {
        Ok(Some(id)) => {
            if let Some(m) = marker.as_deref().filter(|m| *m != id) {
                r.problems.push(
                    StateError::Lost {
                        path: path.into(),
                        marker: guard::marker_path(path),
                        id: m.to_owned(),
                        what: super::error::Lost::Replaced,
                    }
                    .to_string(),
                );
            }
            r.facts.push(("id", id));
        }
        Ok(None) => r
            .facts
            .push(("id", "none yet (set by the next start)".into())),
        Err(e) => r.problems.push(damaged(e.to_string())),
    }
    if let Ok(Some(at)) = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'committed_at'",
            [],
            |row| row.get::<_, String>(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
    {
        r.facts.push(("last commit", at));
    }
    r.log = entries(&conn).unwrap_or_default();
    r
}

/// What `state reset` did.
#[derive(Debug, Clone)]
pub struct ResetReport {
    /// Where the old database went (`None`: there was none, or it was empty).
    pub moved_to: Option<PathBuf>,
    /// The new database's id.
    pub id: String,
}

/// Moves the database at `path` aside (`<path>.<YYYYmmddTHHMMSSZ>`, with its
/// companions) and creates a new one with a new marker; the new database's
/// trail records the reset, by `who`, and where the old file went. A daemon
/// still running on the old file notices at its next commit and stops.
pub fn reset(path: &Path, now: &DateTime<Utc>, who: &str) -> Result<ResetReport, StateError> {
    let state = guard::file_state(path)?;
    let old_marker = guard::read_marker(path).ok().flatten();
    let old_id = match state {
        FileState::Present => Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()
            .and_then(|c| guard::db_id(&c).ok().flatten()),
        _ => None,
    };
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let aside = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{stamp}{suffix}"));
        PathBuf::from(p)
    };
    let mut moved_to = None;
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let from = PathBuf::from(from);
        if !from.exists() {
            continue;
        }
        // An empty file holds nothing worth keeping; the rest is renamed.
        if suffix.is_empty() && state == FileState::Empty {
            std::fs::remove_file(&from)
        } else {
            std::fs::rename(&from, aside(suffix))
        }
        .map_err(|error| StateError::File {
            path: from.clone(),
            error,
        })?;
        if suffix.is_empty() && state == FileState::Present {
            moved_to = Some(aside(""));
        }
    }
    guard::remove_marker(path)?;
    let store = Store::open(path)?;
    let conn = &store.conn;
    let id = guard::db_id(conn)?.unwrap_or_default();
    let previous = match (&moved_to, old_id.or(old_marker)) {
        (Some(to), Some(id)) => format!("previous database {id} moved to {}", to.display()),
        (Some(to), None) => format!("previous database (no id) moved to {}", to.display()),
        (None, Some(id)) => format!("previous database {id} was missing or empty"),
        (None, None) => "no previous database".to_owned(),
    };
    log(conn, now, "reset", who, &previous)?;
    guard::write_marker(path, &id)?;
    Ok(ResetReport { moved_to, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_moves_the_file_aside_and_the_new_trail_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let now = Utc::now();
        let (s, first) = Store::open_guarded(&db, &now).unwrap();
        assert!(first);
        let old_id = guard::db_id(&s.conn).unwrap().unwrap();
        drop(s);
        let r = reset(&db, &now, "tester").unwrap();
        let moved = r.moved_to.clone().unwrap();
        assert!(moved.exists() && moved != db);
        assert_ne!(r.id, old_id);
        assert_eq!(guard::read_marker(&db).unwrap().as_deref(), Some(&*r.id));
        let report = check(&db);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let last = report.log.last().unwrap();
        assert_eq!((last.what.as_str(), last.who.as_str()), ("reset", "tester"));
        assert!(last.detail.contains(&old_id) && last.detail.contains(&*moved.to_string_lossy()));
        // The daemon starts on it as on any known database.
        let (_, first) = Store::open_guarded(&db, &now).unwrap();
        assert!(!first);
    }
}

//! Brings a database to the schema of this binary, or refuses it.
//!
//! Runs inside one `BEGIN IMMEDIATE` transaction: the version is read under
//! the write lock (two processes opening a fresh file at once migrate it once)
//! and a failing step leaves the database at its old version, untouched.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::error::StateError;
use super::schema::{APPLICATION_ID, MIGRATIONS, current_version};

/// Reads `(user_version, application_id)`.
pub fn versions(conn: &Connection) -> Result<(u32, i32), StateError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    Ok((u32::try_from(v).unwrap_or(u32::MAX), app))
}

/// Refuses a database that is another program's or newer than this binary.
pub fn check_ours(conn: &Connection, path: &Path) -> Result<u32, StateError> {
    let (version, app) = versions(conn)?;
    if app != 0 && app != APPLICATION_ID {
        return Err(StateError::NotOurs { path: path.into() });
    }
    if version == 0 {
        // A fresh file has no tables; anything else is someone else's data.
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(StateError::NotOurs { path: path.into() });
        }
    } else if app != APPLICATION_ID {
        return Err(StateError::NotOurs { path: path.into() });
    }
    if version > current_version() {
        return Err(StateError::TooNew {
            path: path.into(),
            found: version,
            supported: current_version(),
        });
    }
    Ok(version)
}

/// Applies the missing migration steps; returns the version found before.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<u32, StateError> {
    migrate_with(conn, path, MIGRATIONS)
}

/// [`migrate`] over an explicit step list (tests use a broken one).
fn migrate_with(conn: &mut Connection, path: &Path, steps: &[&str]) -> Result<u32, StateError> {
    let target = steps.len() as u32;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = check_ours(&tx, path)?;
    for (i, step) in steps.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        tx.execute_batch(step)
            .map_err(|source| StateError::Migration { version, source })?;
    }
    if found < target {
        // Both pragmas live in the database header and are transactional.
        tx.execute_batch(&format!(
            "PRAGMA user_version = {target}; PRAGMA application_id = {APPLICATION_ID};"
        ))?;
    }
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_once() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut c, Path::new("m")).unwrap(), 0);
        assert_eq!(versions(&c).unwrap(), (current_version(), APPLICATION_ID));
        // Idempotent: a second open finds the current version and does nothing.
        assert_eq!(migrate(&mut c, Path::new("m")).unwrap(), current_version());
    }

    #[test]
    fn audit_lines_of_a_version_3_database_gain_an_empty_credential() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate_with(&mut c, Path::new("m"), &MIGRATIONS[..3]).unwrap();
        // A line without its decision row: enough for the column's test.
        c.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO audit (at, decision_id, what, who, detail)
                 VALUES ('2025-01-01T00:00:00.000000000Z', 'd1', 'unlocked', 'alice', 'x')",
        )
        .unwrap();
        assert_eq!(migrate(&mut c, Path::new("m")).unwrap(), 3);
        let (who, credential): (String, Option<String>) = c
            .query_row("SELECT who, credential FROM audit", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((who.as_str(), credential), ("alice", None));
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, Path::new("m")).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
        let e = migrate(&mut c, Path::new("m")).unwrap_err();
        assert!(matches!(e, StateError::TooNew { found: 99, .. }), "{e}");
        assert!(e.to_string().contains("newer than this loginwatch"));
    }

    #[test]
    fn refuses_someone_elses_database() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
        let e = migrate(&mut c, Path::new("other.db")).unwrap_err();
        assert!(matches!(e, StateError::NotOurs { .. }), "{e}");
        // Nothing was added to it.
        let n: i64 = c
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_failing_step_leaves_the_old_version_and_nothing_of_earlier_steps() {
        let mut c = Connection::open_in_memory().unwrap();
        let steps = ["CREATE TABLE a (x);", "CREATE TABLE b (x; -- syntax error"];
        let e = migrate_with(&mut c, Path::new("m"), &steps).unwrap_err();
        assert!(matches!(e, StateError::Migration { version: 2, .. }), "{e}");
        assert_eq!(versions(&c).unwrap(), (0, 0));
        let n: i64 = c
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "step 1 was rolled back with step 2");
    }
}

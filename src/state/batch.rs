//! Committing the daemon's batches, and reading back what a restart resumes
//! from.
//!
//! A [`Batch`] is everything one checkpoint interval produced: the resume
//! point (checkpoints, rule-engine and parser snapshots), the new decisions
//! and the account-fact updates. It is written in ONE transaction, which is what
//! makes a `kill -9` harmless: after a restart the daemon resumes from a point
//! whose window state matches its offsets exactly, re-reads what followed, and
//! re-derives the same decisions under the same ids, which are then ignored.
//! The alert of a decision goes into the outbox in that same transaction, and
//! only when the decision's insert is new: an alert is neither lost to a crash
//! (before, it was enqueued after the commit, and a re-derived decision is not
//! alerted again) nor queued twice for a decision re-derived after a restart.

use std::io::Seek;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::codec;
use super::decisions;
use super::error::StateError;
use super::facts::{self, FactUpdate};
use super::outbox::{self, OutboxEntry};
use super::store::{Store, damaged};
use crate::decision::Decision;
use crate::event::Name;
use crate::snapshot::{SnapshotError, Streamed};
use crate::source::rows::{RowId, SeenRow};
use crate::source::{Checkpoint, Cursor, Fingerprint};

/// What a restart resumes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resume {
    /// Per-file reading positions.
    pub checkpoints: Vec<Checkpoint>,
    /// Positions of the sources that are not files.
    pub cursors: Vec<Cursor>,
    /// The rule engine's window state matching those positions.
    pub engine_snapshot: Option<Vec<u8>>,
    /// Per-file parser state (e.g. open sshd sessions), by file key.
    pub parser_snapshots: Vec<(String, Vec<u8>)>,
    /// When the last batch was committed (`Batch::at`); `None` on a fresh database.
    pub committed_at: Option<DateTime<Utc>>,
}

/// The engine snapshot of a [`Batch`]: bytes already encoded, or the engine
/// itself, streamed into the database by the commit (never held whole).
#[derive(Clone)]
pub enum EngineSnapshot<'a> {
    Bytes(Vec<u8>),
    Streamed(&'a dyn Streamed),
}

impl From<Vec<u8>> for EngineSnapshot<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        EngineSnapshot::Bytes(bytes)
    }
}

impl std::fmt::Debug for EngineSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineSnapshot::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            EngineSnapshot::Streamed(_) => f.write_str("Streamed"),
        }
    }
}

impl EngineSnapshot<'_> {
    fn source(&self) -> &dyn Streamed {
        match self {
            EngineSnapshot::Bytes(b) => b,
            EngineSnapshot::Streamed(s) => *s,
        }
    }
}

/// Writes the engine snapshot as row 1 of `engine_snapshot` through
/// incremental blob I/O into a zeroblob of its exact size. Not bound as a
/// parameter: binding makes SQLite copy the bytes and build a record holding
/// them again, and a streamed engine is never held whole (the snapshot is
/// 12 MB under a 1 M-key flood; bench/flood.sh, daemon peak RSS 199 -> 177 MiB
/// for the zeroblob, then 170 -> 165 MiB for streaming).
fn write_engine_snapshot(
    tx: &rusqlite::Transaction<'_>,
    snap: &dyn Streamed,
) -> Result<(), StateError> {
    let len = snap.encoded_len().map_err(StateError::Snapshot)?;
    tx.execute(
        "INSERT INTO engine_snapshot (id, data) VALUES (1, zeroblob(?1))",
        [len as i64],
    )?;
    let blob = tx.blob_open(rusqlite::MAIN_DB, "engine_snapshot", "data", 1, false)?;
    // Blob writes go to SQLite's pages: buffered so each is a page or more.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, blob);
    let written = snap.write_to(&mut out).and_then(|()| {
        let mut blob = out.into_inner().map_err(|e| e.into_error())?;
        Ok(blob.stream_position()?)
    });
    let changed = || {
        StateError::Snapshot(SnapshotError::Invalid(
            "the engine snapshot changed length between measuring and writing",
        ))
    };
    match written {
        // A blob's size is fixed: a shorter write would leave zeros behind.
        Ok(end) if end == len as u64 => Ok(()),
        Ok(_) => Err(changed()),
        Err(SnapshotError::Io(e)) if e.kind() == std::io::ErrorKind::WriteZero => Err(changed()),
        Err(SnapshotError::Io(e)) => Err(write_error(e)),
        Err(e) => Err(StateError::Snapshot(e)),
    }
}

/// A failed blob write as a state error: SQLite's own error (disk full, I/O),
/// which the blob wraps in an `io::Error`, keeps its reason.
fn write_error(e: std::io::Error) -> StateError {
    if !e.get_ref().is_some_and(|i| i.is::<rusqlite::Error>()) {
        return StateError::Snapshot(SnapshotError::Io(e));
    }
    match e.into_inner().map(|i| i.downcast::<rusqlite::Error>()) {
        Some(Ok(sqlite)) => StateError::Sqlite(*sqlite),
        // Unreachable (checked above), kept as what it would be.
        _ => StateError::Snapshot(SnapshotError::Io(std::io::Error::other(
            "blob write failed",
        ))),
    }
}

/// One atomic commit. The resume point is replaced as a whole: the stored
/// checkpoints and parser snapshots become exactly the batch's, and the engine
/// snapshot becomes `engine_snapshot` (`None` clears it). Decisions and facts
/// are added to what is stored.
#[derive(Debug, Clone, Default)]
pub struct Batch<'a> {
    pub checkpoints: Vec<Checkpoint>,
    /// Replace the stored cursors as a whole, like `checkpoints`.
    pub cursors: Vec<Cursor>,
    /// Rows of deduplicated sources delivered for the first time (see
    /// `crate::source::rows`); expired ones are deleted by the same commit.
    pub seen_rows: Vec<SeenRow>,
    pub engine_snapshot: Option<EngineSnapshot<'a>>,
    /// `(file key, blob)`; keys must be distinct (the last one wins).
    pub parser_snapshots: Vec<(String, Vec<u8>)>,
    /// New decisions; ids already stored are ignored (see [`CommitResult`]).
    pub decisions: Vec<Decision>,
    /// From [`super::FactsAccumulator::take`].
    pub facts: Vec<FactUpdate>,
    /// Account histories that changed, `(user, stored form)`: each replaces
    /// its row (see `crate::account::history`).
    pub accounts: Vec<(Name, Vec<u8>)>,
    /// Wall-clock time of the commit: the "decided" audit time.
    pub at: DateTime<Utc>,
}

/// What a commit did with the batch's decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitResult {
    /// Ids recorded now, in batch order: act on (log, alert, count) these only.
    pub new: Vec<String>,
    /// Ids that were already stored (re-derived after a restart): ignored.
    pub known: Vec<String>,
}

impl Store {
    /// The rows of deduplicated sources delivered by earlier runs and not
    /// expired at `now` (see `crate::source::rows`).
    pub fn seen_rows(&self, now: &DateTime<Utc>) -> Result<Vec<SeenRow>, StateError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT source, id, expires FROM seen_rows WHERE expires > ?1")?;
        let rows = st
            .query_map([codec::time(now)], |r| {
                let id: Vec<u8> = r.get(1)?;
                Ok((r.get::<_, String>(0)?, id, r.get::<_, String>(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (source, id, expires) in rows {
            // A row of another length is not ours to trust: skipped, the row
            // will be delivered again if an export carries it.
            let Ok(id) = <[u8; 16]>::try_from(id.as_slice()) else {
                continue;
            };
            out.push(SeenRow {
                source,
                id: RowId(id),
                expires: codec::parse_time(&expires)?,
            });
        }
        Ok(out)
    }

    /// Everything a restart needs, read in one consistent snapshot.
    pub fn load_resume(&self) -> Result<Resume, StateError> {
        let tx = self.conn.unchecked_transaction()?;
        let mut st = tx.prepare_cached(
            "SELECT source, path, dev, inode, head_hash, head_len, offset FROM checkpoints
                 ORDER BY seq",
        )?;
        let checkpoints = st
            .query_map([], |r| {
                Ok(Checkpoint {
                    source: r.get(0)?,
                    path: codec::path_from_sql(r.get(1)?),
                    fingerprint: Fingerprint {
                        dev: codec::u64_from_sql(r.get(2)?),
                        inode: codec::u64_from_sql(r.get(3)?),
                        head_hash: codec::u64_from_sql(r.get(4)?),
                        head_len: r.get(5)?,
                    },
                    offset: codec::u64_from_sql(r.get(6)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        drop(st);
        let cursors = tx
            .prepare_cached("SELECT source, cursor FROM cursors ORDER BY source")?
            .query_map([], |r| {
                Ok(Cursor {
                    source: r.get(0)?,
                    cursor: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let engine_snapshot = tx
            .query_row("SELECT data FROM engine_snapshot WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let parser_snapshots = tx
            .prepare_cached("SELECT file_key, data FROM parser_snapshots ORDER BY file_key")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let committed_at: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'committed_at'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        tx.finish()?;
        Ok(Resume {
            checkpoints,
            cursors,
            engine_snapshot,
            parser_snapshots,
            committed_at: codec::parse_opt_time(committed_at)?,
        })
    }

    /// Commits `batch` in one transaction (see [`Batch`]): all of it or, on
    /// any error, none of it.
    pub fn commit(&mut self, batch: &Batch) -> Result<CommitResult, StateError> {
        self.commit_alerting(batch, &mut |_| None)
    }

    /// [`Store::commit`], writing to the outbox, in the same transaction, the
    /// alert `alert` renders for each decision whose insert is new (not for
    /// one re-derived after a restart). Rendering happens here, one alert at
    /// a time, so a burst of thousands of decisions never holds thousands of
    /// rendered alerts in memory, and known decisions are never rendered.
    pub fn commit_alerting(
        &mut self,
        batch: &Batch,
        alert: &mut dyn FnMut(&Decision) -> Option<OutboxEntry>,
    ) -> Result<CommitResult, StateError> {
        if let Some(identity) = &self.identity {
            identity.verify(&self.path, &self.conn)?;
        }
        // A file damaged under the daemon is reported as such, with the way out.
        let path = self.path.clone();
        self.commit_inner(batch, alert)
            .map_err(|e| damaged(&path, e))
    }

    fn commit_inner(
        &mut self,
        batch: &Batch,
        alert: &mut dyn FnMut(&Decision) -> Option<OutboxEntry>,
    ) -> Result<CommitResult, StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut result = CommitResult::default();
        for d in &batch.decisions {
            if decisions::insert(&tx, d, &batch.at)? {
                result.new.push(d.id.clone());
                if let Some(entry) = alert(d) {
                    outbox::insert(&tx, &entry, false, &batch.at)?;
                }
            } else {
                result.known.push(d.id.clone());
            }
        }
        facts::apply(&tx, &batch.facts)?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO account_history (user, data) VALUES (?1, ?2)",
            )?;
            for (user, data) in &batch.accounts {
                put.execute(params![&**user, data])?;
            }
        }
        tx.execute("DELETE FROM checkpoints", [])?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO checkpoints (seq, source, path, dev, inode, head_hash, head_len,
                     offset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (seq, c) in batch.checkpoints.iter().enumerate() {
                let fp = &c.fingerprint;
                put.execute(params![
                    seq as i64,
                    c.source,
                    codec::path_to_sql(&c.path),
                    codec::u64_to_sql(fp.dev),
                    codec::u64_to_sql(fp.inode),
                    codec::u64_to_sql(fp.head_hash),
                    fp.head_len,
                    codec::u64_to_sql(c.offset),
                ])?;
            }
        }
        tx.execute("DELETE FROM cursors", [])?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO cursors (source, cursor) VALUES (?1, ?2)",
            )?;
            for c in &batch.cursors {
                put.execute(params![c.source, c.cursor])?;
            }
        }
        {
            let mut put = tx.prepare_cached(
                "INSERT OR IGNORE INTO seen_rows (source, id, expires) VALUES (?1, ?2, ?3)",
            )?;
            for r in &batch.seen_rows {
                put.execute(params![r.source, &r.id.0[..], codec::time(&r.expires)])?;
            }
        }
        tx.execute(
            "DELETE FROM seen_rows WHERE expires <= ?1",
            [codec::time(&batch.at)],
        )?;
        tx.execute("DELETE FROM engine_snapshot", [])?;
        if let Some(snap) = &batch.engine_snapshot {
            write_engine_snapshot(&tx, snap.source())?;
        }
        tx.execute("DELETE FROM parser_snapshots", [])?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO parser_snapshots (file_key, data) VALUES (?1, ?2)",
            )?;
            for (key, data) in &batch.parser_snapshots {
                put.execute(params![key, data])?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('committed_at', ?1)",
            [codec::time(&batch.at)],
        )?;
        tx.commit()?;
        Ok(result)
    }
}

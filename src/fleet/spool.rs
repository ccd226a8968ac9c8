//! The agent's spool: events waiting for NATS, on disk, bounded.
//!
//! Every event the agent reads is appended here (its subject, message id and
//! wire body), synced, and only then is the source's position saved; a
//! second task drains the spool to the stream in order and deletes a
//! segment once every message in it is acknowledged. So the agent goes on
//! reading while NATS is unreachable or slow to ack, up to
//! `[fleet] buffer_max_bytes`; then it stops reading (backpressure) until
//! acks free space.
//!
//! ## Why a spool, and why for file sources too
//!
//! A file source could simply wait in its file while NATS is down, and the
//! first agent did exactly that. But waiting is safe only as long as the
//! file stays where the tailer follows it: logrotate renames `auth.log` to
//! `auth.log.1` and the tailer finishes a renamed file by its identity, but a
//! second rotation during the same outage (`auth.log.1` compressed or
//! deleted) takes the unread lines with it. The journal is vacuumed by
//! size and age, and a network sender cannot wait at all. Reading on into a
//! spool bounded by bytes turns an outage into disk use the operator
//! chose rather than into loss, for every kind of source. One path for all
//! (every event goes through the spool, up or down) keeps the crash story
//! simple: the position is saved after the spool's sync, the spool is
//! deleted after the stream's acks.
//!
//! When the spool is full the reader stops: a file keeps its unread lines
//! (nothing lost unless rotated away twice meanwhile), the journal its
//! entries (`journalctl` blocks on its pipe; the cursor resumes), and a
//! network source drops what its own bounded queue cannot hold, counted in
//! `loginwatch_source_dropped_total{reason="queue_full"}`. Memory stays
//! bounded by a batch on each side, whatever the spool holds.
//!
//! ## Layout and crash safety
//!
//! A directory (0700) beside the state, `<state_path>.agent.spool/`, of
//! segment files `<16 hex digits>.seg` (0600, ids increasing) and `acked`,
//! the position (segment, offset) up to which the stream has acknowledged.
//! A record is `len: u32 LE | crc32: u32 LE | payload`, the payload
//! `subject_len: u16 LE | subject | id_len: u16 LE | id | body`. A crash in
//! the middle of an append leaves a torn tail, found by its length or
//! checksum at the next start and cut off (its lines were not saved as read,
//! so they are read again). A crash between an ack and the save of `acked`
//! re-sends the acknowledged tail, which the stream drops by message id.
//! A line from the network has no position to make an id from; the spool
//! gives it one from where it is written (`<prefix>-<segment>-<offset>`),
//! unique because segment ids only grow (and start from the clock in
//! microseconds when the spool is empty), so its re-send is dropped too.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tracing::warn;

use super::{FleetError, Outgoing};

/// The length and checksum before each payload.
const HEADER: u64 = 8;
/// A record longer than this is not one (a corrupt length).
const MAX_RECORD: u32 = 16 * 1024 * 1024;
/// The file holding the acknowledged position.
const ACKED: &str = "acked";
const EXT: &str = "seg";

/// A place in the spool: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// Messages read from the spool for one publish.
#[derive(Debug, Default)]
pub struct Batch {
    pub messages: Vec<Outgoing>,
    /// Where the next read starts (what to [`Spool::ack`]).
    pub end: Position,
    /// Spool bytes the batch covers.
    pub bytes: u64,
}

/// The spool's size, for metrics and `/readyz`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes of the segment files on disk.
    pub bytes: u64,
    /// Messages not yet acknowledged by the stream.
    pub messages: u64,
    /// `[fleet] buffer_max_bytes`.
    pub max_bytes: u64,
}

impl Stats {
    /// At or over the bound: the reader waits.
    pub fn full(&self) -> bool {
        self.bytes >= self.max_bytes
    }
}

/// The spool of one agent; shared by its reader (appends) and its drainer
/// (reads, acks) behind a std mutex: nothing awaits while it is held.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    id_prefix: String,
    state: Mutex<State>,
    appended: tokio::sync::Notify,
    freed: tokio::sync::Notify,
}

struct State {
    /// Segment id → durable length, for every segment on disk.
    segments: BTreeMap<u64, u64>,
    /// The segment appended to.
    writer: Option<(u64, File)>,
    next_id: u64,
    acked: Position,
    /// Messages after `acked`.
    pending: u64,
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, bounded by `max_bytes`; ids of
    /// messages without one start with `id_prefix`. Cuts off torn tails and
    /// deletes what was acknowledged before a crash.
    pub fn open(dir: &Path, max_bytes: u64, id_prefix: &str) -> Result<Spool, FleetError> {
        let err = |error: io::Error| FleetError::Spool {
            path: dir.to_path_buf(),
            error,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
        // Ours whatever it was: it holds user names and addresses.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        let mut acked = read_acked(&dir.join(ACKED));
        let mut ids = Vec::new();
        for e in std::fs::read_dir(dir).map_err(err)? {
            let name = e.map_err(err)?.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_suffix(".seg")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut segments = BTreeMap::new();
        let mut pending = 0;
        for &id in &ids {
            let path = segment_path(dir, id);
            if id < acked.segment {
                std::fs::remove_file(&path).map_err(err)?;
                continue;
            }
            let from = if id == acked.segment { acked.offset } else { 0 };
            let (len, after) = scan(&path, from).map_err(err)?;
            let on_disk = std::fs::metadata(&path).map_err(err)?.len();
            if len < on_disk {
                warn!(segment = %path.display(), kept = len, cut = on_disk - len, "Spool segment with a torn or damaged tail: cut (its lines are read again).");
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(len))
                    .map_err(err)?;
            }
            if id == acked.segment && acked.offset > len {
                acked.offset = len;
            }
            if id == acked.segment && acked.offset >= len {
                std::fs::remove_file(&path).map_err(err)?;
                continue;
            }
            pending += after;
            segments.insert(id, len);
        }
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let next_id = [ids.last().map_or(0, |m| m + 1), acked.segment + 1, micros]
            .into_iter()
            .max()
            .unwrap_or(1);
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes: (max_bytes / 16).clamp(64 * 1024, 16 * 1024 * 1024),
            id_prefix: id_prefix.to_owned(),
            state: Mutex::new(State {
                segments,
                writer: None,
                next_id,
                acked,
                pending,
            }),
            appended: tokio::sync::Notify::new(),
            freed: tokio::sync::Notify::new(),
        })
    }

    /// The spool of the state database at `state_path`.
    pub fn dir_for(state_path: &Path) -> PathBuf {
        let mut p = state_path.as_os_str().to_owned();
        p.push(".agent.spool");
        PathBuf::from(p)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding it leaves plain numbers behind: go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its size now.
    pub fn stats(&self) -> Stats {
        let st = self.state();
        Stats {
            bytes: st.segments.values().sum(),
            messages: st.pending,
            max_bytes: self.max_bytes,
        }
    }

    /// Where the unacknowledged messages start.
    pub fn acked(&self) -> Position {
        self.state().acked
    }

    /// Appends `batch` and syncs it: once this returns, the events survive
    /// a crash. On an error nothing of the batch counts as written.
    pub fn append(&self, batch: &[Outgoing]) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut st = self.state();
        let full_segment = st
            .writer
            .as_ref()
            .is_some_and(|(id, _)| st.segments.get(id).copied().unwrap_or(0) >= self.segment_bytes);
        if st.writer.is_none() || full_segment {
            if let Some((_, f)) = st.writer.take() {
                f.sync_all()?;
            }
            let id = st.next_id;
            let f = OpenOptions::new()
                .create_new(true)
                .append(true)
                .mode(crate::private::MODE)
                .open(segment_path(&self.dir, id))?;
            // The new name must survive a crash as the data in it does.
            File::open(&self.dir)?.sync_all()?;
            st.next_id += 1;
            st.segments.insert(id, 0);
            st.writer = Some((id, f));
        }
        let Some((id, _)) = st.writer.as_ref().map(|(i, f)| (*i, f)) else {
            return Err(io::Error::other("no spool segment open"));
        };
        let start = st.segments.get(&id).copied().unwrap_or(0);
        let mut buf = Vec::with_capacity(batch.len() * 512);
        for m in batch {
            let offset = start + buf.len() as u64;
            let own;
            let msg_id = match &m.id {
                Some(i) => i.as_str(),
                None => {
                    own = format!("{}-{id:x}-{offset:x}", self.id_prefix);
                    own.as_str()
                }
            };
            encode(&mut buf, &m.subject, msg_id, &m.body);
        }
        let written = st
            .writer
            .as_mut()
            .map(|(_, f)| f.write_all(&buf).and_then(|()| f.sync_data()));
        if let Some(Err(e)) = written {
            // A part may be on disk: cut it, and start a new segment next time.
            if let Some((_, f)) = st.writer.take() {
                let _ = f.set_len(start);
            }
            return Err(e);
        }
        st.segments.insert(id, start + buf.len() as u64);
        st.pending += batch.len() as u64;
        drop(st);
        self.appended.notify_one();
        Ok(())
    }

    /// Up to `max` messages (and about `max_bytes`) after `from`, in order.
    /// A damaged record in the middle of a segment ends that segment's
    /// read: its rest is skipped with a warning (nothing panics on it).
    pub fn read(&self, from: Position, max: usize, max_bytes: u64) -> io::Result<Batch> {
        let segs: Vec<(u64, u64)> = self
            .state()
            .segments
            .range(from.segment..)
            .map(|(i, l)| (*i, *l))
            .collect();
        let mut b = Batch {
            end: from,
            ..Batch::default()
        };
        for (id, len) in segs {
            if id > b.end.segment {
                b.end = Position {
                    segment: id,
                    offset: 0,
                };
            }
            if b.end.offset >= len {
                continue;
            }
            let path = segment_path(&self.dir, id);
            let mut f = File::open(&path)?;
            f.seek(SeekFrom::Start(b.end.offset))?;
            let mut r = BufReader::new(f.take(len - b.end.offset));
            while b.end.offset < len && b.messages.len() < max && b.bytes < max_bytes {
                match read_record(&mut r) {
                    Ok(Some((m, n))) => {
                        b.messages.push(m);
                        b.end.offset += n;
                        b.bytes += n;
                    }
                    Ok(None) | Err(_) => {
                        warn!(segment = %path.display(), offset = b.end.offset, skipped = len - b.end.offset, "Spool record damaged: the rest of the segment is skipped.");
                        b.bytes += len - b.end.offset;
                        b.end.offset = len;
                    }
                }
            }
            if b.messages.len() >= max || b.bytes >= max_bytes {
                break;
            }
        }
        Ok(b)
    }

    /// The stream has acknowledged `batch`: saves the position and deletes
    /// the segments wholly behind it (the one appended to as well, so an
    /// emptied spool holds no file).
    pub fn ack(&self, batch: &Batch) -> io::Result<()> {
        let mut st = self.state();
        st.acked = batch.end;
        st.pending = st.pending.saturating_sub(batch.messages.len() as u64);
        let tmp = self.dir.join("acked.tmp");
        let text = format!("{} {}\n", batch.end.segment, batch.end.offset);
        // Not synced: losing it to a power cut only re-sends what the
        // stream drops by message id.
        crate::private::write(&tmp, text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, self.dir.join(ACKED)))?;
        let done: Vec<u64> = st
            .segments
            .iter()
            .filter(|(id, len)| {
                **id < batch.end.segment || (**id == batch.end.segment && batch.end.offset >= **len)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if st.writer.as_ref().is_some_and(|(w, _)| *w == id) {
                st.writer = None;
            }
            std::fs::remove_file(segment_path(&self.dir, id))?;
            st.segments.remove(&id);
        }
        drop(st);
        self.freed.notify_one();
        Ok(())
    }

    /// Returns once something was appended since the last call.
    pub async fn appended(&self) {
        self.appended.notified().await
    }

    /// Returns once acks freed space since the last call.
    pub async fn freed(&self) {
        self.freed.notified().await
    }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:016x}.{EXT}"))
}

/// The acknowledged position saved in `path`; the start when missing or
/// unreadable (everything is sent again; the stream drops what it has).
fn read_acked(path: &Path) -> Position {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Position::default();
    };
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(segment)), Some(Ok(offset))) => Position { segment, offset },
        _ => {
            warn!(path = %path.display(), "Spool position unreadable: the spool is sent again from its start.");
            Position::default()
        }
    }
}

/// Appends one record to `buf`.
fn encode(buf: &mut Vec<u8>, subject: &str, id: &str, body: &[u8]) {
    let mut payload = Vec::with_capacity(4 + subject.len() + id.len() + body.len());
    for part in [subject.as_bytes(), id.as_bytes()] {
        let n = part.len().min(u16::MAX as usize);
        payload.extend_from_slice(&(n as u16).to_le_bytes());
        payload.extend_from_slice(&part[..n]);
    }
    payload.extend_from_slice(body);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    buf.extend_from_slice(&payload);
}

/// The next record and its length in bytes; `None` at a clean end, an
/// error for a torn or damaged one.
fn read_record(r: &mut impl io::Read) -> io::Result<Option<(Outgoing, u64)>> {
    let mut h = [0u8; HEADER as usize];
    let mut got = 0;
    while got < h.len() {
        match r.read(&mut h[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if len > MAX_RECORD {
        return Err(io::Error::other("record length out of range"));
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if crc32fast::hash(&payload) != crc {
        return Err(io::Error::other("record checksum mismatch"));
    }
    let bad = || io::Error::other("record layout");
    let mut rest = payload.as_slice();
    let mut part = || -> io::Result<String> {
        let (n, tail) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
        let n = u16::from_le_bytes(*n) as usize;
        let (s, tail) = tail.split_at_checked(n).ok_or_else(bad)?;
        rest = tail;
        String::from_utf8(s.to_vec()).map_err(|_| bad())
    };
    let subject = part()?;
    let id = part()?;
    let body = bytes::Bytes::copy_from_slice(rest);
    Ok(Some((
        Outgoing {
            subject,
            id: Some(id),
            body,
        },
        HEADER + u64::from(len),
    )))
}

/// The valid length of the segment at `path` (up to its first torn or
/// damaged record), and how many records start at or after offset `from`.
fn scan(path: &Path, from: u64) -> io::Result<(u64, u64)> {
    let mut r = BufReader::new(File::open(path)?);
    let (mut len, mut after) = (0u64, 0u64);
    while let Ok(Some((_, n))) = read_record(&mut r) {
        if len >= from {
            after += 1;
        }
        len += n;
    }
    Ok((len, after))
}

#[cfg(test)]
mod tests;

//! Sources: where lines come from. [`Source`] is the interface every kind of
//! input implements; [`Tailer`], following log files, is the first kind.
//!
//! Following log files live, by identity rather than by path.
//! The daemon reads logs that other programs write, rotate, truncate and delete
//! underneath it. A path is therefore only where a file was *last seen*; what is
//! followed is a file's identity ([`Fingerprint`]: device, inode and a hash of its
//! first bytes). [`Tailer`] is a synchronous, deterministic core: each
//! [`Tailer::poll`] rediscovers the configured paths and globs, notices rotation
//! and truncation, and hands out complete lines. The daemon drives it from a task
//! woken by `notify` (directories from [`Tailer::watch_dirs`]) with a periodic
//! poll as the backstop, and commits [`Tailer::checkpoints`] atomically with the
//! rule state so a restart resumes exactly where the committed state stands.
//!
//! Layout: [`fingerprint`] (identity), [`discover`] (paths and globs to files,
//! with readable errors), [`follow`] (one open file: reading, truncation),
//! [`copy`] (the copy a copytruncate left beside a truncated file),
//! [`resume`] (checkpoints to files) and [`tail`] (the tailer tying them together).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::escape::Escaped;

pub mod copy;
pub mod discover;
pub mod fingerprint;
pub mod follow;
pub mod framing;
pub mod journal;
pub mod many;
pub mod net;
pub mod pull;
pub mod resume;
pub mod rows;
pub mod settle;
pub mod tail;
#[cfg(test)]
mod tests;
mod truncation;

pub use discover::{Problem, SourceError};
pub use tail::Tailer;

/// Who a file is, independent of its path: rotation renames a file (same
/// identity, new path) and creates a new one (new identity, old path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub inode: u64,
    /// Hash of the first `head_len` bytes (at most 256): tells a new file that
    /// reuses an inode from the old one; `0` with `head_len = 0` for an empty file.
    pub head_hash: u64,
    /// How many bytes `head_hash` covers.
    pub head_len: u32,
}

/// Where reading of one file stands: written atomically with the rule state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The configured source's name.
    pub source: String,
    /// The path the file was last seen at.
    pub path: PathBuf,
    /// The file's identity.
    pub fingerprint: Fingerprint,
    /// Offset of the first byte not yet consumed (always at a line start).
    pub offset: u64,
}

/// Where a source that is not a set of files stands (the journal's cursor, a
/// pulled API's time and page): an opaque text its kind writes and reads back,
/// committed with the rule state like a [`Checkpoint`]. One per source name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The configured source's name.
    pub source: String,
    /// The kind's own form of its position.
    pub cursor: String,
}

/// Why input was lost before it became a line (`reason` of
/// `loginwatch_source_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Loss {
    /// A datagram arrived while the queue to the ingest loop was full (UDP has
    /// no back-pressure; TCP waits instead).
    QueueFull,
    /// A connection closed at once: the maximum number was open.
    ConnectionRefused,
    /// Reading a socket failed (the receiver goes on).
    ReceiveError,
}

impl Loss {
    pub const ALL: [Loss; 3] = [Loss::QueueFull, Loss::ConnectionRefused, Loss::ReceiveError];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Loss::QueueFull => "queue_full",
            Loss::ConnectionRefused => "connection_refused",
            Loss::ReceiveError => "receive_error",
        }
    }
}

/// One configured source as the tailer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// Name used in checkpoints, metrics and [`TailLine::source`].
    pub name: String,
    /// A path or a glob (`*`, `?`, `[...]`); a symlink is followed to its target.
    pub pattern: String,
}

/// A followed file, stable for its identity during one process run (not across
/// restarts): the daemon keeps one parser per file, keyed by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u64);

/// One line handed to the `on_line` callback of [`Tailer::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailLine<'a> {
    /// The [`SourceSpec::name`].
    pub source: &'a str,
    /// The file it came from.
    pub file: FileId,
    /// Where that file was last seen (the old path after a rename is noticed only
    /// if the new name matches the pattern).
    pub path: &'a Path,
    /// Offset of the line's first byte in the file.
    pub offset: u64,
    /// The line without `\n` and without a `\r` before it; empty when `too_long`.
    pub line: &'a [u8],
    /// The line was longer than [`crate::parse::MAX_LINE`]: its bytes were skipped
    /// without buffering, and it is delivered only so it can be counted.
    pub too_long: bool,
    /// The sender, for a line received from the network; `None` from a file.
    pub peer: Option<std::net::IpAddr>,
}

/// Why a file starts where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A file not seen before: from its first byte.
    New,
    /// A checkpoint from the last run matched its identity: from the checkpoint.
    Resumed,
    /// `from_end` on the first start: after its last complete line.
    FromEnd,
    /// The copy a copytruncate left beside a truncated file: from the offset
    /// the truncated file had been read to, to its end, then released.
    Copy,
}

/// Something that happened to a file during a poll, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailEvent {
    /// A file is now followed.
    Opened {
        source: String,
        file: FileId,
        path: PathBuf,
        offset: u64,
        start: Start,
    },
    /// The file is no longer at any matched path (renamed away or deleted); it is
    /// read to its end before it is released.
    Rotated {
        source: String,
        file: FileId,
        path: PathBuf,
    },
    /// The file shrank or its first bytes changed (copytruncate, truncation):
    /// reading restarts at 0, after the copy beside it, when one is found, has
    /// been read from `offset_was` to its end. Also reported at start-up for a
    /// checkpoint whose file is now shorter or starts otherwise.
    Truncated {
        source: String,
        file: FileId,
        path: PathBuf,
        offset_was: u64,
        /// The copy found beside it (its own [`TailEvent::Opened`] follows).
        copy: Option<PathBuf>,
        /// Unread bytes destroyed: known to have been written after `offset_was`
        /// and found in no copy (bytes written after the last look cannot be
        /// known, so this is a lower bound); `Some(0)` when nothing is known lost.
        /// `None` when the truncation happened while the daemon was stopped and
        /// no copy was found: how much was unread cannot be known.
        lost_bytes: Option<u64>,
    },
    /// A rotated file was read to its end and stayed quiet for a poll: closed. The
    /// daemon can drop its parser.
    Released {
        source: String,
        file: FileId,
        path: PathBuf,
    },
    /// A new problem (reported once; it stays in [`Tailer::status`] while it lasts,
    /// and the path is retried on every poll).
    Problem { source: String, error: SourceError },
    /// A checkpoint from the last run whose file was not found (deleted or
    /// compressed while the daemon was down): the lines after it are lost.
    CheckpointUnmatched { checkpoint: Checkpoint },
    /// A file of an export source (one that waits for complete files) was
    /// read to its end, its last line included: an export read whole.
    Completed {
        source: String,
        file: FileId,
        path: PathBuf,
    },
}

impl TailEvent {
    /// Logs the event: a line for the operator, at WARN when lines were lost.
    pub fn log(&self) {
        match self {
            TailEvent::Problem { source, error } => {
                warn!(source = %Escaped(source), path = %Escaped(&error.path.to_string_lossy()), problem = %error.problem, hint = %error.hint, "Source cannot be read; retrying.")
            }
            TailEvent::Truncated {
                source,
                path,
                offset_was,
                copy,
                lost_bytes,
                ..
            } => {
                let (source, path) = (Escaped(source), Escaped(&path.to_string_lossy()));
                match (copy, lost_bytes) {
                    (Some(copy), _) => {
                        info!(%source, %path, offset_was, copy = %Escaped(&copy.to_string_lossy()), "Truncated; reading the rest of its copy first.")
                    }
                    (None, Some(0)) => {
                        info!(%source, %path, offset_was, "Truncated; nothing unread was lost.")
                    }
                    (None, Some(n)) => {
                        warn!(%source, %path, offset_was, lost_bytes = n, "Truncated with {n} unread bytes and no copy beside it: those lines are lost.")
                    }
                    (None, None) => {
                        warn!(%source, %path, offset_was, "Truncated or rewritten while the daemon was stopped and no copy found beside it: lines after offset {offset_was} of the old content were not read.")
                    }
                }
            }
            other => info!(event = ?other, "Source."),
        }
    }
}

/// What one [`Tailer::poll`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollResult {
    /// Lines delivered (including too-long markers).
    pub lines: usize,
    /// `max_lines` was reached: more may be waiting, poll again without waiting.
    pub more: bool,
    /// File events, in the order they happened.
    pub events: Vec<TailEvent>,
}

/// One kind of input the daemon reads: log files today ([`Tailer`]); the
/// journal, network syslog, pulled SaaS audit logs and a message bus next.
/// Adding a kind is implementing this trait: the ingest loop, the parsers,
/// the rules and the commit stay as they are.
///
/// The contract: lines come out complete and in order, each with its source's
/// name; [`Source::checkpoints`] says where reading stands after the lines
/// handed out so far, and is committed in the same transaction as the rule
/// state those lines produced, so a restart resumes exactly there (nothing
/// lost, nothing read twice). Files have a file-shaped position (identity and
/// offset, [`Source::checkpoints`]); a kind with a cursor of its own (the
/// journal, a pulled API) hands it out as a [`Cursor`] instead.
pub trait Source: Send {
    /// Hands up to `max_lines` complete lines to `on_line`, in order, and
    /// says what happened meanwhile.
    fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult;

    /// Where reading stands after every line handed out so far: file
    /// positions; empty for the kinds that are not files (they have
    /// [`Source::cursors`], or no position at all).
    fn checkpoints(&self) -> Vec<Checkpoint> {
        Vec::new()
    }

    /// The positions of cursor-based kinds after every line handed out so
    /// far; empty for files and for a push source (which has no position).
    fn cursors(&self) -> Vec<Cursor> {
        Vec::new()
    }

    /// The health of each configured source: `/readyz`,
    /// `loginwatch_source_up`, `loginwatch_source_lag_bytes`.
    fn status(&self) -> Vec<SourceStatus>;

    /// What each source lost or refused before a line could be read, as
    /// totals since it started (`loginwatch_source_dropped_total`); empty for
    /// a kind that loses nothing (files are read at their own pace).
    fn losses(&self) -> Vec<(String, Loss, u64)> {
        Vec::new()
    }

    /// Directories whose changes should wake the ingest loop (it watches them
    /// with `notify`); empty for a kind that needs no file watcher.
    fn watch_dirs(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

impl Source for Tailer {
    fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
        Tailer::poll(self, max_lines, on_line)
    }

    fn checkpoints(&self) -> Vec<Checkpoint> {
        Tailer::checkpoints(self)
    }

    fn status(&self) -> Vec<SourceStatus> {
        Tailer::status(self)
    }

    fn watch_dirs(&self) -> Vec<PathBuf> {
        Tailer::watch_dirs(self)
    }
}

/// One followed file in [`SourceStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub file: FileId,
    pub path: PathBuf,
    /// Next byte to read (a line start).
    pub offset: u64,
    /// Size at the last poll.
    pub size: u64,
    /// No longer at a matched path: being drained.
    pub rotated: bool,
}

/// The state of one source for `/readyz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub name: String,
    pub pattern: String,
    pub files: Vec<FileStatus>,
    /// Current problems (each with a fix hint); empty when all is readable.
    pub errors: Vec<SourceError>,
    /// Bytes written but not yet read, over all followed files (size - offset).
    pub lag_bytes: u64,
    /// A network source bound to its address: up with no file.
    pub listening: bool,
    /// Things an operator should act on that do not stop the source (an
    /// export that stopped early): shown on `/readyz`, not failing it.
    pub warnings: Vec<String>,
}

impl SourceStatus {
    /// True when the source can be read now: no problem, and at least one file.
    /// A missing file is retried (it is read from its start once it appears), but
    /// until then nothing is watched, which an operator must hear about.
    pub fn is_up(&self) -> bool {
        self.errors.is_empty() && (self.listening || !self.files.is_empty())
    }

    /// When no file matches the pattern: what is wrong and how to fix it.
    pub fn missing_hint(&self) -> Option<String> {
        if self.listening || !self.files.is_empty() || !self.errors.is_empty() {
            return None;
        }
        let fix = if self.pattern.ends_with("/var/log/auth.log")
            || self.pattern.ends_with("/var/log/secure")
        {
            "on Debian 12 and later sshd logs only to the journal: read it with a source \
             `journal = true`, or install rsyslog (apt-get install rsyslog), or point the \
             source at the file your syslog daemon writes"
        } else {
            "check the path; the file is read from its start once it appears"
        };
        Some(format!("no file matches {}: {fix}", self.pattern))
    }
}

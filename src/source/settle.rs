//! When a file of an export folder is complete. An admin downloads an export
//! into the folder, or a script writes it there: a file read while it is
//! still being written would be read in pieces, and its last row, written
//! without a newline, would wait for one forever. So a source of exports
//! hands out none of a file's lines until the file is complete:
//!
//! - its last change was not a write (its status changed after its content,
//!   `ctime > mtime`): renamed into place (a browser's `.part` file, a script's
//!   `mv`) or its mode set after writing. Complete at once.
//! - nobody wrote it for the settle time (`mtime` that long ago): a download
//!   that ended, or a file that was there before the daemon started.
//! - its size and `mtime` stayed the same over polls for the settle time: the
//!   same, measured on this host's monotonic clock, for a file system whose
//!   clock differs from ours (a share).
//!
//! Once complete, the file is read to its end, the last line included, and
//! the tailer reports it ([`super::TailEvent::Completed`]). Written again
//! later, it waits until it is complete again. This core takes the times as
//! arguments; the tailer reads them from its clock.

use std::time::{Duration, Instant, SystemTime};

/// A look at a file: what its metadata says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub size: u64,
    /// Last change of its content.
    pub mtime: SystemTime,
    /// Last change of its status (content, name, mode, links).
    pub ctime: SystemTime,
}

impl Look {
    /// What `meta` says (an unknown time reads as the epoch: not complete by it).
    pub fn of(meta: &std::fs::Metadata) -> Look {
        use std::os::unix::fs::MetadataExt;
        let ctime = u64::try_from(meta.ctime())
            .ok()
            .and_then(|s| {
                SystemTime::UNIX_EPOCH.checked_add(Duration::new(s, meta.ctime_nsec() as u32))
            })
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Look {
            size: meta.len(),
            mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            ctime,
        }
    }
}

/// The settle state of one file.
#[derive(Debug, Default)]
pub struct Settle {
    /// Size and mtime at the last look, and since when (monotonic) they stayed.
    last: Option<(u64, SystemTime, Instant)>,
    /// Size at which the file was last reported read whole.
    reported: Option<u64>,
}

impl Settle {
    /// Whether the file is complete at `now` (wall clock; `mono` the same
    /// moment on the monotonic clock) given the settle time `after`.
    pub fn complete(
        &mut self,
        look: Look,
        now: SystemTime,
        mono: Instant,
        after: Duration,
    ) -> bool {
        let still = match self.last {
            Some((size, mtime, since)) if size == look.size && mtime == look.mtime => since,
            _ => {
                self.last = Some((look.size, look.mtime, mono));
                mono
            }
        };
        look.ctime > look.mtime
            || now.duration_since(look.mtime).is_ok_and(|d| d >= after)
            || mono.duration_since(still) >= after
    }

    /// The file was read to its end at `size`: true the first time for that
    /// size (the tailer then reports it read whole).
    pub fn read_whole(&mut self, size: u64) -> bool {
        let first = self.reported != Some(size);
        self.reported = Some(size);
        first
    }
}

/// The clock the tailer reads settle times from.
pub(super) struct TailClock(pub std::sync::Arc<dyn crate::clock::Clock>);

impl std::fmt::Debug for TailClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TailClock")
    }
}

/// A complete export read to its end: its last line, if it has no newline,
/// is delivered too. `Some(flushed)` when the file is read whole, `None` when
/// the budget is spent before its last line.
pub(super) fn read_whole(
    f: &mut super::follow::Followed,
    buf: &mut [u8],
    source: &str,
    budget: &mut usize,
    on_line: &mut dyn FnMut(super::TailLine<'_>),
) -> std::io::Result<Option<bool>> {
    if f.size <= f.offset {
        return Ok(Some(false));
    }
    if *budget == 0 {
        return Ok(None);
    }
    let flushed = f.flush_partial(buf, source, on_line)?;
    if flushed {
        *budget -= 1;
    }
    Ok(Some(flushed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_secs(2);

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn look(size: u64, mtime: u64, ctime: u64) -> Look {
        Look {
            size,
            mtime: at(mtime),
            ctime: at(ctime),
        }
    }

    #[test]
    fn a_file_being_written_waits_until_it_stays_unwritten_for_the_settle_time() {
        let mut s = Settle::default();
        let t0 = Instant::now();
        let secs = |n| t0 + Duration::from_secs(n);
        // Written at 0 and 1: not complete.
        assert!(!s.complete(look(10, 0, 0), at(0), secs(0), SETTLE));
        assert!(!s.complete(look(20, 1, 1), at(1), secs(1), SETTLE));
        assert!(!s.complete(look(20, 1, 1), at(2), secs(2), SETTLE));
        // Unwritten for 2 s.
        assert!(s.complete(look(20, 1, 1), at(3), secs(3), SETTLE));
    }

    #[test]
    fn a_file_renamed_into_place_is_complete_at_once() {
        let mut s = Settle::default();
        let t0 = Instant::now();
        // Written at 100, renamed at 100 + a bit: ctime after mtime.
        let l = Look {
            ctime: at(100) + Duration::from_millis(5),
            ..look(10, 100, 100)
        };
        assert!(s.complete(l, at(100), t0, SETTLE));
    }

    #[test]
    fn an_old_file_is_complete_at_once() {
        let mut s = Settle::default();
        assert!(s.complete(look(10, 0, 0), at(60), Instant::now(), SETTLE));
    }

    #[test]
    fn a_file_with_a_clock_ahead_of_ours_settles_on_our_clock() {
        let mut s = Settle::default();
        let t0 = Instant::now();
        // mtime 1 h in the future (a share's clock): unchanged for 2 s of ours.
        let l = look(10, 3600, 3600);
        assert!(!s.complete(l, at(0), t0, SETTLE));
        assert!(!s.complete(l, at(1), t0 + Duration::from_secs(1), SETTLE));
        assert!(s.complete(l, at(2), t0 + SETTLE, SETTLE));
        // Written again: it waits again.
        let l2 = look(20, 3602, 3602);
        assert!(!s.complete(l2, at(2), t0 + SETTLE, SETTLE));
    }

    #[test]
    fn a_file_is_reported_whole_once_per_size() {
        let mut s = Settle::default();
        assert!(s.read_whole(10));
        assert!(!s.read_whole(10));
        assert!(s.read_whole(30));
    }
}

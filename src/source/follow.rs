//! One followed file: an open handle, the offset of the next line, and the
//! reading loop.
//!
//! The handle is kept open for as long as the file is followed, because after a
//! rename or an unlink it is the only way to read the lines written before the
//! rotation (and while it is open the kernel cannot give its inode to a new
//! file, so device + inode stay unambiguous). Reading uses positioned reads
//! (`pread`) into one buffer shared by all files, splitting lines with `memchr`:
//! no allocation per line. Only complete lines are consumed; a partial last line
//! is read again on the next poll (it is at most [`MAX_LINE`] bytes; a longer one
//! is skipped forward without being re-read, and delivered as a too-long marker
//! once its newline arrives).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::SystemTime;

use super::fingerprint::{self, HEAD_MAX};
use super::{FileId, Fingerprint, TailLine};
use crate::parse::MAX_LINE;

/// Size of the shared read buffer: several maximal lines, so a partial line
/// re-read at the start of a buffer always leaves room for progress.
pub const BUF: usize = MAX_LINE * 4;

/// A file being followed.
#[derive(Debug)]
pub struct Followed {
    pub id: FileId,
    /// Where it was last seen.
    pub path: PathBuf,
    file: File,
    pub dev: u64,
    pub inode: u64,
    /// Next line start: everything before it has been delivered.
    pub offset: u64,
    /// Bytes after `offset` known to contain no newline, once they exceed
    /// [`MAX_LINE`] (the current line is too long); 0 otherwise.
    skip: u64,
    head_hash: u64,
    head_len: u32,
    /// Size at the last look (fstat or read).
    pub size: u64,
    /// Found at a path the pattern matches during the latest discovery.
    pub attached: bool,
    /// Size at which the previous poll left it at its end, for releasing a
    /// rotated file only after it stayed quiet for a whole poll.
    eof_size: Option<u64>,
    /// Modification time at the last look: with nothing consumed there is no
    /// head to compare, and a file emptied again since is only told by this.
    mtime: Option<SystemTime>,
    /// For a source of exports: whether the file is complete yet.
    pub settle: super::settle::Settle,
}

/// A truncation noticed by [`Followed::check_truncation`]: what the file was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// The offset read to before (the copy, if any, is read from here).
    pub offset_was: u64,
    /// The identity and consumed head before.
    pub fingerprint_was: Fingerprint,
    /// The size seen at the previous look: `size_was - offset_was` unread bytes
    /// were known to be there (more may have been written since).
    pub size_was: u64,
    /// The modification time seen at the previous look.
    pub mtime_was: Option<SystemTime>,
}

impl Truncation {
    /// Unread bytes known to have been in the file before it was truncated.
    pub fn unread_bytes(&self) -> u64 {
        self.size_was.saturating_sub(self.offset_was)
    }
}

impl Followed {
    /// Starts following an opened `file` at `offset` (a line start).
    pub fn new(id: FileId, path: PathBuf, file: File, fp: &Fingerprint, offset: u64) -> Followed {
        let mut f = Followed {
            id,
            path,
            file,
            dev: fp.dev,
            inode: fp.inode,
            offset,
            skip: 0,
            head_hash: 0,
            head_len: 0,
            size: 0,
            attached: true,
            eof_size: None,
            mtime: None,
            settle: Default::default(),
        };
        // An error here only leaves the head short (or the time unknown); the
        // next poll retries.
        let _ = f.update_head();
        if let Ok(m) = f.file.metadata() {
            f.size = m.len();
            f.mtime = m.modified().ok();
        }
        f
    }

    /// What the open file's metadata says now (for [`super::settle`]).
    pub fn look(&self) -> io::Result<super::settle::Look> {
        Ok(super::settle::Look::of(&self.file.metadata()?))
    }

    /// Identity as a checkpoint records it.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            dev: self.dev,
            inode: self.inode,
            head_hash: self.head_hash,
            head_len: self.head_len,
        }
    }

    /// Marks the file as no longer at a matched path; it must now stay quiet for a
    /// full poll before it is released.
    pub fn detach(&mut self) {
        self.attached = false;
        self.eof_size = None;
    }

    /// Looks at the file's size and first bytes: if it shrank below what was
    /// read, or its head changed (copytruncate, then new lines written before
    /// this poll), reading restarts at 0, and what the file was is returned.
    /// With nothing consumed yet there is no head: a file that is empty now and
    /// was modified since the last look was written and emptied in between
    /// (a burst, then copytruncate), which is reported too.
    pub fn check_truncation(&mut self) -> io::Result<Option<Truncation>> {
        let meta = self.file.metadata()?;
        let size = meta.len();
        let mtime = meta.modified().ok();
        let was = Truncation {
            offset_was: self.offset,
            fingerprint_was: self.fingerprint(),
            size_was: self.size,
            mtime_was: self.mtime,
        };
        self.size = size;
        self.mtime = mtime;
        let truncated = if size < self.offset + self.skip {
            true
        } else if self.head_len > 0 {
            fingerprint::read_head(&self.file, u64::from(self.head_len))? != Some(self.head_hash)
        } else {
            self.offset == 0
                && self.skip == 0
                && size == 0
                && was.mtime_was.is_some()
                && mtime != was.mtime_was
        };
        if !truncated {
            return Ok(None);
        }
        self.offset = 0;
        self.skip = 0;
        self.head_hash = 0;
        self.head_len = 0;
        self.eof_size = None;
        Ok(Some(was))
    }

    /// Hashes the consumed head while it is shorter than [`HEAD_MAX`].
    pub fn update_head(&mut self) -> io::Result<()> {
        let want = self.offset.min(HEAD_MAX);
        if u64::from(self.head_len) < want
            && let Some(h) = fingerprint::read_head(&self.file, want)?
        {
            self.head_hash = h;
            self.head_len = want as u32;
        }
        Ok(())
    }

    /// Delivers complete lines from `offset` on, decrementing `budget` per line
    /// and stopping at 0. Returns whether the end of the file was reached.
    pub fn read_lines(
        &mut self,
        buf: &mut [u8],
        source: &str,
        budget: &mut usize,
        on_line: &mut dyn FnMut(TailLine<'_>),
    ) -> io::Result<bool> {
        loop {
            if *budget == 0 {
                return Ok(false);
            }
            let pos = self.offset + self.skip;
            let n = read_at(&self.file, buf, pos)?;
            self.size = self.size.max(pos + n as u64);
            let chunk = &buf[..n];
            let mut i = 0;
            while i < n {
                let Some(j) = memchr::memchr(b'\n', &chunk[i..]) else {
                    let partial = pos + n as u64 - self.offset;
                    if partial > MAX_LINE as u64 {
                        self.skip = partial;
                    }
                    break;
                };
                let newline = pos + (i + j) as u64;
                let too_long = self.skip > 0 || newline - self.offset > MAX_LINE as u64;
                on_line(TailLine {
                    source,
                    file: self.id,
                    path: &self.path,
                    offset: self.offset,
                    line: if too_long {
                        &[]
                    } else {
                        strip_cr(&chunk[i..i + j])
                    },
                    too_long,
                    peer: None,
                });
                self.offset = newline + 1;
                self.skip = 0;
                i += j + 1;
                *budget -= 1;
                if *budget == 0 {
                    return Ok(false);
                }
            }
            if n < buf.len() {
                // A short read: the end, for now.
                return Ok(true);
            }
        }
    }

    /// After [`Followed::read_lines`] reached the end: whether this rotated file
    /// may be let go (it was already at this same end at the previous poll), and
    /// remembers the end for the next poll otherwise.
    pub fn quiet_at_end(&mut self) -> bool {
        if self.eof_size == Some(self.size) {
            return true;
        }
        self.eof_size = Some(self.size);
        false
    }

    /// Before release: a last line that never got its newline is delivered as it
    /// is (nobody will complete it in this file). Returns whether one was.
    pub fn flush_partial(
        &mut self,
        buf: &mut [u8],
        source: &str,
        on_line: &mut dyn FnMut(TailLine<'_>),
    ) -> io::Result<bool> {
        if self.size <= self.offset {
            return Ok(false);
        }
        let len = self.size - self.offset;
        let too_long = len > MAX_LINE as u64;
        let mut got = 0;
        if !too_long {
            let want = len as usize;
            while got < want {
                match read_at(&self.file, &mut buf[got..want], self.offset + got as u64)? {
                    0 => break,
                    k => got += k,
                }
            }
        }
        on_line(TailLine {
            source,
            file: self.id,
            path: &self.path,
            offset: self.offset,
            line: if too_long { &[] } else { strip_cr(&buf[..got]) },
            too_long,
            peer: None,
        });
        self.offset = self.size;
        self.skip = 0;
        Ok(true)
    }
}

/// Offset just after the last newline before `size` (0 if there is none): where
/// `from_end` starts, so a partial last line is still read once completed.
pub fn end_offset(file: &File, size: u64, buf: &mut [u8]) -> io::Result<u64> {
    let mut end = size;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let want = (end - start) as usize;
        let n = read_at(file, &mut buf[..want], start)?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// One positioned read, retried when interrupted.
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buf, pos) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        l => l,
    }
}

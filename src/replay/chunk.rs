//! `replay --threads`: a file cut into chunks of whole lines, and a chunk's
//! lines through the stateless part of its parser (on a worker thread).
//!
//! A chunk's lines, offsets, unparsed lines and their reasons are those the
//! one-thread reader ([`crate::parse::reader::LineReader`] and
//! [`FileSource`](super::FileSource)) gives: the same `\n` split, a `\r`
//! before it dropped, a last line without newline kept, lines over
//! [`MAX_LINE`] counted `line_too_long` and skipped without being held whole.

use std::io::{self, Read};
use std::ops::Range;

use crate::event::{AuthEvent, Name};
use crate::parse::sshd::staged::{Staged, Stager};
use crate::parse::{Format, LineCtx, MAX_LINE, ParseError, ParseOptions, Parser, UnparsedReason};

/// What one line of a chunk gave, for the reading thread.
#[derive(Debug)]
pub(super) enum Item {
    /// An sshd line for the correlation (its text is in [`Parsed::text`]).
    Staged { offset: u64, line: Staged },
    /// An event of a stateless format, parsed whole.
    Event(AuthEvent),
    /// A line that could not be parsed, with its bytes (for `--show-unparsed`).
    Unparsed {
        offset: u64,
        raw: Vec<u8>,
        error: ParseError,
    },
}

/// A chunk after its worker: items in file order, each with the number of
/// lines read up to and including its own since the item before, so the
/// reading thread counts lines exactly where one thread would.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// The chunk's text, which [`Item::Staged`] fields are spans of.
    pub text: String,
    pub items: Vec<(u32, Item)>,
    /// Lines after the last item.
    pub trailing: u32,
    /// Offset just after the chunk.
    pub end: u64,
}

/// How a file's chunks are parsed: the sshd parser's stateless half, or a
/// stateless format whole (JSON and regex formats keep nothing between lines).
#[derive(Debug, Clone)]
pub(super) enum Work {
    Sshd(Stager),
    Whole {
        format: Format,
        opts: ParseOptions,
        path: Name,
    },
}

/// Bytes of whole lines read from a file (or the marker of one overlong line).
pub(super) struct RawChunk {
    offset: u64,
    bytes: Vec<u8>,
    too_long: bool,
}

/// Reads a stream as chunks of about `size` bytes, cut after a `\n`.
pub(super) struct ChunkReader {
    inner: Box<dyn Read + Send>,
    size: usize,
    /// The start of a line the last chunk cut off.
    carry: Vec<u8>,
    /// Stream offset of `carry[0]`.
    offset: u64,
    eof: bool,
    /// Chunks handed out so far: the next one's sequence number.
    pub seq: u64,
    /// The end (or an error) was handed out: nothing more to read.
    pub done: bool,
}

impl ChunkReader {
    pub fn new(inner: Box<dyn Read + Send>, size: usize) -> ChunkReader {
        ChunkReader {
            inner,
            size: size.max(1),
            carry: Vec::new(),
            offset: 0,
            eof: false,
            seq: 0,
            done: false,
        }
    }

    /// Reads into `buf` until it holds `want` bytes, the stream ends, or a
    /// short read (a pipe) has delivered a whole line: a pipe's lines are
    /// not kept waiting for a full chunk.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<()> {
        if buf.len() >= want || self.eof {
            return Ok(());
        }
        let mut have = buf.len();
        buf.resize(want, 0);
        while have < want {
            let n = match self.inner.read(&mut buf[have..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(have);
                    return Err(e);
                }
            };
            let new = have..have + n;
            have += n;
            if n == 0 {
                self.eof = true;
                break;
            }
            if have < want && memchr::memchr(b'\n', &buf[new]).is_some() {
                break;
            }
        }
        buf.truncate(have);
        Ok(())
    }

    /// The next chunk, `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> io::Result<Option<RawChunk>> {
        let mut buf = std::mem::take(&mut self.carry);
        buf.reserve(self.size.saturating_sub(buf.len()));
        let mut want = self.size.max(buf.len() + 1);
        loop {
            self.fill(&mut buf, want)?;
            if self.eof {
                if buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.cut(buf, None)));
            }
            if let Some(i) = memchr::memrchr(b'\n', &buf) {
                return Ok(Some(self.cut(buf, Some(i + 1))));
            }
            if buf.len() > MAX_LINE {
                return self.skip_line(buf).map(Some);
            }
            // One line longer than a chunk (and than what was read): more,
            // by at least 8 KiB, so tiny chunks do not rescan it byte by byte.
            want = buf.len() + self.size.clamp(8192, MAX_LINE + 1);
        }
    }

    /// The chunk `buf[..at]` (all of it for `None`); the rest is carried.
    fn cut(&mut self, mut buf: Vec<u8>, at: Option<usize>) -> RawChunk {
        if let Some(at) = at {
            self.carry = buf.get(at..).unwrap_or_default().to_vec();
            buf.truncate(at);
        }
        let offset = self.offset;
        self.offset += buf.len() as u64;
        RawChunk {
            offset,
            bytes: buf,
            too_long: false,
        }
    }

    /// A line over [`MAX_LINE`] without its end in `buf`: skipped to its
    /// newline in pieces, as the one-thread reader skips it.
    fn skip_line(&mut self, mut buf: Vec<u8>) -> io::Result<RawChunk> {
        let start = self.offset;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &buf) {
                self.carry = buf.get(i + 1..).unwrap_or_default().to_vec();
                self.offset += i as u64 + 1;
                break;
            }
            self.offset += buf.len() as u64;
            buf.clear();
            if self.eof {
                break;
            }
            let want = self.size.clamp(8192, MAX_LINE + 1);
            self.fill(&mut buf, want)?;
        }
        Ok(RawChunk {
            offset: start,
            bytes: Vec::new(),
            too_long: true,
        })
    }
}

fn too_long() -> ParseError {
    ParseError::new(UnparsedReason::TooLong, "a line of at most 64 KiB")
}

/// A line of a chunk: its offset, its bytes in the chunk, its text in the
/// chunk's text (the same range unless a line had invalid UTF-8).
struct LineAt {
    offset: u64,
    raw: Range<usize>,
    text: Range<usize>,
}

/// The `\n`-separated lines of `b` (the last may lack its `\n`), without a
/// `\r` before the `\n`.
fn split_lines(b: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(b.len() / 80 + 1);
    let mut at = 0;
    while at < b.len() {
        let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i);
        let mut stop = end;
        if stop > at && b[stop - 1] == b'\r' {
            stop -= 1;
        }
        out.push(at..stop);
        at = end + 1;
    }
    out
}

impl Work {
    /// Parses a chunk's lines (the stateless part).
    pub fn run(&mut self, chunk: RawChunk) -> Parsed {
        let end = chunk.offset + chunk.bytes.len() as u64;
        if chunk.too_long {
            let item = Item::Unparsed {
                offset: chunk.offset,
                raw: Vec::new(),
                error: too_long(),
            };
            return Parsed {
                items: vec![(1, item)],
                end,
                ..Parsed::default()
            };
        }
        let ranges = split_lines(&chunk.bytes);
        let mut out = Parsed {
            end,
            ..Parsed::default()
        };
        match self {
            Work::Whole { format, opts, path } => {
                let ctx = LineCtx { path: path.clone() };
                let mut parser = Parser::new(format, opts, ctx);
                let mut lines = 0u32;
                for r in ranges {
                    lines += 1;
                    let line = &chunk.bytes[r.clone()];
                    let offset = chunk.offset + r.start as u64;
                    let item = match parser.parse(line, offset) {
                        Ok(Some(ev)) => Item::Event(ev),
                        Ok(None) => continue,
                        Err(error) => Item::Unparsed {
                            offset,
                            raw: line.to_vec(),
                            error,
                        },
                    };
                    out.items.push((std::mem::take(&mut lines), item));
                }
                out.trailing = lines;
            }
            Work::Sshd(stager) => stage_chunk(stager, chunk, ranges, &mut out),
        }
        out
    }
}

/// The sshd half: the chunk becomes text (as it is when it is valid UTF-8,
/// the common case; else line by line, invalid lines read with replacement
/// characters as [`crate::parse::sshd::SshdParser::parse`] reads them), then
/// each line is staged.
fn stage_chunk(stager: &mut Stager, chunk: RawChunk, ranges: Vec<Range<usize>>, out: &mut Parsed) {
    let (text, raw, lines) = match String::from_utf8(chunk.bytes) {
        Ok(text) => {
            let lines: Vec<LineAt> = ranges
                .into_iter()
                .map(|r| LineAt {
                    offset: chunk.offset + r.start as u64,
                    raw: r.clone(),
                    text: r,
                })
                .collect();
            (text, None, lines)
        }
        Err(e) => {
            let bytes = e.into_bytes();
            let mut text = String::with_capacity(bytes.len());
            let mut lines = Vec::with_capacity(ranges.len());
            for r in ranges {
                let start = text.len();
                // An overlong line is refused before it is read as text.
                if r.len() <= MAX_LINE {
                    text.push_str(&String::from_utf8_lossy(&bytes[r.clone()]));
                }
                lines.push(LineAt {
                    offset: chunk.offset + r.start as u64,
                    raw: r,
                    text: start..text.len(),
                });
                text.push('\n');
            }
            (text, Some(bytes), lines)
        }
    };
    let raw_of = |l: &LineAt| -> Vec<u8> {
        match &raw {
            Some(b) => b[l.raw.clone()].to_vec(),
            None => text.as_bytes()[l.raw.clone()].to_vec(),
        }
    };
    let mut n = 0u32;
    for l in &lines {
        n += 1;
        let item = if l.raw.len() > MAX_LINE {
            Item::Unparsed {
                offset: l.offset,
                raw: raw_of(l),
                error: too_long(),
            }
        } else {
            match stager.stage(&text, text.get(l.text.clone()).unwrap_or("")) {
                Ok(Some(line)) => Item::Staged {
                    offset: l.offset,
                    line,
                },
                Ok(None) => continue,
                Err(error) => Item::Unparsed {
                    offset: l.offset,
                    raw: raw_of(l),
                    error,
                },
            }
        };
        out.items.push((std::mem::take(&mut n), item));
    }
    out.trailing = n;
    out.text = text;
}

#[cfg(test)]
mod tests;

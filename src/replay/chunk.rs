//! `replay --threads`: a file cut into chunks of whole lines, and a chunk's
//! lines through the stateless part of its parser (on a worker thread).
//!
//! A chunk's lines are read by the one-thread reader
//! ([`crate::parse::reader::LineReader`]), and each is parsed as
//! [`FileSource`](super::FileSource) parses it, so the lines, offsets,
//! unparsed lines, their reasons and their bytes are those of one thread.

use std::io::{self, Read};
use std::ops::Range;

use crate::event::{AuthEvent, Name};
use crate::parse::reader::{Line, LineReader};
use crate::parse::sshd::staged::{Staged, Stager};
use crate::parse::{Format, LineCtx, MAX_LINE, ParseError, ParseOptions, Parser, UnparsedReason};

/// What one line of a chunk gave, for the reading thread.
#[derive(Debug)]
pub(super) enum Item {
    /// An sshd line for the correlation (its text is in [`Parsed::text`]).
    Staged { offset: u64, line: Staged },
    /// An event of a stateless format, parsed whole.
    Event(AuthEvent),
    /// An event the reading thread took out.
    Taken,
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
    /// The chunk's line table, emptied, to be reused.
    pub lines: Vec<(u64, Option<Range<usize>>)>,
    /// The chunk's bytes when they did not become `text`, to be reused.
    pub bytes: Vec<u8>,
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

/// Lines read from a file for one worker: their bytes, each followed by a
/// `\n` (so two lines' bytes never make one character), and per line its
/// offset and its bytes' range (`None`: an overlong line, skipped).
pub(super) struct RawChunk {
    bytes: Vec<u8>,
    lines: Vec<(u64, Option<Range<usize>>)>,
    end: u64,
    /// A spent chunk's items, for this one's (cleared by the worker).
    items: Vec<(u32, Item)>,
}

/// A spent chunk's buffers, handed back for the next chunk: a fresh chunk
/// is 2-3 MiB of new pages (text, line table, items), and faulting them in
/// and unmapping them again was most of the threaded run's system time.
#[derive(Default)]
pub(super) struct Spare {
    pub bytes: Vec<u8>,
    pub lines: Vec<(u64, Option<Range<usize>>)>,
    pub items: Vec<(u32, Item)>,
}

/// Reads a stream as chunks of about `size` bytes of whole lines. The lines
/// come from the one-thread reader itself, so their offsets, `\r`s and
/// overlong lines are those one thread sees; copying them costs one
/// `memcpy` a line on the thread holding the file.
pub(super) struct ChunkReader {
    lines: LineReader<Box<dyn Read + Send>>,
    size: usize,
    /// Chunks handed out so far: the next one's sequence number.
    pub seq: u64,
    /// The end (or an error) was handed out: nothing more to read.
    pub done: bool,
}

impl ChunkReader {
    pub fn new(inner: Box<dyn Read + Send>, size: usize) -> ChunkReader {
        ChunkReader {
            lines: LineReader::new(inner, 0),
            size: size.max(1),
            seq: 0,
            done: false,
        }
    }

    /// The next chunk, `None` at the end of the stream.
    #[cfg(test)]
    pub fn next_chunk(&mut self) -> io::Result<Option<RawChunk>> {
        self.next_chunk_in(Spare::default())
    }

    /// [`ChunkReader::next_chunk`] in the buffers of a spent chunk.
    pub fn next_chunk_in(&mut self, spare: Spare) -> io::Result<Option<RawChunk>> {
        let Spare {
            mut bytes,
            mut lines,
            items,
        } = spare;
        bytes.clear();
        bytes.reserve(self.size.min(1 << 24) + 256);
        lines.clear();
        lines.reserve(self.size / 64 + 1);
        while bytes.len() < self.size {
            match self.lines.next_line()? {
                None => break,
                Some((offset, Line::Text(t))) => {
                    let start = bytes.len();
                    bytes.extend_from_slice(t);
                    lines.push((offset, Some(start..bytes.len())));
                    bytes.push(b'\n');
                }
                Some((offset, Line::TooLong)) => lines.push((offset, None)),
            }
        }
        if lines.is_empty() {
            return Ok(None);
        }
        Ok(Some(RawChunk {
            bytes,
            lines,
            end: self.lines.offset(),
            items,
        }))
    }
}

fn too_long() -> ParseError {
    ParseError::new(UnparsedReason::TooLong, "a line of at most 64 KiB")
}

impl Work {
    /// Parses a chunk's lines (the stateless part).
    pub fn run(&mut self, chunk: RawChunk) -> Parsed {
        // One item at most per line: no reallocation (it was 0.5% of the
        // threaded run's instructions, in `memcpy`).
        let RawChunk {
            bytes,
            mut lines,
            end,
            mut items,
        } = chunk;
        // The spent chunk's items are dropped here, on the worker.
        items.clear();
        items.reserve(lines.len());
        let mut out = Parsed {
            end,
            items,
            ..Parsed::default()
        };
        match self {
            Work::Whole { format, opts, path } => {
                let ctx = LineCtx { path: path.clone() };
                let mut parser = Parser::new(format, opts, ctx);
                let mut n = 0u32;
                for (offset, r) in lines.drain(..) {
                    n += 1;
                    let item = match r {
                        None => Item::Unparsed {
                            offset,
                            raw: Vec::new(),
                            error: too_long(),
                        },
                        Some(r) => {
                            let line = &bytes[r];
                            match parser.parse(line, offset) {
                                Ok(Some(ev)) => Item::Event(ev),
                                Ok(None) => continue,
                                Err(error) => Item::Unparsed {
                                    offset,
                                    raw: line.to_vec(),
                                    error,
                                },
                            }
                        }
                    };
                    out.items.push((std::mem::take(&mut n), item));
                }
                out.trailing = n;
                out.bytes = bytes;
            }
            Work::Sshd(stager) => {
                stage_chunk(stager, bytes, &lines, &mut out);
                lines.clear();
            }
        }
        out.lines = lines;
        out
    }
}

/// The sshd half: the chunk becomes text (as it is when it is valid UTF-8,
/// the common case; else line by line, invalid lines read with replacement
/// characters as [`crate::parse::sshd::SshdParser::parse`] reads them), then
/// each line is staged. Lines over [`MAX_LINE`] are refused first, as
/// [`Parser::parse`] refuses them.
fn stage_chunk(
    stager: &mut Stager,
    bytes: Vec<u8>,
    lines: &[(u64, Option<Range<usize>>)],
    out: &mut Parsed,
) {
    // The text; with invalid UTF-8, also the bytes and each line's text range.
    type Lossy = Option<(Vec<u8>, Vec<Range<usize>>)>;
    let (text, lossy): (String, Lossy) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let bytes = e.into_bytes();
            let mut text = String::with_capacity(bytes.len());
            let mut texts = Vec::with_capacity(lines.len());
            for (_, r) in lines {
                let start = text.len();
                if let Some(r) = r.clone().filter(|r| r.len() <= MAX_LINE) {
                    text.push_str(&String::from_utf8_lossy(&bytes[r]));
                }
                texts.push(start..text.len());
                text.push('\n');
            }
            (text, Some((bytes, texts)))
        }
    };
    let raw_of = |r: &Range<usize>| -> Vec<u8> {
        match &lossy {
            Some((b, _)) => b[r.clone()].to_vec(),
            None => text.as_bytes()[r.clone()].to_vec(),
        }
    };
    let mut n = 0u32;
    for (i, (offset, r)) in lines.iter().enumerate() {
        n += 1;
        let offset = *offset;
        let item = match r {
            None => Item::Unparsed {
                offset,
                raw: Vec::new(),
                error: too_long(),
            },
            Some(r) if r.len() > MAX_LINE => Item::Unparsed {
                offset,
                raw: raw_of(r),
                error: too_long(),
            },
            Some(r) => {
                let t = lossy.as_ref().and_then(|(_, t)| t.get(i)).unwrap_or(r);
                match stager.stage(&text, text.get(t.clone()).unwrap_or("")) {
                    Ok(Some(line)) => Item::Staged { offset, line },
                    Ok(None) => continue,
                    Err(error) => Item::Unparsed {
                        offset,
                        raw: raw_of(r),
                        error,
                    },
                }
            }
        };
        out.items.push((std::mem::take(&mut n), item));
    }
    out.trailing = n;
    out.text = text;
}

#[cfg(test)]
mod tests;

//! Splitting a byte stream into lines with their byte offsets, without a heap
//! allocation per line.
//!
//! `BufRead::read_until` would copy every line into a `Vec`; this reader keeps one
//! fixed buffer, finds newlines with `memchr`, and lends out slices of it. A line
//! longer than [`MAX_LINE`] is skipped in pieces (reported once as too long), so a
//! gigabyte of binary garbage without a newline costs no more memory than a short line.

use std::io::{self, Read};

use super::MAX_LINE;

/// Size of the read buffer: room for the longest accepted line plus slack.
const BUF: usize = MAX_LINE * 4;

/// One line from [`LineReader::next_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line without its `\n` (and without a `\r` before it).
    Text(&'a [u8]),
    /// A line longer than [`MAX_LINE`]; its bytes were skipped.
    TooLong,
}

/// Lines of a reader, each with the byte offset of its first byte.
pub struct LineReader<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Offset in the stream of `buf[start]`.
    offset: u64,
    eof: bool,
}

impl<R: Read> LineReader<R> {
    /// A reader whose first byte is at stream offset `offset` (non-zero when resuming).
    pub fn new(inner: R, offset: u64) -> LineReader<R> {
        LineReader {
            inner,
            buf: vec![0; BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            offset,
            eof: false,
        }
    }

    /// Offset of the next unread byte: where a checkpoint would resume.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The stream back, for a reader that has read nothing yet (the bytes
    /// it buffered would be lost otherwise); else the reader back.
    pub fn into_inner(self) -> Result<R, LineReader<R>> {
        if self.end == 0 && !self.eof {
            Ok(self.inner)
        } else {
            Err(self)
        }
    }

    /// The next line and its offset, or `None` at the end of the stream. A last
    /// line without a newline is returned as a line.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        let mut skipping = false;
        let mut skip_start = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let at = self.offset;
                let s = self.start;
                self.start += i + 1;
                self.offset += i as u64 + 1;
                if skipping {
                    return Ok(Some((skip_start, Line::TooLong)));
                }
                let mut line = &self.buf[s..s + i];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                return Ok(Some((at, Line::Text(line))));
            }
            // No newline in what is buffered.
            let pending = self.end - self.start;
            if pending > MAX_LINE {
                if !skipping {
                    skipping = true;
                    skip_start = self.offset;
                }
                self.offset += pending as u64;
                self.start = self.end;
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(if skipping {
                        Some((skip_start, Line::TooLong))
                    } else {
                        None
                    });
                }
                let at = self.offset;
                let s = self.start;
                let n = self.end - self.start;
                self.start = self.end;
                self.offset += n as u64;
                if skipping {
                    return Ok(Some((skip_start, Line::TooLong)));
                }
                let mut line = &self.buf[s..s + n];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                return Ok(Some((at, Line::Text(line))));
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = loop {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, Option<Vec<u8>>)> {
        let mut r = LineReader::new(input, 0);
        let mut out = vec![];
        while let Some((off, l)) = r.next_line().unwrap() {
            out.push((
                off,
                match l {
                    Line::Text(t) => Some(t.to_vec()),
                    Line::TooLong => None,
                },
            ));
        }
        out
    }

    #[test]
    fn offsets_crlf_and_unterminated_last_line() {
        let got = lines(b"ab\r\ncd\n\nef");
        assert_eq!(
            got,
            vec![
                (0, Some(b"ab".to_vec())),
                (4, Some(b"cd".to_vec())),
                (7, Some(vec![])),
                (8, Some(b"ef".to_vec())),
            ]
        );
    }

    #[test]
    fn overlong_lines_are_skipped_not_buffered() {
        let mut input = vec![b'x'; MAX_LINE * 10];
        input.extend_from_slice(b"\nok\n");
        let got = lines(&input);
        assert_eq!(
            got,
            vec![(0, None), (MAX_LINE as u64 * 10 + 1, Some(b"ok".to_vec()))]
        );
        // Unterminated and overlong at EOF.
        let got = lines(&vec![0u8; MAX_LINE * 3]);
        assert_eq!(got, vec![(0, None)]);
    }

    #[test]
    fn line_of_exactly_max_is_kept() {
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\n');
        let got = lines(&input);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.as_ref().unwrap().len(), MAX_LINE);
    }
}

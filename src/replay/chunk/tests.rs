//! Chunks split a stream into the lines, offsets and overlong lines the
//! one-thread reader gives, whatever the chunk size and the reads' sizes.

use std::io::{self, Read};

use super::{ChunkReader, MAX_LINE, split_lines};
use crate::parse::reader::{Line, LineReader};

/// A reader that returns at most `n` bytes a call, as a pipe may.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// (offset, line), `None` for a line counted too long.
type Lines = Vec<(u64, Option<Vec<u8>>)>;

fn one_thread(input: &[u8]) -> Lines {
    let mut r = LineReader::new(input, 0);
    let mut out = vec![];
    while let Some((off, l)) = r.next_line().unwrap() {
        out.push(match l {
            Line::Text(t) if t.len() <= MAX_LINE => (off, Some(t.to_vec())),
            _ => (off, None),
        });
    }
    out
}

fn chunked(input: Vec<u8>, size: usize, piece: usize) -> (Lines, usize) {
    let leaked: &'static [u8] = Box::leak(input.into_boxed_slice());
    let mut r = ChunkReader::new(Box::new(Trickle(leaked, piece)), size);
    let (mut out, mut chunks) = (vec![], 0);
    while let Some(c) = r.next_chunk().unwrap() {
        chunks += 1;
        if c.too_long {
            out.push((c.offset, None));
            continue;
        }
        for l in split_lines(&c.bytes) {
            let off = c.offset + l.start as u64;
            let t = &c.bytes[l];
            out.push((off, (t.len() <= MAX_LINE).then(|| t.to_vec())));
        }
    }
    (out, chunks)
}

#[test]
fn chunks_give_the_one_thread_lines() {
    let mut long = vec![b'x'; MAX_LINE * 5];
    long.extend_from_slice(b"\r\nafter\n");
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\n".to_vec(),
        b"a\r\nbb\n\nccc".to_vec(),
        b"one\ntwo\nthree\n".repeat(50),
        long.clone(),
        [b"head\n".to_vec(), long.clone(), vec![b'y'; MAX_LINE + 10]].concat(),
        [
            vec![b'z'; MAX_LINE],
            b"\n".to_vec(),
            vec![b'w'; MAX_LINE + 1],
        ]
        .concat(),
    ];
    for input in cases {
        let want = one_thread(&input);
        for size in [1, 3, 64, 4096, 1 << 20] {
            for piece in [1, 7, 1 << 20] {
                // (Byte-sized reads of the long inputs would only be slow.)
                if piece < 8 && input.len() > 1000 {
                    continue;
                }
                let (got, _) = chunked(input.clone(), size, piece);
                assert_eq!(got, want, "size {size}, reads of {piece}");
            }
        }
    }
}

#[test]
fn chunks_are_cut_after_a_newline_near_their_size() {
    let input = b"0123456789\n".repeat(1000);
    let (_, chunks) = chunked(input.clone(), 1100, 1 << 20);
    assert_eq!(chunks, 10);
    // A pipe's short reads hand over what came without waiting for a chunk.
    let (_, chunks) = chunked(input, 1 << 20, 110);
    assert_eq!(chunks, 100);
}

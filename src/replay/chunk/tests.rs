//! Chunks hold the one-thread reader's lines, cut near their size.

use super::{ChunkReader, Item, MAX_LINE, Parsed, Spare, Work};
use crate::parse::sshd::staged::Stager;
use crate::parse::{ParseOptions, UnparsedReason};

fn reader(input: &[u8], size: usize) -> ChunkReader {
    let leaked: &'static [u8] = Box::leak(input.to_vec().into_boxed_slice());
    ChunkReader::new(Box::new(leaked), size)
}

#[test]
fn chunks_are_cut_after_a_line_near_their_size() {
    let input = b"0123456789\n".repeat(1000);
    let mut r = reader(&input, 1100);
    let mut n = 0;
    let mut lines = 0;
    while let Some(c) = r.next_chunk().unwrap() {
        assert!(c.bytes.len() <= 1100 + 11);
        lines += c.lines.len();
        n += 1;
    }
    assert_eq!((n, lines), (10, 1000));
}

#[test]
fn two_lines_never_make_one_character() {
    // Each line alone is invalid UTF-8; their bytes together would be `é`.
    let mut r = reader(b"\xc3\n\xa9\n", 1 << 20);
    let chunk = r.next_chunk().unwrap().unwrap();
    let opts = ParseOptions::at(chrono::Utc::now());
    let parsed = Work::Sshd(Stager::new(opts)).run(chunk);
    let reasons: Vec<UnparsedReason> = parsed
        .items
        .iter()
        .map(|(_, i)| match i {
            Item::Unparsed { error, .. } => error.reason,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reasons, [UnparsedReason::Malformed; 2]);
    assert!(parsed.text.contains('\u{fffd}'), "{:?}", parsed.text);
}

#[test]
fn overlong_lines_are_counted_where_one_thread_counts_them() {
    let mut input = vec![b'x'; MAX_LINE * 5];
    input.extend_from_slice(b"\nok\n");
    let mut r = reader(&input, 64);
    let opts = ParseOptions::at(chrono::Utc::now());
    let mut offsets = vec![];
    while let Some(c) = r.next_chunk().unwrap() {
        for (_, item) in Work::Sshd(Stager::new(opts.clone())).run(c).items {
            if let Item::Unparsed { offset, error, .. } = item {
                offsets.push((offset, error.reason));
            }
        }
    }
    assert_eq!(
        offsets,
        [
            (0, UnparsedReason::TooLong),
            (MAX_LINE as u64 * 5 + 1, UnparsedReason::Malformed)
        ]
    );
}

/// What a chunk gave, comparable: per item its line count, offset and kind.
fn summary(p: &Parsed) -> Vec<(u32, u64, &'static str)> {
    p.items
        .iter()
        .map(|(n, i)| match i {
            Item::Staged { offset, .. } => (*n, *offset, "staged"),
            Item::Event(_) => (*n, 0, "event"),
            Item::Taken => (*n, 0, "taken"),
            Item::Unparsed { offset, .. } => (*n, *offset, "unparsed"),
        })
        .collect()
}

#[test]
fn a_spent_chunks_buffers_give_what_fresh_ones_give() {
    let line = "Mar  3 10:00:00 h sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2\n";
    let mut input = line.repeat(40).into_bytes();
    input.extend_from_slice(b"garbage\n");
    input.extend_from_slice(&line.repeat(30).into_bytes());
    let opts = ParseOptions::at(chrono::Utc::now());
    let (mut fresh, mut reused) = (reader(&input, 500), reader(&input, 500));
    let mut stager = Work::Sshd(Stager::new(opts));
    let mut spare = Spare::default();
    let mut chunks = 0;
    while let Some(c) = fresh.next_chunk().unwrap() {
        let want = stager.run(c);
        // The spare still holds the last chunk's items, text and lines.
        let got = stager.run(reused.next_chunk_in(spare).unwrap().unwrap());
        assert_eq!(summary(&got), summary(&want));
        assert_eq!(
            (got.text.as_str(), got.trailing, got.end),
            (want.text.as_str(), want.trailing, want.end)
        );
        spare = Spare {
            bytes: got.text.into_bytes(),
            lines: got.lines,
            items: got.items,
        };
        chunks += 1;
    }
    assert!(chunks > 3, "{chunks}");
    assert!(reused.next_chunk_in(spare).unwrap().is_none());
}

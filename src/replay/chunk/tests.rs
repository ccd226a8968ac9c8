//! Chunks hold the one-thread reader's lines, cut near their size.

use super::{ChunkReader, Item, MAX_LINE, Work};
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

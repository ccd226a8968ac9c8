//! The framer against the framings real senders write, whole and in every
//! chunking, and against floods.

use proptest::prelude::*;

use super::*;

/// Frames of `input` fed in chunks of `chunk` bytes, as owned values.
fn frames(max: usize, input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, ()>> {
    let mut f = Framer::new(max);
    let mut got = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        f.push(part, &mut |fr| {
            got.push(match fr {
                Frame::Message(m) => Ok(m.to_vec()),
                Frame::TooLong => Err(()),
            })
        });
        assert!(
            f.buffered() <= max,
            "{} bytes held, limit {max}",
            f.buffered()
        );
    }
    got
}

fn msgs(list: &[&str]) -> Vec<Result<Vec<u8>, ()>> {
    list.iter().map(|m| Ok(m.as_bytes().to_vec())).collect()
}

#[test]
fn octet_counted_and_lf_terminated_frames_on_one_stream() {
    // What `logger --tcp --octet-count` and `logger --tcp` write, one after the other.
    let a = "<38>1 2026-12-06T10:00:00Z web1 sshd 42 - - Failed password for root";
    let b = "<38>Dec  6 10:00:01 web1 sshd[42]: Failed password for alice";
    let stream = format!("{} {a}{b}\n{} {a}", a.len(), a.len());
    for chunk in [1, 2, 3, 7, 64, 4096] {
        assert_eq!(
            frames(1024, stream.as_bytes(), chunk),
            msgs(&[a, b, a]),
            "chunk {chunk}"
        );
    }
}

#[test]
fn crlf_nul_and_stray_terminators_end_messages_without_making_empty_ones() {
    let stream = b"<13>one\r\n\n\n<13>two\0<13>three\n\r\n";
    assert_eq!(
        frames(1024, stream, 4096),
        msgs(&["<13>one", "<13>two", "<13>three"])
    );
}

#[test]
fn digits_that_are_no_length_begin_a_line() {
    // An RFC 3339 stamp without <PRI>, as some appliances send.
    let line = "2026-12-06T10:00:00Z fw1 sshd[1]: Invalid user admin from 192.0.2.7";
    let stream = format!("{line}\n12345678901234 x\n");
    assert_eq!(
        frames(1024, stream.as_bytes(), 3),
        msgs(&[line, "12345678901234 x"])
    );
}

#[test]
fn a_message_over_the_limit_is_skipped_once_and_the_next_one_is_intact() {
    let long = "x".repeat(5000);
    let stream = format!("<13>{long}\n<13>after\n5000 {long}<13>last\n");
    for chunk in [1, 100, 4096, 20000] {
        assert_eq!(
            frames(1024, stream.as_bytes(), chunk),
            vec![
                Err(()),
                Ok(b"<13>after".to_vec()),
                Err(()),
                Ok(b"<13>last".to_vec())
            ],
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_flood_without_newline_holds_no_more_than_the_limit() {
    let mut f = Framer::new(64 * 1024);
    let garbage = vec![b'A'; 1 << 20];
    let mut too_long = 0;
    for _ in 0..64 {
        // 64 MiB in all, one endless "line".
        f.push(&garbage, &mut |fr| {
            assert_eq!(fr, Frame::TooLong);
            too_long += 1;
        });
        assert_eq!(f.buffered(), 0);
    }
    assert_eq!(too_long, 1);
    f.push(b"\n<13>ok\n", &mut |fr| {
        assert_eq!(fr, Frame::Message(b"<13>ok"))
    });
}

/// A syslog message: starts with `<`, holds no LF or NUL (LF framing) but may
/// hold anything else, including bytes that are not UTF-8.
fn message() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no terminator", |b| *b != b'\n' && *b != 0),
        0..200,
    )
    .prop_map(|mut body| {
        let mut m = b"<13>".to_vec();
        m.append(&mut body);
        // A trailing CR would be taken for a CRLF's.
        while m.last() == Some(&b'\r') {
            m.pop();
        }
        m
    })
}

proptest! {
    #[test]
    fn every_message_once_in_order_whatever_the_framing_and_chunking(
        list in proptest::collection::vec((message(), any::<bool>()), 0..20),
        chunk in 1usize..300,
        max in 16usize..150,
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (m, counted) in &list {
            if *counted {
                stream.extend_from_slice(format!("{} ", m.len()).as_bytes());
                stream.extend_from_slice(m);
            } else {
                stream.extend_from_slice(m);
                stream.push(b'\n');
            }
            want.push(if m.len() > max { Err(()) } else { Ok(m.clone()) });
        }
        prop_assert_eq!(frames(max, &stream, chunk), want);
    }
}

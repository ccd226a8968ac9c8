//! A whole file as `replay` reads it: format detection from its head (sshd,
//! a JSON preset or a CSV export), the line reader (CRLF, overlong lines, a last
//! line without newline), then the detected parser.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::Format;
use loginwatch::replay::{FileSource, Stats};
use loginwatch_fuzz::{check_event, json_strings, lossy, opts, shift_jis};

fuzz_target!(|data: &[u8]| {
    let input = Box::new(Cursor::new(data.to_vec()));
    let mut src = FileSource::new("fuzz".into(), input, &Format::Auto, &opts())
        .expect("reading a byte slice cannot fail");
    let mut texts = json_strings(data);
    texts.push(lossy(data));
    texts.push(shift_jis(data));
    let mut stats = Stats::default();
    let mut lines_failed = 0u64;
    while let Some(ev) = src
        .next_event(&mut stats, &mut |_, _, _, _| lines_failed += 1)
        .expect("reading a byte slice cannot fail")
    {
        check_event(&ev, data.len() as u64, &texts);
    }
    assert_eq!(
        src.offset(),
        data.len() as u64,
        "the reader stopped before the end"
    );
    assert_eq!(
        stats.unparsed_total(),
        lines_failed,
        "an unparsed line was not reported"
    );
    assert!(stats.events + stats.unparsed_total() <= stats.lines);
});

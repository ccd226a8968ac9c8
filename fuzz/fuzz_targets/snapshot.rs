//! Saved parser state as read back from the state file: bytes -> `restore` of
//! the sshd and CSV parsers (a corrupt or foreign blob must be refused, never
//! panic), then the restored parser keeps parsing and saving.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::{Format, LineCtx, Parser, csv};
use loginwatch_fuzz::opts;

const SSHD_LINES: &[u8] = b"Mar  1 00:00:01 host sshd[42]: Failed password for invalid user bob from 192.0.2.7 port 50000 ssh2\n\
Mar  1 00:00:02 host sshd[42]: Connection closed by invalid user bob 192.0.2.7 port 50000 [preauth]\n";
const CSV_LINES: &[u8] = b"Date,User,Description,IP Address\n2026-02-28 10:00:00,carol,Login failed (Incorrect password),192.0.2.8\n";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, blob)) = data.split_first() else {
        return;
    };
    let (format, lines) = match pick % 3 {
        0 => (Format::Sshd, SSHD_LINES),
        1 => (
            Format::Csv(csv::preset("lineworks-audit").unwrap()),
            CSV_LINES,
        ),
        _ => (Format::Csv(csv::preset("cybozu-audit").unwrap()), CSV_LINES),
    };
    let mut parser = Parser::new(
        &format,
        &opts(),
        LineCtx {
            path: "fuzz".into(),
        },
    );
    let _ = parser.restore(blob);
    let mut offset = 0;
    for line in lines.split(|&b| b == b'\n') {
        let _ = parser.parse(line, offset);
        offset += line.len() as u64 + 1;
    }
    let saved = parser.snapshot();
    let mut fresh = Parser::new(
        &format,
        &opts(),
        LineCtx {
            path: "fuzz".into(),
        },
    );
    if let Err(e) = fresh.restore(&saved) {
        panic!("a parser's own snapshot does not restore: {e}");
    }
});

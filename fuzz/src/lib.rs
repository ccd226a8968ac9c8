//! What the fuzz targets share: a fixed clock, running a parser over the lines
//! of an input, and the invariants checked on every event it produces.
//!
//! The targets are in `fuzz_targets/`; `fuzz/seed.sh` builds their corpora and
//! `scripts/fuzz-smoke.sh` runs each one briefly as part of the test command.

use std::net::IpAddr;

use chrono::{TimeZone, Utc};
use loginwatch::event::AuthEvent;
use loginwatch::parse::{Format, LineCtx, ParseOptions, Parser};

/// The options every target parses with: a fixed clock, so a crash found on one
/// day still reproduces on the next (year inference depends on `now`).
pub fn opts() -> ParseOptions {
    ParseOptions::at(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap())
}

/// Runs `format`'s parser over the `\n`-separated lines of `data`, as the
/// daemon's tailer hands them over (offsets included), and checks every event.
/// `texts` are the readings of the input an address may have been taken from.
pub fn run_lines(format: &Format, data: &[u8], texts: &[String]) -> Vec<AuthEvent> {
    let mut parser = Parser::new(
        format,
        &opts(),
        LineCtx {
            path: "fuzz".into(),
        },
    );
    let mut events = Vec::new();
    let mut offset = 0u64;
    for line in data.split(|&b| b == b'\n') {
        if let Ok(Some(ev)) = parser.parse(line, offset) {
            check_event(&ev, data.len() as u64, texts);
            events.push(ev);
        }
        offset += line.len() as u64 + 1;
    }
    // The state must always be savable and restorable into a fresh parser:
    // the daemon commits it with every checkpoint.
    let saved = parser.snapshot();
    let mut fresh = Parser::new(
        format,
        &opts(),
        LineCtx {
            path: "fuzz".into(),
        },
    );
    if let Err(e) = fresh.restore(&saved) {
        panic!("a parser's own snapshot does not restore: {e}");
    }
    events
}

/// The invariants of one event from an input of `len` bytes.
pub fn check_event(ev: &AuthEvent, len: u64, texts: &[String]) {
    if let Some(off) = ev.log_offset {
        assert!(
            off <= len,
            "event offset {off} beyond the input ({len} bytes)"
        );
    }
    if let Some(ip) = ev.source_ip {
        assert!(
            texts.iter().any(|t| ip_in_text(ip, t)),
            "source_ip {ip} appears nowhere in the input"
        );
    }
}

/// The input read as lossy UTF-8: where the sshd, regex and JSON parsers find
/// their text (JSON strings are added by [`json_strings`]).
pub fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The input read as Shift_JIS, the other encoding of CSV exports: a trail byte
/// of a two-byte character can be an ASCII letter, so the decoded text differs.
pub fn shift_jis(data: &[u8]) -> String {
    encoding_rs::SHIFT_JIS.decode(data).0.into_owned()
}

/// Every string value (and key) of every line that is a JSON document, decoded:
/// an address written with `\u` escapes is only visible there.
pub fn json_strings(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
            collect(&v, &mut out);
        }
    }
    out
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|e| collect(e, out)),
        serde_json::Value::Object(m) => {
            for (k, e) in m {
                out.push(k.clone());
                collect(e, out);
            }
        }
        _ => {}
    }
}

/// True when some substring of `text` reads as `ip` (IPv4-mapped IPv6 counting
/// as its IPv4 address, as the parsers return it). Only runs of characters that
/// can appear in an address are tried, and substrings of at most 45 bytes (the
/// longest IPv6 text), so this stays linear in the input.
pub fn ip_in_text(ip: IpAddr, text: &str) -> bool {
    // The common case first: the address as written is its canonical form.
    if text.contains(&ip.to_string()) {
        return true;
    }
    let b = text.as_bytes();
    let addr_char = |c: u8| c.is_ascii_hexdigit() || c == b'.' || c == b':';
    let mut i = 0;
    while i < b.len() {
        if !addr_char(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && addr_char(b[i]) {
            i += 1;
        }
        let run = &text[start..i];
        for s in 0..run.len() {
            for e in s + 1..=run.len().min(s + 45) {
                if run[s..e].parse::<IpAddr>().map(|a| a.to_canonical()) == Ok(ip) {
                    return true;
                }
            }
        }
    }
    false
}

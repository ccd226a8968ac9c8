//! One journal entry, as `journalctl -o json` prints it, into the syslog line
//! the sshd/PAM parser already reads:
//!
//! `2024-12-07T09:00:00.000000Z web1 sshd[4242]: Failed password for ...`
//!
//! Every part comes from the entry's own fields, so nothing is guessed: the
//! time from `__REALTIME_TIMESTAMP` (microseconds since the epoch, written as
//! RFC 3339 in UTC, so no year inference and no zone), the host from
//! `_HOSTNAME`, the program from `SYSLOG_IDENTIFIER` (else `_COMM`), the pid
//! from `_PID` (else `SYSLOG_PID`). Turning the entry into a line, rather than
//! giving the parser a second input type, keeps one parser, one correlation
//! table and one snapshot format for files, network syslog and the journal.
//!
//! The fields are made safe for the line's grammar: a host or program with a
//! space, a colon or a bracket would shift the header, so such bytes become
//! `_`; a multi-line `MESSAGE` stays one line (its line breaks become spaces),
//! so a message cannot forge a second log line. `MESSAGE` may be an array of
//! bytes (journalctl's form for text that is not UTF-8): the bytes are kept as
//! they are, as a file's bytes would be. `null` (a field over 4096 bytes,
//! which journalctl leaves out unless `--all`) is delivered as too long.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The fields asked of journalctl (`--output-fields`): fewer bytes per entry,
/// and a bound on the size of a JSON line. `__CURSOR` and the timestamps are
/// always printed.
pub const FIELDS: &str =
    "__CURSOR,__REALTIME_TIMESTAMP,_HOSTNAME,SYSLOG_IDENTIFIER,_COMM,_PID,SYSLOG_PID,MESSAGE";

/// One entry as a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's position, to resume after it (`--after-cursor`).
    pub cursor: String,
    /// The syslog line, without a line break; empty when `too_long`.
    pub line: Vec<u8>,
    /// `MESSAGE` was left out by journalctl for its size: counted, not parsed.
    pub too_long: bool,
}

/// Why a JSON line is not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("not a JSON object: {0}")]
    NotJson(String),
    #[error("no __CURSOR")]
    NoCursor,
    #[error("no usable __REALTIME_TIMESTAMP")]
    NoTime,
}

/// Converts one line of `journalctl -o json`.
pub fn convert(json: &[u8]) -> Result<Entry, EntryError> {
    let map: Map<String, Value> =
        serde_json::from_slice(json).map_err(|e| EntryError::NotJson(e.to_string()))?;
    let cursor = map
        .get("__CURSOR")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or(EntryError::NoCursor)?
        .to_owned();
    let time = field(&map, "__REALTIME_TIMESTAMP")
        .and_then(|b| std::str::from_utf8(&b).ok()?.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or(EntryError::NoTime)?;
    let message = map.get("MESSAGE");
    if message.is_some_and(Value::is_null) {
        return Ok(Entry {
            cursor,
            line: Vec::new(),
            too_long: true,
        });
    }
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string().as_bytes());
    line.push(b' ');
    if let Some(host) = field(&map, "_HOSTNAME").filter(|h| !h.is_empty()) {
        push_token(&mut line, &host);
        line.push(b' ');
    }
    match ["SYSLOG_IDENTIFIER", "_COMM"]
        .iter()
        .find_map(|k| field(&map, k).filter(|v| !v.is_empty()))
    {
        Some(program) => push_token(&mut line, &program),
        None => line.extend_from_slice(b"unknown"),
    }
    if let Some(pid) = ["_PID", "SYSLOG_PID"]
        .iter()
        .find_map(|k| field(&map, k).filter(|v| !v.is_empty() && v.iter().all(u8::is_ascii_digit)))
    {
        line.push(b'[');
        line.extend_from_slice(&pid);
        line.push(b']');
    }
    line.extend_from_slice(b": ");
    if let Some(m) = message.and_then(bytes) {
        let m: &[u8] = &m;
        let end = m
            .iter()
            .rposition(|b| !matches!(b, b'\n' | b'\r'))
            .map_or(0, |i| i + 1);
        line.extend(m[..end].iter().map(|&b| match b {
            b'\n' | b'\r' => b' ',
            b => b,
        }));
    }
    Ok(Entry {
        cursor,
        line,
        too_long: false,
    })
}

/// A field's value as bytes: a string, an array of bytes, or the first of
/// several values (a field an entry carries more than once).
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<Cow<'a, [u8]>> {
    map.get(key).and_then(bytes)
}

fn bytes(v: &Value) -> Option<Cow<'_, [u8]>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_bytes())),
        Value::Array(a) if a.iter().all(Value::is_number) => a
            .iter()
            .map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .map(Cow::Owned),
        Value::Array(a) => a.first().and_then(bytes),
        _ => None,
    }
}

/// A header token: no byte that would end it or change its meaning.
fn push_token(line: &mut Vec<u8>, v: &[u8]) {
    line.extend(v.iter().map(|&b| {
        if b.is_ascii_control() || matches!(b, b' ' | b':' | b'[' | b']') {
            b'_'
        } else {
            b
        }
    }));
}

#[cfg(test)]
mod tests;

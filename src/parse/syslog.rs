//! Syslog framing: splits a line into timestamp, host, program, pid and message.
//!
//! Auth logs reach us in three header families, and the sshd parser must not care
//! which one wrote a line:
//! * BSD / RFC 3164, as rsyslog and syslog-ng write `auth.log` by default:
//!   `Mmm dd hh:mm:ss[.frac] host prog[pid]: msg`. The year is missing and is
//!   inferred by [`time::yearless`] from the injected clock.
//! * RFC 3339 timestamps, as rsyslog's high-precision template and journald
//!   exports write them: `2024-11-14T06:25:00.123456+01:00 host prog[pid]: msg`.
//!   An offset-less stamp is read in `opts.zone`.
//! * RFC 5424: `<34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg`.
//!
//! A `<PRI>` prefix is accepted on all of them. The host may be missing
//! (`Mar  3 00:17:22 sshd[1]: ...`), and the tag may be `[sshd]` with or without a
//! colon, because real senders write all of these.
//!
//! Everything is parsed by hand on bytes: a regex per line would cost more than
//! the whole rest of the pipeline, and the header grammar is small and fixed.
//! The minute of BSD timestamps is cached because consecutive lines almost
//! always share it, which saves the calendar and time-zone arithmetic.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::time::{self, Zone};
use super::{ParseError, ParseOptions, UnparsedReason};

/// The parts of a syslog line, borrowed from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Header<'a> {
    /// When the line was written, in UTC.
    pub timestamp: DateTime<Utc>,
    /// The sending host, when the header names one.
    pub host: Option<&'a str>,
    /// The program (`sshd`, `sudo`, ...).
    pub program: &'a str,
    /// The process id, when given.
    pub pid: Option<u32>,
    /// The message after the header.
    pub message: &'a str,
}

/// Caches the UTC instant of the last BSD `Mmm dd hh:mm` prefix seen, so the
/// year inference and zone conversion run once per minute of log, not per line.
#[derive(Debug, Default, Clone)]
pub struct MinuteCache {
    key: [u8; 12],
    base: Option<DateTime<Utc>>,
    /// The second of the minute last computed and its instant: several lines
    /// share a second, and the calendar addition below is the costly part.
    sec: Option<(u32, DateTime<Utc>)>,
}

fn malformed(detail: &'static str) -> ParseError {
    ParseError::new(UnparsedReason::Malformed, detail)
}

fn bad_time(detail: &'static str) -> ParseError {
    ParseError::new(UnparsedReason::BadTimestamp, detail)
}

/// Parses the header of `line`.
///
/// Err(Malformed) when no syslog header can be read, Err(BadTimestamp) when the
/// header is there but its date is impossible.
pub fn parse<'a>(
    line: &'a str,
    opts: &ParseOptions,
    cache: &mut MinuteCache,
) -> Result<Header<'a>, ParseError> {
    let mut rest = line;
    if rest.starts_with('<') {
        let close = rest
            .bytes()
            .take(5)
            .position(|b| b == b'>')
            .ok_or_else(|| malformed("a <PRI> of at most 3 digits"))?;
        let pri = rest.get(1..close).unwrap_or("");
        if pri.is_empty() || !pri.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("a numeric <PRI>"));
        }
        rest = rest.get(close + 1..).unwrap_or("");
        if let Some(r) = rest.strip_prefix("1 ") {
            return rfc5424(r, opts);
        }
    }
    let first = rest.as_bytes().first().copied().unwrap_or(0);
    let (timestamp, after) = if first.is_ascii_digit() {
        let (t, n) = rfc3339(rest, opts.zone)?;
        (t, rest.get(n..).unwrap_or(""))
    } else if first.is_ascii_alphabetic() {
        let (t, n) = bsd(rest, opts, cache)?;
        (t, rest.get(n..).unwrap_or(""))
    } else {
        return Err(malformed("a syslog timestamp at the start of the line"));
    };
    let after = after
        .strip_prefix(' ')
        .ok_or_else(|| malformed("a space after the timestamp"))?
        .trim_start_matches(' ');
    host_and_tag(after, timestamp)
}

/// `host prog[pid]: msg`, `prog[pid]: msg` (no host), `[prog]: msg`, `[prog] msg`.
fn host_and_tag(s: &str, timestamp: DateTime<Utc>) -> Result<Header<'_>, ParseError> {
    let (tok, rest) = split_token(s);
    if let Some((program, pid)) = tag(tok) {
        return Ok(Header {
            timestamp,
            host: None,
            program,
            pid,
            message: rest,
        });
    }
    let (tag_tok, rest) = split_token(rest);
    let (program, pid) = tag(tag_tok).ok_or_else(|| malformed("a `prog[pid]:` tag"))?;
    Ok(Header {
        timestamp,
        host: Some(tok),
        program,
        pid,
        message: rest,
    })
}

/// Splits off the first space-separated token; the rest loses one space.
fn split_token(s: &str) -> (&str, &str) {
    match memchr::memchr(b' ', s.as_bytes()) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
        None => (s, ""),
    }
}

/// Reads a tag token: `prog[pid]:`, `prog:`, `[prog]:` or `[prog]`.
fn tag(tok: &str) -> Option<(&str, Option<u32>)> {
    let (body, colon) = match tok.strip_suffix(':') {
        Some(b) => (b, true),
        None => (tok, false),
    };
    if let Some(inner) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
        return (!inner.is_empty()).then_some((inner, None));
    }
    if !colon || body.is_empty() {
        return None;
    }
    // A byte scan and a digit loop instead of `find('[')` and `parse::<u32>()`:
    // both are generic over patterns and radixes and this runs on every line.
    // Measured (callgrind, replay of 200k lines of the generated sshd log):
    // `tag` 57.8 M -> 42.7 M instructions, the whole replay 825.9 M -> 808.9 M
    // (-2.1%), decisions byte-identical (bench/PROFILE.md).
    match body.bytes().position(|b| b == b'[') {
        Some(i) => {
            let prog = body.get(..i)?;
            let pid = body.get(i + 1..)?.strip_suffix(']')?;
            (!prog.is_empty()).then_some((prog, pid_of(pid.as_bytes())))
        }
        None => Some((body, None)),
    }
}

/// `s.parse::<u32>().ok()`, for the pid of a tag: an optional `+`, then
/// decimal digits only, without overflow.
fn pid_of(s: &[u8]) -> Option<u32> {
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(v)
}

/// `<PRI>1 ` already stripped: `TIMESTAMP HOST APP PROCID MSGID SD MSG`.
fn rfc5424<'a>(s: &'a str, opts: &ParseOptions) -> Result<Header<'a>, ParseError> {
    let (ts, rest) = split_token(s);
    let timestamp = if ts == "-" {
        return Err(bad_time("an RFC 5424 timestamp (`-` is not usable)"));
    } else {
        let (t, n) = rfc3339(ts, opts.zone)?;
        if n != ts.len() {
            return Err(bad_time("an RFC 3339 timestamp"));
        }
        t
    };
    let (host, rest) = split_token(rest);
    let (app, rest) = split_token(rest);
    let (procid, rest) = split_token(rest);
    let (_msgid, rest) = split_token(rest);
    if app.is_empty() || procid.is_empty() {
        return Err(malformed("RFC 5424 HOST APP PROCID MSGID fields"));
    }
    let message = structured_data(rest).ok_or_else(|| malformed("RFC 5424 structured data"))?;
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Ok(Header {
        timestamp,
        host: (host != "-").then_some(host),
        program: app,
        pid: procid.parse().ok(),
        message,
    })
}

/// Skips RFC 5424 structured data (`-` or `[id k="v" ...]...`, where `\]` and
/// `\"` escape inside values) and returns the message after it.
fn structured_data(s: &str) -> Option<&str> {
    if let Some(r) = s.strip_prefix('-') {
        return Some(r.strip_prefix(' ').unwrap_or(r));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let r = s.get(i..)?;
    Some(r.strip_prefix(' ').unwrap_or(r))
}

/// Reads `n` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let d = b.get(at..at + n)?;
    d.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Optional `.fraction` at `at`: returns (nanoseconds, bytes consumed).
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    if b.get(at) != Some(&b'.') && b.get(at) != Some(&b',') {
        return (0, 0);
    }
    let mut nanos = 0u32;
    let mut n = 1;
    let mut scale = 100_000_000u32;
    while let Some(c) = b.get(at + n).filter(|c| c.is_ascii_digit()) {
        nanos += u32::from(c - b'0') * scale;
        scale /= 10;
        n += 1;
    }
    if n == 1 { (0, 0) } else { (nanos, n) }
}

/// `hh:mm:ss` at `at`, validated.
fn hms(b: &[u8], at: usize) -> Option<(u32, u32, u32)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    Some((
        digits(b, at, 2)?,
        digits(b, at + 3, 2)?,
        digits(b, at + 6, 2)?,
    ))
}

/// BSD `Mmm dd hh:mm:ss[.frac]` (day space- or zero-padded, or one digit).
/// Returns the instant and the bytes consumed.
fn bsd(
    s: &str,
    opts: &ParseOptions,
    cache: &mut MinuteCache,
) -> Result<(DateTime<Utc>, usize), ParseError> {
    let b = s.as_bytes();
    let month = b
        .get(..3)
        .and_then(time::month_abbr)
        .filter(|_| b.get(3) == Some(&b' '))
        .ok_or_else(|| malformed("a `Mmm dd hh:mm:ss` timestamp"))?;
    // Day: " 5", "05" or "5".
    let (day, t) = match (b.get(4), b.get(5)) {
        (Some(b' '), Some(d)) if d.is_ascii_digit() => (u32::from(d - b'0'), 7),
        (Some(d1), Some(d2)) if d1.is_ascii_digit() && d2.is_ascii_digit() => {
            (u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0'), 7)
        }
        (Some(d), Some(b' ')) if d.is_ascii_digit() => (u32::from(d - b'0'), 6),
        _ => return Err(malformed("a `Mmm dd hh:mm:ss` timestamp")),
    };
    if b.get(t - 1) != Some(&b' ') {
        return Err(malformed("a `Mmm dd hh:mm:ss` timestamp"));
    }
    let (h, m, sec) = hms(b, t).ok_or_else(|| malformed("a `Mmm dd hh:mm:ss` timestamp"))?;
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad_time("a time of day within 00:00:00-23:59:59"));
    }
    let (nanos, flen) = fraction(b, t + 8);
    // Cache key: month, day and hh:mm, normalised so " 5" and "05" share it.
    let mut key = [0u8; 12];
    key[..3].copy_from_slice(b.get(..3).unwrap_or(b"   "));
    key[3] = day as u8;
    key[4] = h as u8;
    key[5] = m as u8;
    let base = match cache.base {
        Some(base) if cache.key == key => base,
        _ => {
            let base = time::yearless(opts.year, opts.zone, opts.now, month, day, (h, m, 0), 0)
                .ok_or_else(|| bad_time("a calendar date that exists"))?;
            cache.key = key;
            cache.base = Some(base);
            cache.sec = None;
            base
        }
    };
    let whole = match cache.sec {
        Some((s, at)) if s == sec => at,
        _ => {
            let at = base + Duration::seconds(i64::from(sec));
            cache.sec = Some((sec, at));
            at
        }
    };
    let ts = if nanos == 0 {
        whole
    } else {
        whole + Duration::nanoseconds(i64::from(nanos))
    };
    Ok((ts, t + 8 + flen))
}

/// `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm|±hhmm]`; offset-less stamps are read in
/// `zone`. Returns the instant and the bytes consumed.
fn rfc3339(s: &str, zone: Zone) -> Result<(DateTime<Utc>, usize), ParseError> {
    let b = s.as_bytes();
    let shape = |d| malformed(d);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(shape("an RFC 3339 timestamp"));
    }
    if !matches!(b.get(10), Some(b'T' | b' ')) {
        return Err(shape("an RFC 3339 timestamp"));
    }
    let year = digits(b, 0, 4).ok_or_else(|| shape("an RFC 3339 timestamp"))?;
    let month = digits(b, 5, 2).ok_or_else(|| shape("an RFC 3339 timestamp"))?;
    let day = digits(b, 8, 2).ok_or_else(|| shape("an RFC 3339 timestamp"))?;
    let (h, m, sec) = hms(b, 11).ok_or_else(|| shape("an RFC 3339 timestamp"))?;
    let (nanos, flen) = fraction(b, 19);
    let mut n = 19 + flen;
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)
        .and_then(|d| d.and_hms_nano_opt(h, m, sec, nanos))
        .ok_or_else(|| bad_time("a calendar date and time that exist"))?;
    let offset_secs = match b.get(n) {
        Some(b'Z' | b'z') => {
            n += 1;
            Some(0i64)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, n + 1, 2).ok_or_else(|| bad_time("a `±hh:mm` offset"))?;
            let (om, len) = if b.get(n + 3) == Some(&b':') {
                (digits(b, n + 4, 2), 6)
            } else {
                (digits(b, n + 3, 2), 5)
            };
            let om = om.ok_or_else(|| bad_time("a `±hh:mm` offset"))?;
            if oh > 23 || om > 59 {
                return Err(bad_time("a `±hh:mm` offset"));
            }
            n += len;
            let secs = i64::from(oh * 3600 + om * 60);
            Some(if sign == b'-' { -secs } else { secs })
        }
        _ => None,
    };
    let ts = match offset_secs {
        Some(off) => naive.and_utc() - Duration::seconds(off),
        None => zone.to_utc(naive),
    };
    Ok((ts, n))
}

#[cfg(test)]
mod tests;

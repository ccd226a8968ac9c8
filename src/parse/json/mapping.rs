//! The vocabulary shared by JSON and declared regex formats: value maps (log codes
//! to our enums), time formats, and lenient IP/port reading.
//!
//! Both kinds of format describe the same thing (which text in a line means which
//! `AuthEvent` field), so they read values the same way; this keeps a declared
//! regex format and a JSON preset from disagreeing about, say, what `::ffff:10.0.0.1`
//! or `1700000000000` means.

use std::net::IpAddr;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::parse::Zone;
use crate::parse::time::{month_abbr, yearless};

/// One key of a value map: a log word compared ASCII-case-insensitively, or a
/// prefix when written with a trailing `*` (`user.mfa.*`; `*` alone matches anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    /// `word` or `prefix*`.
    pub fn new(s: &str) -> Pattern {
        match s.strip_suffix('*') {
            Some(p) => Pattern {
                text: p.to_string(),
                prefix: true,
            },
            None => Pattern {
                text: s.to_string(),
                prefix: false,
            },
        }
    }

    /// True when `v` is this word (or starts with this prefix).
    pub fn matches(&self, v: &str) -> bool {
        if self.prefix {
            v.get(..self.text.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.text))
        } else {
            v.eq_ignore_ascii_case(&self.text)
        }
    }
}

/// An ordered map from log words to values; the first matching pattern wins, so
/// exact words go before catch-all prefixes.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMap<T> {
    entries: Vec<(Pattern, T)>,
}

impl<T> Default for ValueMap<T> {
    fn default() -> Self {
        ValueMap {
            entries: Vec::new(),
        }
    }
}

impl<T: Clone> ValueMap<T> {
    /// A map from `(pattern, value)` pairs, in priority order.
    pub fn of(pairs: &[(&str, T)]) -> ValueMap<T> {
        ValueMap {
            entries: pairs
                .iter()
                .map(|(k, v)| (Pattern::new(k), v.clone()))
                .collect(),
        }
    }

    /// The value of the first pattern matching `v`.
    pub fn get(&self, v: &str) -> Option<&T> {
        self.entries
            .iter()
            .find(|(p, _)| p.matches(v))
            .map(|(_, t)| t)
    }

    /// `other`'s entries first, then ours: a declared format refining a preset.
    pub fn overlaid_by(&self, other: &ValueMap<T>) -> ValueMap<T> {
        let mut entries = other.entries.clone();
        entries.extend(self.entries.iter().cloned());
        ValueMap { entries }
    }

    /// Appends one entry (lowest priority so far).
    pub fn push(&mut self, pattern: &str, value: T) {
        self.entries.push((Pattern::new(pattern), value));
    }
}

/// How a timestamp is written.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeFormat {
    /// RFC 3339 / ISO 8601 with or without an offset (`T` or space), or a
    /// `YYYY-MM-DD HH:MM:SS[.f]` local time, or epoch seconds/milliseconds as a
    /// number (at least 10^11 is read as milliseconds: 10^11 seconds is year 5138).
    Auto,
    /// RFC 3339; an offset-less ISO 8601 time is read in the zone.
    Rfc3339,
    /// BSD syslog `Mmm dd HH:MM:SS` (year from the options, see [`yearless`]).
    Syslog,
    /// Epoch seconds (may have a fraction), number or string.
    Unix,
    /// Epoch milliseconds, number or string.
    UnixMs,
    /// A chrono strftime pattern; read in the zone unless it contains an offset.
    Strftime(String),
}

impl TimeFormat {
    /// Parses a `time_format` setting: `auto`, `rfc3339`, `syslog`, `unix`,
    /// `unix_ms`, or a strftime pattern (anything with a `%`).
    pub fn parse(s: &str) -> Result<TimeFormat, String> {
        Ok(match s {
            "auto" => TimeFormat::Auto,
            "rfc3339" | "iso8601" => TimeFormat::Rfc3339,
            "syslog" => TimeFormat::Syslog,
            "unix" | "epoch" => TimeFormat::Unix,
            "unix_ms" | "epoch_ms" => TimeFormat::UnixMs,
            _ if s.contains('%') => {
                let items: Vec<Item<'_>> = StrftimeItems::new(s).collect();
                if items.iter().any(|i| matches!(i, Item::Error)) {
                    return Err(format!("time_format {s:?}: not a valid strftime pattern"));
                }
                TimeFormat::Strftime(s.to_string())
            }
            _ => {
                return Err(format!(
                    "unknown time_format {s:?} (expected auto, rfc3339, syslog, unix, unix_ms, or a strftime pattern such as \"%Y-%m-%d %H:%M:%S\")"
                ));
            }
        })
    }
}

/// What a timestamp is read against: the zone of offset-less times, and the year
/// and clock for year-less syslog times.
#[derive(Debug, Clone, Copy)]
pub struct TimeCtx {
    /// Zone of offset-less times.
    pub zone: Zone,
    /// Year of year-less times (`None`: inferred from `now`).
    pub year: Option<i32>,
    /// The injected clock.
    pub now: DateTime<Utc>,
}

/// Reads a textual timestamp.
pub fn parse_time_text(s: &str, f: &TimeFormat, cx: TimeCtx) -> Option<DateTime<Utc>> {
    let s = s.trim();
    match f {
        TimeFormat::Auto => iso(s, cx.zone).or_else(|| epoch_text(s, None)),
        TimeFormat::Rfc3339 => iso(s, cx.zone),
        TimeFormat::Syslog => syslog(s, cx),
        TimeFormat::Unix => epoch_text(s, Some(false)),
        TimeFormat::UnixMs => epoch_text(s, Some(true)),
        TimeFormat::Strftime(p) => DateTime::parse_from_str(s, p)
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(s, p)
                    .ok()
                    .map(|t| cx.zone.to_utc(t))
            }),
    }
}

/// Reads a numeric timestamp (JSON numbers).
pub fn parse_time_number(n: f64, f: &TimeFormat) -> Option<DateTime<Utc>> {
    match f {
        TimeFormat::Auto => epoch(n, n.abs() >= 1e11),
        TimeFormat::Unix => epoch(n, false),
        TimeFormat::UnixMs => epoch(n, true),
        _ => None,
    }
}

fn iso(s: &str, zone: Zone) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    // Offsets without a colon (`+0200`) and offset-less local times.
    for p in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(d) = DateTime::parse_from_str(s, p) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for p in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, p) {
            return Some(zone.to_utc(t));
        }
    }
    None
}

fn epoch_text(s: &str, millis: Option<bool>) -> Option<DateTime<Utc>> {
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    let n: f64 = s.parse().ok()?;
    epoch(n, millis.unwrap_or(n.abs() >= 1e11))
}

fn epoch(n: f64, millis: bool) -> Option<DateTime<Utc>> {
    if !n.is_finite() {
        return None;
    }
    let ms = if millis { n } else { n * 1000.0 };
    // Float-to-int `as` saturates, and chrono rejects out-of-range instants.
    DateTime::from_timestamp_millis(ms.round() as i64)
}

/// `Mmm dd HH:MM:SS[.f]`, `dd` space- or zero-padded.
fn syslog(s: &str, cx: TimeCtx) -> Option<DateTime<Utc>> {
    let month = month_abbr(s.get(..3)?.as_bytes())?;
    let rest = s.get(3..)?.trim_start();
    let (day, time) = rest.split_once(' ')?;
    let day: u32 = day.parse().ok()?;
    let t = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M:%S%.f").ok()?;
    use chrono::Timelike;
    yearless(
        cx.year,
        cx.zone,
        cx.now,
        month,
        day,
        (t.hour(), t.minute(), t.second()),
        t.nanosecond(),
    )
}

/// An IP address as logs write it: plain, `[v6]`, with a `:port`, `[v6]:port`, with
/// a `%zone`, or IPv4-mapped IPv6 (`::ffff:10.0.0.1`, returned as the IPv4
/// address). Anything else (a host name, `AWS Internal`, `-`) is `None`: the
/// field is absent, not an error.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let ip = if let Ok(ip) = s.parse::<IpAddr>() {
        ip
    } else if let Some(rest) = s.strip_prefix('[') {
        rest.split_once(']')?.0.parse().ok()?
    } else if let Some((host, _zone)) = s.split_once('%') {
        host.parse().ok()?
    } else {
        // `1.2.3.4:5678` (one colon: IPv6 has several).
        let (host, port) = s.rsplit_once(':')?;
        if host.contains(':') || port.parse::<u16>().is_err() {
            return None;
        }
        host.parse().ok()?
    };
    Some(ip.to_canonical())
}

/// A port from text; `None` unless it is a whole number in `0..=65535`.
pub fn parse_port(s: &str) -> Option<u16> {
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cx() -> TimeCtx {
        TimeCtx {
            zone: Zone::Utc,
            year: None,
            now: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        }
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn patterns_are_case_insensitive_and_prefixes_work() {
        let m = ValueMap::of(&[("user.mfa.*", 1), ("SUCCESS", 2), ("*", 3)]);
        assert_eq!(m.get("user.mfa.factor.deactivate"), Some(&1));
        assert_eq!(m.get("success"), Some(&2));
        assert_eq!(m.get("anything"), Some(&3));
        let exact = ValueMap::of(&[("0xC000006A", 1)]);
        assert_eq!(exact.get("0xc000006a"), Some(&1));
        assert_eq!(exact.get("0xc000006a0"), None);
        let over = exact.overlaid_by(&ValueMap::of(&[("0xc000006a", 9)]));
        assert_eq!(over.get("0xC000006A"), Some(&9));
    }

    #[test]
    fn auto_reads_iso_local_and_epochs() {
        let a = TimeFormat::Auto;
        let p = |s| parse_time_text(s, &a, cx());
        assert_eq!(p("2023-04-11T15:24:00Z"), Some(at(2023, 4, 11, 15, 24, 0)));
        assert_eq!(
            p("2023-04-11T17:24:00+02:00"),
            Some(at(2023, 4, 11, 15, 24, 0))
        );
        assert_eq!(
            p("2023-04-11T17:24:00+0200"),
            Some(at(2023, 4, 11, 15, 24, 0))
        );
        assert_eq!(p("2023-04-11 15:24:00"), Some(at(2023, 4, 11, 15, 24, 0)));
        assert_eq!(p("1681226640"), Some(at(2023, 4, 11, 15, 24, 0)));
        assert_eq!(p("1681226640000"), Some(at(2023, 4, 11, 15, 24, 0)));
        assert_eq!(
            p("2024-01-15T10:20:30.1234567Z").map(|t| t.timestamp_subsec_micros()),
            Some(123_456)
        );
        assert_eq!(
            parse_time_number(1681226640.0, &a),
            Some(at(2023, 4, 11, 15, 24, 0))
        );
        assert_eq!(
            parse_time_number(1.68122664e12, &a),
            Some(at(2023, 4, 11, 15, 24, 0))
        );
        assert_eq!(p("yesterday"), None);
        assert_eq!(parse_time_number(f64::MAX, &a), None);
        assert_eq!(parse_time_number(1e300, &TimeFormat::Unix), None);
    }

    #[test]
    fn offsetless_times_use_the_zone() {
        let z: Zone = "America/New_York".parse().unwrap();
        let c = TimeCtx { zone: z, ..cx() };
        assert_eq!(
            parse_time_text("2020-10-22 04:29:53", &TimeFormat::Auto, c),
            Some(at(2020, 10, 22, 8, 29, 53))
        );
        let f = TimeFormat::parse("%d/%m/%Y %H:%M:%S").unwrap();
        assert_eq!(
            parse_time_text("22/10/2020 04:29:53", &f, c),
            Some(at(2020, 10, 22, 8, 29, 53))
        );
    }

    #[test]
    fn syslog_and_explicit_epochs() {
        assert_eq!(
            parse_time_text("Feb  3 04:05:06", &TimeFormat::Syslog, cx()),
            Some(at(2026, 2, 3, 4, 5, 6))
        );
        assert_eq!(
            parse_time_text("Feb 30 04:05:06", &TimeFormat::Syslog, cx()),
            None
        );
        assert_eq!(
            parse_time_text("1681226640.5", &TimeFormat::Unix, cx()).map(|t| t.timestamp_millis()),
            Some(1_681_226_640_500)
        );
        assert_eq!(
            parse_time_text("1681226640000", &TimeFormat::UnixMs, cx()),
            Some(at(2023, 4, 11, 15, 24, 0))
        );
    }

    #[test]
    fn time_format_names_are_checked() {
        assert!(TimeFormat::parse("rfc3339").is_ok());
        assert!(TimeFormat::parse("%Y-%m-%d %H:%M:%S").is_ok());
        assert!(TimeFormat::parse("%Q").is_err());
        assert!(TimeFormat::parse("iso").is_err());
    }

    #[test]
    fn ips_in_all_their_spellings() {
        let ip = |s: &str| parse_ip(s).map(|i| i.to_string());
        assert_eq!(ip("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("1.2.3.4:5678").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("::ffff:172.18.39.5").as_deref(), Some("172.18.39.5"));
        assert_eq!(ip("[2001:db8::1]:22").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("fe80::1%eth0").as_deref(), Some("fe80::1"));
        assert_eq!(ip("::1").as_deref(), Some("::1"));
        for bad in [
            "-",
            "AWS Internal",
            "ec2.amazonaws.com",
            "",
            "1.2.3.4:99999",
            "[::1",
        ] {
            assert_eq!(ip(bad), None, "{bad}");
        }
        assert_eq!(parse_port("22"), Some(22));
        assert_eq!(parse_port("70000"), None);
    }
}

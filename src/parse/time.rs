//! Time zones and timestamp helpers shared by the parsers.
//!
//! Logs that write local time without an offset (BSD syslog, many CSV exports) are
//! read in a [`Zone`] given by `--tz` or the config; logs with an offset or `Z` are
//! exact and ignore it.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Local, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The zone of offset-less timestamps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// UTC.
    Utc,
    /// The host's zone (what syslog daemons write by default).
    Local,
    /// An IANA zone such as `Europe/Zurich` or `Asia/Tokyo`.
    Named(chrono_tz::Tz),
}

impl FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Zone, String> {
        match s {
            "UTC" | "utc" | "Z" => Ok(Zone::Utc),
            "local" | "Local" => Ok(Zone::Local),
            _ => s.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
                format!(
                    "unknown time zone {s:?} (expected UTC, local, or an IANA name like Asia/Tokyo)"
                )
            }),
        }
    }
}

impl Zone {
    /// Converts a local wall-clock time to UTC. In a DST fold the earlier instant
    /// wins; a time in a DST gap is read as if the clock had not jumped (shifted by
    /// an hour), because syslog wrote it and it happened: dropping it would lose an event.
    pub fn to_utc(self, t: NaiveDateTime) -> DateTime<Utc> {
        fn pick<Z: TimeZone>(z: &Z, t: NaiveDateTime) -> DateTime<Utc> {
            match z.from_local_datetime(&t) {
                LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.with_timezone(&Utc),
                LocalResult::None => match z.from_local_datetime(&(t + chrono::Duration::hours(1)))
                {
                    LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => {
                        d.with_timezone(&Utc) - chrono::Duration::hours(1)
                    }
                    LocalResult::None => Utc.from_utc_datetime(&t),
                },
            }
        }
        match self {
            Zone::Utc => Utc.from_utc_datetime(&t),
            Zone::Local => pick(&Local, t),
            Zone::Named(z) => pick(&z, t),
        }
    }

    /// The current year in this zone at `now`.
    pub fn year_at(self, now: DateTime<Utc>) -> i32 {
        match self {
            Zone::Utc => now.year(),
            Zone::Local => now.with_timezone(&Local).year(),
            Zone::Named(z) => now.with_timezone(&z).year(),
        }
    }
}

/// Resolves a year-less (month, day, h, m, s) timestamp: `year` when given, else
/// the year of `now`, rolled back one year when that would put the event more than
/// a day in the future (a December line read in January). Returns `None` for an
/// impossible date (Feb 30, or Feb 29 in a non-leap year).
pub fn yearless(
    year: Option<i32>,
    zone: Zone,
    now: DateTime<Utc>,
    month: u32,
    day: u32,
    hms: (u32, u32, u32),
    nanos: u32,
) -> Option<DateTime<Utc>> {
    let build = |y: i32| {
        NaiveDate::from_ymd_opt(y, month, day)
            .and_then(|d| d.and_hms_nano_opt(hms.0, hms.1, hms.2, nanos))
            .map(|t| zone.to_utc(t))
    };
    if let Some(y) = year {
        return build(y);
    }
    let y = zone.year_at(now);
    match build(y) {
        Some(t) if t > now + chrono::Duration::days(1) => build(y - 1),
        Some(t) => Some(t),
        // Feb 29 of a non-leap current year: it must be from a previous (leap) year.
        None => build(y - 1).or_else(|| build(y - 4)),
    }
}

/// Month number from a three-letter English abbreviation (`Jan`..`Dec`).
pub fn month_abbr(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()
    }

    #[test]
    fn future_dates_roll_back_a_year() {
        let t = yearless(None, Zone::Utc, now(), 12, 31, (23, 59, 0), 0).unwrap();
        assert_eq!(t.year(), 2025);
        let t = yearless(None, Zone::Utc, now(), 1, 5, (13, 0, 0), 0).unwrap();
        assert_eq!(t.year(), 2026);
    }

    #[test]
    fn explicit_year_and_zone() {
        let z: Zone = "Europe/Zurich".parse().unwrap();
        let t = yearless(Some(2005), z, now(), 8, 14, (12, 0, 0), 0).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2005, 8, 14, 10, 0, 0).unwrap());
        assert!("Mars/Base".parse::<Zone>().is_err());
    }

    #[test]
    fn impossible_dates_are_none_not_panics() {
        assert!(yearless(Some(2025), Zone::Utc, now(), 2, 30, (0, 0, 0), 0).is_none());
        assert!(yearless(Some(2025), Zone::Utc, now(), 13, 1, (0, 0, 0), 0).is_none());
    }
}

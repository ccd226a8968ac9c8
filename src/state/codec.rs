//! Typed values to SQLite columns and back.
//!
//! Kept in one place so every table spells a time, an address or a path the
//! same way, and so that a value the binary cannot read back is reported as
//! [`StateError::Corrupt`] instead of panicking.

use std::net::IpAddr;
use std::path::PathBuf;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};

use super::error::StateError;

/// The stored time format: fixed width, so text order is time order.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";

/// Encodes a time as fixed-width RFC 3339 text (nanoseconds, `Z`).
///
/// Years outside 0..=9999 (only a corrupt log could produce them) are clamped
/// to the ends of that range: the text stays fixed-width, so comparisons in SQL
/// stay right, and no input makes a commit fail.
pub fn time(t: &DateTime<Utc>) -> String {
    if t.year() > 9999 {
        "9999-12-31T23:59:59.999999999Z".to_string()
    } else if t.year() < 0 {
        "0000-01-01T00:00:00.000000000Z".to_string()
    } else {
        t.format(TIME_FORMAT).to_string()
    }
}

/// Decodes [`time`]'s text.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, StateError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ")
        .map(|n| n.and_utc())
        .map_err(|_| corrupt("time", s))
}

/// Decodes an optional time column.
pub fn parse_opt_time(s: Option<String>) -> Result<Option<DateTime<Utc>>, StateError> {
    s.as_deref().map(parse_time).transpose()
}

/// Decodes an address column.
pub fn parse_ip(s: Option<String>) -> Result<Option<IpAddr>, StateError> {
    s.map(|s| s.parse().map_err(|_| corrupt("ip address", &s)))
        .transpose()
}

/// `u64` to SQLite's `i64`, bit for bit (inodes and hashes use the top bit).
pub fn u64_to_sql(v: u64) -> i64 {
    v as i64
}

/// Inverse of [`u64_to_sql`].
pub fn u64_from_sql(v: i64) -> u64 {
    v as u64
}

/// A path as bytes: Unix paths need not be UTF-8, and a checkpoint must name
/// exactly the file it was taken on.
#[cfg(unix)]
pub fn path_to_sql(p: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

/// Inverse of [`path_to_sql`].
#[cfg(unix)]
pub fn path_from_sql(b: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(b))
}

/// A path as bytes (lossy outside Unix, where paths are UTF-16).
#[cfg(not(unix))]
pub fn path_to_sql(p: &std::path::Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

/// Inverse of [`path_to_sql`].
#[cfg(not(unix))]
pub fn path_from_sql(b: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&b).into_owned())
}

/// A [`StateError::Corrupt`] for `what`.
pub fn corrupt(what: &'static str, value: &str) -> StateError {
    StateError::Corrupt {
        what,
        value: value.to_string(),
    }
}

/// Wraps a decoding error so it can leave a `rusqlite` row closure.
pub fn in_row(e: StateError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, Box::new(e))
}

/// Unwraps what [`in_row`] wrapped; other errors stay SQLite errors.
pub fn from_row(e: rusqlite::Error) -> StateError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(i, ty, b) => match b.downcast::<StateError>() {
            Ok(se) => *se,
            Err(b) => StateError::Sqlite(rusqlite::Error::FromSqlConversionFailure(i, ty, b)),
        },
        other => StateError::Sqlite(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let b = a + chrono::Duration::nanoseconds(1);
        let c = Utc.with_ymd_and_hms(999, 1, 1, 0, 0, 0).unwrap();
        for t in [a, b, c] {
            assert_eq!(parse_time(&time(&t)).unwrap(), t);
        }
        assert!(time(&a) < time(&b));
        assert!(time(&c) < time(&a));
        assert_eq!(time(&a).len(), time(&c).len());
    }

    #[test]
    fn absurd_years_are_clamped_not_fatal() {
        let far = Utc.with_ymd_and_hms(20000, 1, 1, 0, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(time(&far) > time(&now));
        assert_eq!(parse_time(&time(&far)).unwrap().year(), 9999);
        let old = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        assert!(time(&old) < time(&now));
    }

    #[test]
    fn bad_text_is_corrupt_not_a_panic() {
        assert!(matches!(
            parse_time("yesterday"),
            Err(StateError::Corrupt { what: "time", .. })
        ));
        assert!(parse_ip(Some("300.1.1.1".into())).is_err());
    }

    #[test]
    fn u64_bit_casts_round_trip() {
        for v in [0, 1, u64::MAX, 1 << 63] {
            assert_eq!(u64_from_sql(u64_to_sql(v)), v);
        }
    }

    #[test]
    fn row_errors_keep_their_type() {
        let e = from_row(in_row(corrupt("x", "y")));
        assert!(matches!(e, StateError::Corrupt { what: "x", .. }));
    }
}

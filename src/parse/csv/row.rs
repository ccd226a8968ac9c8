//! A CSV record seen through its file's header: columns by name, trimmed values,
//! and the dates these exports write.
//!
//! Kept apart from the line handling in the parent module so the per-service row
//! parsers ([`super::lineworks`], [`super::cybozu`]) see only typed accessors.

use ::csv::StringRecord;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::mapping::{self, Col, Tables};
use super::memo::Memo;
use crate::intern::Interner;
use crate::parse::{ParseError, ParseOptions, UnparsedReason, Zone};

/// Where each column is in the current file (`None`: the file lacks it).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub(super) at: [Option<usize>; Col::ALL.len()],
    /// The header cells as read, kept for the snapshot.
    pub(super) cells: Vec<String>,
}

impl Header {
    /// Maps header cells to columns; `None` when a required column is missing.
    pub fn map(cells: &StringRecord, tables: &Tables, required: &[Col]) -> Option<Header> {
        let lower: Vec<String> = cells
            .iter()
            .map(|c| mapping::norm_header(c).to_ascii_lowercase())
            .collect();
        let mut at = [None; Col::ALL.len()];
        for (col, _) in Col::ALL {
            at[col.idx()] = tables.columns[col.idx()]
                .iter()
                .find_map(|alias| lower.iter().position(|c| c == alias));
        }
        required
            .iter()
            .all(|c| at[c.idx()].is_some())
            .then(|| Header {
                at,
                cells: cells.iter().map(str::to_owned).collect(),
            })
    }
}

/// One record with its header: trimmed, non-empty values by column.
pub struct Row<'a> {
    pub(super) rec: &'a StringRecord,
    pub(super) header: &'a Header,
}

impl<'a> Row<'a> {
    /// The value of `col`, trimmed; `None` when the column is absent or blank.
    pub fn get(&self, col: Col) -> Option<&'a str> {
        let v = self.rec.get(self.header.at[col.idx()]?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// A required value, or the `wrong_shape` error naming it.
    pub fn need(&self, col: Col, detail: &'static str) -> Result<&'a str, ParseError> {
        self.get(col)
            .ok_or(ParseError::new(UnparsedReason::WrongShape, detail))
    }
}

/// What a row parser needs besides the row.
pub struct RowCtx<'a> {
    pub tables: &'a Tables,
    pub opts: &'a ParseOptions,
    pub names: &'a mut Interner,
    /// The tables' answers for cells seen before.
    pub memo: &'a mut Memo,
}

impl RowCtx<'_> {
    /// The row's time, in the format's zone when it has no offset.
    pub fn time(&self, row: &Row<'_>) -> Result<DateTime<Utc>, ParseError> {
        let s = row.need(Col::Time, "a date in the date column")?;
        parse_time(s, self.tables.zone.unwrap_or(self.opts.zone)).ok_or(ParseError::new(
            UnparsedReason::BadTimestamp,
            "a date like 2026-05-01 09:15:30 or 2026/05/01 09:15:30",
        ))
    }
}

/// Reads the dates these exports write: with an offset (exact), or zone-less.
pub fn parse_time(s: &str, zone: Zone) -> Option<DateTime<Utc>> {
    let s = s.trim();
    match plain(s.as_bytes()) {
        Some(t) => Some(zone.to_utc(t)),
        None => parse_time_general(s, zone),
    }
}

/// [`parse_time`] without its fast path.
pub(super) fn parse_time_general(s: &str, zone: Zone) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for p in ["%Y-%m-%d %H:%M:%S%.f%z", "%Y/%m/%d %H:%M:%S%.f%z"] {
        if let Ok(d) = DateTime::parse_from_str(s, p) {
            return Some(d.with_timezone(&Utc));
        }
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
    ]
    .iter()
    .find_map(|p| NaiveDateTime::parse_from_str(s, p).ok())
    .map(|t| zone.to_utc(t))
}

/// `YYYY-MM-DD HH:MM:SS` or `YYYY/MM/DD HH:MM:SS` exactly (what both
/// exports write), read digit by digit: chrono's format parser tried five
/// patterns first at ~5,000 instructions a row (issue 17,
/// `bench/PROFILE.md`). Anything else (fractions, offsets, a `T`) is
/// `None` and goes the general way, which reads these two the same.
fn plain(b: &[u8]) -> Option<NaiveDateTime> {
    let [
        y0,
        y1,
        y2,
        y3,
        s1,
        mo0,
        mo1,
        s2,
        d0,
        d1,
        b' ',
        h0,
        h1,
        b':',
        mi0,
        mi1,
        b':',
        se0,
        se1,
    ] = *b
    else {
        return None;
    };
    if s1 != s2 || !(s1 == b'-' || s1 == b'/') {
        return None;
    }
    let n = |ds: &[u8]| {
        ds.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(n(&[y0, y1, y2, y3])?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, n(&[mo0, mo1])?, n(&[d0, d1])?)?.and_hms_opt(
        n(&[h0, h1])?,
        n(&[mi0, mi1])?,
        n(&[se0, se1])?,
    )
}

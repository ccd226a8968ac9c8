//! A CSV record seen through its file's header: columns by name, trimmed values,
//! and the dates these exports write.
//!
//! Kept apart from the line handling in the parent module so the per-service row
//! parsers ([`super::lineworks`], [`super::cybozu`]) see only typed accessors.

use ::csv::StringRecord;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::mapping::{self, Col, Tables};
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

//! Reading an export's bytes into rows of cells: text decoding, CSV and JSON.
//!
//! Admin consoles in Japan often still write Shift_JIS; others write UTF-8 with
//! or without a BOM. A BOM decides (UTF-8 or UTF-16); otherwise the bytes are
//! tried as UTF-8 and, when that fails, as Shift_JIS; bytes valid in neither
//! are an error naming the first bad line. Every row keeps the line it starts
//! on, for the messages. JSON exports are split in [`super::json`].

use std::path::Path;

use super::columns::{ColumnMap, Field};
use super::error::InventoryError;
use super::values::Cell;

/// One row: where it starts and its cells by field.
pub type Row = (usize, [Option<Cell>; 9]);

/// Decodes an export to text (see the module header).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<String, InventoryError> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(err(
                path,
                None,
                format!("not valid {} despite its byte-order mark", enc.name()),
            ));
        }
        return Ok(text.into_owned());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(utf8) => encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|s| s.into_owned())
            .ok_or_else(|| {
                let line = 1 + bytes[..utf8.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                err(
                    path,
                    Some(line),
                    "neither UTF-8 nor Shift_JIS text".to_owned(),
                )
            }),
    }
}

pub(super) fn err(path: &Path, line: Option<usize>, message: String) -> InventoryError {
    InventoryError {
        path: path.into(),
        line,
        message,
    }
}

/// Rows of a CSV export: a header row, then one account per row. A tab
/// separates when the header has tabs and no commas (spreadsheet "text" exports).
pub fn csv_rows(
    path: &Path,
    text: &str,
    columns: &ColumnMap,
) -> Result<Vec<Row>, Vec<InventoryError>> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = rd.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![err(path, Some(1), format!("header: {e}"))]),
        None => {
            return Err(vec![err(
                path,
                None,
                "empty file: expected a header row".to_owned(),
            )]);
        }
    };
    let mut errs = Vec::new();
    let by_column = map_header(path, header.iter(), columns, Some(1), &mut errs);
    if !errs.is_empty() {
        return Err(errs);
    }
    let mut rows = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                errs.push(err(path, line, e.to_string()));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.len() > header.len() && rec.iter().skip(header.len()).any(|c| !c.trim().is_empty()) {
            errs.push(err(
                path,
                Some(line),
                format!("{} fields, but the header has {}", rec.len(), header.len()),
            ));
            continue;
        }
        let mut cells: [Option<Cell>; 9] = Default::default();
        for (i, value) in rec.iter().enumerate() {
            if let Some(Some(f)) = by_column.get(i) {
                cells[*f as usize] = Some(Cell::Text(value.to_owned()));
            }
        }
        rows.push((line, cells));
    }
    if errs.is_empty() { Ok(rows) } else { Err(errs) }
}

/// The field of each column; unknown columns are ignored (exports carry many),
/// a field named twice and a missing user column are errors.
pub(super) fn map_header<'a>(
    path: &Path,
    names: impl Iterator<Item = &'a str>,
    columns: &ColumnMap,
    line: Option<usize>,
    errs: &mut Vec<InventoryError>,
) -> Vec<Option<Field>> {
    let mut seen: Vec<(Field, &str)> = Vec::new();
    let mut out = Vec::new();
    for name in names {
        let f = columns.field_of(name);
        if let Some(f) = f {
            if let Some((_, first)) = seen.iter().find(|(g, _)| *g == f) {
                errs.push(err(
                    path,
                    line,
                    format!("columns {first:?} and {name:?} both name the field {f}"),
                ));
            }
            seen.push((f, name));
        }
        out.push(f);
    }
    if !seen.iter().any(|(f, _)| *f == Field::User) {
        errs.push(err(
            path,
            line,
            "no user-name column (expected a header like user, login name, ユーザー名, ログイン名; \
             or map yours to the field user)"
                .to_owned(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("accounts.x")
    }

    #[test]
    fn shift_jis_and_utf16_decode() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ユーザー名\n山田");
        assert_eq!(decode(p(), &sjis).unwrap(), "ユーザー名\n山田");
        let mut utf16 = vec![0xff, 0xfe];
        for u in "user\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        assert_eq!(decode(p(), &utf16).unwrap(), "user\n");
        let e = decode(p(), b"user\nok\n\xff\xff\xff").unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn csv_header_problems_are_reported_together() {
        let e = csv_rows(
            p(),
            "mail,e-mail,department\nx,y,z\n",
            &ColumnMap::default(),
        )
        .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e.iter().all(|e| e.line == Some(1)));
    }

    #[test]
    fn tab_separated_and_extra_empty_fields() {
        let rows = csv_rows(
            p(),
            "user\tstatus\nalice\tactive\t\n",
            &ColumnMap::default(),
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        let e = csv_rows(
            p(),
            "user,status\nalice,active,surprise\n",
            &ColumnMap::default(),
        )
        .unwrap_err();
        assert_eq!(e[0].line, Some(2));
    }
}

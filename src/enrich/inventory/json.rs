//! Rows of a JSON export: an array of objects, or JSON Lines.
//!
//! `serde_json::Value` keeps no positions, so the array is walked by hand: each
//! element is read with a stream deserializer whose byte offset tells where the
//! next one starts, which gives every object the line it starts on for the
//! messages.

use std::path::Path;

use serde_json::Value;

use super::columns::ColumnMap;
use super::error::InventoryError;
use super::read::{Row, err, map_header};
use super::values::Cell;

/// Rows of a JSON export: an array of objects, or one object per line (JSON
/// Lines). Keys are mapped like CSV headers; a `null` is an empty cell.
pub fn json_rows(
    path: &Path,
    text: &str,
    columns: &ColumnMap,
) -> Result<Vec<Row>, Vec<InventoryError>> {
    let line_at = |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count();
    let trimmed = text.trim_start();
    let mut pos = text.len() - trimmed.len();
    let array = trimmed.starts_with('[');
    if array {
        pos += 1;
    }
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    loop {
        pos += ws(&text[pos..]);
        if array && text[pos..].starts_with(']') {
            pos += 1;
            break;
        }
        if pos >= text.len() {
            if array {
                errs.push(err(
                    path,
                    Some(line_at(pos)),
                    "unterminated array: expected ]".to_owned(),
                ));
            }
            break;
        }
        let start = line_at(pos);
        let mut stream = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                // The document's shape is lost: report and stop.
                errs.push(err(
                    path,
                    Some(start + e.line().saturating_sub(1)),
                    format!("JSON: {e}"),
                ));
                return Err(errs);
            }
            None => break,
        };
        pos += stream.byte_offset();
        match object_cells(path, start, value, columns) {
            Ok(cells) => rows.push((start, cells)),
            Err(mut e) => errs.append(&mut e),
        }
        if array {
            pos += ws(&text[pos..]);
            if text[pos..].starts_with(',') {
                pos += 1;
            } else if !text[pos..].starts_with(']') {
                errs.push(err(
                    path,
                    Some(line_at(pos)),
                    "expected , or ] after an object".to_owned(),
                ));
                return Err(errs);
            }
        }
    }
    if array && !text[pos..].trim().is_empty() {
        errs.push(err(
            path,
            Some(line_at(pos)),
            "text after the closing ]".to_owned(),
        ));
    }
    if errs.is_empty() { Ok(rows) } else { Err(errs) }
}

/// Bytes of leading whitespace.
fn ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn object_cells(
    path: &Path,
    line: usize,
    value: Value,
    columns: &ColumnMap,
) -> Result<[Option<Cell>; 9], Vec<InventoryError>> {
    let Value::Object(map) = value else {
        return Err(vec![err(
            path,
            Some(line),
            "expected an object per account".to_owned(),
        )]);
    };
    let mut errs = Vec::new();
    let fields = map_header(
        path,
        map.keys().map(String::as_str),
        columns,
        Some(line),
        &mut errs,
    );
    let mut cells: [Option<Cell>; 9] = Default::default();
    for ((key, v), f) in map.into_iter().zip(fields) {
        let Some(f) = f else { continue };
        cells[f as usize] = match v {
            Value::Null => None,
            Value::String(s) => Some(Cell::Text(s)),
            Value::Bool(b) => Some(Cell::Bool(b)),
            Value::Number(n) => Some(Cell::Text(n.to_string())),
            Value::Array(items) => {
                let mut list = Vec::new();
                for it in items {
                    match it {
                        Value::String(s) => list.push(s),
                        other => errs.push(err(
                            path,
                            Some(line),
                            format!("{key:?}: expected strings in the list, found {other}"),
                        )),
                    }
                }
                Some(Cell::List(list))
            }
            Value::Object(_) => {
                errs.push(err(
                    path,
                    Some(line),
                    format!("{key:?}: expected a value, found an object"),
                ));
                None
            }
        };
    }
    if errs.is_empty() {
        Ok(cells)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("accounts.json")
    }

    #[test]
    fn json_array_and_lines_keep_line_numbers() {
        let text = "[\n  {\"user\": \"a\"},\n  {\"user\": \"b\",\n   \"groups\": [\"x\"]}\n]\n";
        let rows = json_rows(p(), text, &ColumnMap::default()).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3]);
        let rows = json_rows(
            p(),
            "{\"user\": \"a\"}\n{\"user\": \"b\"}\n",
            &ColumnMap::default(),
        )
        .unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
        let e = json_rows(
            p(),
            "[{\"user\": \"a\"},\n 3,\n {\"x\": 1}]",
            &ColumnMap::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.line).collect::<Vec<_>>(),
            [Some(2), Some(3)]
        );
        let e = json_rows(
            p(),
            "[{\"user\": \"a\"}\n{\"user\": 1}",
            &ColumnMap::default(),
        )
        .unwrap_err();
        assert_eq!(e[0].line, Some(2), "{e:?}");
        assert!(json_rows(p(), "[{\"user\": \"a\"},", &ColumnMap::default()).is_err());
    }
}

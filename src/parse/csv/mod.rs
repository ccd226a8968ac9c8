//! CSV audit-log exports of SaaS admin consoles: LINE WORKS (`lineworks-audit`)
//! and cybozu.com (`cybozu-audit`).
//!
//! Both are CSV files with a header row, exported by an administrator and
//! dropped where loginwatch reads them. One generic parser handles what they
//! share, and a small per-service module ([`lineworks`], [`cybozu`]) turns a row
//! into an [`AuthEvent`]:
//!
//! - **Columns by name.** The header row is mapped through alias tables (English
//!   and Japanese; [`mapping`]), so column order and extra columns do not matter,
//!   and a header spelled differently needs a `[[format]]` declaration, not code.
//!   A header row appearing again (a rotated or appended export) re-maps the columns.
//! - **Encoding per file.** UTF-8 (a BOM is stripped) or Shift_JIS, decided by
//!   the first line that is not plain ASCII (normally the header): valid UTF-8
//!   means UTF-8, else Shift_JIS. A later line that does not decode in that
//!   encoding is `invalid_utf8`.
//! - **One record per line.** These exports write one record per line. The line
//!   reader hands out lines, and a record whose quoted field spanned lines would
//!   need buffering across lines (and across daemon checkpoints); instead a line
//!   with an unclosed quote is `malformed`, which also keeps one stray quote from
//!   swallowing the records after it. Each line is split with the `csv` crate
//!   (quotes, doubled quotes, commas inside quotes).
//! - **Zone-less dates** are read in the format's zone (`Asia/Tokyo` for both,
//!   from the data file; a declared format can set `zone`), else `--tz`.
//! - **Incomplete exports.** LINE WORKS' download API may end a file with the line
//!   `downloadLogs error`: it is counted as `incomplete_export`, never parsed.
//! - **One file after another.** A source reading an export folder hands the
//!   parser one file after the other: [`CsvParser::start_file`] forgets the
//!   header and encoding of the last one.
//!
//! These logs are small (an admin export, not a million lines a second), so a
//! line is decoded into a `String` and split into a reused `StringRecord`.

pub mod cybozu;
pub mod lineworks;
pub mod mapping;
pub mod memo;
pub mod row;

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use ::csv::StringRecord;

use super::{LineCtx, ParseError, ParseOptions, UnparsedReason, Zone};
use crate::event::AuthEvent;
use crate::intern::Interner;
use crate::snapshot::{self, SnapshotError, SnapshotKind};
pub use mapping::{Col, RawCsv, Tables};
use memo::Memo;
pub use row::{Header, Row, RowCtx, parse_time};

/// Built-in CSV format names accepted by `--format`.
pub const PRESETS: &[&str] = &["lineworks-audit", "cybozu-audit"];

/// Which service's rows these are (how a row becomes an event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    /// LINE WORKS: one `Description` text says what happened.
    Lineworks,
    /// cybozu.com: `Action` and `Result` columns, a `Supplement`.
    Cybozu,
}

impl CsvKind {
    /// The columns a header row must have.
    pub fn required(self) -> &'static [Col] {
        match self {
            CsvKind::Lineworks => &[Col::Time, Col::User, Col::Description],
            CsvKind::Cybozu => &[Col::Time, Col::User, Col::Action, Col::Result],
        }
    }
}

/// A CSV format: the kind and its tables (shared: a spec is cloned per file).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSpec {
    /// `lineworks-audit`, `cybozu-audit` or a declared name.
    pub name: String,
    /// How rows become events.
    pub kind: CsvKind,
    /// Header aliases and value tables.
    pub tables: Arc<Tables>,
}

fn builtin(text: &str) -> Option<Arc<Tables>> {
    let raw: RawCsv = toml::from_str(text).ok()?;
    Tables::compile(&raw).ok().map(Arc::new)
}

// The embedded data files; a unit test proves they compile.
static LINEWORKS: LazyLock<Option<Arc<Tables>>> =
    LazyLock::new(|| builtin(include_str!("../../../formats/lineworks-audit.toml")));
static CYBOZU: LazyLock<Option<Arc<Tables>>> =
    LazyLock::new(|| builtin(include_str!("../../../formats/cybozu-audit.toml")));

/// The spec of a built-in CSV format, `None` for any other name.
pub fn preset(name: &str) -> Option<CsvSpec> {
    let (kind, tables) = match name {
        "lineworks-audit" => (CsvKind::Lineworks, LINEWORKS.clone()?),
        "cybozu-audit" => (CsvKind::Cybozu, CYBOZU.clone()?),
        _ => return None,
    };
    Some(CsvSpec {
        name: name.to_string(),
        kind,
        tables,
    })
}

/// A declared `kind = "csv"` format: `preset` names the service, `raw` adds
/// header names and entries in front of the preset's, `zone` overrides its zone.
pub fn declared(
    name: &str,
    preset_name: Option<&str>,
    zone: Option<Zone>,
    raw: Option<&RawCsv>,
) -> Result<CsvSpec, Vec<String>> {
    let Some(base) = preset_name.and_then(preset) else {
        return Err(vec![format!(
            "kind = \"csv\" needs preset = one of {}",
            PRESETS.join(", ")
        )]);
    };
    let mine = match raw {
        Some(raw) => Tables::compile(raw)?,
        None => Tables::default(),
    };
    let mut tables = mine.before(&base.tables);
    tables.zone = zone.or(tables.zone);
    Ok(CsvSpec {
        name: name.to_string(),
        kind: base.kind,
        tables: Arc::new(tables),
    })
}

/// Which encoding a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
    /// Only ASCII seen so far: both read the same.
    Undecided,
    Utf8,
    ShiftJis,
}

impl Enc {
    fn tag(self) -> u8 {
        match self {
            Enc::Undecided => 0,
            Enc::Utf8 => 1,
            Enc::ShiftJis => 2,
        }
    }
    fn from_tag(t: u8) -> Option<Enc> {
        [Enc::Undecided, Enc::Utf8, Enc::ShiftJis]
            .into_iter()
            .find(|e| e.tag() == t)
    }
}

/// Version of the CSV parser snapshot layout.
const SNAPSHOT_VERSION: u8 = 1;

/// Parses the lines of one CSV export.
#[derive(Debug)]
pub struct CsvParser {
    spec: CsvSpec,
    opts: ParseOptions,
    ctx: LineCtx,
    names: Interner,
    enc: Enc,
    header: Option<Header>,
    rec: StringRecord,
    splitter: Splitter,
    memo: Memo,
    /// The file's `downloadLogs error` trailer was seen: what follows is its
    /// error message (LINE WORKS writes the message after the marker), not rows.
    trailer: bool,
}

fn err(reason: UnparsedReason, detail: &'static str) -> ParseError {
    ParseError::new(reason, detail)
}

impl CsvParser {
    /// A parser for one file.
    pub fn new(spec: CsvSpec, opts: ParseOptions, ctx: LineCtx) -> CsvParser {
        CsvParser {
            spec,
            opts,
            ctx,
            names: Interner::default(),
            enc: Enc::Undecided,
            header: None,
            rec: StringRecord::new(),
            splitter: Splitter::default(),
            memo: Memo::default(),
            trailer: false,
        }
    }

    /// Parses one line: the header row and blank lines give `Ok(None)`.
    pub fn parse(&mut self, line: &[u8], offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let text = self.decode(line)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        // LINE WORKS: "If an error occurs during download, an error message
        // is displayed after `downloadLogs error` at the end of the file"
        // (Audit log download API): the marker and any line after it.
        if self.trailer
            || trimmed
                .get(..18)
                .is_some_and(|h| h.eq_ignore_ascii_case("downloadLogs error"))
        {
            self.trailer = true;
            return Err(err(
                UnparsedReason::IncompleteExport,
                "a complete export: the download stopped early (`downloadLogs error`); download it again",
            ));
        }
        if trimmed.bytes().filter(|b| *b == b'"').count() % 2 == 1 {
            return Err(err(
                UnparsedReason::Malformed,
                "one record per line (a quoted field is not closed on this line)",
            ));
        }
        self.splitter.split(&text, &mut self.rec)?;
        let tables = &*self.spec.tables;
        let is_header = match &self.header {
            // A header row again (an appended or rotated export): re-map.
            Some(_) => self.rec.iter().any(|v| {
                let v = mapping::norm_header(v);
                tables.columns[Col::Time.idx()]
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(v))
            }),
            None => true,
        };
        if is_header {
            return match Header::map(&self.rec, tables, self.spec.kind.required()) {
                Some(h) => {
                    self.header = Some(h);
                    Ok(None)
                }
                None => Err(err(
                    UnparsedReason::Malformed,
                    "a header row naming the columns (Date, User, ...) before the records",
                )),
            };
        }
        let Some(header) = &self.header else {
            return Ok(None);
        };
        let row = Row {
            rec: &self.rec,
            header,
        };
        let mut cx = RowCtx {
            tables,
            opts: &self.opts,
            names: &mut self.names,
            memo: &mut self.memo,
        };
        let ev = match self.spec.kind {
            CsvKind::Lineworks => lineworks::event(&row, &mut cx)?,
            CsvKind::Cybozu => cybozu::event(&row, &mut cx)?,
        };
        Ok(ev.map(|mut ev| {
            ev.log_path = Some(self.ctx.path.clone());
            ev.log_offset = Some(offset);
            ev
        }))
    }

    /// A new file of the same source starts (the next export in a folder): its
    /// encoding and header row are its own, so both are learned again.
    pub fn start_file(&mut self) {
        self.enc = Enc::Undecided;
        self.header = None;
        self.trailer = false;
    }

    /// The fields of the line parsed last, decoded and unquoted: what a row's
    /// identity is computed from (see `crate::source::rows`), so a BOM,
    /// quoting, line ends or the file's encoding do not make two copies of a
    /// row differ.
    pub fn record(&self) -> &StringRecord {
        &self.rec
    }

    /// How long rows of this format can come back in a later export.
    pub fn retention(&self) -> Option<chrono::TimeDelta> {
        self.spec
            .tables
            .retention_days
            .map(|d| chrono::TimeDelta::days(i64::from(d)))
    }

    /// Decodes a line in the file's encoding, deciding it on the first non-ASCII line.
    fn decode<'a>(&mut self, line: &'a [u8]) -> Result<Cow<'a, str>, ParseError> {
        let sjis = |l: &'a [u8]| {
            encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(l)
        };
        let bad = || {
            err(
                UnparsedReason::InvalidUtf8,
                "text in the file's encoding (UTF-8 or Shift_JIS, as its first lines)",
            )
        };
        match self.enc {
            Enc::Utf8 => std::str::from_utf8(line)
                .map(Cow::Borrowed)
                .map_err(|_| bad()),
            Enc::ShiftJis => sjis(line).ok_or_else(bad),
            Enc::Undecided => {
                if line.is_ascii() {
                    return std::str::from_utf8(line)
                        .map(Cow::Borrowed)
                        .map_err(|_| bad());
                }
                if let Ok(s) = std::str::from_utf8(line) {
                    self.enc = Enc::Utf8;
                    return Ok(Cow::Borrowed(s));
                }
                let s = sjis(line).ok_or_else(bad)?;
                self.enc = Enc::ShiftJis;
                Ok(s)
            }
        }
    }

    /// The header and encoding seen so far: a daemon resuming mid-file has not
    /// seen the header row again, so it is part of the committed state.
    pub fn snapshot(&self) -> Vec<u8> {
        let cells: Vec<&str> = self
            .header
            .as_ref()
            .map(|h| h.cells.iter().map(String::as_str).collect())
            .unwrap_or_default();
        snapshot::encode(
            SnapshotKind::CsvParser,
            SNAPSHOT_VERSION,
            &(self.enc.tag(), cells),
        )
    }

    /// Restores a [`CsvParser::snapshot`] (the header is mapped again with the
    /// current tables, so a changed alias table applies).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let (enc, cells): (u8, Vec<String>) =
            snapshot::decode(SnapshotKind::CsvParser, SNAPSHOT_VERSION, bytes)?;
        self.enc = Enc::from_tag(enc).ok_or(SnapshotError::Invalid("unknown CSV encoding"))?;
        self.header = if cells.is_empty() {
            None
        } else {
            let rec = StringRecord::from(cells);
            Some(
                Header::map(&rec, &self.spec.tables, self.spec.kind.required()).ok_or(
                    SnapshotError::Invalid("saved CSV header lacks a required column"),
                )?,
            )
        };
        Ok(())
    }
}

/// Splits lines into records (RFC 4180 quoting) with one `csv_core` reader
/// built once: `csv::ReaderBuilder::build` makes its state machine at every
/// call, and per line that was most of the time of a CSV export.
#[derive(Debug)]
pub(crate) struct Splitter {
    /// Boxed: its transition table is over 400 bytes.
    core: Box<csv_core::Reader>,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Default for Splitter {
    fn default() -> Splitter {
        Splitter {
            // The builder, not `Reader::default`: it builds the state machine.
            core: Box::new(csv_core::ReaderBuilder::new().build()),
            out: Vec::new(),
            ends: vec![0; 64],
        }
    }
}

impl Splitter {
    /// Splits one line (without its terminator) into `rec`.
    fn split(&mut self, text: &str, rec: &mut StringRecord) -> Result<(), ParseError> {
        use csv_core::ReadRecordResult as R;
        let malformed = || err(UnparsedReason::Malformed, "a CSV record");
        self.core.reset();
        // Unquoting never lengthens a field: the output fits in the input.
        self.out.clear();
        self.out.resize(text.len().max(1), 0);
        let mut input = text.as_bytes();
        let (mut nout, mut nend) = (0, 0);
        loop {
            let (res, nin, o, e) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match res {
                R::Record => break,
                // The line is all there is: the next call, with no input,
                // ends the record.
                R::InputEmpty => {}
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::End => return Err(malformed()),
            }
        }
        rec.clear();
        let mut start = 0;
        for &end in &self.ends[..nend] {
            let field = self.out.get(start..end).ok_or_else(malformed)?;
            rec.push_field(std::str::from_utf8(field).map_err(|_| malformed())?);
            start = end;
        }
        Ok(())
    }
}

/// Splits a header candidate for [`crate::parse::detect`]: decoded as UTF-8 or
/// Shift_JIS, BOM stripped; `None` when it is not text or not CSV.
pub fn header_cells(line: &[u8]) -> Option<StringRecord> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let text = match std::str::from_utf8(line) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(line)?
        }
    };
    let mut rec = StringRecord::new();
    Splitter::default().split(&text, &mut rec).ok()?;
    (rec.len() > 1).then_some(rec)
}

/// The built-in CSV format whose header row `line` is, if any.
pub fn detect_header(line: &[u8]) -> Option<CsvSpec> {
    let cells = header_cells(line)?;
    // cybozu first: its required columns are the more specific set.
    ["cybozu-audit", "lineworks-audit"]
        .into_iter()
        .filter_map(preset)
        .find(|s| Header::map(&cells, &s.tables, s.kind.required()).is_some())
}

#[cfg(test)]
mod tests;

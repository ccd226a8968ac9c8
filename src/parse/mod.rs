//! Parsing: raw log lines in, typed [`AuthEvent`]s out.
//!
//! Every format is a [`Parser`] with the same shape: a line (bytes, without its
//! newline) and its byte offset go in; `Ok(Some(event))` for an auth event,
//! `Ok(None)` for a line that is understood but says nothing about authentication
//! (cron, session close, key exchange noise), and `Err(ParseError)` for a line
//! the format cannot read. Errors are counted per [`UnparsedReason`] by the caller
//! and the line is skipped; nothing here panics on input.
//!
//! Parsers are stateful only where a log needs it: OpenSSH splits one attempt over
//! several lines of one pid, and the sshd parser correlates them so an attempt is
//! counted once. That state can be saved and restored ([`Parser::snapshot`]) so a
//! restarted daemon continues mid-attempt exactly as if it had never stopped.

pub mod csv;
pub mod custom;
pub mod detect;
pub mod json;
pub mod reader;
pub mod regex;
pub mod sshd;
pub mod syslog;
pub mod time;

use std::fmt;

use chrono::{DateTime, Utc};

use crate::event::{AuthEvent, Name};
use crate::snapshot::SnapshotError;
pub use time::Zone;

/// Lines longer than this are refused whole (`line_too_long`), so one giant line
/// cannot make a parser allocate without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a line could not be parsed. Counted per reason (`--show-unparsed` prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnparsedReason {
    /// Not valid UTF-8 where the format requires it.
    InvalidUtf8,
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// Does not have the format's overall shape (no syslog header, not JSON, regex did not match).
    Malformed,
    /// A timestamp that cannot be read.
    BadTimestamp,
    /// JSON that is valid but of the wrong shape (a required field missing or of the wrong type).
    WrongShape,
    /// A value that cannot be read (an IP that is not an IP, an unknown outcome code).
    BadValue,
    /// The end marker of an export that stopped early (LINE WORKS' `downloadLogs error`).
    IncompleteExport,
    /// A row an earlier export or pull of the same source already delivered
    /// (see `crate::source::rows`): parsed, and not counted again.
    DuplicateRow,
}

impl UnparsedReason {
    /// The snake_case name used in summaries and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            UnparsedReason::InvalidUtf8 => "invalid_utf8",
            UnparsedReason::TooLong => "line_too_long",
            UnparsedReason::Malformed => "malformed",
            UnparsedReason::BadTimestamp => "bad_timestamp",
            UnparsedReason::WrongShape => "wrong_shape",
            UnparsedReason::BadValue => "bad_value",
            UnparsedReason::IncompleteExport => "incomplete_export",
            UnparsedReason::DuplicateRow => "duplicate_row",
        }
    }
}

impl fmt::Display for UnparsedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line that could not be parsed, with a short explanation for `--show-unparsed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct ParseError {
    /// The counted reason.
    pub reason: UnparsedReason,
    /// What was expected, for people (static so the error path does not allocate).
    pub detail: &'static str,
}

impl ParseError {
    /// Shorthand used by every parser.
    pub fn new(reason: UnparsedReason, detail: &'static str) -> ParseError {
        ParseError { reason, detail }
    }
}

/// Options every parser shares.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Year for year-less (BSD syslog) timestamps; `None`: the year of `now`,
    /// rolled back one year for dates that would lie in the future.
    pub year: Option<i32>,
    /// Zone of timestamps that carry no offset.
    pub zone: Zone,
    /// The clock, injected so tests (and year inference) are deterministic.
    pub now: DateTime<Utc>,
}

impl ParseOptions {
    /// Options with the given clock, the current-year rule and UTC.
    pub fn at(now: DateTime<Utc>) -> ParseOptions {
        ParseOptions {
            year: None,
            zone: Zone::Utc,
            now,
        }
    }
}

/// Where a line came from: stamped on the event as `log.file.path` / `log.offset`.
#[derive(Debug, Clone)]
pub struct LineCtx {
    /// `log.file.path` (`-` for stdin).
    pub path: Name,
}

/// A log format as named on the command line (`--format`) or in a config.
#[derive(Debug, Clone)]
pub enum Format {
    /// Detect per file from its first lines.
    Auto,
    /// OpenSSH / PAM / su / sudo syslog lines.
    Sshd,
    /// JSON lines with a field mapping (a built-in preset or a declared one).
    Json(json::JsonSpec),
    /// A declared regex format.
    Regex(regex::RegexSpec),
    /// A CSV export with a header row (`lineworks-audit`, `cybozu-audit`, or declared).
    Csv(self::csv::CsvSpec),
}

impl Format {
    /// Resolves a `--format` name: `auto`, `sshd`, a JSON preset (`json` = `ecs`,
    /// `cloudtrail`, `windows-security`, `entra-signin`, `okta`), or the name of a
    /// format declared in the rules directory.
    pub fn by_name(name: &str, declared: &[custom::Declared]) -> Option<Format> {
        match name {
            "auto" => return Some(Format::Auto),
            "sshd" | "syslog" => return Some(Format::Sshd),
            _ => {}
        }
        if let Some(spec) = json::preset(name) {
            return Some(Format::Json(spec));
        }
        if let Some(spec) = self::csv::preset(name) {
            return Some(Format::Csv(spec));
        }
        declared
            .iter()
            .find(|d| d.name() == name)
            .map(|d| d.format())
    }

    /// The name of a concrete format (`auto` for `Auto`): two files of one
    /// source are read alike when their detected formats have the same name.
    pub fn name(&self) -> &str {
        match self {
            Format::Auto => "auto",
            Format::Sshd => "sshd",
            Format::Json(s) => &s.name,
            Format::Regex(s) => &s.name,
            Format::Csv(s) => &s.name,
        }
    }

    /// How long a row of this format can come back in a later export
    /// ([`Parser::retention`]), known before any line is read.
    pub fn retention(&self) -> Option<chrono::TimeDelta> {
        match self {
            Format::Csv(s) => s
                .tables
                .retention_days
                .map(|d| chrono::TimeDelta::days(i64::from(d))),
            _ => None,
        }
    }

    /// Every built-in format name, for error messages.
    pub fn builtin_names() -> Vec<&'static str> {
        let mut v = vec!["auto", "sshd"];
        v.extend(json::PRESETS);
        v.extend(self::csv::PRESETS);
        v
    }
}

/// A ready-to-use parser for one file.
#[derive(Debug)]
pub enum Parser {
    Sshd(sshd::SshdParser),
    Json(json::JsonParser),
    Regex(regex::RegexParser),
    Csv(Box<self::csv::CsvParser>),
}

impl Parser {
    /// A parser for a concrete (not `Auto`) format; `Auto` is resolved by [`detect`] first.
    pub fn new(format: &Format, opts: &ParseOptions, ctx: LineCtx) -> Parser {
        match format {
            Format::Auto | Format::Sshd => Parser::Sshd(sshd::SshdParser::new(opts.clone(), ctx)),
            Format::Json(spec) => {
                Parser::Json(json::JsonParser::new(spec.clone(), opts.clone(), ctx))
            }
            Format::Regex(spec) => {
                Parser::Regex(regex::RegexParser::new(spec.clone(), opts.clone(), ctx))
            }
            Format::Csv(spec) => Parser::Csv(Box::new(self::csv::CsvParser::new(
                spec.clone(),
                opts.clone(),
                ctx,
            ))),
        }
    }

    /// Parses one line (without its line terminator) that starts at byte `offset`.
    pub fn parse(&mut self, line: &[u8], offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        if line.len() > MAX_LINE {
            return Err(ParseError::new(
                UnparsedReason::TooLong,
                "a line of at most 64 KiB",
            ));
        }
        match self {
            Parser::Sshd(p) => p.parse(line, offset),
            Parser::Json(p) => p.parse(line, offset),
            Parser::Regex(p) => p.parse(line, offset),
            Parser::Csv(p) => p.parse(line, offset),
        }
    }

    /// A new file of the same source starts at its first byte: a CSV export's
    /// header and encoding are learned again; the others keep their state (an
    /// sshd attempt can span a rotation).
    pub fn start_file(&mut self) {
        if let Parser::Csv(p) = self {
            p.start_file();
        }
    }

    /// The fields of the record parsed last, for formats that have them (CSV).
    pub fn record(&self) -> Option<&::csv::StringRecord> {
        match self {
            Parser::Csv(p) => Some(p.record()),
            _ => None,
        }
    }

    /// How long a row of this format can come back in a later export of the
    /// same service (its log's retention); `None` for logs that are followed,
    /// not exported.
    pub fn retention(&self) -> Option<chrono::TimeDelta> {
        match self {
            Parser::Csv(p) => p.retention(),
            _ => None,
        }
    }

    /// The parser's state that later lines depend on, as bytes to commit with
    /// the file offset (see [`crate::snapshot`]). The sshd parser has its
    /// multi-line correlation table, the CSV parser the file's header row and
    /// encoding; the others return no bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        match self {
            Parser::Sshd(p) => p.snapshot(),
            Parser::Csv(p) => p.snapshot(),
            Parser::Json(_) | Parser::Regex(_) => Vec::new(),
        }
    }

    /// Restores a [`Parser::snapshot`] into a parser of the same format. No bytes
    /// restore nothing (a stateless parser's snapshot, or a source never saved);
    /// state for another format is an error, and the parser then starts fresh.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self {
            Parser::Sshd(p) => p.restore(bytes),
            Parser::Csv(p) => p.restore(bytes),
            Parser::Json(_) | Parser::Regex(_) => Err(SnapshotError::Invalid(
                "state given to a stateless (JSON or regex) parser",
            )),
        }
    }
}

//! Where compile errors go ([`Sink`]) and the small parsers every compile
//! step shares: enum spellings, durations, name lists and CIDR lists.
//!
//! A leaf of the compile side (it imports only the error, duration and raw
//! TOML types), so the per-kind compile halves and the condition compilers
//! can all use it without importing the compiler that calls them.

use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use toml::Spanned;

use super::duration::Dur;
use super::error::RuleError;
use super::raw::StrList;
use crate::event::Name;

/// Where errors go while one file is compiled: knows the file and its text (for
/// line numbers) and which rule is being compiled.
pub struct Sink<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub rule: Option<String>,
    pub errors: Vec<RuleError>,
}

impl Sink<'_> {
    /// 1-based line of a byte offset of the file text.
    pub fn line_of(&self, offset: usize) -> usize {
        place(self.text, offset).0
    }

    /// Records an error at `span`, with its line and column.
    pub fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = place(self.text, span.start);
        self.push(Some(line), Some(column), message.into());
    }

    /// Records an error at a known line (or none).
    pub fn err_at(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.push(line, None, message.into());
    }

    fn push(&mut self, line: Option<usize>, column: Option<usize>, message: String) {
        self.errors.push(RuleError {
            file: self.file.to_path_buf(),
            line,
            column,
            rule: self.rule.clone(),
            message,
        });
    }
}

/// The 1-based line and column (in characters) of a byte offset of `text`;
/// an offset past the end is the end, one inside a character that character's
/// next column. Rule files and the config file report places alike.
pub fn place(text: &str, offset: usize) -> (usize, usize) {
    let upto = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    let line = memchr::memchr_iter(b'\n', upto).count() + 1;
    let start = memchr::memrchr(b'\n', upto).map_or(0, |i| i + 1);
    // Characters, not bytes: count the bytes that start one (UTF-8
    // continuation bytes are 0b10xx_xxxx).
    let column = upto[start..].iter().filter(|b| **b & 0xC0 != 0x80).count() + 1;
    (line, column)
}

/// "one of a, b, c" for messages.
pub fn one_of(all: &[&str]) -> String {
    let quoted: Vec<String> = all.iter().map(|s| format!("{s:?}")).collect();
    format!("one of {}", quoted.join(", "))
}

/// Parses an enum spelling or records "unknown X ... accepted: ...".
pub fn spelled<T>(
    sink: &mut Sink,
    v: &Spanned<String>,
    what: &str,
    all: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let r = parse(v.get_ref());
    if r.is_none() {
        sink.err(
            v.span(),
            format!("unknown {what} {:?}: expected {}", v.get_ref(), one_of(all)),
        );
    }
    r
}

/// Parses a duration or records "what: why".
pub fn dur(sink: &mut Sink, v: &Spanned<String>, what: &str) -> Option<Dur> {
    Dur::parse(v.get_ref())
        .map_err(|m| sink.err(v.span(), format!("{what}: {m}")))
        .ok()
}

/// Shared names from plain strings.
pub fn names(v: &[String]) -> Vec<Name> {
    v.iter().map(|s| Arc::from(s.as_str())).collect()
}

/// Parses `"10.0.0.0/8"` or a bare address (a single host).
pub fn cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The networks of a CIDR list; each bad entry recorded (and left out).
pub fn cidrs(sink: &mut Sink, v: &Spanned<StrList>, what: &str) -> Vec<IpNet> {
    v.get_ref()
        .0
        .iter()
        .filter_map(|s| {
            let n = cidr(s);
            if n.is_none() {
                sink.err(
                    v.span(),
                    format!("bad CIDR {s:?} in {what}: expected an address or a network like \"10.0.0.0/8\""),
                );
            }
            n
        })
        .collect()
}

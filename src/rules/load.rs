//! Rule files into raw tables: TOML syntax, the top-level shape, and per-table
//! deserialization, each error with its file and line.
//!
//! The file is first parsed into toml's spanned document tree, then every
//! `[[rule]]` and `[[format]]` table is deserialized on its own: a mistake serde
//! catches in one rule (an unknown key, a wrong type) then hides nothing in the
//! others.

use std::path::Path;

use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::compile::compile_rule;
use super::error::RuleError;
use super::model::Rule;
use super::raw::RawRule;
use super::sink::Sink;
use crate::parse::custom::{self, Declared, RawFormat};

/// What one file contributes.
#[derive(Debug, Default)]
pub struct FileOut {
    pub rules: Vec<Rule>,
    pub formats: Vec<Declared>,
}

/// The `id` of a rule table, read straight from the tree so errors can name the
/// rule even when the table does not deserialize.
fn table_id(v: &DeValue) -> Option<String> {
    v.get("id")
        .and_then(|id| id.get_ref().as_str())
        .map(str::to_owned)
}

/// The tables of a top-level array of tables, or an error when the key is
/// something else (`rule = 1`, `[rule]`).
fn tables<'a, 'i>(
    sink: &mut Sink,
    key: &str,
    v: &'a Spanned<DeValue<'i>>,
) -> Vec<&'a Spanned<DeValue<'i>>> {
    match v.get_ref() {
        DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_table()) => a.iter().collect(),
        _ => {
            sink.err(
                v.span(),
                format!("{key} must be an array of tables: write [[{key}]]"),
            );
            Vec::new()
        }
    }
}

/// Parses and compiles one file's text; errors accumulate in `sink`.
pub fn load_text(sink: &mut Sink) -> FileOut {
    let mut out = FileOut::default();
    let text = sink.text;
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let line = e.span().map(|s| sink.line_of(s.start));
            sink.err_at(line, format!("TOML syntax: {}", e.message()));
            return out;
        }
    };
    for (k, v) in doc.get_ref().iter() {
        match k.get_ref().as_ref() {
            "rule" => {
                for t in tables(sink, "rule", v) {
                    sink.rule = table_id(t.get_ref());
                    let line = sink.line_of(t.span().start);
                    match RawRule::deserialize(t.clone().into_deserializer()) {
                        Ok(raw) => out.rules.extend(compile_rule(sink, &raw, line)),
                        Err(e) => {
                            let line = e.span().map_or(line, |s| sink.line_of(s.start));
                            sink.err_at(Some(line), e.message().to_owned());
                        }
                    }
                    sink.rule = None;
                }
            }
            "format" => {
                for t in tables(sink, "format", v) {
                    let line = sink.line_of(t.span().start);
                    match RawFormat::deserialize(t.clone().into_deserializer()) {
                        Ok(raw) => match custom::compile(&raw) {
                            Ok(d) => out.formats.push(d),
                            Err(msgs) => {
                                for m in msgs {
                                    sink.err_at(Some(line), m);
                                }
                            }
                        },
                        Err(e) => {
                            let line = e.span().map_or(line, |s| sink.line_of(s.start));
                            sink.err_at(Some(line), format!("format: {}", e.message()));
                        }
                    }
                }
            }
            other => sink.err(
                k.span(),
                format!("unknown top-level key {other:?}: a rule file holds [[rule]] and [[format]] tables"),
            ),
        }
    }
    out
}

/// Loads one file from disk.
pub fn load_file(path: &Path, errors: &mut Vec<RuleError>) -> FileOut {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(RuleError {
                file: path.to_path_buf(),
                line: None,
                column: None,
                rule: None,
                message: format!("cannot read: {e}"),
            });
            return FileOut::default();
        }
    };
    let mut sink = Sink {
        file: path,
        text: &text,
        rule: None,
        errors: Vec::new(),
    };
    let out = load_text(&mut sink);
    errors.append(&mut sink.errors);
    out
}

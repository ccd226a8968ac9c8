//! `loginwatch explain`: what happened to each line, for the operator whose
//! rule did not fire. For every line, in order: which parser read it and the
//! event it gave (or why it gave none), what enrichment added, and what every
//! rule did with the event (filtered out by which condition, counted into
//! which key's window and how full it is, fired and with what decision).
//!
//! It runs `replay`'s pipeline ([`Pipeline::observe_traced`]: the same
//! enrichment, accounts, engine and storm breaker), so windows carry across
//! lines exactly as the daemon's would; the rules report what they did
//! through the engine's trace, nothing here judges a rule.

mod show;

use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use loginwatch::decision::{Decision, Mode};
use loginwatch::escape::Escaped;
use loginwatch::event::AuthEvent;
use loginwatch::parse::reader::{Line, LineReader};
use loginwatch::parse::{Format, LineCtx, ParseError, Parser, UnparsedReason, detect};
use loginwatch::pipeline::Pipeline;
use loginwatch::rules::{Step, Trace};
use loginwatch::safety::Safety;

use super::CliError;
use super::input::InputArgs;
use super::parse::broken_pipe_ok;

/// Arguments of `loginwatch explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rules directory [default: as `replay`: ./rules, else /usr/share/loginwatch/rules overlaid by /etc/loginwatch/rules, else the built-in rules].
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    #[arg(long, short = 'f', default_value = "auto", help = super::input::format_help())]
    format: String,
    /// Year of year-less syslog timestamps [default: the current year, rolled back for future dates].
    #[arg(long)]
    year: Option<i32>,
    /// Time zone of timestamps without an offset: UTC, local, or an IANA name (Asia/Tokyo).
    #[arg(long, default_value = "local")]
    tz: String,
    /// A GeoIP database (.mmdb) to enrich events with; repeatable.
    #[arg(long, value_name = "FILE")]
    geoip: Vec<PathBuf>,
    /// The daemon's configuration file: its enrichment (GeoIP, IP lists,
    /// inventory), rules directory and mode are used, as `replay` does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A log line to explain (repeatable: the lines are one input, in order).
    #[arg(long = "line", value_name = "TEXT", conflicts_with = "file")]
    lines: Vec<String>,
    /// Show only this rule.
    #[arg(long, value_name = "NAME")]
    rule: Option<String>,
    /// One JSON object per line of input.
    #[arg(long)]
    json: bool,
    /// The log file to explain, line by line; `-` reads standard input.
    #[arg(value_name = "FILE", required_unless_present = "lines")]
    file: Option<PathBuf>,
}

/// Why a line gave no event.
#[derive(Debug, Serialize)]
struct NotEvent {
    /// The counted reason (`malformed`, ...), or `no_event` for a line the
    /// parser read that is no authentication event by itself.
    reason: &'static str,
    detail: String,
}

/// The explanation of one line (the `--json` object, fields in this order).
#[derive(Debug, Serialize)]
struct Explained {
    line: u64,
    text: String,
    parser: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_event: Option<NotEvent>,
    /// Fields enrichment and the account stage added (dotted ECS paths).
    enrichment: Map<String, Value>,
    /// `user.name` is an account known from its successes or the inventory
    /// (its windows are protected from floods of invented names).
    #[serde(skip_serializing_if = "Option::is_none")]
    known_account: Option<bool>,
    rules: Vec<Step>,
    decisions: Vec<Decision>,
}

/// Runs `explain`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let input = InputArgs {
        format: a.format.clone(),
        year: a.year,
        tz: a.tz.clone(),
        geoip: a.geoip.clone(),
        config: a.config.clone(),
        journal: false,
        journal_dir: None,
        files: Vec::new(),
    };
    let config = input.config()?;
    let (set, _) = super::rules::select(a.rules.as_deref(), config.as_ref())?;
    if let Some(r) = &a.rule
        && set.rule(r).is_none()
    {
        return Err(CliError::Usage(format!(
            "no rule \"{}\" in the rule set",
            Escaped(r)
        )));
    }
    let opts = input.options()?;
    let format = input.format(&set.formats)?;
    let enrichment = input.enrichment(config.as_ref(), Some(&set))?;
    let (name, reader) = open(a.file.as_deref(), &a.lines)?;
    let mut buf = BufReader::with_capacity(64 * 1024, reader);
    let format = match format {
        Format::Auto => detect::detect_head(buf.fill_buf()?),
        f => f,
    };
    let mut parser = Parser::new(&format, &opts, LineCtx { path: name.into() });
    let mode = config.as_ref().map_or(Mode::Recommend, |c| c.mode);
    let mut pipeline = Pipeline::fresh(Arc::new(set), mode, enrichment).sweeping_in_event_time();
    let mut safety = Safety::new(
        config
            .as_ref()
            .map(|c| c.safety.clone())
            .unwrap_or_default(),
        Vec::new(),
    );
    let style = show::Style::detect();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut lines = LineReader::new(buf, 0);
    let mut trace = Trace::default();
    let mut n = 0u64;
    while let Some((offset, line)) = lines.next_line()? {
        n += 1;
        let (text, parsed) = match line {
            Line::Text(t) => (
                String::from_utf8_lossy(t).into_owned(),
                parser.parse(t, offset),
            ),
            Line::TooLong => (
                String::new(),
                Err(ParseError::new(
                    UnparsedReason::TooLong,
                    "a line of at most 64 KiB",
                )),
            ),
        };
        let mut x = Explained {
            line: n,
            text,
            parser: format.name().to_owned(),
            event: None,
            not_event: None,
            enrichment: Map::new(),
            known_account: None,
            rules: Vec::new(),
            decisions: Vec::new(),
        };
        match parsed {
            Ok(Some(ev)) => {
                observe(&mut pipeline, &mut safety, &mut trace, ev, &mut x);
            }
            Ok(None) => {
                let detail = match &parser {
                    Parser::Sshd(p) => p.why_no_event(x.text.as_bytes()).to_owned(),
                    _ => no_event(&format),
                };
                x.not_event = Some(NotEvent {
                    reason: "no_event",
                    detail,
                });
            }
            Err(e) => {
                x.not_event = Some(NotEvent {
                    reason: e.reason.as_str(),
                    detail: e.detail.to_owned(),
                });
            }
        }
        if let Some(r) = &a.rule {
            x.rules.retain(|s| &*s.rule == r);
            x.decisions.retain(|d| &*d.rule == r);
        }
        let written = if a.json {
            show::json(&mut out, &x)
        } else {
            show::human(&mut out, &x, style)
        };
        if let Err(e) = written {
            return broken_pipe_ok(e);
        }
    }
    if let Err(e) = out.flush() {
        return broken_pipe_ok(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// The input: `--line` texts as one input, a file, or standard input.
fn open(file: Option<&Path>, lines: &[String]) -> Result<(String, Box<dyn Read>), CliError> {
    match file {
        None => {
            let mut text = lines.join("\n");
            text.push('\n');
            Ok(("--line".into(), Box::new(Cursor::new(text.into_bytes()))))
        }
        Some(p) if p == Path::new("-") => Ok(("-".into(), Box::new(io::stdin()))),
        Some(p) => {
            let f = std::fs::File::open(p).map_err(|e| {
                CliError::Usage(format!(
                    "cannot open {}: {e}",
                    Escaped(&p.display().to_string())
                ))
            })?;
            if f.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(CliError::Usage(format!(
                    "{} is a directory, expected a log file",
                    Escaped(&p.display().to_string())
                )));
            }
            Ok((p.display().to_string(), Box::new(f)))
        }
    }
}

/// One event through the pipeline and the storm breaker, as `replay` runs
/// it, with the trace and the enrichment written into `x`.
fn observe(
    pipeline: &mut Pipeline,
    safety: &mut Safety,
    trace: &mut Trace,
    mut ev: AuthEvent,
    x: &mut Explained,
) {
    let before = serde_json::to_value(&ev).unwrap_or(Value::Null);
    let mut made = Vec::new();
    pipeline.observe_traced(&mut ev, &mut made, trace);
    if !made.is_empty() {
        let raw = std::mem::take(&mut made);
        loginwatch::offline::screen(safety, pipeline, raw, &mut made);
    }
    let after = serde_json::to_value(&ev).unwrap_or(Value::Null);
    x.enrichment = added(&before, &after);
    x.known_account = ev.user.is_some().then_some(ev.user_known);
    x.event = Some(after);
    x.rules = std::mem::take(&mut trace.steps);
    x.decisions = made;
}

/// The fields of `after` that `before` lacks or holds otherwise, by dotted path.
fn added(before: &Value, after: &Value) -> Map<String, Value> {
    let mut b = Map::new();
    let mut a = Map::new();
    flatten("", before, &mut b);
    flatten("", after, &mut a);
    a.into_iter().filter(|(k, v)| b.get(k) != Some(v)).collect()
}

/// `v` with nested objects as dotted paths.
fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

/// Why a line the parser read gave no event (the sshd parser says it itself).
fn no_event(format: &Format) -> String {
    match format {
        Format::Csv(_) => "read, but not an authentication event: the header row, or a row \
of another kind of operation"
            .into(),
        _ => "read, but not an authentication event the format maps".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrichment_is_what_the_pipeline_added() {
        let before = serde_json::json!({"user": {"name": "alice"}, "source": {"ip": "192.0.2.1"}});
        let after = serde_json::json!({"user": {"name": "alice"}, "source": {"ip": "192.0.2.1",
            "geo": {"country_iso_code": "SE"}}});
        let added = added(&before, &after);
        assert_eq!(added.len(), 1);
        assert_eq!(added["source.geo.country_iso_code"], "SE");
    }
}

//! `loginwatch alerts preview`: decisions (the JSON lines of `replay --json`) in,
//! each alert out exactly as a sink would send it. For operators editing
//! templates, and for tests.
//!
//! Lines that are not decisions (the closing summary object, blank lines) are
//! skipped. A line that is not JSON, or a decision that does not read back, stops
//! with exit 2 naming the line: a preview that silently drops input would hide
//! the very alert the operator is looking at.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use loginwatch::alert::{Format, Language, Payload, Renderer, alert_for};
use loginwatch::decision::Decision;
use loginwatch::parse::Zone;

use super::CliError;
use super::parse::broken_pipe_ok;

/// `loginwatch alerts ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Read decisions as JSON lines on stdin and print each alert as a sink would send it.
    #[command(
        after_help = "Example:\n  loginwatch replay --json auth.log | loginwatch alerts preview --format slack"
    )]
    Preview(PreviewArgs),
}

/// Arguments of `alerts preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// Language: en or ja.
    #[arg(long, default_value = "en")]
    language: String,
    /// text, email, slack, teams, lineworks, alertmanager, webhook or json.
    #[arg(long, default_value = "text")]
    format: String,
    /// Time zone of the times shown (UTC, local, or an IANA name like Asia/Tokyo).
    #[arg(long, default_value = "local")]
    tz: String,
    /// Directory of template overrides (files named as the built-in ones, directly
    /// or under en/ or ja/).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

/// Runs `alerts`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Preview(a) => preview(a),
    }
}

fn preview(a: PreviewArgs) -> Result<ExitCode, CliError> {
    let lang: Language = a.language.parse().map_err(CliError::Usage)?;
    let format: Format = a.format.parse().map_err(CliError::Usage)?;
    let zone: Zone = a.tz.parse().map_err(CliError::Usage)?;
    let renderer = Renderer::new(lang, zone, a.templates.as_deref())
        .map_err(|e| CliError::Usage(format!("invalid templates:\n{e}")))?;
    let mut out = BufWriter::new(io::stdout().lock());
    let stdin = io::stdin().lock();
    for (n, line) in stdin.lines().enumerate() {
        let line = line?;
        let Some(d) = decision(&line, n + 1)? else {
            continue;
        };
        let alert = alert_for(&d, None, None, Vec::new());
        let payload = renderer
            .render(&alert, format, Utc::now())
            .map_err(|e| CliError::Runtime(anyhow::anyhow!("line {}: {e}", n + 1)))?;
        if let Err(e) = write_payload(&mut out, &payload) {
            return broken_pipe_ok(e);
        }
    }
    if let Err(e) = out.flush() {
        return broken_pipe_ok(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// The decision on line `n`, `None` for blank lines and non-decision objects.
fn decision(line: &str, n: usize) -> Result<Option<Decision>, CliError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| CliError::Usage(format!("stdin line {n}: not JSON: {e}")))?;
    if v.get("type").and_then(|t| t.as_str()) != Some("decision") {
        return Ok(None);
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(|e| CliError::Usage(format!("stdin line {n}: not a decision: {e}")))
}

/// Prints a payload as its sink sends it: an HTTP body as is (one per line for
/// JSON), an e-mail as its subject, text and HTML parts, a line as is.
fn write_payload(out: &mut impl Write, p: &Payload) -> io::Result<()> {
    match p {
        Payload::Http { body, .. } => {
            out.write_all(body)?;
            out.write_all(b"\n")
        }
        Payload::Email {
            subject,
            text,
            html,
        } => {
            writeln!(out, "Subject: {subject}")?;
            writeln!(out)?;
            writeln!(out, "{text}")?;
            if let Some(h) = html {
                writeln!(out, "--- text/html ---")?;
                writeln!(out, "{h}")?;
            }
            writeln!(out, "=====")
        }
        // A multi-line text alert is followed by a blank line, so alerts stay apart.
        Payload::Line { text } if text.contains('\n') => writeln!(out, "{text}\n"),
        Payload::Line { text } => writeln!(out, "{text}"),
    }
}

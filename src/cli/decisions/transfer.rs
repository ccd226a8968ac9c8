//! `loginwatch decisions export` and `decisions import`: decisions moved as
//! the JSON lines `decisions list --json` prints (a backup, a new host).
//!
//! Import validates the whole file here first, every problem reported by line
//! and field, and sends nothing when one is wrong; the daemon (or the state
//! file, when none runs) validates again and writes all records in one
//! transaction, skipping those already stored identically: importing the same
//! file twice changes nothing the second time.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use loginwatch::escape::Escaped;
use loginwatch::http::{ImportError, ImportRequest};
use loginwatch::state::RecordError;
use loginwatch::state::import::{parse_records, split};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{self, ClientError};
use super::{Daemon, TOKEN_REFUSED, admin_name, error_of, offline, offline_credential};
use crate::cli::CliError;

/// `loginwatch decisions export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Only decisions in force.
    #[arg(long)]
    active: bool,
    #[command(flatten)]
    daemon: Daemon,
}

/// `loginwatch decisions import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file `decisions export` wrote (JSON lines, or a JSON array); `-`
    /// reads standard input.
    file: PathBuf,
    /// Who imports [default: $SUDO_USER, else $USER]: kept in the audit.
    #[arg(long)]
    by: Option<String>,
    /// Print `{"imported": N, "present": M}`.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    daemon: Daemon,
}

/// Runs `decisions export`: `decisions list --json`, by another name.
pub fn export(a: ExportArgs) -> Result<ExitCode, CliError> {
    let (config, ep, token) = a.daemon.resolve()?;
    let decisions = super::list(&config, ep, a.active, token.as_deref())?;
    super::print_list(&decisions, true)?;
    Ok(ExitCode::SUCCESS)
}

/// Every problem of an import, one line each, as a usage error (exit 2) or,
/// for conflicts with stored decisions, a failure (exit 1).
fn problems(errors: &[RecordError], lines: &[usize], usage: bool) -> CliError {
    let mut text = format!(
        "{} problems in the file, nothing was imported:",
        errors.len()
    );
    for e in errors {
        // The daemon numbers records by position; shown by line of the file.
        let mut e = e.clone();
        if let Some(l) = e.record.checked_sub(1).and_then(|i| lines.get(i)) {
            e.record = *l;
        }
        text.push_str(&format!("\n  {}", Escaped(&e.to_string())));
    }
    if usage {
        CliError::Usage(text)
    } else {
        CliError::Runtime(anyhow!(text))
    }
}

/// The `{"errors": [...]}` of a refused import.
#[derive(Deserialize)]
struct Refused {
    #[serde(default)]
    errors: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    record: usize,
    #[serde(default)]
    field: String,
    message: String,
}

/// Runs `decisions import`.
pub fn import(a: ImportArgs) -> Result<ExitCode, CliError> {
    let (config, ep, token) = a.daemon.resolve()?;
    let (text, shown) = if a.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("standard input")?;
        (s, "standard input".to_owned())
    } else {
        let shown = a.file.display().to_string();
        let s = std::fs::read_to_string(&a.file)
            .map_err(|e| CliError::Usage(format!("{}: {e}", Escaped(&shown))))?;
        (s, shown)
    };
    let records = split(&text).map_err(|e| problems(&e, &[], true))?;
    let lines: Vec<usize> = records.iter().map(|(n, _)| *n).collect();
    let values: Vec<Value> = records.iter().map(|(_, v)| v.clone()).collect();
    // Checked here first: a bad file never reaches the daemon.
    parse_records(records).map_err(|e| problems(&e, &[], true))?;
    let req = ImportRequest {
        by: admin_name(a.by),
        file: Some(shown.clone()),
        decisions: values,
    };
    let body = serde_json::to_vec(&req).context("request")?;
    let path = "/api/v1/decisions/import";
    let report = match client::request(ep, "POST", path, token.as_deref(), Some(&body)) {
        Ok(r) if r.status == 200 => {
            serde_json::from_slice::<Value>(&r.body).context("answer from the daemon")?
        }
        Ok(r) if r.status == 401 => return Err(anyhow!(TOKEN_REFUSED).into()),
        Ok(r) if r.status == 413 => {
            return Err(anyhow!(
                "the file is too large for the daemon's API: stop the daemon and import again \
                 (the state file is then written directly)"
            )
            .into());
        }
        Ok(r) if r.status == 409 || r.status == 422 => {
            let rows = serde_json::from_slice::<Refused>(&r.body)
                .map(|b| b.errors)
                .unwrap_or_default();
            let errors: Vec<RecordError> = rows
                .into_iter()
                .map(|r| RecordError {
                    record: r.record,
                    field: r.field,
                    message: r.message,
                })
                .collect();
            if errors.is_empty() {
                return Err(anyhow!("{}", Escaped(&error_of(&r))).into());
            }
            return Err(problems(&errors, &lines, r.status == 422));
        }
        Ok(r) => return Err(anyhow!("{}", Escaped(&error_of(&r))).into()),
        Err(ClientError::Unreachable(..)) => {
            let b = offline::offline_backend(&config).map_err(anyhow::Error::from)?;
            match b.import(&req, &offline_credential()) {
                Ok(r) => serde_json::to_value(r).context("report")?,
                Err(ImportError::Records(e)) => return Err(problems(&e, &lines, true)),
                Err(ImportError::Conflicts(e)) => return Err(problems(&e, &lines, false)),
                Err(ImportError::Invalid(m)) => return Err(CliError::Usage(m)),
                Err(e) => return Err(anyhow!("{e}").into()),
            }
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    let n = |k: &str| report.get(k).and_then(Value::as_u64).unwrap_or(0);
    if a.json {
        outln!(
            "{}",
            json!({"imported": n("imported"), "present": n("present")})
        );
    } else {
        outln!(
            "{} imported, {} already present (from {})",
            n("imported"),
            n("present"),
            Escaped(&shown)
        );
    }
    Ok(ExitCode::SUCCESS)
}

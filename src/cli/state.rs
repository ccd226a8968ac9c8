//! `loginwatch state check` and `state reset`: what to do when the daemon
//! refuses its state database (damaged, lost, replaced, from a newer release).
//!
//! The daemon never starts over silently; these commands are the deliberate
//! way out. `check` writes nothing; `reset` keeps the old file under a
//! timestamped name and records the reset in the new database.

use std::path::PathBuf;
use std::process::ExitCode;

use loginwatch::escape::Escaped;
use loginwatch::state::maintenance;

use super::CliError;

/// `loginwatch state ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Examine the state database and its marker (writes nothing); exits 1 when
    /// something is wrong, with the way out.
    #[command(
        after_help = "Example:\n  loginwatch state check --config /etc/loginwatch/loginwatch.toml"
    )]
    Check {
        /// The daemon's configuration file (names `state_path`) [default: embedded defaults].
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print `{"ok", "facts", "log", "problems"}` as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Move the state database aside (renamed with a timestamp suffix) and start
    /// a clean one: read positions, locks and admin unlocks are forgotten, so
    /// the logs are read again from the start. Stop the daemon first (a running
    /// daemon notices and stops).
    #[command(
        after_help = "Example:\n  loginwatch state reset --config /etc/loginwatch/loginwatch.toml --by alice"
    )]
    Reset {
        /// The daemon's configuration file (names `state_path`) [default: embedded defaults].
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Who resets (kept in the new database's trail) [default: $SUDO_USER, else $USER].
        #[arg(long)]
        by: Option<String>,
        /// Print `{"database", "moved_to", "id"}` as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `state ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Check { config, json } => {
            let config = super::config::load(config.as_deref())?;
            let report = maintenance::check(&config.state_path);
            if json {
                outln!("{}", check_json(&report));
                let ok = report.problems.is_empty();
                return Ok(if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            for (k, v) in &report.facts {
                outln!("{k}: {}", Escaped(v));
            }
            for e in &report.log {
                outln!(
                    "log: {} {} by {}: {}",
                    e.at,
                    Escaped(&e.what),
                    Escaped(&e.who),
                    Escaped(&e.detail)
                );
            }
            if report.problems.is_empty() {
                outln!("ok");
                return Ok(ExitCode::SUCCESS);
            }
            for p in &report.problems {
                outln!("problem: {}", Escaped(p));
            }
            Ok(ExitCode::from(1))
        }
        Command::Reset { config, by, json } => {
            let config = super::config::load(config.as_deref())?;
            let by = super::decisions::admin_name(by);
            let r = maintenance::reset(&config.state_path, &chrono::Utc::now(), &by)
                .map_err(|e| CliError::Runtime(e.into()))?;
            if json {
                let v = serde_json::json!({
                    "database": config.state_path.display().to_string(),
                    "moved_to": r.moved_to.as_ref().map(|p| p.display().to_string()),
                    "id": r.id,
                });
                outln!("{v}");
                return Ok(ExitCode::SUCCESS);
            }
            let shown = Escaped(&config.state_path.display().to_string()).to_string();
            match &r.moved_to {
                Some(to) => outln!("moved {shown} to {}", Escaped(&to.display().to_string())),
                None => outln!("no previous database at {shown}"),
            }
            outln!("new state database {shown} (id {})", r.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `state check --json`: the report as one object (facts by name, the trail
/// oldest first, the problems with their way out; `ok` when there are none).
fn check_json(r: &maintenance::CheckReport) -> serde_json::Value {
    let facts: serde_json::Map<String, serde_json::Value> = r
        .facts
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.as_str())))
        .collect();
    let log: Vec<serde_json::Value> = r
        .log
        .iter()
        .map(|e| serde_json::json!({"at": e.at, "what": e.what, "who": e.who, "detail": e.detail}))
        .collect();
    serde_json::json!({
        "ok": r.problems.is_empty(),
        "facts": facts,
        "log": log,
        "problems": r.problems,
    })
}

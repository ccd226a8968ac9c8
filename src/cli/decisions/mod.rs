//! `loginwatch decisions list|unlock|add|export|import`: the admin API from
//! the command line.
//!
//! The commands talk to the running daemon over HTTP ([`client`]); when no daemon
//! answers they fall back to the state file ([`offline`]). Both paths produce the
//! API's JSON, so one renderer serves both and `--json` prints exactly what the
//! API returns. The daemon wants its admin token for every call ([`admin_token`]
//! finds it); a change made on the state file is audited with the caller's uid.

mod add;
pub(super) mod client;
mod offline;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use loginwatch::config::Config;
use loginwatch::decision::Mode;
use loginwatch::escape::Escaped;
use loginwatch::http::UnlockError;
use serde::Deserialize;
use serde_json::Value;

use self::client::{ClientError, Endpoint};
use super::CliError;
use super::table::{cell, column_width, fit, flex_width, left, max_width, truncate};

/// `loginwatch decisions ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List decisions, newest first (from the running daemon, else the state file).
    #[command(
        after_help = "Example:\n  loginwatch decisions list --active --mode held\n  loginwatch decisions list --json --url http://127.0.0.1:9464"
    )]
    List {
        /// Only decisions in force.
        #[arg(long)]
        active: bool,
        /// Only decisions in this mode: `held` lists the account locks a
        /// lockout storm held, for one review.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Mode::ALL))]
        mode: Option<String>,
        /// One JSON object per line, as the API returns them.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        daemon: Daemon,
    },
    /// End an active lock or block, recording who and why.
    #[command(
        after_help = "Example:\n  loginwatch decisions unlock 0628690b41547a31 --reason \"identity confirmed by phone\" --by alice"
    )]
    Unlock {
        /// The decision id (as `decisions list` shows it).
        id: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// Who unlocks [default: $SUDO_USER, else $USER]: a note in the audit
        /// trail, beside the credential that authenticated the unlock.
        #[arg(long)]
        by: Option<String>,
        /// Print the updated decision as the API returns it (one JSON object).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        daemon: Daemon,
    },
    /// Make a decision by hand: lock an account or block an address now, with
    /// the lifecycle, safety checks, audit and alert of a rule's decision.
    #[command(
        after_help = "Example:\n  loginwatch decisions add --user bob --reason \"phished, ticket 4711\" --by alice\n  \
loginwatch decisions add --ip 203.0.113.7 --duration 24h --mode enforce --reason \"scanner\"\n  \
loginwatch decisions add --user carol --action require_password_reset --reason \"password in a paste\""
    )]
    Add(add::Args),
    /// Print decisions as JSON lines (what `list --json` prints), to import
    /// elsewhere.
    #[command(after_help = "Example:\n  loginwatch decisions export --active > decisions.jsonl")]
    Export(transfer::ExportArgs),
    /// Read decisions `export` wrote: all validated first, then written in
    /// one transaction; ids already stored identically are skipped, so a
    /// second import changes nothing. Runs no action and sends no alert.
    #[command(after_help = "Example:\n  loginwatch decisions import decisions.jsonl --by alice")]
    Import(transfer::ImportArgs),
}

/// Which daemon to talk to.
#[derive(Debug, clap::Args)]
pub struct Daemon {
    /// The daemon's configuration (its listen address, token and state file)
    /// [default: the embedded defaults].
    #[arg(long)]
    config: Option<PathBuf>,
    /// The daemon's address, e.g. http://127.0.0.1:9464 [default: from the configuration].
    #[arg(long)]
    url: Option<String>,
    /// File holding the admin token (mode 0600) [default: the token the
    /// configuration names, else the daemon's admin.token beside its state file].
    #[arg(long)]
    token_file: Option<PathBuf>,
}

impl Daemon {
    /// The configuration, the daemon's address (`--url` wins) and the admin
    /// token, if one can be read.
    pub(super) fn resolve(&self) -> Result<(Config, Endpoint, Option<String>), CliError> {
        let config = super::config::load(self.config.as_deref())?;
        let ep = match &self.url {
            Some(u) => Endpoint::parse(u).map_err(CliError::Usage)?,
            None => Endpoint::from_listen(config.http.listen),
        };
        let token = admin_token(self.token_file.as_deref(), &config)?;
        Ok((config, ep, token))
    }
}

/// What to say when the daemon refuses the token (or none could be read).
pub(super) const TOKEN_REFUSED: &str = "the daemon refused the admin token: run as the daemon's \
     user or root (the token is in admin.token beside its state file), or give --token-file, \
     or the --config that names it";

/// The audit trail's credential for a change made on the state file directly.
pub(super) fn offline_credential() -> String {
    format!("cli-offline:uid {}", nix::unistd::getuid())
}

/// Who acts, for the audit trail: `--by`, else the user behind sudo, else the
/// login user.
pub(super) fn admin_name(by: Option<String>) -> String {
    by.or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "admin".to_owned())
}

/// The admin token: from `--token-file`, else the one the configuration
/// names, else the daemon's generated `admin.token` when this user can read
/// it (the daemon's user, root); `None` when there is none to read.
pub(super) fn admin_token(
    token_file: Option<&std::path::Path>,
    config: &Config,
) -> Result<Option<String>, CliError> {
    if let Some(f) = token_file {
        return loginwatch::private::read_secret(f)
            .map(Some)
            .map_err(|e| CliError::Usage(format!("--token-file {e}")));
    }
    if let Some(t) = &config.http.admin_token {
        return Ok(Some(t.clone()));
    }
    let generated = loginwatch::http::token::path_for(&config.state_path);
    match loginwatch::private::read_secret(&generated) {
        Ok(t) => Ok(Some(t)),
        // Not there (daemon never started) or not ours to read: the daemon
        // will answer 401 and the message says what to do.
        Err(loginwatch::private::SecretError::Read { .. }) => Ok(None),
        Err(e) => Err(CliError::Usage(e.to_string())),
    }
}

/// The fields of a decision the human listing shows.
#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    rule: String,
    action: String,
    target: Target,
    at: String,
    until: Option<String>,
    status: String,
    mode: String,
}

#[derive(Debug, Deserialize)]
struct Target {
    user: Option<String>,
    ip: Option<String>,
    net: Option<String>,
}

/// The listing's body: `{"decisions": [...]}`.
#[derive(Debug, Deserialize)]
struct List {
    decisions: Vec<Value>,
}

/// An error body: `{"error": "..."}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
}

/// A response's error message (or its status when the body says nothing).
fn error_of(r: &client::Response) -> String {
    serde_json::from_slice::<ErrorBody>(&r.body)
        .map(|e| e.error)
        .unwrap_or_else(|_| format!("HTTP status {}", r.status))
}

/// Runs `decisions ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::List {
            active,
            mode,
            json,
            daemon,
        } => {
            let (config, ep, token) = daemon.resolve()?;
            let mut decisions = list(&config, ep, active, token.as_deref())?;
            // Filtered here, not by the API, so it works on the state file too.
            if let Some(m) = &mode {
                decisions.retain(|d| d.get("mode").and_then(Value::as_str) == Some(m.as_str()));
            }
            print_list(&decisions, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Unlock {
            id,
            reason,
            by,
            json,
            daemon,
        } => {
            let (config, ep, token) = daemon.resolve()?;
            let by = admin_name(by);
            let record = unlock(&config, ep, &id, &by, &reason, token.as_deref())?;
            if json {
                outln!("{record}");
                return Ok(ExitCode::SUCCESS);
            }
            let status = record.get("status").and_then(Value::as_str).unwrap_or("?");
            outln!(
                "decision {} is now {status} (by {})",
                Escaped(&id),
                Escaped(&by)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Add(a) => add::run(a),
        Command::Export(a) => transfer::export(a),
        Command::Import(a) => transfer::import(a),
    }
}

/// The decisions from the daemon, or from the state file when it is not running.
fn list(
    config: &Config,
    ep: Endpoint,
    active: bool,
    token: Option<&str>,
) -> Result<Vec<Value>, CliError> {
    let path = if active {
        "/api/v1/decisions?active=true"
    } else {
        "/api/v1/decisions"
    };
    match client::request(ep, "GET", path, token, None) {
        Ok(r) if r.status == 200 => {
            let l: List =
                serde_json::from_slice(&r.body).context("decision list from the daemon")?;
            Ok(l.decisions)
        }
        Ok(r) if r.status == 401 => Err(anyhow!(TOKEN_REFUSED).into()),
        Ok(r) => Err(anyhow!("the daemon refused: {}", Escaped(&error_of(&r))).into()),
        Err(ClientError::Unreachable(..)) => {
            let b = offline::offline_backend(config).map_err(anyhow::Error::from)?;
            let records = b.decisions(active).map_err(anyhow::Error::from)?;
            records
                .iter()
                .map(|r| serde_json::to_value(r).map_err(|e| anyhow::Error::from(e).into()))
                .collect()
        }
        Err(e) => Err(anyhow::Error::from(e).into()),
    }
}

/// Unlocks through the daemon, or the state file when it is not running; returns
/// the updated decision as JSON.
fn unlock(
    config: &Config,
    ep: Endpoint,
    id: &str,
    by: &str,
    reason: &str,
    token: Option<&str>,
) -> Result<Value, CliError> {
    // Ids are hex digits; refusing anything else keeps the request path clean.
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(CliError::Usage(format!(
            "bad decision id {:?}",
            Escaped(id).to_string()
        )));
    }
    let body = serde_json::json!({ "by": by, "reason": reason }).to_string();
    let path = format!("/api/v1/decisions/{id}/unlock");
    match client::request(ep, "POST", &path, token, Some(body.as_bytes())) {
        Ok(r) if r.status == 200 => {
            let v: Value =
                serde_json::from_slice(&r.body).context("unlock answer from the daemon")?;
            Ok(v.get("decision").cloned().unwrap_or(Value::Null))
        }
        Ok(r) if r.status == 401 => Err(anyhow!(TOKEN_REFUSED).into()),
        Ok(r) => Err(anyhow!("cannot unlock {}: {}", Escaped(id), Escaped(&error_of(&r))).into()),
        Err(ClientError::Unreachable(..)) => {
            let b = offline::offline_backend(config).map_err(anyhow::Error::from)?;
            match b.unlock(id, by, reason, &offline_credential()) {
                Ok(r) => Ok(serde_json::to_value(&r).context("decision")?),
                Err(UnlockError::NotFound) => {
                    Err(anyhow!("cannot unlock {}: no decision with this id", Escaped(id)).into())
                }
                Err(e) => Err(anyhow!("cannot unlock {}: {e}", Escaped(id)).into()),
            }
        }
        Err(e) => Err(anyhow::Error::from(e).into()),
    }
}

/// Prints the decisions: JSON lines, or one escaped line each for people.
fn print_list(decisions: &[Value], json: bool) -> Result<(), CliError> {
    if json {
        for d in decisions {
            outln!("{d}");
        }
        return Ok(());
    }
    if decisions.is_empty() {
        outln!("no decisions");
        return Ok(());
    }
    let rows = decisions
        .iter()
        .map(Row::deserialize)
        .collect::<Result<Vec<Row>, _>>()
        .context("decision from the daemon")?;
    for line in table(&rows, max_width()) {
        outln!("{line}");
    }
    Ok(())
}

/// The listing's lines in at most `max` terminal columns: the target (free
/// text, often the widest) is cut first, then any line still too long.
fn table(rows: &[Row], max: Option<usize>) -> Vec<String> {
    let targets: Vec<String> = rows.iter().map(target_text).collect();
    let natural = column_width(targets.iter().map(String::as_str), 0);
    let fixed = rows
        .iter()
        .map(|r| super::table::width(&row_text(r, "", 0)))
        .max()
        .unwrap_or(0);
    let w = flex_width(natural, fixed, max, 12);
    rows.iter()
        .zip(&targets)
        .map(|(r, t)| fit(&row_text(r, &truncate(t, w), w), max))
        .collect()
}

/// `user=U ip=I net=N`, escaped (the user name is attacker-controlled).
fn target_text(r: &Row) -> String {
    let mut target = Vec::new();
    if let Some(u) = &r.target.user {
        target.push(format!("user={}", cell(u)));
    }
    if let Some(ip) = &r.target.ip {
        target.push(format!("ip={}", cell(ip)));
    }
    if let Some(n) = &r.target.net {
        target.push(format!("net={}", cell(n)));
    }
    target.join(" ")
}

/// `ID  STATUS  ACTION  TARGET  at AT until UNTIL  rule RULE (MODE)`, every
/// cell escaped, the `target` (see [`target_text`]) padded to `target_width`
/// terminal columns.
fn row_text(r: &Row, target: &str, target_width: usize) -> String {
    format!(
        "{}  {}  {}  {}  at {} until {}  rule {} ({})",
        cell(&r.id),
        left(&cell(&r.status), 8),
        left(&cell(&r.action), 22),
        left(target, target_width),
        cell(&r.at),
        cell(r.until.as_deref().unwrap_or("-")),
        cell(&r.rule),
        cell(&r.mode)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_escape_user_names() {
        let v = serde_json::json!({
            "id": "00ff", "rule": "r", "action": "lock_account",
            "target": {"user": "ev\u{1b}[2Jil"}, "at": "2025-01-01T00:00:00Z",
            "until": null, "status": "active", "mode": "recommend", "extra": 1
        });
        let r = Row::deserialize(&v).unwrap();
        let line = Escaped(&row_text(&r, &target_text(&r), 0)).to_string();
        assert!(line.contains("user=ev\\u{1b}[2Jil"), "{line}");
        assert!(line.contains("until -"), "{line}");
    }

    #[test]
    fn full_width_user_names_keep_the_columns_aligned() {
        let row = |user: &str| {
            let v = serde_json::json!({
                "id": "00ff", "rule": "r", "action": "lock_account",
                "target": {"user": user}, "at": "2025-01-01T00:00:00Z",
                "until": null, "status": "active", "mode": "recommend"
            });
            Row::deserialize(&v).unwrap()
        };
        let rows = [row("ａｌｉｃｅ"), row("山田"), row("bob")];
        let lines = table(&rows, None);
        let at = |l: &str| super::super::table::width(&l[..l.find("  at ").unwrap()]);
        assert_eq!(at(&lines[0]), at(&lines[1]));
        assert_eq!(at(&lines[0]), at(&lines[2]));
        assert!(lines[1].contains("user=山田        at "), "{}", lines[1]);
    }

    #[test]
    fn a_narrow_terminal_cuts_the_target_first_then_the_line() {
        let v = serde_json::json!({
            "id": "00ff", "rule": "r", "action": "lock_account",
            "target": {"user": "a-very-long-user-name-from-a-saas-export@example.com"},
            "at": "2025-01-01T00:00:00Z", "until": null, "status": "active", "mode": "recommend"
        });
        let rows = [Row::deserialize(&v).unwrap()];
        let wide = table(&rows, None);
        assert!(wide[0].contains("@example.com"), "{}", wide[0]);
        let narrow = table(&rows, Some(120));
        assert!(narrow[0].contains("user=a-very-"), "{}", narrow[0]);
        assert!(narrow[0].contains("…  at 2025"), "{}", narrow[0]);
        assert!(super::super::table::width(&narrow[0]) <= 120);
        let tiny = table(&rows, Some(60));
        assert_eq!(super::super::table::width(&tiny[0]), 60, "{}", tiny[0]);
        assert!(tiny[0].ends_with('…'), "{}", tiny[0]);
    }
}

//! `loginwatch decisions add`: a decision made by hand, through the running
//! daemon's `POST /api/v1/decisions`, else on the state file with the same
//! backend (safety filter, audit, alert in the outbox, actions in enforce mode).

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use loginwatch::decision::{DecisionAction, Mode};
use loginwatch::escape::Escaped;
use loginwatch::http::{AddError, AddRequest};
use serde_json::Value;

use super::client::{self, ClientError};
use super::{Daemon, TOKEN_REFUSED, admin_name, error_of, offline, offline_credential};
use crate::cli::CliError;

/// `loginwatch decisions add`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["user", "ip"])))]
pub struct Args {
    /// The account to act on.
    #[arg(long, conflicts_with = "ip")]
    user: Option<String>,
    /// The address (or network, e.g. 203.0.113.0/24) to act on.
    #[arg(long)]
    ip: Option<String>,
    /// What to do, as a rule would [default: lock_account with --user,
    /// block_ip with --ip]. alert and require_password_reset record and
    /// alert without locking anything.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(DecisionAction::ALL))]
    action: Option<String>,
    /// How long a lock or block lasts: 30m, 4h, 7d, or `admin` (until an
    /// admin unlocks it) [default: 4h, so a forgotten lock ends the same day].
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// recommend (record and alert) or enforce (also run the configured
    /// actions) [default: the configuration's mode, as for the rules].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Mode::CONFIGURED))]
    mode: Option<String>,
    /// Why (kept in the audit trail and shown in the alert).
    #[arg(long)]
    reason: String,
    /// Who decides [default: $SUDO_USER, else $USER]: a note in the audit
    /// trail, beside the credential that authenticated the request.
    #[arg(long)]
    by: Option<String>,
    /// Print the decision as the API returns it (one JSON object).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    daemon: Daemon,
}

/// Runs `decisions add`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let (config, ep, token) = a.daemon.resolve()?;
    let req = AddRequest {
        user: a.user,
        ip: a.ip,
        action: a.action,
        duration: a.duration,
        mode: a.mode,
        reason: a.reason,
        by: admin_name(a.by),
    };
    let body = serde_json::to_vec(&req).context("request")?;
    let record = match client::request(
        ep,
        "POST",
        "/api/v1/decisions",
        token.as_deref(),
        Some(&body),
    ) {
        Ok(r) if r.status == 201 => {
            let v: Value = serde_json::from_slice(&r.body).context("answer from the daemon")?;
            v.get("decision").cloned().unwrap_or(Value::Null)
        }
        Ok(r) if r.status == 401 => return Err(anyhow!(TOKEN_REFUSED).into()),
        Ok(r) if r.status == 400 => {
            return Err(CliError::Usage(Escaped(&error_of(&r)).to_string()));
        }
        Ok(r) => return Err(anyhow!("{}", Escaped(&error_of(&r))).into()),
        Err(ClientError::Unreachable(..)) => {
            let b =
                offline::offline_backend_with_inventory(&config).map_err(anyhow::Error::from)?;
            match b.add(&req, &offline_credential()) {
                Ok(r) => serde_json::to_value(&r).context("decision")?,
                Err(AddError::Invalid(m)) => return Err(CliError::Usage(m)),
                Err(e) => return Err(anyhow!("{e}").into()),
            }
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    if a.json {
        outln!("{record}");
    } else {
        outln!("{}", summary(&record));
    }
    Ok(ExitCode::SUCCESS)
}

/// `decision ID: ACTION TARGET until UNTIL (MODE)`, escaped.
fn summary(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
    let target = v
        .get("target")
        .and_then(Value::as_object)
        .map(|t| {
            t.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let until = match v.get("until").and_then(Value::as_str) {
        Some(u) => format!("until {u}"),
        None if s("unlock") == "admin" => "until an admin unlocks it".to_owned(),
        None => "no end".to_owned(),
    };
    Escaped(&format!(
        "decision {}: {} {target} {until} ({}, status {})",
        s("id"),
        s("action"),
        s("mode"),
        s("status")
    ))
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_decision_and_escapes() {
        let v = serde_json::json!({"id": "00ff", "action": "lock_account",
            "target": {"user": "b\u{1b}ob"}, "until": null, "unlock": "admin",
            "mode": "enforce", "status": "active"});
        assert_eq!(
            summary(&v),
            "decision 00ff: lock_account user=b\\u{1b}ob until an admin unlocks it (enforce, status active)"
        );
    }
}

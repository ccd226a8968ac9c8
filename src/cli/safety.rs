//! `loginwatch safety storm-reset`: an admin closes the lockout storm breaker
//! from the command line, through the running daemon's
//! `POST /api/v1/safety/storm/reset`.
//!
//! The breaker is state in the daemon's memory (it counts would-be locks as
//! they happen), so unlike `decisions unlock` there is no offline fallback to
//! the state file: when no daemon answers, the command says so and exits 2
//! rather than pretending something was reset. The HTTP client and the
//! daemon-address flags and rules are those of `decisions`.

use std::process::ExitCode;

use anyhow::anyhow;
use loginwatch::escape::Escaped;
use serde::Deserialize;

use super::CliError;
use super::decisions::client::{self, ClientError, Response};
use super::decisions::{Daemon, TOKEN_REFUSED, admin_name};

/// `loginwatch safety ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Close the lockout storm breaker now, so account locks are enforced again
    /// (instead of waiting for its cool-down). Needs the running daemon.
    #[command(
        after_help = "Example:\n  loginwatch safety storm-reset --by alice --config /etc/loginwatch/loginwatch.toml"
    )]
    StormReset {
        /// Who closes it (kept in the audit log) [default: $SUDO_USER, else $USER].
        #[arg(long)]
        by: Option<String>,
        /// Print `{"was_open": bool, "by": NAME}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        daemon: Daemon,
    },
}

/// The API's answer: `{"was_open": bool}`.
#[derive(Debug, Deserialize)]
struct ResetAnswer {
    was_open: bool,
}

/// Runs `safety ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    let Command::StormReset { by, json, daemon } = c;
    let (_config, ep, token) = daemon.resolve()?;
    let by = admin_name(by);
    let body = serde_json::json!({ "by": by }).to_string();
    let answer = client::request(
        ep,
        "POST",
        "/api/v1/safety/storm/reset",
        token.as_deref(),
        Some(body.as_bytes()),
    );
    outln!("{}", outcome(answer, &by, json)?);
    Ok(ExitCode::SUCCESS)
}

/// What the daemon's answer means, in words an admin can act on (pure, so
/// every case is tested without a daemon).
fn outcome(
    answer: Result<Response, ClientError>,
    by: &str,
    json: bool,
) -> Result<String, CliError> {
    let r = match answer {
        Ok(r) => r,
        Err(e @ ClientError::Unreachable(..)) => {
            return Err(CliError::Usage(format!(
                "{e}\nthe lockout storm breaker lives in the running daemon: nothing was reset \
                 (start the daemon, or give --url/--config for the one that runs)"
            )));
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    match r.status {
        200 => {
            let a: ResetAnswer = serde_json::from_slice(&r.body)
                .map_err(|e| anyhow!("bad answer from the daemon: {e}"))?;
            if json {
                return Ok(serde_json::json!({"was_open": a.was_open, "by": by}).to_string());
            }
            Ok(if a.was_open {
                format!(
                    "lockout storm breaker closed (by {}): account locks are enforced again",
                    Escaped(by)
                )
            } else {
                "the lockout storm breaker was not open: nothing to do".to_owned()
            })
        }
        401 => Err(anyhow!(TOKEN_REFUSED).into()),
        503 => Err(anyhow!(
            "the daemon has no lockout storm breaker ({}): it only exists in enforce mode",
            Escaped(&error_of(&r))
        )
        .into()),
        _ => Err(anyhow!("the daemon refused the reset: {}", Escaped(&error_of(&r))).into()),
    }
}

/// A response's `{"error": "..."}` message, or its status.
fn error_of(r: &Response) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    serde_json::from_slice::<ErrorBody>(&r.body)
        .map(|e| e.error)
        .unwrap_or_else(|_| format!("HTTP status {}", r.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Result<Response, ClientError> {
        Ok(Response {
            status,
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn each_answer_has_its_own_message_and_exit_code() {
        let closed = outcome(answer(200, r#"{"was_open":true}"#), "on\u{1b}call", false).unwrap();
        let j = outcome(answer(200, r#"{"was_open":true}"#), "bob", true).unwrap();
        let j: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(j, serde_json::json!({"by": "bob", "was_open": true}));
        assert!(closed.contains("closed (by on\\u{1b}call)"), "{closed}");
        let idle = outcome(answer(200, r#"{"was_open":false}"#), "x", false).unwrap();
        assert!(idle.contains("was not open"), "{idle}");
        let code = |r: Result<String, CliError>| r.unwrap_err().exit_code();
        let one = ExitCode::from(1);
        assert_eq!(code(outcome(answer(401, "{}"), "x", false)), one);
        assert_eq!(code(outcome(answer(200, "nonsense"), "x", false)), one);
        let e = outcome(
            answer(503, r#"{"error":"no enforcement here"}"#),
            "x",
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("enforce mode"), "{e}");
        let down = ClientError::Unreachable(
            "127.0.0.1:1".parse().unwrap(),
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        );
        let e = outcome(Err(down), "x", false).unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::from(2));
        assert!(e.to_string().contains("nothing was reset"), "{e}");
    }
}

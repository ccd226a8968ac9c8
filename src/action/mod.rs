//! Enforcement actions: what `mode = "enforce"` actually does to an account or an
//! address, and the inverse on unlock.
//!
//! Two halves, kept apart on purpose. [`plan`] is pure: from a decision, the
//! configured actions and `now`, it computes exactly the argv or HTTP request that
//! would run (or refuses, when a value is unsafe: see [`validate`]). `--dry-run`
//! prints that plan, tests assert on it, and the audit trail records it. [`run`]
//! is the only place with side effects: it executes one planned action under a
//! timeout and records what happened ([`ActionResult`]).
//!
//! Programs are always started with an argv ([`exec`]), never through a shell, so
//! no value can change the command's shape; `nft` set updates ([`nft`]) are argv
//! too. HTTP calls ([`http`]) percent-encode values in URLs and JSON-escape them in
//! bodies. Safety filtering (exemptions, last admins, the storm breaker) happens
//! before planning, in [`crate::safety`].

pub mod exec;
pub mod http;
pub mod nft;
pub mod plan;
pub mod template;
pub mod validate;

use std::time::Duration;

use serde::Serialize;

use crate::decision::DecisionAction;

pub use plan::{Phase, Plan, PlannedAction, Refusal, RefusalReason, Step, plan};
pub use template::{Encoding, Template, Values, Var};

/// Default time an action may take before it is killed or abandoned.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A program to run: argv templates, the first being the program.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecSpec {
    pub argv: Vec<Template>,
}

/// An HTTP call.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    /// Upper-case method (`POST`, `PUT`, `DELETE`, ...).
    pub method: String,
    /// URL template; values are percent-encoded.
    pub url: Template,
    /// Header templates; values are inserted as they are (validated names only).
    pub headers: Vec<(String, Template)>,
    /// JSON body template; values are JSON-string-escaped. `None`: no body.
    pub body: Option<Template>,
}

/// An nftables set that blocked addresses are added to (with a timeout).
#[derive(Debug, Clone, PartialEq)]
pub struct NftSpec {
    /// The `nft` program (default `nft`, found on `PATH`).
    pub program: String,
    /// Table family (`inet` default, `ip`, `ip6`).
    pub family: String,
    /// Table name (`filter` default).
    pub table: String,
    /// Set name.
    pub set: String,
}

/// One way of acting.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    Exec(ExecSpec),
    Http(HttpSpec),
    Nft(NftSpec),
}

/// One configured action: what runs for decisions of kind `on`, and its inverse.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    /// The decision action it serves (`lock_account`, `block_ip`, ...).
    pub on: DecisionAction,
    pub kind: ActionKind,
    /// Run on unlock. For `nft` the inverse (delete the element) is implied.
    pub undo: Option<ActionKind>,
    pub timeout: Duration,
}

/// Every configured action (`[actions]`), in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionsConfig {
    pub actions: Vec<ActionSpec>,
}

/// What running one planned action did (for the audit trail and the alert).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionResult {
    /// Exit status 0, or an HTTP 2xx answer.
    pub ok: bool,
    /// The program's exit status (`None`: killed, or not started, or HTTP).
    pub exit: Option<i32>,
    /// The HTTP status, for HTTP actions.
    pub status: Option<u16>,
    /// True when the timeout expired (the program was killed).
    pub timed_out: bool,
    /// The last bytes of the program's stderr, or of the HTTP answer's body,
    /// escaped (it may echo attacker-chosen names).
    pub stderr_tail: String,
    /// Why it could not run or did not finish, when it did not.
    pub error: Option<String>,
    /// Wall-clock time taken.
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
}

impl ActionResult {
    /// A result for an action that failed before or without a status.
    pub fn failed(error: String, duration: Duration) -> ActionResult {
        ActionResult {
            ok: false,
            exit: None,
            status: None,
            timed_out: false,
            stderr_tail: String::new(),
            error: Some(error),
            duration,
        }
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How many bytes of stderr or of an HTTP answer are kept.
pub const TAIL_BYTES: usize = 2048;

/// Runs one planned action under its timeout. Blocking: the daemon calls it from
/// a worker thread, never from the event path.
pub fn run(planned: &PlannedAction) -> ActionResult {
    match &planned.step {
        Step::Exec { argv, .. } => exec::run_argv(argv, planned.timeout),
        Step::Http {
            method,
            url,
            headers,
            body,
        } => http::call(method, url, headers, body.as_deref(), planned.timeout),
    }
}

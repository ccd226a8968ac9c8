//! Pure planning: a decision and the configured actions into exactly the argv or
//! HTTP request that would run, or a refusal. Nothing here touches the system, so
//! `--dry-run`, the tests and the audit trail all see the real thing.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::template::{Encoding, Var};
use super::validate::{self, Unsafe};
use super::{ActionKind, ActionsConfig, nft};
use crate::decision::{Decision, DecisionAction};
use crate::escape::Escaped;

/// Whether the action is applied (the decision starts) or undone (unlock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Apply,
    Undo,
}

/// What would run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// A program with its argv (`via` is `exec` or `nft`).
    Exec {
        via: &'static str,
        argv: Vec<String>,
    },
    /// An HTTP request.
    Http {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    },
}

/// One action as it would run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedAction {
    /// The decision's id.
    pub decision: String,
    pub on: DecisionAction,
    pub phase: Phase,
    pub step: Step,
    #[serde(skip)]
    pub timeout: Duration,
}

/// Why an action was not planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusalReason {
    /// A value of the decision is unsafe to pass (the daemon alerts on it).
    #[error("refused: {0}")]
    Unsafe(#[from] Unsafe),
    /// The template names a value the decision does not have.
    #[error("the action needs {{{}}} but the decision has none", .0.as_str())]
    Missing(Var),
}

/// An action not planned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub decision: String,
    pub on: DecisionAction,
    pub phase: Phase,
    pub reason: RefusalReason,
}

/// The plan for one decision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub actions: Vec<PlannedAction>,
    pub refusals: Vec<Refusal>,
}

/// Plans the actions configured for `decision.action` in `phase`, at `now`
/// (for nft timeouts). The caller has already decided that the decision is to
/// be enforced (its mode and [`crate::safety`]): planning does not look at them.
pub fn plan(decision: &Decision, config: &ActionsConfig, phase: Phase, now: DateTime<Utc>) -> Plan {
    let mut out = Plan::default();
    let specs: Vec<_> = config
        .actions
        .iter()
        .filter(|s| s.on == decision.action)
        .collect();
    if specs.is_empty() {
        return out;
    }
    let refuse = |reason: RefusalReason| Refusal {
        decision: decision.id.clone(),
        on: decision.action,
        phase,
        reason,
    };
    let values = match validate::values(decision, now) {
        Ok(v) => v,
        Err(e) => {
            // One refusal per configured action: each is an action not taken.
            out.refusals = specs.iter().map(|_| refuse(e.clone().into())).collect();
            return out;
        }
    };
    for spec in specs {
        let kind = match (phase, &spec.kind, &spec.undo) {
            (Phase::Apply, k, _) => k,
            (Phase::Undo, _, Some(u)) => u,
            (Phase::Undo, ActionKind::Nft(n), None) => {
                match nft::argv(n, Phase::Undo, &values) {
                    Ok(argv) => {
                        out.actions
                            .push(planned(decision, phase, spec.timeout, nft_step(argv)))
                    }
                    Err(v) => out.refusals.push(refuse(RefusalReason::Missing(v))),
                }
                continue;
            }
            (Phase::Undo, _, None) => continue,
        };
        let step = match kind {
            ActionKind::Exec(e) => e
                .argv
                .iter()
                .map(|t| t.render(&values, Encoding::Raw))
                .collect::<Result<Vec<_>, _>>()
                .map(|argv| Step::Exec { via: "exec", argv }),
            ActionKind::Nft(n) => nft::argv(n, phase, &values).map(nft_step),
            ActionKind::Http(h) => (|| {
                Ok(Step::Http {
                    method: h.method.clone(),
                    url: h.url.render(&values, Encoding::Url)?,
                    headers: h
                        .headers
                        .iter()
                        .map(|(k, t)| Ok((k.clone(), t.render(&values, Encoding::Raw)?)))
                        .collect::<Result<_, Var>>()?,
                    body: h
                        .body
                        .as_ref()
                        .map(|b| b.render(&values, Encoding::Json))
                        .transpose()?,
                })
            })(),
        };
        match step {
            Ok(step) => out
                .actions
                .push(planned(decision, phase, spec.timeout, step)),
            Err(v) => out.refusals.push(refuse(RefusalReason::Missing(v))),
        }
    }
    out
}

fn nft_step(argv: Vec<String>) -> Step {
    Step::Exec { via: "nft", argv }
}

fn planned(decision: &Decision, phase: Phase, timeout: Duration, step: Step) -> PlannedAction {
    PlannedAction {
        decision: decision.id.clone(),
        on: decision.action,
        phase,
        step,
        timeout,
    }
}

/// True for header names whose values are credentials (never printed).
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "cookie"
        || ["token", "secret", "key", "signature"]
            .iter()
            .any(|w| n.contains(w))
}

impl PlannedAction {
    /// The same action with credential header values replaced by `<redacted>`:
    /// the form for the audit trail and for printing.
    pub fn redacted(&self) -> PlannedAction {
        let mut p = self.clone();
        if let Step::Http { headers, .. } = &mut p.step {
            for (k, v) in headers.iter_mut() {
                if is_secret_header(k) {
                    *v = "<redacted>".to_owned();
                }
            }
        }
        p
    }
}

/// One argument as a POSIX shell would need it to mean exactly this string:
/// bare when plain, `'...'` when it has spaces or specials, `$'...'` with `\xNN`
/// escapes when it has control characters, so no two argvs print alike.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || "@%+=:,./-_".contains(c));
    if plain {
        return arg.to_owned();
    }
    if !arg.chars().any(char::is_control) {
        return format!("'{}'", arg.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in arg.chars() {
        match c {
            '\'' => out.push_str(r"\'"),
            '\\' => out.push_str(r"\\"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl fmt::Display for PlannedAction {
    /// `lock_account apply: exec /usr/local/bin/lock-user alice --until 2026-...`;
    /// HTTP as `POST URL` with headers (credentials redacted) and body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Apply => "apply",
            Phase::Undo => "undo",
        };
        write!(f, "{} {phase}: ", self.on)?;
        match &self.redacted().step {
            Step::Exec { via, argv } => {
                write!(f, "{via}")?;
                for a in argv {
                    write!(f, " {}", quote(a))?;
                }
                Ok(())
            }
            Step::Http {
                method,
                url,
                headers,
                body,
            } => {
                write!(f, "http {method} {}", Escaped(url))?;
                for (k, v) in headers {
                    write!(f, " -H {}", quote(&format!("{k}: {v}")))?;
                }
                if let Some(b) = body {
                    write!(f, " --data {}", quote(b))?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for decision {}: {}",
            self.on, self.decision, self.reason
        )
    }
}

//! Requests between detectors: an admin's unlock of a decision another
//! detector holds, sent to that detector over core NATS request-reply.
//!
//! Several detectors share the decisions bucket (`super::decisions`), each
//! keeping only its own keys equal to its own state. An unlock changes the
//! state of the detector that holds the decision, so a detector asked to
//! unlock another's sends the request to the subject of that holder,
//! [`subject`]: `<subject_prefix>_control.unlock.<holder id>`. Only the
//! process holding that id and its slot's lease answers (a process that
//! lost its fence stays silent, so it can never answer in place of the
//! holder); it unlocks through its own store, and its bucket task then
//! lifts the key for every agent.
//!
//! The subject is *beside* the events' `<subject_prefix>.>`, not under it:
//! the events stream must not store the requests (and would answer them
//! with its publish acks), and a NATS permission that lets agents publish
//! events does not let them send unlocks. Whoever may publish on
//! `<subject_prefix>_control.>` may unlock any decision of the fleet: the
//! NATS account (and its permissions) is the trust boundary, as it is for
//! the decisions bucket, which any writer could fill with locks.
//!
//! Both bodies are versioned JSON ([`VERSION`]) of bounded size, checked
//! field by field; a bad one is refused with a message, never a panic.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::state::{DecisionRecord, LockStatus};

/// The layout version of the bodies written, and the only one read.
pub const VERSION: u32 = 1;
/// The largest request read (an unlock's fields are bounded far below).
pub const MAX_ASK: usize = 16 * 1024;
/// The largest answer read (a decision with its evidence).
pub const MAX_ANSWER: usize = 256 * 1024;
/// How long a detector waits for the holder's answer.
pub const WAIT: Duration = Duration::from_secs(5);

/// Longest `by` (as the admin API accepts it).
const MAX_BY: usize = 128;
/// Longest `reason` (as the admin API accepts it).
const MAX_REASON: usize = 2000;
/// Longest `credential` note.
const MAX_CREDENTIAL: usize = 256;
/// Longest holder id: a host token (64) and 24 hex digits, with room.
const MAX_HOLDER: usize = 128;

/// The subject the detector `holder` answers unlocks on.
pub fn subject(prefix: &str, holder: &str) -> String {
    format!("{prefix}_control.unlock.{holder}")
}

/// True for a holder id as `crate::daemon::detector::shard::holder_id`
/// makes them: one subject token of letters, digits, `-` and `_`.
pub fn is_holder(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_HOLDER
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True for a decision id as the daemon and imports accept them: 1 to 64
/// letters, digits or `-`.
pub fn is_decision_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An unlock asked of the holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockAsk {
    /// [`VERSION`].
    pub v: u32,
    /// The decision.
    pub id: String,
    /// The name the admin gave.
    pub by: String,
    /// Why, as the admin said it.
    pub reason: String,
    /// What authenticated the admin at the asking detector (`token:config`).
    pub credential: String,
    /// The asking detector's holder id.
    pub from: String,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{0} bytes: at most {1}")]
    TooLarge(usize, usize),
    #[error("layout version {0}: this loginwatch reads version {VERSION} only")]
    Version(u64),
    #[error("not JSON of layout version {VERSION}: {0}")]
    Json(String),
    #[error("{0}")]
    Field(String),
}

impl UnlockAsk {
    pub fn encode(&self) -> Vec<u8> {
        // Strings and a number: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads and checks a request: bounded, of this layout, every field in
    /// the form the admin API accepts.
    pub fn decode(bytes: &[u8]) -> Result<UnlockAsk, WireError> {
        version(bytes, MAX_ASK)?;
        let a: UnlockAsk =
            serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
        let field = |m: &str| Err(WireError::Field(m.to_owned()));
        if !is_decision_id(&a.id) {
            return field("id: expected 1 to 64 letters, digits or '-'");
        }
        if !text_ok(&a.by, MAX_BY, false) {
            return field("by: expected 1 to 128 characters without control characters");
        }
        if !text_ok(&a.reason, MAX_REASON, true) {
            return field("reason: expected 1 to 2000 characters");
        }
        if !text_ok(&a.credential, MAX_CREDENTIAL, false) {
            return field("credential: expected 1 to 256 characters without control characters");
        }
        if !is_holder(&a.from) {
            return field("from: expected a detector's holder id");
        }
        Ok(a)
    }
}

fn text_ok(s: &str, max: usize, controls: bool) -> bool {
    let n = s.chars().count();
    !s.trim().is_empty() && n <= max && (controls || !s.chars().any(char::is_control))
}

/// Checks the size and the `v` of a body before reading it whole.
fn version(bytes: &[u8], max: usize) -> Result<(), WireError> {
    if bytes.len() > max {
        return Err(WireError::TooLarge(bytes.len(), max));
    }
    #[derive(Deserialize)]
    struct Probe {
        v: Option<serde_json::Value>,
    }
    let p: Probe = serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
    match p.v.as_ref().map(serde_json::Value::as_u64) {
        Some(Some(v)) if v == u64::from(VERSION) => Ok(()),
        Some(Some(v)) => Err(WireError::Version(v)),
        _ => Err(WireError::Json("no numeric `v`".into())),
    }
}

/// A decision as the holder left it: the record the admin API shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ended {
    pub decision: Decision,
    pub status: LockStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlocked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlock_reason: Option<String>,
}

impl Ended {
    pub fn of(r: &DecisionRecord) -> Ended {
        Ended {
            decision: r.decision.clone(),
            status: r.status,
            ended_at: r.ended_at,
            unlocked_by: r.unlocked_by.clone(),
            unlock_reason: r.unlock_reason.clone(),
        }
    }

    /// The record, marked as held by `detector`.
    pub fn record(self, detector: &str) -> DecisionRecord {
        DecisionRecord {
            decision: self.decision,
            status: self.status,
            ended_at: self.ended_at,
            unlocked_by: self.unlocked_by,
            unlock_reason: self.unlock_reason,
            detector: Some(detector.to_owned()),
        }
    }
}

/// What the holder did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Unlocked: the updated record.
    Unlocked { decision: Box<Ended> },
    /// The holder's state has no such decision.
    NotFound,
    /// It is not active any more.
    NotActive { status: LockStatus },
    /// The request was refused or the holder's state failed.
    Failed { error: String },
}

/// The holder's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// [`VERSION`].
    pub v: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Answer {
    pub fn new(outcome: Outcome) -> Answer {
        Answer {
            v: VERSION,
            outcome,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Typed values and strings: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Answer, WireError> {
        version(bytes, MAX_ANSWER)?;
        serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))
    }
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// No process listens on the holder's subject: it is stopped, or not
    /// connected to NATS.
    #[error("no process answers for it (stopped, or not connected to NATS)")]
    NoResponders,
    /// Nobody answered within the wait (a holder without its lease, one
    /// that is stuck, or NATS is not reachable from here).
    #[error("it did not answer within {} s", WAIT.as_secs())]
    Timeout,
    #[error("NATS: {0}")]
    Nats(String),
    #[error("its answer was unreadable: {0}")]
    Answer(WireError),
}

/// Sends `ask` to the detector `holder` and waits up to `wait` for its
/// answer.
pub async fn ask(
    client: &async_nats::Client,
    prefix: &str,
    holder: &str,
    ask: &UnlockAsk,
    wait: Duration,
) -> Result<Answer, AskError> {
    use async_nats::RequestErrorKind;
    let request = client.request(subject(prefix, holder), ask.encode().into());
    match tokio::time::timeout(wait, request).await {
        Err(_) => Err(AskError::Timeout),
        Ok(Err(e)) => match e.kind() {
            RequestErrorKind::NoResponders => Err(AskError::NoResponders),
            RequestErrorKind::TimedOut => Err(AskError::Timeout),
            _ => Err(AskError::Nats(e.to_string())),
        },
        Ok(Ok(msg)) => Answer::decode(&msg.payload).map_err(AskError::Answer),
    }
}

#[cfg(test)]
mod tests;

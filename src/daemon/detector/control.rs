//! Unlocks between detectors, the daemon's side of `crate::fleet::control`:
//! [`Remote`] sends an admin's unlock of another detector's decision to its
//! holder and turns the answer into the API's; [`serve`] answers the
//! requests sent to this detector, through its own store backend, while it
//! holds its slot.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::escape::Escaped;
use crate::fleet::control::{self, Answer, AskError, Ended, Outcome, UnlockAsk};
use crate::fleet::lease::Fence;
use crate::http::{AdminBackend, BackendError, UnlockError};
use crate::state::DecisionRecord;
use crate::telemetry::fleet::ViewMetrics;

/// Sends unlocks to the detector holding the decision.
pub struct Remote {
    pub(super) client: async_nats::Client,
    /// `[fleet] subject_prefix`.
    pub(super) prefix: String,
    /// This detector's holder id (the request's `from`).
    pub(super) me: String,
    /// Where the request runs: the backend is called on the blocking pool.
    pub(super) runtime: tokio::runtime::Handle,
}

impl Remote {
    /// Asks `holder` to unlock `id`; waits at most [`control::WAIT`].
    pub fn unlock(
        &self,
        holder: &str,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
    ) -> Result<DecisionRecord, UnlockError> {
        // Both come from the bucket, which any writer with NATS rights could
        // fill: only well-formed ones go into a subject, a request or a log.
        if !control::is_holder(holder) || !control::is_decision_id(id) {
            return Err(UnlockError::Other(BackendError::Unavailable(format!(
                "decision {} is held, by the decisions bucket's word, by {:?}, which is not a \
                 detector's id: it cannot be asked to unlock it",
                Escaped(id),
                Escaped(holder).to_string()
            ))));
        }
        let ask = UnlockAsk {
            v: control::VERSION,
            id: id.to_owned(),
            by: by.to_owned(),
            reason: reason.to_owned(),
            credential: credential.to_owned(),
            from: self.me.clone(),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (client, prefix, to) = (self.client.clone(), self.prefix.clone(), holder.to_owned());
        // A std channel, not `block_on`: this runs on the blocking pool, and
        // waiting on a channel cannot panic wherever it is called.
        self.runtime.spawn(async move {
            let r = control::ask(&client, &prefix, &to, &ask, control::WAIT).await;
            let _ = tx.send(r);
        });
        let answer = rx
            .recv_timeout(control::WAIT + Duration::from_secs(1))
            .unwrap_or(Err(AskError::Timeout));
        let unavailable = |why: String| {
            UnlockError::Other(BackendError::Unavailable(format!(
                "decision {id} is held by the fleet's detector {holder}, and {why}; it was not \
                 unlocked (try again, or through that detector's API)"
            )))
        };
        match answer {
            Ok(a) => match a.outcome {
                Outcome::Unlocked { decision } => {
                    info!(decision = %id, holder = %holder, "Unlocked by the detector holding it.");
                    Ok(decision.record(holder))
                }
                Outcome::NotFound => Err(UnlockError::NotFound),
                Outcome::NotActive { status } => Err(UnlockError::NotActive(status)),
                Outcome::Failed { error } => {
                    Err(unavailable(format!("it refused: {}", Escaped(&error))))
                }
            },
            Err(e) => {
                warn!(decision = %id, holder = %holder, error = %e, "Unlock not delivered to the detector holding the decision.");
                Err(unavailable(e.to_string()))
            }
        }
    }
}

/// What [`serve`] needs.
pub struct Serve {
    pub client: async_nats::Client,
    pub prefix: String,
    pub me: String,
    /// Whether this process holds its slot: it answers only then.
    pub fence: Fence,
    /// The detector's own backend (its store).
    pub local: Arc<dyn AdminBackend>,
    /// Wakes the bucket task after an unlock.
    pub decided: Arc<tokio::sync::Notify>,
    pub metrics: ViewMetrics,
}

/// Answers the unlocks sent to this detector until `cancel`.
pub async fn serve(s: Serve, cancel: CancellationToken) {
    let subject = control::subject(&s.prefix, &s.me);
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        let mut sub = match s.client.subscribe(subject.clone()).await {
            Ok(sub) => sub,
            Err(e) => {
                failures = failures.saturating_add(1);
                if failures.is_power_of_two() {
                    warn!(error = %e, "Fleet unlocks: cannot subscribe; retrying.");
                }
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(crate::fleet::decisions::backoff(failures)) => {}
                }
                continue;
            }
        };
        info!(subject = %subject, "Fleet unlocks: answering the other detectors' requests.");
        loop {
            let msg = tokio::select! {
                _ = cancel.cancelled() => return,
                m = sub.next() => m,
            };
            let Some(msg) = msg else { break };
            let Some(reply) = msg.reply.clone() else {
                s.metrics.refused.inc();
                continue;
            };
            if !s.fence.held() {
                // Silent: the holder of the slot, if another process, answers.
                debug!("Fleet unlocks: a request while not holding the slot; not answered.");
                continue;
            }
            let answer = answer(&s, &msg.payload).await;
            if let Err(e) = s.client.publish(reply, answer.encode().into()).await {
                warn!(error = %e, "Fleet unlocks: the answer was not sent.");
            }
        }
    }
}

/// The answer to one request: checked, then applied through the local
/// backend with the asking admin's name, reason and credential.
async fn answer(s: &Serve, payload: &[u8]) -> Answer {
    let ask = match UnlockAsk::decode(payload) {
        Ok(a) => a,
        Err(e) => {
            s.metrics.refused.inc();
            warn!(error = %e, "Fleet unlocks: a malformed request refused.");
            return Answer::new(Outcome::Failed {
                error: format!("malformed request: {e}"),
            });
        }
    };
    let local = s.local.clone();
    let credential = credential_of(&ask);
    let (id, by, reason) = (ask.id.clone(), ask.by.clone(), ask.reason.clone());
    let done =
        tokio::task::spawn_blocking(move || local.unlock(&id, &by, &reason, &credential)).await;
    let outcome = match done {
        Ok(Ok(rec)) => {
            s.decided.notify_one();
            info!(
                decision = %ask.id,
                from = %ask.from,
                "Unlocked on the request of the fleet's detector {} by {}: {}",
                ask.from,
                Escaped(&ask.by),
                Escaped(&ask.reason)
            );
            Outcome::Unlocked {
                decision: Box::new(Ended::of(&rec)),
            }
        }
        Ok(Err(UnlockError::NotFound)) => Outcome::NotFound,
        Ok(Err(UnlockError::NotActive(status))) => Outcome::NotActive { status },
        Ok(Err(UnlockError::Other(e))) => Outcome::Failed {
            error: e.to_string(),
        },
        Err(e) => Outcome::Failed {
            error: e.to_string(),
        },
    };
    Answer::new(outcome)
}

/// The credential the audit trail keeps: the asking admin's, and the
/// detector the request came through.
pub fn credential_of(ask: &UnlockAsk) -> String {
    format!("{} via fleet detector {}", ask.credential, ask.from)
}

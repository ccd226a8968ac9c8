//! Auto-unlock: each lock ends at its absolute end time.
//!
//! The store knows the earliest end among active locks; this task sleeps until
//! then (at most a second, so locks decided meanwhile are seen) and expires what
//! is due. After a restart that spanned an end time, the first pass expires it with
//! its true end recorded (the store writes `until`, not the time of noticing).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tracing::{info, warn};

use crate::escape::Escaped;
use crate::state::Store;
use crate::telemetry::{Metrics, UnlockHow};

/// Longest sleep between checks.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Runs until `stop` turns true.
pub async fn run(
    store: Arc<Mutex<Store>>,
    metrics: Arc<Metrics>,
    alerting: Option<Arc<super::alerting::Alerting>>,
    enforcer: Arc<super::enforce::Enforcer>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let store2 = store.clone();
        let metrics2 = metrics.clone();
        let alerting2 = alerting.clone();
        let enforcer2 = enforcer.clone();
        let sleep = tokio::task::spawn_blocking(move || {
            expire_now(&store2, &metrics2, alerting2.as_deref(), Some(&enforcer2))
        })
        .await
        .unwrap_or(MAX_SLEEP);
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Expires what is due now; returns how long to sleep before the next check.
pub fn expire_now(
    store: &Mutex<Store>,
    metrics: &Metrics,
    alerting: Option<&super::alerting::Alerting>,
    enforcer: Option<&super::enforce::Enforcer>,
) -> Duration {
    let Ok(mut store) = store.lock() else {
        return MAX_SLEEP;
    };
    let now = Utc::now();
    let mut ended = Vec::new();
    // The "resolved" alert is committed with the expiry itself (one transaction).
    let render = |r: &crate::state::DecisionRecord| {
        let at = r.ended_at.unwrap_or(now);
        alerting.and_then(|a| {
            a.render(
                &super::alerting::resolved(&r.decision, "auto", at, None, None),
                now,
            )
        })
    };
    match store.expire_due_alerting(now, &render) {
        Ok(expired) => {
            for r in &expired {
                metrics.unlock(UnlockHow::Auto);
                info!(id = %r.decision.id, rule = %Escaped(&r.decision.rule), target = %Escaped(&r.decision.target.to_string()), "Auto-unlocked.");
                ended.push(r.decision.clone());
            }
            if !expired.is_empty()
                && let Ok(counts) = store.active_counts()
            {
                for (action, n) in counts {
                    metrics.set_active_locks(action, n as i64);
                }
            }
        }
        Err(e) => warn!(error = %e, "Expiring locks failed."),
    }
    let sleep = match store.next_expiry() {
        Ok(Some(t)) => (t - now).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP),
        _ => MAX_SLEEP,
    };
    // Inverse actions write their own audit lines: not while holding the store.
    drop(store);
    if let Some(e) = enforcer {
        for d in &ended {
            e.ended(d, now);
        }
    }
    sleep
}

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
use crate::state::{StateError, Store};
use crate::telemetry::{Metrics, UnlockHow};

/// Longest sleep between checks.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Longest wait after failures: a broken database is retried at least this often.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The wait after `failures` failed passes in a row (at least one): doubling
/// from a second up to [`MAX_BACKOFF`], so a full disk or a damaged file costs
/// a query a minute, not one a second.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(6);
    (MAX_SLEEP * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Whether the `failures`-th failure in a row is logged: the first, second,
/// fourth, eighth... (a failure lasting an hour writes seven lines).
fn worth_logging(failures: u32) -> bool {
    failures.is_power_of_two()
}

/// Runs until `stop` is cancelled.
pub async fn run(
    store: Arc<Mutex<Store>>,
    metrics: Arc<Metrics>,
    alerting: Option<Arc<crate::app::alerting::Alerting>>,
    enforcer: Arc<crate::app::enforce::Enforcer>,
    clock: Arc<dyn crate::clock::Clock>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let store2 = store.clone();
        let metrics2 = metrics.clone();
        let alerting2 = alerting.clone();
        let enforcer2 = enforcer.clone();
        let now = clock.now();
        let pass = tokio::task::spawn_blocking(move || {
            expire_now(
                &store2,
                &metrics2,
                alerting2.as_deref(),
                Some(&enforcer2),
                now,
            )
        })
        .await;
        let sleep = match pass {
            Ok(Ok(sleep)) => {
                if failures > 0 {
                    info!(failures, "Expiring locks works again.");
                }
                failures = 0;
                sleep
            }
            Ok(Err(e)) => {
                failures = failures.saturating_add(1);
                if worth_logging(failures) {
                    warn!(error = %e, failures, retry_in = ?backoff(failures), "Expiring locks failed.");
                }
                backoff(failures)
            }
            Err(_) => MAX_SLEEP,
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Expires what is due at `now`; returns how long to sleep before the next
/// check, or why the store could not expire.
pub fn expire_now(
    store: &Mutex<Store>,
    metrics: &Metrics,
    alerting: Option<&crate::app::alerting::Alerting>,
    enforcer: Option<&crate::app::enforce::Enforcer>,
    now: chrono::DateTime<Utc>,
) -> Result<Duration, StateError> {
    let Ok(mut store) = store.lock() else {
        return Ok(MAX_SLEEP);
    };
    let mut ended = Vec::new();
    // The "resolved" alert is committed with the expiry itself (one transaction).
    let render = |r: &crate::state::DecisionRecord| {
        let at = r.ended_at.unwrap_or(now);
        alerting.and_then(|a| {
            a.render(
                &crate::app::alerting::resolved(&r.decision, "auto", at, None, None),
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
        Err(e) => return Err(e),
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
    Ok(sleep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_a_minute_and_are_logged_ever_more_rarely() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
        let logged: Vec<u32> = (1..=100).filter(|&n| worth_logging(n)).collect();
        assert_eq!(logged, [1, 2, 4, 8, 16, 32, 64]);
    }
}

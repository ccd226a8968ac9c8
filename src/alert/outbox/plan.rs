//! The outbox's scheduling decisions, without I/O or a clock: backoff after
//! failures and the per-sink rate limit.
//!
//! Kept pure (state in, decision out, `now` and the jitter passed in) so that
//! "a sink down for an hour" or "a burst of 500 alerts" can be unit-tested in
//! microseconds; [`super::Outbox`] stores the [`SinkState`] in the database so
//! that neither the backoff nor the window is forgotten across a restart.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

pub use crate::state::SinkState;

/// Exponential backoff of one sink after consecutive failed deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure (before jitter).
    pub base: Duration,
    /// Longest delay: a sink that comes back is retried within this.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 5 s doubling to 5 min: a sink down for an hour is probed about a dozen
    /// times per hour once at the cap, and resumes within 5 minutes of recovery.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (1 for the first),
    /// with `jitter` in `[0, 1)`: half of the exponential delay is fixed and
    /// half is random ("equal jitter"), so several daemons (or several sinks
    /// on one receiver) that failed together do not retry in lockstep, and no
    /// retry comes sooner than half the nominal delay.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let nominal = self.base.saturating_mul(1u32 << exp.min(31)).min(self.cap);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        nominal / 2 + nominal.mul_f64(jitter / 2.0)
    }
}

/// At most `max` deliveries per `per`, per sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub per: Duration,
}

/// What one pass may do with one sink's due rows (oldest first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plan {
    /// Enqueue a summary of this many suppressed alerts first (the window
    /// that suppressed them has closed).
    pub summary: Option<u32>,
    /// Attempt this many of the due rows, in order.
    pub send: usize,
    /// Mark this many of the rows after those as suppressed.
    pub suppress: usize,
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Decides what to do with `due` rows of a sink now. Rows are suppressed only
/// when the window is already full of *successful* deliveries: rows left over
/// because a pass could not send them all stay pending for the next pass.
/// Summaries are not rows of `due` (the caller counts them separately) and are
/// never suppressed.
pub fn plan(
    state: &mut SinkState,
    due: usize,
    limit: Option<RateLimit>,
    now: DateTime<Utc>,
) -> Plan {
    let mut p = Plan::default();
    if state.retry_at.is_some_and(|t| now < t) {
        return p; // backing off: hold everything, suppress nothing
    }
    let Some(limit) = limit else {
        p.send = due;
        return p;
    };
    let expired = match state.window_start {
        None => true,
        Some(start) => now >= start + to_delta(limit.per) || now < start,
    };
    if expired {
        state.window_start = Some(now);
        state.window_sent = 0;
        if state.suppressed > 0 {
            p.summary = Some(state.suppressed);
            state.suppressed = 0;
        }
    }
    let allowed = limit.max.saturating_sub(state.window_sent) as usize;
    p.send = due.min(allowed);
    if allowed == 0 {
        p.suppress = due;
        state.suppressed = state
            .suppressed
            .saturating_add(u32::try_from(due).unwrap_or(u32::MAX));
    }
    p
}

/// Records a successful delivery.
pub fn delivered(state: &mut SinkState) {
    state.failures = 0;
    state.retry_at = None;
    state.window_sent = state.window_sent.saturating_add(1);
}

/// Records a failed delivery: the whole sink backs off (one down receiver is
/// probed with one request, not with every queued alert).
pub fn failed(state: &mut SinkState, backoff: &Backoff, jitter: f64, now: DateTime<Utc>) {
    state.failures = state.failures.saturating_add(1);
    state.retry_at = Some(now + to_delta(backoff.delay(state.failures, jitter)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap()
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_bounded_jitter() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(2500));
        assert_eq!(
            b.delay(1, 0.999_999),
            Duration::from_millis(4999) + Duration::from_nanos(997_500)
        );
        assert_eq!(b.delay(2, 0.0), Duration::from_secs(5));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(10));
        assert_eq!(b.delay(50, 0.0), Duration::from_secs(150));
        assert_eq!(b.delay(u32::MAX, 1.0), Duration::from_secs(300));
        assert_eq!(b.delay(3, f64::NAN), Duration::from_secs(10));
    }

    #[test]
    fn a_failure_holds_the_sink_until_retry_at() {
        let mut s = SinkState::default();
        failed(&mut s, &Backoff::default(), 0.0, t(0));
        assert_eq!(plan(&mut s, 3, None, t(1)), Plan::default());
        assert_eq!(plan(&mut s, 3, None, t(3)).send, 3);
        delivered(&mut s);
        assert_eq!((s.failures, s.retry_at), (0, None));
    }

    #[test]
    fn an_hour_down_keeps_probing_at_most_every_five_minutes() {
        let b = Backoff::default();
        let mut s = SinkState::default();
        let mut now = t(0);
        let mut attempts = 0;
        while now < t(3600) {
            if plan(&mut s, 10, None, now).send > 0 {
                attempts += 1;
                failed(&mut s, &b, 0.5, now);
            }
            now += TimeDelta::seconds(1);
        }
        assert!((10..=30).contains(&attempts), "{attempts}");
        // Nothing was suppressed or dropped: without a limit all stay due.
        assert_eq!(s.suppressed, 0);
    }

    #[test]
    fn the_rate_limit_suppresses_only_a_full_window_and_summarises_when_it_reopens() {
        let limit = Some(RateLimit {
            max: 2,
            per: Duration::from_secs(60),
        });
        let mut s = SinkState::default();
        let p = plan(&mut s, 5, limit, t(0));
        assert_eq!((p.summary, p.send, p.suppress), (None, 2, 0));
        delivered(&mut s);
        delivered(&mut s);
        let p = plan(&mut s, 3, limit, t(1));
        assert_eq!((p.send, p.suppress), (0, 3));
        let p = plan(&mut s, 1, limit, t(10));
        assert_eq!((p.send, p.suppress), (0, 1));
        assert_eq!(s.suppressed, 4);
        let p = plan(&mut s, 1, limit, t(60));
        assert_eq!((p.summary, p.send, p.suppress), (Some(4), 1, 0));
        assert_eq!(s.suppressed, 0);
    }

    #[test]
    fn unsent_rows_of_a_partial_window_are_not_suppressed() {
        let limit = Some(RateLimit {
            max: 2,
            per: Duration::from_secs(60),
        });
        let mut s = SinkState::default();
        assert_eq!(plan(&mut s, 5, limit, t(0)).send, 2);
        failed(&mut s, &Backoff::default(), 0.0, t(0)); // nothing went through
        let p = plan(&mut s, 5, limit, t(30));
        assert_eq!((p.send, p.suppress), (2, 0));
    }
}

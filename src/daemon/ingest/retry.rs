//! The retry schedule of failing commits (a full disk, an I/O error).
//!
//! A failing commit pauses reading: the source's positions do not advance past
//! what the failed batch holds, so the batch can be retried as it is and
//! nothing read is lost or decided twice once space returns. The retry backs
//! off exponentially up to [`MAX_DELAY`]; the warning is logged once when the
//! failures start and then at most every [`WARN_EVERY`] (a full disk used to
//! log 1,300 lines a second); `/readyz` reports the problem meanwhile.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::app::StateHealth;
use crate::state::StateError;
use crate::telemetry::Metrics;

/// First retry delay after a failed commit.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// Longest retry delay: a few seconds, so recovery is quick once space returns.
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// Least time between two warnings about the same run of failures.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A run of failed commits and when to try again.
#[derive(Debug)]
pub struct Failing {
    since: Instant,
    failures: u64,
    delay: Duration,
    /// When the next attempt is due.
    pub next_try: Instant,
    last_warn: Instant,
}

impl Failing {
    /// The first failure of a run: counted, warned, reported to `/readyz`.
    pub fn start(e: &StateError, metrics: &Metrics, health: &StateHealth, now: Instant) -> Failing {
        warn!(error = %e, reason = e.reason(), "Committing state failed; reading paused, retrying with backoff until a commit succeeds.");
        let f = Failing {
            since: now,
            failures: 1,
            delay: FIRST_DELAY,
            next_try: now + FIRST_DELAY,
            last_warn: now,
        };
        f.report(e, metrics, health, now);
        f
    }

    /// One more failure: backs off, warns if the last warning is old.
    pub fn again(&mut self, e: &StateError, metrics: &Metrics, health: &StateHealth, now: Instant) {
        self.failures += 1;
        self.delay = (self.delay * 2).min(MAX_DELAY);
        self.next_try = now + self.delay;
        if now.duration_since(self.last_warn) >= WARN_EVERY {
            warn!(error = %e, reason = e.reason(), failures = self.failures, for_seconds = now.duration_since(self.since).as_secs(), "Committing state still fails; reading paused.");
            self.last_warn = now;
        }
        self.report(e, metrics, health, now);
    }

    fn report(&self, e: &StateError, metrics: &Metrics, health: &StateHealth, now: Instant) {
        metrics
            .state_commit_failures
            .with_label_values(&[e.reason()])
            .inc();
        health.set_problem(Some(format!(
            "committing state fails ({}; {} attempts over {} s): {e}; reading is paused until a commit succeeds{}",
            e.reason(),
            self.failures,
            now.duration_since(self.since).as_secs(),
            match e.reason() {
                "disk_full" => " (free space on the state file's file system)",
                "read_only" => " (make the state file and its directory writable)",
                _ => "",
            }
        )));
    }

    /// The run is over: one line says so, `/readyz` turns ready again.
    pub fn recovered(self, health: &StateHealth, now: Instant) {
        info!(
            failures = self.failures,
            for_seconds = now.duration_since(self.since).as_secs(),
            "State commits succeed again; reading resumed."
        );
        health.set_problem(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, ManualClock};

    fn disk_full() -> StateError {
        let e = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL);
        rusqlite::Error::SqliteFailure(e, None).into()
    }

    #[test]
    fn retries_back_off_from_250_ms_doubling_to_4_s_and_readyz_says_why_until_recovery() {
        let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
        let (metrics, health) = (Metrics::new(), StateHealth::default());
        let t0 = clock.instant();
        let mut f = Failing::start(&disk_full(), &metrics, &health, t0);
        assert_eq!(f.next_try, t0 + FIRST_DELAY);
        let problem = health.problem().unwrap();
        assert!(
            problem.contains("disk_full") && problem.contains("free space"),
            "{problem}"
        );

        let mut delays = Vec::new();
        for _ in 0..6 {
            clock.advance(f.next_try - clock.instant());
            f.again(&disk_full(), &metrics, &health, clock.instant());
            delays.push((f.next_try - clock.instant()).as_millis());
        }
        assert_eq!(delays, [500, 1000, 2000, 4000, 4000, 4000]);
        assert!(health.problem().unwrap().contains("7 attempts"));
        assert_eq!(
            metrics
                .state_commit_failures
                .with_label_values(&["disk_full"])
                .get(),
            7
        );

        f.recovered(&health, clock.instant());
        assert_eq!(health.problem(), None);
    }
}

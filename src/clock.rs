//! Time as the daemon reads it: the wall clock for what is stored and shown
//! (commit times, sweeps, screening), the monotonic clock for intervals
//! (checkpoint interval, reload checks, retry delays). One [`Clock`] is handed
//! to every part of the daemon that needs either, so a test can drive time
//! ([`ManualClock`]) instead of sleeping. Rule windows never read it: they run
//! on the events' own time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Wall-clock time.
    fn now(&self) -> DateTime<Utc>;
    /// Monotonic time, for intervals.
    fn instant(&self) -> Instant;
}

/// The system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to: both readings advance together.
#[derive(Debug)]
pub struct ManualClock {
    at: Mutex<(DateTime<Utc>, Instant)>,
}

impl ManualClock {
    /// A clock reading `start` (and the current instant).
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            at: Mutex::new((start, Instant::now())),
        }
    }

    /// Moves both readings forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        at.0 += chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::MAX);
        at.1 += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.at.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    fn instant(&self) -> Instant {
        self.at.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_both_readings_only_when_advanced() {
        let start = DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .unwrap()
            .to_utc();
        let c = ManualClock::new(start);
        let i = c.instant();
        assert_eq!(c.now(), start);
        assert_eq!(c.instant(), i);
        c.advance(Duration::from_secs(90));
        assert_eq!(c.now(), start + chrono::TimeDelta::seconds(90));
        assert_eq!(c.instant(), i + Duration::from_secs(90));
    }
}

//! The ingest loop's housekeeping tick: what it does besides reading lines,
//! on the same thread so that nothing in the pipeline needs a lock. New rule
//! sets from the reload task are swapped in; the enrichment files (GeoIP, IP
//! lists, inventory) are checked for change every [`RELOAD_CHECK`]; the
//! account sweep runs at start-up and then every [`super::super::sweep::EVERY`].
//! Time comes from the daemon's [`Clock`], so a test drives the schedule.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::info;

use crate::clock::Clock;
use crate::daemon::sweep;
use crate::decision::Decision;
use crate::pipeline::Pipeline;
use crate::rules::RuleSet;
use crate::state::Store;

/// How often the enrichment files (GeoIP, lists, inventory) are checked for change.
pub const RELOAD_CHECK: Duration = Duration::from_secs(5);

/// Which chores a tick would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Due {
    reload: bool,
    sweep: bool,
}

/// The schedule of the tick's chores.
pub struct Housekeeping {
    /// New rule sets from the reload task.
    reloads: Receiver<Arc<RuleSet>>,
    store: Arc<Mutex<Store>>,
    clock: Arc<dyn Clock>,
    last_reload_check: Instant,
    /// `None` until the first sweep (at start-up).
    last_sweep: Option<Instant>,
}

impl Housekeeping {
    pub fn new(
        reloads: Receiver<Arc<RuleSet>>,
        store: Arc<Mutex<Store>>,
        clock: Arc<dyn Clock>,
    ) -> Housekeeping {
        let last_reload_check = clock.instant();
        Housekeeping {
            reloads,
            store,
            clock,
            last_reload_check,
            last_sweep: None,
        }
    }

    /// Swaps in the rule sets the reload task sent (every loop, also while
    /// commits fail: a fixed rule file must not wait for the disk).
    pub fn apply_reloads(&mut self, pipeline: &mut Pipeline) {
        while let Ok(set) = self.reloads.try_recv() {
            let report = pipeline.engine_mut().reload(set);
            info!(?report, "Rules reloaded.");
        }
    }

    /// What is due now.
    fn due(&self, stopping: bool) -> Due {
        let now = self.clock.instant();
        Due {
            reload: now.duration_since(self.last_reload_check) >= RELOAD_CHECK,
            sweep: !stopping
                && self
                    .last_sweep
                    .is_none_or(|t| now.duration_since(t) >= sweep::EVERY),
        }
    }

    /// Refreshes enrichment and runs the sweep when due (not while
    /// `stopping`). Returns the sweep's decisions.
    pub fn tick(&mut self, stopping: bool, pipeline: &mut Pipeline) -> Vec<Decision> {
        let due = self.due(stopping);
        let now = self.clock.instant();
        if due.reload {
            pipeline.reload_enrichment();
            self.last_reload_check = now;
        }
        if !due.sweep {
            return Vec::new();
        }
        self.last_sweep = Some(now);
        sweep::run(pipeline, &self.store, self.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::decision::Mode;
    use crate::rules::Engine;

    #[test]
    fn the_sweep_runs_at_start_then_daily_and_enrichment_is_checked_every_five_seconds() {
        let start = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Arc::new(ManualClock::new(start));
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        let (_tx, rx) = mpsc::channel();
        let mut h = Housekeeping::new(rx, Arc::new(Mutex::new(store)), clock.clone());
        let rules = Arc::new(crate::rules::builtin().unwrap());
        let mut pipeline = Pipeline::new(
            Engine::new(rules, Mode::Recommend),
            crate::pipeline::geoip_only(None),
        );
        let due = |h: &Housekeeping| h.due(false);

        assert_eq!(
            due(&h),
            Due {
                reload: false,
                sweep: true
            }
        );
        assert_eq!(
            h.due(true),
            Due {
                reload: false,
                sweep: false
            },
            "no sweep while stopping"
        );
        h.tick(false, &mut pipeline);
        assert_eq!(
            due(&h),
            Due {
                reload: false,
                sweep: false
            }
        );

        clock.advance(RELOAD_CHECK);
        assert_eq!(
            due(&h),
            Due {
                reload: true,
                sweep: false
            }
        );
        h.tick(false, &mut pipeline);
        assert_eq!(
            due(&h),
            Due {
                reload: false,
                sweep: false
            }
        );

        clock.advance(sweep::EVERY - RELOAD_CHECK - Duration::from_secs(1));
        assert_eq!(
            due(&h),
            Due {
                reload: true,
                sweep: false
            }
        );
        h.tick(false, &mut pipeline);
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            due(&h),
            Due {
                reload: false,
                sweep: true
            },
            "a day after the first sweep"
        );
        h.tick(false, &mut pipeline);
        assert_eq!(
            due(&h),
            Due {
                reload: false,
                sweep: false
            }
        );
    }
}

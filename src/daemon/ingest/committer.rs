//! The committer: one SQLite transaction holds the source positions, the
//! engine's and parsers' snapshots, the account facts and the decisions made
//! since the last commit, with the alerts of the new decisions rendered into
//! the same transaction. After it: metrics of the new decisions, and their
//! enforcement. A failing commit pauses reading and is retried with backoff
//! ([`super::retry`]); a lost database stops the daemon.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{error, warn};

use super::lines::Lines;
use super::retry::Failing;
use crate::app::{Alerting, Enforcer, StateHealth};
use crate::clock::Clock;
use crate::daemon::samples::{LineReader, Samples};
use crate::decision::{Decision, Mode};
use crate::event::Name;
use crate::pipeline::Pipeline;
use crate::source::Source;
use crate::state::{Batch, EngineSnapshot, FactUpdate, StateError, Store};
use crate::telemetry::Metrics;

/// Facts and account rows of a batch whose commit failed: they were taken
/// from the pipeline, so they are kept here and committed with the retry.
#[derive(Default)]
struct Carry {
    facts: Vec<FactUpdate>,
    accounts: Vec<(Name, Vec<u8>)>,
}

/// What a commit reads besides its own state, borrowed from the loop.
pub(super) struct Input<'a> {
    pub pipeline: &'a mut Pipeline,
    pub source: &'a dyn Source,
    /// The detector's stream position, committed with the rest.
    pub feed: Option<&'a mut super::Feed>,
    pub lines: &'a mut Lines,
    /// Decisions made since the last commit; emptied by a successful one.
    pub pending: &'a mut Vec<Decision>,
}

/// The database was lost or damaged: the loop must stop.
pub(super) struct Fatal;

/// Commits, their schedule and their failures.
pub struct Committer {
    store: Arc<Mutex<Store>>,
    /// Alert sinks, when configured: new decisions' alerts are committed with them.
    alerting: Option<Arc<Alerting>>,
    /// Safety filter and actions for decisions in mode `enforce`.
    enforcer: Arc<Enforcer>,
    metrics: Arc<Metrics>,
    /// Failing commits for `/readyz`; a lost database stops the daemon.
    health: Arc<StateHealth>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    last_commit: Instant,
    /// Something was read or decided since the last commit.
    dirty: bool,
    carry: Carry,
    failing: Option<Failing>,
    /// Engine counters at the last look (see [`Committer::engine_metrics`]).
    last_counts: HashMap<(Name, &'static str), u64>,
}

/// What the committer is built from.
pub struct CommitterParts {
    pub store: Arc<Mutex<Store>>,
    pub alerting: Option<Arc<Alerting>>,
    pub enforcer: Arc<Enforcer>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<StateHealth>,
    pub clock: Arc<dyn Clock>,
    /// Longest time between two commits while lines come in.
    pub interval: Duration,
}

impl Committer {
    pub fn new(p: CommitterParts) -> Committer {
        let last_commit = p.clock.instant();
        Committer {
            store: p.store,
            alerting: p.alerting,
            enforcer: p.enforcer,
            metrics: p.metrics,
            health: p.health,
            clock: p.clock,
            interval: p.interval,
            last_commit,
            dirty: false,
            carry: Carry::default(),
            failing: None,
            last_counts: HashMap::new(),
        }
    }

    /// Something to commit was read or decided.
    pub(super) fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// How long reading stays paused for a failing commit (`None`: not paused).
    pub(super) fn paused_for(&self) -> Option<Duration> {
        let f = self.failing.as_ref()?;
        Some(f.next_try.saturating_duration_since(self.clock.instant()))
    }

    /// While paused: retries the held batch when its time has come (or at
    /// shutdown).
    pub(super) fn retry_if_due(&mut self, stopping: bool, input: Input<'_>) -> Result<(), Fatal> {
        let now = self.clock.instant();
        let Some(f) = &self.failing else {
            return Ok(());
        };
        if fenced(&input) {
            return Ok(());
        };
        if !stopping && now < f.next_try {
            return Ok(());
        }
        match self.commit(input) {
            Ok(()) => {
                if let Some(f) = self.failing.take() {
                    f.recovered(&self.health, now);
                }
                self.dirty = false;
                self.last_commit = self.clock.instant();
                Ok(())
            }
            Err(e) if e.is_fatal() => Err(self.stop_fatal(&e)),
            Err(e) => {
                if let Some(f) = self.failing.as_mut() {
                    f.again(&e, &self.metrics, &self.health, now);
                }
                Ok(())
            }
        }
    }

    /// Commits when there is something to commit and it is time: the interval
    /// has passed, decisions wait, or the daemon is stopping.
    pub(super) fn commit_if_due(&mut self, stopping: bool, input: Input<'_>) -> Result<(), Fatal> {
        let due = self.clock.instant().duration_since(self.last_commit) >= self.interval;
        if !(self.dirty && (due || stopping || !input.pending.is_empty())) {
            return Ok(());
        }
        if fenced(&input) {
            if stopping {
                warn!(
                    decisions = input.pending.len(),
                    "Stopping without the last commit: this detector does not hold its fleet slot \
                     (the slot's holder reads those events again)."
                );
            }
            return Ok(());
        }
        let engine_stats = input.pipeline.engine().stats();
        let result = match self.commit(input) {
            Ok(()) => {
                self.dirty = false;
                self.last_commit = self.clock.instant();
                Ok(())
            }
            Err(e) if e.is_fatal() => return Err(self.stop_fatal(&e)),
            Err(e) => {
                let now = self.clock.instant();
                self.failing = Some(Failing::start(&e, &self.metrics, &self.health, now));
                Ok(())
            }
        };
        self.engine_metrics(&engine_stats);
        result
    }

    /// The database was lost or damaged under the daemon: nothing more is
    /// written, and the main task is told to stop with this error.
    fn stop_fatal(&self, e: &StateError) -> Fatal {
        error!(error = %e, "State database lost or damaged; stopping.");
        self.health.set_fatal(e.to_string());
        Fatal
    }

    fn commit(&mut self, input: Input<'_>) -> Result<(), StateError> {
        let Input {
            pipeline,
            source,
            mut feed,
            lines,
            pending,
        } = input;
        let now = self.clock.now();
        // Screened at every attempt: the breaker counts distinct accounts, so a
        // retried batch is not counted twice.
        {
            let inventory = pipeline
                .enrichment()
                .inventory
                .as_ref()
                .map(|h| h.current());
            self.enforcer.screen(pending, inventory.as_deref(), now);
        }
        let mut facts = std::mem::take(&mut self.carry.facts);
        facts.extend(pipeline.take_facts());
        let mut accounts = std::mem::take(&mut self.carry.accounts);
        accounts.extend(pipeline.take_account_rows());
        let parser_snapshots = lines.parser_snapshots();
        // Rows first delivered since the last commit (restored on failure).
        let seen_rows = lines.once.take_fresh();
        // The engine is streamed into the commit, never copied whole.
        let (engine, enrichment) = pipeline.engine_and_enrichment_mut();
        let mut batch = Batch {
            checkpoints: source.checkpoints(),
            cursors: {
                let mut c = source.cursors();
                c.extend(feed.as_ref().map(|f| f.cursors()).unwrap_or_default());
                c
            },
            seen_rows,
            engine_snapshot: Some(EngineSnapshot::Streamed(engine)),
            parser_snapshots,
            decisions: pending.clone(),
            facts,
            accounts,
            at: now,
        };
        let Ok(mut store) = self.store.lock() else {
            // A thread panicked holding the store: nothing sensible is left to do
            // but stop committing; the next restart resumes from the last commit.
            return Ok(());
        };
        let (alerting, samples) = (&self.alerting, &lines.samples);
        // One reader for the whole commit: each log file is opened once, not per alert.
        let mut reader = LineReader::default();
        let mut render = |d: &Decision| {
            // A held lock's alert is the storm's: one alert, not one per account.
            if d.mode == Mode::Held {
                return None;
            }
            alerting
                .as_ref()
                .and_then(|a| a.render(&firing_alert(d, enrichment, samples, &mut reader), now))
        };
        let result = match store.commit_alerting(&batch, &mut render) {
            Ok(r) => r,
            Err(e) => {
                // Kept for the retry: the pipeline has handed them over.
                self.carry.facts = std::mem::take(&mut batch.facts);
                self.carry.accounts = std::mem::take(&mut batch.accounts);
                lines
                    .once
                    .restore_fresh(std::mem::take(&mut batch.seen_rows));
                return Err(e);
            }
        };
        for d in batch
            .decisions
            .iter()
            .filter(|d| result.new.contains(&d.id))
        {
            self.metrics
                .decision(&d.rule, d.action, d.mode, d.assessment);
        }
        if let Ok(counts) = store.active_counts() {
            for (action, n) in counts {
                self.metrics.set_active_locks(action, n as i64);
            }
        }
        drop(store);
        // Committed: the stream's messages up to the position may be acked.
        if let Some(f) = feed.as_mut() {
            f.committed();
            if !result.new.is_empty() {
                f.decided();
            }
        }
        let inventory = pipeline
            .enrichment()
            .inventory
            .as_ref()
            .map(|h| h.current());
        // `pending` is what the batch committed (the batch borrows the engine).
        for d in pending.iter().filter(|d| result.new.contains(&d.id)) {
            self.enforcer
                .decided(d, inventory.as_deref(), self.clock.now());
        }
        lines.samples.clear_captured();
        lines.once.prune(now);
        pending.clear();
        Ok(())
    }

    /// Engine counters into metrics. The engine's counters restart at zero for a
    /// rule that a reload changed, so what is added is the growth since the last
    /// look, or the whole value after such a reset.
    fn engine_metrics(&mut self, stats: &crate::rules::EngineStats) {
        let last = &mut self.last_counts;
        let mut delta = |rule: &Name, what: &'static str, now: u64| {
            let prev = last.insert((rule.clone(), what), now).unwrap_or(0);
            if now >= prev { now - prev } else { now }
        };
        for r in &stats.rules {
            let id: &str = &r.rule;
            self.metrics
                .tracked_keys
                .with_label_values(&[id])
                .set(r.keys as i64);
            self.metrics
                .evicted_keys
                .with_label_values(&[id])
                .inc_by(delta(&r.rule, "evicted", r.evicted));
            self.metrics
                .rule_matches
                .with_label_values(&[id])
                .inc_by(delta(&r.rule, "matches", r.matches));
        }
    }
}

/// The firing alert of `d`: its account from the inventory, the GeoIP facts of
/// its target address (else of the first address of its evidence), and the raw
/// lines captured when it was made, read back now.
fn firing_alert(
    d: &Decision,
    enrichment: &mut crate::enrich::Loaded,
    samples: &Samples,
    reader: &mut LineReader,
) -> crate::alert::Alert {
    let inventory = enrichment.inventory.as_ref();
    let account =
        d.target.user.as_deref().and_then(|u| {
            inventory.and_then(|h| crate::enrich::AccountLookup::account(h.as_ref(), u))
        });
    let enricher = &mut enrichment.enricher;
    let geo = d
        .target
        .ip
        .or_else(|| d.evidence.source_ips.first().copied())
        .filter(|_| enricher.geo_active())
        .and_then(|ip| enricher.facts(ip).geo);
    let lines = reader.read(samples.captured(&d.id));
    crate::app::alerting::firing_with(d, account, geo, lines)
}

/// A detector that does not hold its fleet slot (its lease is not renewed,
/// or lost) commits nothing: the batch waits, dirty, until the lease is
/// renewed; at a stop it is dropped, and the slot's next holder reads its
/// events again from the last commit (`crate::fleet::lease`).
fn fenced(input: &Input<'_>) -> bool {
    input.feed.as_ref().is_some_and(|f| !f.may_commit())
}

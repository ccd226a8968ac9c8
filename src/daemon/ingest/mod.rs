//! The ingest loop: source -> parser -> pipeline -> state, on one thread.
//!
//! Everything on this path is synchronous and owned by one thread (no locks per
//! line): the source hands out complete lines, the source's parser turns them
//! into events ([`lines`]), the pipeline turns events into decisions. Every `checkpoint_interval`
//! (and at shutdown) one SQLite transaction commits the file offsets together with
//! the engine's and parsers' snapshots and the decisions made since the last
//! commit. A `kill -9` therefore loses nothing and repeats nothing: the restart
//! resumes from a state where offsets, windows and correlation tables agree, and
//! re-derived decisions carry the same deterministic ids (`INSERT OR IGNORE`).
//!
//! Alerts are rendered within that commit and written to the outbox in the
//! same transaction, only for decisions whose insert is new: a crash can
//! neither lose a decision's alert nor queue it twice. The lines an alert quotes
//! are tracked per target as references ([`super::samples`]), read back only
//! for the decisions being alerted.
//!
//! The pieces: [`lines`] (the per-line stage), [`housekeeping`] (rule
//! reloads, enrichment refresh, the account sweep), [`committer`] (the
//! transaction, alert rendering, enforcement, metrics) with [`retry`] (the
//! backoff of failing commits); this file is the loop that drives them. Time
//! comes from one [`Clock`], shutdown from one [`CancellationToken`].

pub mod committer;
pub mod exports;
pub mod feed;
pub mod housekeeping;
pub mod lines;
pub mod retry;

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use committer::{Committer, CommitterParts};
pub use feed::Feed;
pub use housekeeping::Housekeeping;
pub use lines::{Lines, SourceParse};

use crate::clock::Clock;
use crate::decision::Decision;
use crate::escape::Escaped;
use crate::event::rfc3339;
use crate::pipeline::Pipeline;
use crate::source::{Loss, Source, SourceStatus, TailEvent};
use crate::telemetry::Metrics;
use committer::Input;
use lines::BatchCounts;

/// Lines handled per source poll before the loop looks at reloads and commits.
const BATCH_LINES: usize = 16 * 1024;

/// The ingest thread: its stages, and what wakes and stops it.
pub struct Ingest {
    pub source: Box<dyn Source>,
    /// The detector's input (`loginwatch run` with `[fleet]`): the fleet's
    /// events from the stream, beside the local sources (none then).
    pub feed: Option<Feed>,
    pub lines: Lines,
    /// Enrichment, account facts and the rules: the core `replay` runs too.
    pub pipeline: Pipeline,
    pub housekeeping: Housekeeping,
    pub committer: Committer,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Wake-ups from the file watcher, with when the change was seen: the closest
    /// this process can know of when a line was appended.
    pub wake: Receiver<Instant>,
    pub poll_interval: Duration,
    /// Source status for `/readyz`, refreshed every loop.
    pub status: Arc<Mutex<Vec<SourceStatus>>>,
    /// Raised at every turn of the loop: the watchdog pings only while it moves.
    pub heartbeat: crate::daemon::notify::Heartbeat,
    /// Cancelled at shutdown (the loop is also woken through `wake`).
    pub cancel: CancellationToken,
}

impl Ingest {
    /// Runs until `cancel` is cancelled, then commits a last time.
    pub fn run(mut self) {
        let mut pending: Vec<Decision> = Vec::new();
        let mut woke_at: Option<Instant> = None;
        // Sources whose missing file was reported (once, not per poll).
        let mut missing = std::collections::HashSet::new();
        // Each source's losses at the last look: the metric adds the difference.
        let mut losses = std::collections::HashMap::new();
        loop {
            self.heartbeat.beat();
            let stopping = self.cancel.is_cancelled();
            self.housekeeping.apply_reloads(&mut self.pipeline);
            if self.committer.paused_for().is_some() {
                // Paused: nothing is read (the positions stay those of the
                // held batch) until a retry commits it.
                let input = Input {
                    pipeline: &mut self.pipeline,
                    source: self.source.as_ref(),
                    feed: self.feed.as_mut(),
                    lines: &mut self.lines,
                    pending: &mut pending,
                };
                if self.committer.retry_if_due(stopping, input).is_err() || stopping {
                    return;
                }
                if let Some(wait) = self.committer.paused_for() {
                    let _ = self.wake.recv_timeout(wait.min(self.poll_interval));
                    while self.wake.try_recv().is_ok() {}
                    continue;
                }
            }
            // Decision latency is measured from the earliest wake-up this poll
            // answers (notify fires as the writer appends), else from now.
            let read_at = woke_at.take().unwrap_or_else(|| self.clock.instant());
            let swept = self.housekeeping.tick(stopping, &mut self.pipeline);
            if !swept.is_empty() {
                swept.iter().for_each(log_decision);
                self.committer.mark_dirty();
                pending.extend(swept);
            }
            let more = self.read(read_at, &mut pending);
            self.report_status(&mut missing, &mut losses);
            let input = Input {
                pipeline: &mut self.pipeline,
                source: self.source.as_ref(),
                feed: self.feed.as_mut(),
                lines: &mut self.lines,
                pending: &mut pending,
            };
            if self.committer.commit_if_due(stopping, input).is_err() || stopping {
                return;
            }
            if more {
                continue;
            }
            match self.wake.recv_timeout(self.poll_interval) {
                Ok(at) => woke_at = Some(at),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(self.poll_interval),
            }
            // Coalesce a burst of wake-ups into one poll.
            while self.wake.try_recv().is_ok() {}
        }
    }

    /// One poll of the source: its lines through the pipeline, decisions into
    /// `pending`. Returns whether more lines may be waiting.
    fn read(&mut self, read_at: Instant, pending: &mut Vec<Decision>) -> bool {
        let mut counts = BatchCounts::default();
        let mut made: Vec<Decision> = Vec::new();
        let now = self.clock.now();
        let Ingest {
            source,
            lines,
            pipeline,
            feed,
            metrics,
            ..
        } = self;
        let result = source.poll(BATCH_LINES, &mut |line| {
            lines.handle(line, pipeline, now, &mut counts, &mut made);
        });
        let fed = feed.as_mut().map_or_else(Default::default, |f| {
            f.drain(BATCH_LINES, pipeline, metrics, &mut made)
        });
        if fed.advanced > 0 {
            self.committer.mark_dirty();
        }
        for ev in &result.events {
            ev.log();
            if let TailEvent::Completed { source, file, path } = ev {
                self.lines.export_completed(source, *file, path);
            }
            if let TailEvent::Truncated {
                source,
                lost_bytes: Some(n @ 1..),
                ..
            } = ev
            {
                self.metrics.truncated_bytes(source, *n);
            }
        }
        if result.lines > 0 {
            self.committer.mark_dirty();
        }
        counts.flush(&self.metrics);
        if !made.is_empty() {
            let elapsed = self.clock.instant().duration_since(read_at).as_secs_f64();
            for d in &made {
                self.metrics.event_to_decision_seconds.observe(elapsed);
                log_decision(d);
            }
            pending.extend(made);
        }
        result.more || fed.taken == BATCH_LINES
    }

    /// Source health into metrics and `/readyz`; a missing file is logged once
    /// when it goes missing. `losses` holds the totals of the last call.
    fn report_status(
        &self,
        missing: &mut std::collections::HashSet<String>,
        losses: &mut std::collections::HashMap<(String, Loss), u64>,
    ) {
        let mut status = self.source.status();
        self.lines.warnings(&mut status);
        for (source, loss, total) in self.source.losses() {
            let seen = losses.entry((source.clone(), loss)).or_default();
            if total > *seen {
                self.metrics
                    .source_dropped
                    .with_label_values(&[source.as_str(), loss.as_str()])
                    .inc_by(total - *seen);
                *seen = total;
            }
        }
        for s in &status {
            self.metrics.set_source_up(&s.name, s.is_up());
            // Every reason at zero: a flat line on the dashboard, not "no data".
            for loss in Loss::ALL {
                self.metrics
                    .source_dropped
                    .with_label_values(&[s.name.as_str(), loss.as_str()]);
            }
            match s.missing_hint() {
                Some(hint) if missing.insert(s.name.clone()) => {
                    warn!(source = %Escaped(&s.name), "{}; waiting for it.", Escaped(&hint))
                }
                Some(_) => {}
                None => {
                    missing.remove(&s.name);
                }
            }
            self.metrics
                .source_lag_bytes
                .with_label_values(&[s.name.as_str()])
                .set(s.lag_bytes as i64);
        }
        if let Ok(mut st) = self.status.lock() {
            *st = status;
        }
    }
}

/// One readable line per decision.
fn log_decision(d: &Decision) {
    let target = d.target.to_string();
    info!(
        rule = %Escaped(&d.rule),
        action = %d.action,
        target = %Escaped(&target),
        until = %d.until.map(|t| rfc3339(&t)).unwrap_or_else(|| "admin unlock".into()),
        count = d.evidence.count,
        id = %d.id,
        "Decision: {} {} ({})",
        d.action,
        Escaped(&target),
        Escaped(&d.rule)
    );
}

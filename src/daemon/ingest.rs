//! The ingest loop: tailer -> parser -> rule engine -> state, on one thread.
//!
//! Everything on this path is synchronous and owned by one thread (no locks per
//! line): the tailer hands out complete lines, the source's parser turns them into
//! events, the engine turns events into decisions. Every `checkpoint_interval`
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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{error, info, warn};

use crate::decision::Decision;
use crate::escape::Escaped;
use crate::event::{Name, Outcome, rfc3339};
use crate::intern::Interner;
use crate::parse::{Format, LineCtx, ParseOptions, Parser, UnparsedReason, Zone, detect};
use crate::pipeline::Pipeline;
use crate::rules::RuleSet;
use crate::source::{SourceStatus, TailEvent, TailLine, Tailer};
use crate::state::{Batch, EngineSnapshot, Store};
use crate::telemetry::Metrics;

/// How often the enrichment files (GeoIP, lists, inventory) are checked for change.
const RELOAD_CHECK: Duration = Duration::from_secs(5);

/// Lines handled per tailer poll before the loop looks at reloads and commits.
const BATCH_LINES: usize = 16 * 1024;

/// One configured source's parsing state. One parser per source, not per file:
/// OpenSSH can split one attempt across a rotation, and the correlation table
/// is keyed by host and pid anyway.
pub struct SourceParse {
    /// Configured format (`Auto` is resolved on the first line).
    pub format: Format,
    pub zone: Zone,
    pub parser: Option<Parser>,
    /// Snapshot restored before the parser existed (applied when it is created).
    pub pending_restore: Option<Vec<u8>>,
}

/// Counters accumulated per batch and added to the metrics in bulk, so the hot
/// path neither looks up label values nor allocates per line.
#[derive(Default)]
struct BatchCounts {
    per_source: HashMap<String, SourceCounts>,
}

#[derive(Default)]
struct SourceCounts {
    lines: u64,
    /// By outcome: success, failure, unknown.
    events: [u64; 3],
    unparsed: HashMap<UnparsedReason, u64>,
}

impl BatchCounts {
    fn source(&mut self, name: &str) -> &mut SourceCounts {
        // Look up by &str first: the String is allocated once per source per batch.
        if !self.per_source.contains_key(name) {
            self.per_source
                .insert(name.to_owned(), SourceCounts::default());
        }
        self.per_source.get_mut(name).expect("inserted above")
    }
}

const OUTCOMES: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Unknown];

fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Success => 0,
        Outcome::Failure => 1,
        Outcome::Unknown => 2,
    }
}

/// Inputs of the ingest thread.
pub struct Ingest {
    pub tailer: Tailer,
    pub sources: HashMap<String, SourceParse>,
    /// Enrichment, account facts and the rules: the core `replay` runs too.
    pub pipeline: Pipeline,
    /// Alert sinks, when configured: new decisions' alerts are committed with them.
    pub alerting: Option<Arc<crate::app::alerting::Alerting>>,
    /// Recent raw lines per target, quoted by alerts.
    pub samples: super::samples::Samples,
    /// Safety filter and actions for decisions in mode `enforce`.
    pub enforcer: Arc<crate::app::enforce::Enforcer>,
    pub store: Arc<Mutex<Store>>,
    pub metrics: Arc<Metrics>,
    pub year: Option<i32>,
    pub checkpoint_interval: Duration,
    pub poll_interval: Duration,
    /// Wake-ups from the file watcher, with when the change was seen: the closest
    /// this process can know of when a line was appended.
    pub wake: Receiver<Instant>,
    /// New rule sets from the reload task.
    pub reloads: Receiver<Arc<RuleSet>>,
    pub shutdown: Arc<AtomicBool>,
    /// Source status for `/readyz`, refreshed every loop.
    pub status: Arc<Mutex<Vec<SourceStatus>>>,
    /// Failing commits for `/readyz`; a lost database stops the daemon.
    pub health: Arc<crate::app::health::StateHealth>,
}

/// Facts and account rows of a batch whose commit failed: they were taken
/// from the pipeline, so they are kept here and committed with the retry.
#[derive(Default)]
struct Carry {
    facts: Vec<crate::state::FactUpdate>,
    accounts: Vec<(Name, Vec<u8>)>,
}

impl Ingest {
    /// Runs until `shutdown` is set, then commits a last time.
    pub fn run(mut self) {
        let mut pending: Vec<Decision> = Vec::new();
        let mut interner = Interner::default();
        let mut last_commit = Instant::now();
        let mut dirty = false;
        let mut woke_at: Option<Instant> = None;
        let mut last_reload_check = Instant::now();
        // The account sweep runs at start-up, then daily.
        let mut last_sweep: Option<Instant> = None;
        let mut missing: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut last_counts: HashMap<(Name, &'static str), u64> = HashMap::new();
        let mut carry = Carry::default();
        let mut failing: Option<crate::app::health::Failing> = None;
        loop {
            let stopping = self.shutdown.load(Ordering::SeqCst);
            while let Ok(set) = self.reloads.try_recv() {
                let report = self.pipeline.engine_mut().reload(set);
                info!(?report, "Rules reloaded.");
            }
            if let Some(f) = failing.as_mut() {
                // Paused: nothing is read (the positions stay those of the
                // held batch) until a retry commits it.
                if stopping || Instant::now() >= f.next_try {
                    match self.commit(&mut pending, &mut carry) {
                        Ok(()) => {
                            if let Some(f) = failing.take() {
                                f.recovered(&self.health);
                            }
                            dirty = false;
                            last_commit = Instant::now();
                        }
                        Err(e) if e.is_fatal() => return self.stop_fatal(&e),
                        Err(e) => f.again(&e, &self.metrics, &self.health),
                    }
                }
                if stopping {
                    return;
                }
                if let Some(f) = &failing {
                    let wait = f.next_try.saturating_duration_since(Instant::now());
                    let _ = self.wake.recv_timeout(wait.min(self.poll_interval));
                    while self.wake.try_recv().is_ok() {}
                    continue;
                }
            }
            // Decision latency is measured from the earliest wake-up this poll
            // answers (notify fires as the writer appends), else from now.
            let read_at = woke_at.take().unwrap_or_else(Instant::now);
            let mut counts = BatchCounts::default();
            let mut made: Vec<Decision> = Vec::new();
            if last_reload_check.elapsed() >= RELOAD_CHECK {
                self.pipeline.reload_enrichment();
                last_reload_check = Instant::now();
            }
            if !stopping && last_sweep.is_none_or(|t| t.elapsed() >= super::sweep::EVERY) {
                let found = super::sweep::run(&self.pipeline, &self.store, Utc::now());
                for d in &found {
                    log_decision(d);
                }
                if !found.is_empty() {
                    dirty = true;
                    pending.extend(found);
                }
                last_sweep = Some(Instant::now());
            }
            let result = {
                let Ingest {
                    tailer,
                    sources,
                    pipeline,
                    year,
                    samples,
                    ..
                } = &mut self;
                let year = *year;
                tailer.poll(BATCH_LINES, &mut |line: TailLine<'_>| {
                    handle_line(
                        line,
                        sources,
                        pipeline,
                        &mut interner,
                        samples,
                        year,
                        &mut counts,
                        &mut made,
                    );
                })
            };
            for ev in &result.events {
                log_tail_event(ev);
                if let TailEvent::Truncated {
                    source,
                    lost_bytes: Some(n @ 1..),
                    ..
                } = ev
                {
                    self.metrics.truncated_bytes(source, *n);
                }
            }
            let got_lines = result.lines > 0;
            if got_lines {
                dirty = true;
            }
            self.flush_counts(counts);
            if !made.is_empty() {
                let elapsed = read_at.elapsed().as_secs_f64();
                for d in &made {
                    self.metrics.event_to_decision_seconds.observe(elapsed);
                    log_decision(d);
                }
                pending.extend(made);
            }
            let status = self.tailer.status();
            for s in &status {
                self.metrics.set_source_up(&s.name, s.is_up());
                // A missing file is reported once when it goes missing, not per poll.
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
            let due = last_commit.elapsed() >= self.checkpoint_interval;
            if dirty && (due || stopping || !pending.is_empty()) {
                match self.commit(&mut pending, &mut carry) {
                    Ok(()) => {
                        dirty = false;
                        last_commit = Instant::now();
                    }
                    Err(e) if e.is_fatal() => return self.stop_fatal(&e),
                    Err(e) => {
                        failing = Some(crate::app::health::Failing::start(
                            &e,
                            &self.metrics,
                            &self.health,
                        ))
                    }
                }
                self.engine_metrics(&mut last_counts);
            }
            if stopping {
                return;
            }
            if result.more {
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

    /// The database was lost or damaged under the daemon: nothing more is
    /// written, and the main task is told to stop with this error.
    fn stop_fatal(&self, e: &crate::state::StateError) {
        error!(error = %e, "State database lost or damaged; stopping.");
        self.health.set_fatal(e.to_string());
    }

    fn commit(
        &mut self,
        pending: &mut Vec<Decision>,
        carry: &mut Carry,
    ) -> Result<(), crate::state::StateError> {
        // Screened at every attempt: the breaker counts distinct accounts, so a
        // retried batch is not counted twice.
        {
            let inventory = self
                .pipeline
                .enrichment()
                .inventory
                .as_ref()
                .map(|h| h.current());
            self.enforcer
                .screen(pending, inventory.as_deref(), Utc::now());
        }
        let mut facts = std::mem::take(&mut carry.facts);
        facts.extend(self.pipeline.take_facts());
        let mut accounts = std::mem::take(&mut carry.accounts);
        accounts.extend(self.pipeline.take_account_rows());
        // The engine is streamed into the commit, never copied whole.
        let (engine, enrichment) = self.pipeline.engine_and_enrichment_mut();
        let mut batch = Batch {
            checkpoints: self.tailer.checkpoints(),
            engine_snapshot: Some(EngineSnapshot::Streamed(engine)),
            parser_snapshots: self
                .sources
                .iter()
                .filter_map(|(name, s)| s.parser.as_ref().map(|p| (name.clone(), p.snapshot())))
                .collect(),
            decisions: pending.clone(),
            facts,
            accounts,
            at: Utc::now(),
        };
        let Ok(mut store) = self.store.lock() else {
            // A thread panicked holding the store: nothing sensible is left to do
            // but stop committing; the next restart resumes from the last commit.
            return Ok(());
        };
        let now = Utc::now();
        let (alerting, samples) = (&self.alerting, &self.samples);
        // One reader for the whole commit: each log file is opened once, not per alert.
        let mut lines = super::samples::LineReader::default();
        let mut render = |d: &Decision| {
            // A held lock's alert is the storm's: one alert, not one per account.
            if d.mode == crate::decision::Mode::Held {
                return None;
            }
            alerting
                .as_ref()
                .and_then(|a| a.render(&firing_alert(d, enrichment, samples, &mut lines), now))
        };
        let result = match store.commit_alerting(&batch, &mut render) {
            Ok(r) => r,
            Err(e) => {
                // Kept for the retry: the pipeline has handed them over.
                carry.facts = std::mem::take(&mut batch.facts);
                carry.accounts = std::mem::take(&mut batch.accounts);
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
        let inventory = self
            .pipeline
            .enrichment()
            .inventory
            .as_ref()
            .map(|h| h.current());
        // `pending` is what the batch committed (the batch borrows the engine).
        for d in pending.iter().filter(|d| result.new.contains(&d.id)) {
            self.enforcer.decided(d, inventory.as_deref(), Utc::now());
        }
        self.samples.clear_captured();
        pending.clear();
        Ok(())
    }

    fn flush_counts(&self, c: BatchCounts) {
        for (s, c) in c.per_source {
            let s = s.as_str();
            self.metrics
                .lines_read
                .with_label_values(&[s])
                .inc_by(c.lines);
            for (o, n) in OUTCOMES.iter().zip(c.events) {
                if n > 0 {
                    self.metrics
                        .events
                        .with_label_values(&[s, o.as_str()])
                        .inc_by(n);
                }
            }
            for (r, n) in c.unparsed {
                self.metrics
                    .unparsed_lines
                    .with_label_values(&[s, r.as_str()])
                    .inc_by(n);
            }
        }
    }

    /// Engine counters into metrics. The engine's counters restart at zero for a
    /// rule that a reload changed, so what is added is the growth since the last
    /// look, or the whole value after such a reset.
    fn engine_metrics(&self, last: &mut HashMap<(Name, &'static str), u64>) {
        let mut delta = |rule: &Name, what: &'static str, now: u64| {
            let prev = last.insert((rule.clone(), what), now).unwrap_or(0);
            if now >= prev { now - prev } else { now }
        };
        for r in &self.pipeline.engine().stats().rules {
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
    samples: &super::samples::Samples,
    reader: &mut super::samples::LineReader,
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

#[allow(clippy::too_many_arguments)]
fn handle_line(
    line: TailLine<'_>,
    sources: &mut HashMap<String, SourceParse>,
    pipeline: &mut Pipeline,
    interner: &mut Interner,
    samples: &mut super::samples::Samples,
    year: Option<i32>,
    counts: &mut BatchCounts,
    made: &mut Vec<Decision>,
) {
    let c = counts.source(line.source);
    c.lines += 1;
    let Some(src) = sources.get_mut(line.source) else {
        return;
    };
    if line.too_long {
        *c.unparsed.entry(UnparsedReason::TooLong).or_default() += 1;
        return;
    }
    let parser = src.parser.get_or_insert_with(|| {
        let format = match &src.format {
            Format::Auto => detect_format(&line),
            f => f.clone(),
        };
        let opts = ParseOptions { year, zone: src.zone, now: Utc::now() };
        let mut p = Parser::new(&format, &opts, LineCtx { path: Name::from(line.source) });
        if let Some(snap) = src.pending_restore.take()
            && let Err(e) = p.restore(&snap)
        {
            warn!(source = %Escaped(line.source), error = %e, "Parser state from the last run unusable; starting fresh.");
        }
        p
    });
    match parser.parse(line.line, line.offset) {
        Ok(Some(mut ev)) => {
            // One parser per source: stamp the file the line really came from.
            let path = interner.intern(&line.path.to_string_lossy());
            samples.record(&ev, &path, line.offset, line.line);
            ev.log_path = Some(path);
            c.events[outcome_index(ev.outcome)] += 1;
            let first = made.len();
            pipeline.observe(&mut ev, made);
            for d in &made[first..] {
                samples.capture(d);
            }
        }
        Ok(None) => {}
        Err(e) => {
            *c.unparsed.entry(e.reason).or_default() += 1;
        }
    }
}

/// `auto`: the format of a source, from the first lines of its file. Resuming
/// mid-file (after a restart) the first line delivered is not the file's first
/// line, and a CSV export's header is only there: so read the head of the file.
fn detect_format(line: &TailLine<'_>) -> Format {
    if line.offset == 0 {
        return detect::detect(&[line.line]);
    }
    let mut head = Vec::with_capacity(8192);
    let read = std::fs::File::open(line.path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 8192), &mut head));
    if read.is_err() || head.is_empty() {
        return detect::detect(&[line.line]);
    }
    detect::detect_head(&head)
}

fn log_tail_event(ev: &TailEvent) {
    match ev {
        TailEvent::Problem { source, error } => {
            warn!(source = %Escaped(source), path = %Escaped(&error.path.to_string_lossy()), problem = %error.problem, hint = %error.hint, "Source cannot be read; retrying.")
        }
        TailEvent::Truncated {
            source,
            path,
            offset_was,
            copy,
            lost_bytes,
            ..
        } => {
            let (source, path) = (Escaped(source), Escaped(&path.to_string_lossy()));
            match (copy, lost_bytes) {
                (Some(copy), _) => {
                    info!(%source, %path, offset_was, copy = %Escaped(&copy.to_string_lossy()), "Truncated; reading the rest of its copy first.")
                }
                (None, Some(0)) => {
                    info!(%source, %path, offset_was, "Truncated; nothing unread was lost.")
                }
                (None, Some(n)) => {
                    warn!(%source, %path, offset_was, lost_bytes = n, "Truncated with {n} unread bytes and no copy beside it: those lines are lost.")
                }
                (None, None) => {
                    warn!(%source, %path, offset_was, "Truncated or rewritten while the daemon was stopped and no copy found beside it: lines after offset {offset_was} of the old content were not read.")
                }
            }
        }
        other => info!(event = ?other, "Source."),
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

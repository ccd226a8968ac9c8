//! `loginwatch agent`: a host of the fleet. It reads the configured sources
//! exactly as `loginwatch run` does (the same start-up, `super::start`, and
//! the same parse stage, `super::ingest::Lines::event`), and publishes each
//! event to the fleet's JetStream stream instead of running the rules.
//!
//! Two loops. The reader polls the sources for a batch of lines, turns
//! them into messages, appends them to the spool on disk and syncs it
//! (`crate::fleet::spool`, which says why there is one), then saves the
//! sources' positions ([`position`]). The drainer ([`drain`]) publishes the
//! spool in order, waits for every ack of a batch (`crate::fleet::Publisher`)
//! and only then lets the spool delete it. A line that gives no event
//! spools nothing; its position is saved with the batch. So a `kill -9` at
//! any point leaves positions at or before what the spool holds, and the
//! spool at or before what the stream acknowledged: the restart re-reads
//! the tail, re-sends it under the same message ids, and the stream drops
//! what it already had.
//!
//! While NATS is unreachable the drainer retries with a growing pause and
//! the reader goes on into the spool, up to `[fleet] buffer_max_bytes`;
//! then it stops reading until acks free space (backpressure: a file waits
//! in its file, the journal in the journal, a network source's own queue
//! drops and counts). `[http]` in the agent's file adds `/healthz`,
//! `/readyz` and `/metrics` ([`http`]).
//!
//! Beside the loops, the agent applies the fleet's decisions to its host
//! ([`enforce`]): the detector's bucket watched, locks enforced with this
//! host's actions and safety filter, recorded in its state database.

pub mod drain;
pub mod enforce;
pub mod http;
pub mod position;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::DaemonError;
use super::ingest::{Lines, lines::BatchCounts};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::fleet::health::Link;
use crate::fleet::spool::Spool;
use crate::fleet::{self, FleetConfig, Outgoing, Publisher};
use crate::source::{Source, TailEvent};
use crate::telemetry::Metrics;
use crate::telemetry::fleet::FleetMetrics;
use position::Positions;

/// Lines read per batch: the most events the reader holds in memory (and
/// how far past its bound the spool can grow: one batch).
const BATCH_LINES: usize = 1024;
/// The pause before a failed spool write is tried again.
const SPOOL_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Options given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// On a first start (no saved positions), begin at the end of existing files.
    pub from_end: bool,
    /// Write the bound HTTP address here once listening (with `[http]`).
    pub addr_file: Option<std::path::PathBuf>,
}

/// Runs the agent until SIGTERM or Ctrl-C.
pub fn run(config: Config, opts: AgentOptions) -> Result<(), DaemonError> {
    let fleet = config.fleet.clone().ok_or(DaemonError::NoFleet)?;
    if config.sources.is_empty() {
        return Err(DaemonError::Role(
            "the configuration has [fleet] and no [[source]]: it is the detector's, run it with \
             `loginwatch run`; an agent publishes the sources it lists (see docs/config.md)"
                .into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(config, fleet, opts))
}

async fn run_async(
    config: Config,
    fleet: FleetConfig,
    opts: AgentOptions,
) -> Result<(), DaemonError> {
    // Listening from the start, as `run` does (see `super::Shutdown`).
    let mut shutdown = super::Shutdown::listen();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new());
    let fm = FleetMetrics::register(&metrics);
    let spool = Arc::new(Spool::open(
        &Spool::dir_for(&config.state_path),
        fleet.buffer_max_bytes,
        &format!("lw1s-{}", fleet.host),
    )?);
    fm.spool_limit_bytes
        .set(i64::try_from(fleet.buffer_max_bytes).unwrap_or(i64::MAX));
    drain::show(&spool, &fm);
    let positions_path = position::path_for(&config.state_path);
    let saved = position::load(&positions_path)?;
    let first_start = saved.is_none();
    let saved = saved.unwrap_or_default();
    // The rules only for the formats they declare: the agent runs no rule.
    let (rules, _) =
        crate::config::select_rules(None, Some(&config)).map_err(DaemonError::Rules)?;

    let (wake_tx, wake_rx) = mpsc::channel::<Instant>();
    let (parsers, mut source) = super::start::sources(
        &config,
        &rules,
        saved.parser_snapshots(),
        saved.checkpoints.clone(),
        saved.cursors(),
        opts.from_end && first_start,
        &wake_tx,
    )?;
    let watcher = super::start::watch(&config, source.as_ref(), wake_tx.clone(), clock.clone())?;
    // The sources wake a std channel (the daemon's ingest loop is a thread);
    // one thread turns its wake-ups into a permit for this task.
    let woken = Arc::new(tokio::sync::Notify::new());
    {
        let woken = woken.clone();
        std::thread::Builder::new()
            .name("agent-wake".into())
            .spawn(move || {
                while wake_rx.recv().is_ok() {
                    woken.notify_one();
                }
            })?;
    }
    let samples = super::samples::Samples::new(0, super::samples::GENERATION);
    let once = crate::source::rows::Once::new(Vec::new());
    let mut lines = Lines::new(parsers, samples, config.year, once);

    let client = fleet::connect(&fleet, &format!("loginwatch-agent {}", fleet.host)).await?;
    // Working until a publish fails: an agent with nothing to send is ready
    // as soon as it is connected.
    let link = Arc::new(Link::new(client.clone(), "storing events", true));
    let publisher = Publisher::new(client.clone(), fleet.clone()).on_attempt({
        let (link, errors) = (link.clone(), fm.publish_errors.clone());
        move |failed| {
            link.set_working(!failed);
            if failed {
                errors.inc();
            }
        }
    });
    let s = spool.stats();
    info!(
        host = %fleet.host,
        servers = %fleet.servers.join(","),
        stream = %fleet.stream,
        sources = config.sources.len(),
        resume = !first_start,
        spooled = s.messages,
        spool_bytes = s.bytes,
        "Agent started: publishing events to NATS."
    );

    let cancel = CancellationToken::new();
    let drainer = tokio::spawn(drain::run(
        spool.clone(),
        publisher,
        fm.clone(),
        cancel.clone(),
    ));
    tokio::spawn(drain::watch_connection(
        link.clone(),
        fm.clone(),
        cancel.clone(),
    ));
    let server = if config.http.set {
        let state = http::AgentState {
            link,
            spool: spool.clone(),
            metrics: metrics.clone(),
        };
        Some(
            http::serve(
                config.http.listen,
                opts.addr_file.clone(),
                state,
                cancel.clone(),
            )
            .await?,
        )
    } else {
        None
    };
    let enforcing = enforce::start(&config, &fleet, client, clock.clone(), cancel.clone())?;
    let mut paused = false;
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            shutdown.wait().await;
            info!("Shutting down.");
            cancel.cancel();
        });
    }
    'read: while !cancel.is_cancelled() {
        if spool.stats().full() {
            if !paused {
                paused = true;
                fm.spool_full.set(1);
                fm.spool_full_total.inc();
                let s = spool.stats();
                warn!(
                    spool_bytes = s.bytes,
                    events = s.messages,
                    limit = s.max_bytes,
                    "Spool full: reading paused until NATS takes events (files wait in place; a network source's queue drops and counts)."
                );
            }
            tokio::select! {
                _ = spool.freed() => {}
                _ = tokio::time::sleep(config.poll_interval) => {}
                _ = cancel.cancelled() => {}
            }
            continue;
        }
        if paused {
            paused = false;
            fm.spool_full.set(0);
            info!("Spool below its bound again: reading resumes.");
        }
        let mut counts = BatchCounts::default();
        let mut out: Vec<Outgoing> = Vec::new();
        let now = clock.now();
        let result = source.poll(BATCH_LINES, &mut |line| {
            if let Some(ev) = lines.event(line, now, &mut counts) {
                out.push(Outgoing {
                    subject: fleet::subject::subject(&fleet.subject_prefix, &fleet.host, &ev),
                    // A line from the network cannot be read again: no id
                    // (an id from its arrival order would repeat after a restart).
                    id: line.peer.is_none().then(|| {
                        fleet::subject::msg_id(&fleet.host, line.source, line.offset, line.line)
                    }),
                    body: fleet::wire::encode(&fleet.host, line.source, &ev).into(),
                });
            }
        });
        for ev in &result.events {
            ev.log();
            if let TailEvent::Truncated {
                source,
                lost_bytes: Some(n @ 1..),
                ..
            } = ev
            {
                metrics.truncated_bytes(source, *n);
            }
        }
        counts.flush(&metrics);
        if result.lines > 0 {
            let mut failures = 0u32;
            while let Err(e) = spool.append(&out) {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(60) {
                    warn!(error = %e, failed_attempts = failures, "Cannot write the spool (disk full?); the batch is held and written again.");
                }
                tokio::select! {
                    _ = tokio::time::sleep(SPOOL_RETRY) => {}
                    // Positions unsaved: the next start reads the batch again.
                    _ = cancel.cancelled() => break 'read,
                }
            }
            fm.spooled.inc_by(out.len() as u64);
            drain::show(&spool, &fm);
            debug!(events = out.len(), "Batch spooled.");
            save(&positions_path, source.as_ref(), &lines)?;
        } else if !result.events.is_empty() {
            // A rotation or truncation seen without a line: its positions
            // (a released file gone, a new one at 0) hold no unsent event.
            save(&positions_path, source.as_ref(), &lines)?;
        }
        if result.more {
            continue;
        }
        tokio::select! {
            _ = woken.notified() => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = cancel.cancelled() => {}
        }
    }
    cancel.cancel();
    let _ = drainer.await;
    for t in enforcing {
        let _ = t.await;
    }
    if let Some(s) = server {
        let _ = s.await;
    }
    drop(watcher);
    info!("Stopped.");
    Ok(())
}

/// Saves where every source stands after the lines handed out so far.
fn save(path: &std::path::Path, source: &dyn Source, lines: &Lines) -> Result<(), DaemonError> {
    let p = Positions::new(
        source.checkpoints(),
        source.cursors(),
        lines.parser_snapshots(),
    );
    position::save(path, &p).map_err(|e| {
        warn!(path = %path.display(), error = %e, "Cannot save the agent's positions.");
        DaemonError::Io(e)
    })
}

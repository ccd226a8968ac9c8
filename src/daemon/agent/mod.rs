//! `loginwatch agent`: a host of the fleet. It reads the configured sources
//! exactly as `loginwatch run` does (the same start-up, `super::start`, and
//! the same parse stage, `super::ingest::Lines::event`), and publishes each
//! event to the fleet's JetStream stream instead of running the rules.
//!
//! One loop: poll the sources for a batch of lines, turn them into
//! messages, publish the batch and wait for every ack
//! (`crate::fleet::Publisher`), then save the sources' positions
//! ([`position`]). A line that gives no event publishes nothing; its
//! position is saved with the batch, after the acks of the events before
//! it. So a `kill -9` at any point leaves positions at or before what the
//! stream holds: the restart re-reads the tail, re-publishes it under the
//! same message ids, and the stream drops what it already had.
//!
//! While NATS is unreachable the batch is re-sent with a growing pause and
//! nothing more is read: a file waits in its file, the journal in the
//! journal. Still to come (issue 16): a bounded disk buffer for the sources
//! that cannot wait (network syslog drops what its queue cannot hold, and
//! counts it), `/readyz` and metrics.
//!
//! Beside the loop, the agent applies the fleet's decisions to its host
//! ([`enforce`]): the detector's bucket watched, locks enforced with this
//! host's actions and safety filter, recorded in its state database.

pub mod enforce;
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
use crate::fleet::{self, FleetConfig, Outgoing, Publisher};
use crate::source::{Source, TailEvent};
use crate::telemetry::Metrics;
use position::Positions;

/// Lines read per batch: the most events held unacknowledged, in memory.
const BATCH_LINES: usize = 1024;

/// Options given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// On a first start (no saved positions), begin at the end of existing files.
    pub from_end: bool,
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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Metrics::new();
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
    let mut publisher = Publisher::new(client.clone(), fleet.clone());
    info!(
        host = %fleet.host,
        servers = %fleet.servers.join(","),
        stream = %fleet.stream,
        sources = config.sources.len(),
        resume = !first_start,
        "Agent started: publishing events to NATS."
    );

    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            super::wait_for_shutdown_signal().await;
            info!("Shutting down.");
            cancel.cancel();
        });
    }
    let enforcing = enforce::start(&config, &fleet, client, clock.clone(), cancel.clone())?;
    while !cancel.is_cancelled() {
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
            if !out.is_empty() {
                let Some(acked) = publisher.publish_all(&out, &cancel).await else {
                    // Stopped before every ack came: these positions stay
                    // unsaved, the next start sends the batch again.
                    break;
                };
                if acked.duplicates > 0 {
                    // Expected after a crash or a lost ack; anything else
                    // (two agents with one host name) is worth seeing.
                    info!(
                        stored = acked.stored,
                        duplicates = acked.duplicates,
                        "Events already in the stream (sent again after a restart or a failed attempt) were dropped by their message ids."
                    );
                } else {
                    debug!(stored = acked.stored, "Batch stored.");
                }
            }
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
    drop(watcher);
    cancel.cancel();
    for t in enforcing {
        let _ = t.await;
    }
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

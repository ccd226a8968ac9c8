//! Telling the service manager how the daemon is doing (`Type=notify`, see
//! sd_notify(3)): `READY=1` once it serves, a `STATUS=` line a person reads in
//! `systemctl status`, `RELOADING=1` ... `READY=1` around a rule reload,
//! `STOPPING=1` at shutdown, and `WATCHDOG=1` while the ingest thread is alive.
//!
//! Everything here is a no-op when `NOTIFY_SOCKET` is unset (a shell, a test,
//! another supervisor). The variables stay set for the daemon's children
//! (journalctl, actions): the unit's `NotifyAccess=main` makes the manager
//! ignore anything but the main process, and unsetting a variable is only
//! sound before the runtime's threads start.
//!
//! The watchdog pings only while the ingest thread goes round its loop: a
//! thread stuck in a read or a commit stops the pings, and the manager
//! restarts the service, which is what the watchdog is for. A task that pinged
//! on its own timer would keep a wedged daemon "healthy" forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::clock::Clock;

/// The messages of this process to its service manager.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// `NOTIFY_SOCKET` was set at start: otherwise nothing is sent.
    enabled: bool,
    /// A failed send is logged once, not at every ping.
    failed: Arc<AtomicBool>,
}

impl Notifier {
    /// From the environment the service manager gave the process.
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty()),
            failed: Arc::default(),
        }
    }

    /// Start-up done: the state is open, the sources started, HTTP bound.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A rule reload begins; [`Notifier::ready`] ends it. The monotonic time
    /// is what `Type=notify-reload` (systemd 253) requires with it.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[
                NotifyState::Reloading,
                now,
                NotifyState::Status("Reloading rules"),
            ]),
            Err(_) => self.send(&[
                NotifyState::Reloading,
                NotifyState::Status("Reloading rules"),
            ]),
        }
    }

    /// Shutdown begins (the last batch is still to be committed).
    pub fn stopping(&self) {
        self.send(&[
            NotifyState::Stopping,
            NotifyState::Status("Stopping: committing the last batch"),
        ]);
    }

    /// One free-text line for `systemctl status`.
    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// One watchdog ping.
    pub fn ping(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    fn send(&self, states: &[NotifyState]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states)
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            warn!(error = %e, "Cannot notify the service manager (NOTIFY_SOCKET).");
        }
    }
}

/// How often to ping: half the manager's `WATCHDOG_USEC` (as sd_watchdog_enabled(3)
/// advises), `None` when no watchdog is asked for or it is not for this process.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}

/// The ingest thread's heartbeat: a count it raises at every turn of its loop.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat(Arc<AtomicU64>);

impl Heartbeat {
    /// Called by the ingest thread at the top of its loop.
    pub fn beat(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The beats so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether the ingest thread went round its loop since the last look: the
/// pure decision of the watchdog task.
#[derive(Debug, Default)]
pub struct Liveness {
    last: Option<u64>,
}

impl Liveness {
    /// `beats` is the heartbeat's count now; the first look counts as alive
    /// (the thread has only just started).
    pub fn alive(&mut self, beats: u64) -> bool {
        let alive = self.last != Some(beats);
        self.last = Some(beats);
        alive
    }
}

/// Every `period`: pings (through `ping`) when the ingest thread has looped
/// since the last tick, then nudges it through its wake channel so that an
/// idle thread (waiting up to `poll_interval` for lines) loops before the
/// next tick. Returns when `stop` is cancelled.
pub async fn watchdog(
    period: Duration,
    heartbeat: Heartbeat,
    nudge: Sender<Instant>,
    clock: Arc<dyn Clock>,
    ping: impl Fn(),
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut liveness = Liveness::default();
    let mut silent = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if liveness.alive(heartbeat.count()) {
            if silent {
                warn!("The ingest thread is looping again; watchdog pings resume.");
                silent = false;
            }
            ping();
        } else if !silent {
            warn!(
                period = ?period,
                "The ingest thread has not looped for a watchdog period; pings withheld (the service manager restarts the daemon if it stays stuck)."
            );
            silent = true;
        }
        if nudge.send(clock.instant()).is_err() {
            debug!("Ingest thread gone; the watchdog stops.");
            return;
        }
    }
}

#[cfg(test)]
mod tests;

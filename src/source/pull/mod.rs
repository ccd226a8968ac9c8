//! Pulled SaaS audit logs: a [`Source`] that asks a service's API for its
//! audit log instead of reading a file someone dropped: LINE WORKS' audit log
//! download ([`lineworks`]) and Okta's System Log ([`okta`]).
//!
//! The shape is the network source's (`super::net`): the HTTP exchanges run
//! on a thread of their own (`ureq` is blocking, and a slow service must not
//! hold the ingest loop), which puts lines into a bounded queue and wakes the
//! ingest loop; [`Source::poll`] takes them out in order. A full queue makes
//! the thread wait, so a large backlog is read at the pace the rules run.
//!
//! **Position.** Unlike a push source, a pull has a position: the end of the
//! last fully delivered LINE WORKS window, the `next` link of the last fully
//! delivered Okta page. The thread sends that position *with the last line*
//! of its window or page, and [`Source::cursors`] returns the position of the
//! last line handed out by `poll`, never what the thread fetched ahead: the
//! cursor committed with the rule state is where those lines end, so a restart
//! resumes exactly there. A window or page cut short is asked for again; its
//! rows already delivered are dropped by the ingest loop's rows-once filter
//! (`SourceConfig::once`, see `super::rows`).
//!
//! **Failures** are retried with exponential backoff ([`Backoff`]) and shown
//! as the source's problem (with the fix) on `/readyz` and as
//! `loginwatch_source_up 0` until a request succeeds again. Secrets (the
//! private key, client secret, access and API tokens) are [`Secret`]s: never
//! logged, never in a status.

pub mod auth;
pub mod lineworks;
pub mod okta;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::info;

use super::discover::Problem;
use super::{Cursor, FileId, PollResult, Source, SourceError, SourceStatus, TailLine};
use crate::escape::Escaped;

/// What to pull, as configured (`[[source]] pull = ...`).
#[derive(Debug, Clone, PartialEq)]
pub enum Pull {
    Lineworks(lineworks::Lineworks),
    Okta(okta::Okta),
}

impl Pull {
    /// The `pull` value naming this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Pull::Lineworks(_) => "lineworks",
            Pull::Okta(_) => "okta",
        }
    }

    /// Where its lines come from, for `/readyz` and as the lines' "path": the
    /// API endpoint, without credentials.
    pub fn label(&self) -> String {
        match self {
            Pull::Lineworks(l) => l.endpoint(),
            Pull::Okta(o) => o.endpoint(),
        }
    }
}

/// A text that must not be shown: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Exponential backoff with a cap: 1 s, 2 s, 4 s ... 5 min. Time-free: the
/// caller adds the delay to the time it read, so tests need no clock.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(300))
    }
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// One more failure: how long to wait before the next try.
    pub fn failure(&mut self) -> Duration {
        let d = self
            .base
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        d
    }

    /// A success: the next failure waits `base` again.
    pub fn success(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// One item of the queue: a line, the position reached after it, or both.
struct Msg {
    /// `None`: only a position (a window or page without lines).
    line: Option<Vec<u8>>,
    /// The first line of a download or page: handed out as the first line
    /// of a new file, so the CSV parser reads its header again and identical
    /// rows are numbered per download (see `crate::source::rows`), as for
    /// the files of an export folder. A retried download is a new file too.
    start: bool,
    too_long: bool,
    /// The position after this line, sent with the last line of a window or page.
    position: Option<String>,
}

/// How often the thread looks whether its source was dropped while it waits.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// Lines waiting for the ingest thread at most (the thread waits beyond).
const QUEUE: usize = 4096;

/// The thread's side: where lines, positions and problems go.
pub(crate) struct Feed {
    tx: SyncSender<Msg>,
    wake: Option<Sender<Instant>>,
    /// Set when a wake-up was sent and the queue not drained since.
    woken: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    health: Arc<Mutex<Option<SourceError>>>,
    label: PathBuf,
    /// The source's name, for logs.
    name: String,
    /// The next line starts a download or page ([`Feed::begin`]).
    starting: std::cell::Cell<bool>,
}

impl Feed {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The lines queued next are a new download or page.
    pub(crate) fn begin(&self) {
        self.starting.set(true);
    }

    /// Queues a line (waiting while the queue is full); false when the
    /// source is gone.
    pub(crate) fn line(&self, line: Vec<u8>, too_long: bool, position: Option<String>) -> bool {
        self.send(Msg {
            line: Some(line),
            start: self.starting.replace(false),
            too_long,
            position,
        })
    }

    /// Queues a position reached without a line; false when the source is gone.
    pub(crate) fn position(&self, position: String) -> bool {
        self.send(Msg {
            line: None,
            start: false,
            too_long: false,
            position: Some(position),
        })
    }

    fn send(&self, m: Msg) -> bool {
        if self.stopped() || self.tx.send(m).is_err() {
            return false;
        }
        if let Some(w) = &self.wake
            && !self.woken.swap(true, Ordering::AcqRel)
        {
            let _ = w.send(Instant::now());
        }
        true
    }

    /// The source's current problem (shown until [`Feed::ok`]).
    pub(crate) fn problem(&self, problem: String, hint: impl Into<String>) {
        let e = SourceError {
            path: self.label.clone(),
            problem: Problem::Io(problem),
            hint: hint.into(),
        };
        if let Ok(mut h) = self.health.lock() {
            *h = Some(e);
        }
    }

    /// The last request succeeded: no problem (logged when there was one).
    pub(crate) fn ok(&self) {
        let was = self.health.lock().ok().and_then(|mut h| h.take());
        if was.is_some() {
            info!(source = %Escaped(&self.name), "Pulling works again.");
        }
    }

    /// Sleeps until `deadline`; false when the source was dropped meanwhile.
    pub(crate) fn sleep_until(&self, deadline: Instant) -> bool {
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(STOP_CHECK));
        }
    }
}

/// A pulled audit log.
pub struct PullSource {
    name: String,
    label: PathBuf,
    rx: Receiver<Msg>,
    stop: Arc<AtomicBool>,
    woken: Arc<AtomicBool>,
    health: Arc<Mutex<Option<SourceError>>>,
    /// The position after the last line handed out (the committed cursor).
    position: Option<String>,
    /// The download or page lines come from now (a new one per
    /// [`Feed::begin`]), and the "offset" of the next line in it.
    file: u64,
    seq: u64,
}

impl std::fmt::Debug for PullSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullSource")
            .field("name", &self.name)
            .field("label", &self.label)
            .finish()
    }
}

impl PullSource {
    /// Starts pulling `pull` from `cursor` (the position committed by the last
    /// run, if any); each batch of lines wakes the ingest loop through `wake`.
    pub fn start(
        name: &str,
        pull: Pull,
        cursor: Option<String>,
        wake: Option<Sender<Instant>>,
    ) -> std::io::Result<PullSource> {
        let (tx, rx) = sync_channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(AtomicBool::new(false));
        let health = Arc::new(Mutex::new(None));
        let label = PathBuf::from(pull.label());
        let feed = Feed {
            tx,
            wake,
            woken: woken.clone(),
            stop: stop.clone(),
            health: health.clone(),
            label: label.clone(),
            name: name.to_owned(),
            starting: std::cell::Cell::new(false),
        };
        let source = name.to_owned();
        let start = cursor.clone();
        std::thread::Builder::new()
            .name(format!("pull {}", pull.kind()))
            .spawn(move || match pull {
                Pull::Lineworks(l) => lineworks::run(&source, &l, start.as_deref(), &feed),
                Pull::Okta(o) => okta::run(&source, &o, start.as_deref(), &feed),
            })?;
        Ok(PullSource {
            name: name.to_owned(),
            label,
            rx,
            stop,
            woken,
            health,
            position: cursor,
            file: 0,
            seq: 0,
        })
    }
}

impl Drop for PullSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Source for PullSource {
    fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
        // Cleared before draining: a line queued from now on wakes the loop
        // again, one already queued is read below.
        self.woken.store(false, Ordering::Release);
        let mut lines = 0;
        while lines < max_lines {
            let Ok(m) = self.rx.try_recv() else { break };
            if let Some(line) = &m.line {
                if m.start {
                    self.file += 1;
                    self.seq = 0;
                }
                on_line(TailLine {
                    source: &self.name,
                    file: FileId(self.file),
                    path: Path::new(&self.label),
                    offset: self.seq,
                    line,
                    too_long: m.too_long,
                    peer: None,
                });
                self.seq += 1;
                lines += 1;
            }
            if let Some(p) = m.position {
                self.position = Some(p);
            }
        }
        PollResult {
            lines,
            more: lines == max_lines,
            events: Vec::new(),
        }
    }

    fn cursors(&self) -> Vec<Cursor> {
        self.position
            .iter()
            .map(|c| Cursor {
                source: self.name.clone(),
                cursor: c.clone(),
            })
            .collect()
    }

    /// Up while the last request succeeded (and before the first one ends).
    fn status(&self) -> Vec<SourceStatus> {
        let errors: Vec<SourceError> = self
            .health
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .into_iter()
            .collect();
        vec![SourceStatus {
            name: self.name.clone(),
            pattern: self.label.to_string_lossy().into_owned(),
            files: Vec::new(),
            listening: errors.is_empty(),
            errors,
            lag_bytes: 0,
            warnings: Vec::new(),
        }]
    }
}

/// A feed whose queue the test reads, and no wake-ups.
#[cfg(test)]
fn test_feed() -> (Feed, Receiver<Msg>) {
    let (tx, rx) = sync_channel(64);
    let feed = Feed {
        tx,
        wake: None,
        woken: Arc::new(AtomicBool::new(false)),
        stop: Arc::new(AtomicBool::new(false)),
        health: Arc::new(Mutex::new(None)),
        label: PathBuf::from("https://x/api"),
        name: "p".into(),
        starting: std::cell::Cell::new(false),
    };
    (feed, rx)
}

#[cfg(test)]
mod tests;

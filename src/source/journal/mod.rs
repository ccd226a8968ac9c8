//! The systemd journal as a [`Source`]: on Debian 12 and later sshd logs only
//! there unless rsyslog is installed.
//!
//! Read through a `journalctl --output=json --follow` child, not through
//! libsystemd bindings (the way Vector and CrowdSec read it): journalctl is on
//! every host that has a journal, reads every journal file format version
//! that host writes, needs no C library linked into loginwatch, and its
//! failures (permissions, a missing directory) are its own process's, so a
//! crash in the journal reader cannot take the daemon down. The cost is a
//! process and JSON decoding per entry, small next to parsing (see
//! `bench/journal.sh` for the follow latency).
//!
//! A thread owns the child: it reads JSON lines, turns each entry into a
//! syslog line ([`entry`]) and queues it with its cursor in a bounded channel
//! (a full channel blocks the thread, and journalctl behind its pipe: the
//! journal keeps what is not read yet, so nothing is dropped). [`Source::poll`]
//! hands the lines out on the ingest thread and remembers the cursor of the
//! last one handed out; that cursor ([`Source::cursors`]) is committed with
//! the rule state, and a restart continues `--after-cursor` it: each entry is
//! read once across a kill -9. Without a committed cursor the journal is read
//! like a file on a first start: from its first entry, or from its end with
//! `run --from-end`.
//!
//! A child that cannot start (no journalctl) or ends (a missing directory, an
//! unusable cursor) is reported once with the fix, shown in the source's
//! status until it runs again, and restarted with backoff from the last entry
//! read; a permission warning while it runs (the user is in neither
//! `systemd-journal` nor `adm`, so only its own entries are visible) is shown
//! the same way. The thread and the child stop when the source is dropped.

pub mod child;
pub mod entry;
pub mod export;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

pub use child::{From, JournalSpec};

use super::{Cursor, FileId, PollResult, Source, SourceError, SourceStatus, TailLine};
use crate::escape::Escaped;
use crate::parse::MAX_LINE;

/// Entries waiting for the ingest thread at most.
const QUEUE: usize = 4096;
/// The longest JSON line read whole (fields are limited by `--output-fields`
/// and journalctl's 4096-byte cut, so a real entry is far shorter).
const MAX_JSON: usize = 4 * MAX_LINE;
/// The first and the longest wait before a failed child is started again.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// A child that ran this long (or delivered an entry) is healthy: its
/// problem is cleared and the backoff starts over.
const STABLE: Duration = Duration::from_secs(2);

/// One entry for the ingest thread.
struct Msg {
    /// `None` for a line that was not an entry (counted as unparsed).
    cursor: Option<String>,
    line: Vec<u8>,
    too_long: bool,
}

/// What the reader thread and the source share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Set when a wake-up was sent and the queue not drained since.
    woken: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The running child, to be killed when the source is dropped.
    child: Option<Child>,
    /// Since when the current child runs; `None` while there is none (set
    /// back together with its problem, not when the process is reaped).
    since: Option<Instant>,
    /// Why the last child failed: shown until a child runs [`STABLE`].
    failed: Option<SourceError>,
    /// A problem the running child reported on stderr (permissions).
    warned: Option<SourceError>,
    /// The problem last logged, so each is logged once.
    logged: Option<String>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a problem; logs it once, with the fix.
    fn problem(&self, name: &str, e: SourceError, running: bool) {
        let mut st = self.state();
        let text = e.to_string();
        if st.logged.as_deref() != Some(&text) {
            warn!(source = %Escaped(name), path = %Escaped(&e.path.to_string_lossy()), problem = %e.problem, hint = %e.hint, "Journal cannot be read.");
            st.logged = Some(text);
        }
        if running {
            st.warned = Some(e);
        } else {
            st.failed = Some(e);
            st.since = None;
        }
    }

    /// The child is healthy (ran long enough, or delivered): its problem is over.
    fn healthy(&self, name: &str) {
        let mut st = self.state();
        if st.failed.take().is_some() && st.warned.is_none() {
            info!(source = %Escaped(name), "Journal readable again.");
            st.logged = None;
        }
    }
}

/// A followed journal.
pub struct JournalSource {
    name: String,
    spec: JournalSpec,
    label: PathBuf,
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    /// The cursor of the last entry handed out (or the one resumed from).
    cursor: Option<String>,
    /// Lines handed out so far: the "offset" of a line without a cursor.
    seq: u64,
}

/// The entry's sequence number (`i=` of its cursor, hex): the offset of its
/// line. Stable across restarts, so a decision re-derived after a kill -9
/// gets the same id (ids include the triggering line's offset).
pub fn seqnum(cursor: &str) -> Option<u64> {
    cursor
        .split(';')
        .find_map(|p| p.strip_prefix("i="))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

impl std::fmt::Debug for JournalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalSource")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .finish()
    }
}

impl JournalSource {
    /// Starts following `spec`: after `cursor` (the committed one), else from
    /// the start, or from the end when `from_end`. Each batch of entries sends
    /// the time it arrived on `wake`.
    pub fn start(
        name: &str,
        spec: JournalSpec,
        cursor: Option<String>,
        from_end: bool,
        wake: Option<Sender<Instant>>,
    ) -> std::io::Result<JournalSource> {
        let (tx, rx) = sync_channel(QUEUE);
        let shared = Arc::new(Shared::default());
        let from = match &cursor {
            Some(c) => From::Cursor(c.clone()),
            None if from_end => From::End,
            None => From::Start,
        };
        let reader = Reader {
            name: name.to_owned(),
            spec: spec.clone(),
            tx,
            wake,
            shared: shared.clone(),
        };
        std::thread::Builder::new()
            .name(format!("journal {name}"))
            .spawn(move || reader.run(from))?;
        Ok(JournalSource {
            name: name.to_owned(),
            label: PathBuf::from(spec.label()),
            spec,
            rx,
            shared,
            cursor,
            seq: 0,
        })
    }
}

impl Drop for JournalSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(c) = self.shared.state().child.as_mut() {
            let _ = c.kill();
        }
    }
}

impl Source for JournalSource {
    fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
        // Cleared before draining: an entry queued from now on wakes the loop
        // again, one already queued is read below.
        self.shared.woken.store(false, Ordering::Release);
        let mut lines = 0;
        while lines < max_lines {
            let Ok(m) = self.rx.try_recv() else { break };
            on_line(TailLine {
                source: &self.name,
                file: FileId(0),
                path: &self.label,
                offset: m.cursor.as_deref().and_then(seqnum).unwrap_or(self.seq),
                line: &m.line,
                too_long: m.too_long,
                peer: None,
            });
            if m.cursor.is_some() {
                self.cursor = m.cursor;
            }
            self.seq += 1;
            lines += 1;
        }
        PollResult {
            lines,
            more: lines == max_lines,
            events: Vec::new(),
        }
    }

    /// The cursor of the last entry handed to `on_line`, not of what the
    /// thread has read ahead: the commit holds exactly what was processed.
    fn cursors(&self) -> Vec<Cursor> {
        self.cursor
            .iter()
            .map(|c| Cursor {
                source: self.name.clone(),
                cursor: c.clone(),
            })
            .collect()
    }

    fn status(&self) -> Vec<SourceStatus> {
        let st = self.shared.state();
        let running = st.since.is_some();
        let stable = st.since.is_some_and(|t| t.elapsed() >= STABLE);
        let mut errors: Vec<SourceError> = st.warned.iter().cloned().collect();
        if let Some(f) = &st.failed
            && !(running && stable)
        {
            errors.push(f.clone());
        }
        drop(st);
        if running && stable {
            self.shared.healthy(&self.name);
        }
        let up = running && errors.is_empty();
        vec![SourceStatus {
            name: self.name.clone(),
            pattern: self.spec.label(),
            files: Vec::new(),
            // Not running and nothing said yet (the first start): a problem
            // still, so `is_up` is false without a file hint.
            errors: if !running && errors.is_empty() {
                vec![SourceError {
                    path: self.label.clone(),
                    problem: super::Problem::Io("journalctl is not running".into()),
                    hint: "starting it".into(),
                }]
            } else {
                errors
            },
            lag_bytes: 0,
            listening: up,
            warnings: Vec::new(),
        }]
    }
}

/// The thread that runs journalctl.
struct Reader {
    name: String,
    spec: JournalSpec,
    tx: SyncSender<Msg>,
    wake: Option<Sender<Instant>>,
    shared: Arc<Shared>,
}

impl Reader {
    fn run(self, mut from: From) {
        let mut backoff = BACKOFF.0;
        while !self.shared.stopped() {
            let mut cmd = self.spec.command(&from, true);
            die_with_parent(&mut cmd);
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let p = child::spawn_problem(&e, &self.spec);
                    self.shared.problem(&self.name, p, false);
                    self.sleep(&mut backoff);
                    continue;
                }
            };
            let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
                let _ = child.kill();
                return;
            };
            {
                let mut st = self.shared.state();
                st.child = Some(child);
                st.since = Some(Instant::now());
                st.warned = None;
            }
            let errs = self.watch_stderr(stderr);
            let started = Instant::now();
            let open = self.read(stdout, &mut from);
            let child = self.shared.state().child.take();
            let status = child.and_then(|mut c| {
                if !open {
                    let _ = c.kill();
                }
                c.wait().ok()
            });
            let said = errs.join().unwrap_or_default();
            if !open || self.shared.stopped() {
                return;
            }
            if said.iter().any(|l| l.contains("Failed to seek to cursor")) {
                from = From::End;
            }
            match status {
                // Not running and why, in one step: a status never shows
                // the child gone without its problem.
                Some(status) => {
                    let p = child::exit_problem(status, &said, &self.spec);
                    self.shared.problem(&self.name, p, false);
                }
                None => self.shared.state().since = None,
            }
            if started.elapsed() >= STABLE * 5 {
                backoff = BACKOFF.0;
            }
            self.sleep(&mut backoff);
        }
    }

    /// Reads entries until journalctl ends; false when the source is gone.
    fn read(&self, stdout: ChildStdout, from: &mut From) -> bool {
        let mut r = BufReader::with_capacity(64 * 1024, stdout);
        let mut buf = Vec::with_capacity(4096);
        loop {
            buf.clear();
            let n = match r
                .by_ref()
                .take(MAX_JSON as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) | Err(_) => return true,
                Ok(n) => n,
            };
            let msg = if buf.last() != Some(&b'\n') && n > MAX_JSON {
                // Skip the rest of this line without keeping it.
                let mut sink = Vec::new();
                loop {
                    sink.clear();
                    match r.by_ref().take(64 * 1024).read_until(b'\n', &mut sink) {
                        Ok(0) | Err(_) => return true,
                        Ok(_) if sink.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
                Msg {
                    cursor: None,
                    line: Vec::new(),
                    too_long: true,
                }
            } else {
                let json = super::framing::trim_end(&buf);
                if json.is_empty() {
                    continue;
                }
                match entry::convert(json) {
                    Ok(e) => {
                        *from = From::Cursor(e.cursor.clone());
                        let too_long = e.too_long || e.line.len() > MAX_LINE;
                        Msg {
                            cursor: Some(e.cursor),
                            line: if too_long { Vec::new() } else { e.line },
                            too_long,
                        }
                    }
                    // Delivered as it is, so the parser counts it as malformed.
                    Err(_) => Msg {
                        cursor: None,
                        too_long: json.len() > MAX_LINE,
                        line: if json.len() > MAX_LINE {
                            Vec::new()
                        } else {
                            json.to_vec()
                        },
                    },
                }
            };
            if self.tx.send(msg).is_err() {
                return false;
            }
            self.shared.healthy(&self.name);
            if let Some(w) = &self.wake
                && !self.shared.woken.swap(true, Ordering::AcqRel)
            {
                let _ = w.send(Instant::now());
            }
        }
    }

    /// Reads journalctl's stderr on a thread of its own: a permission warning
    /// is shown while the child runs; the lines are returned when it ends.
    fn watch_stderr(&self, stderr: ChildStderr) -> std::thread::JoinHandle<Vec<String>> {
        let (name, spec, shared) = (self.name.clone(), self.spec.clone(), self.shared.clone());
        std::thread::spawn(move || {
            let mut said = Vec::new();
            for line in BufReader::new(stderr.take(64 * 1024)).lines() {
                let Ok(line) = line else { break };
                if let Some(p) = child::classify(&line, &spec)
                    && p.problem == super::Problem::PermissionDenied
                {
                    shared.problem(&name, p, true);
                }
                if said.len() < 16 {
                    said.push(line.chars().take(512).collect());
                }
            }
            said
        })
    }

    /// Waits `backoff` (waking early when the source is dropped), then doubles it.
    fn sleep(&self, backoff: &mut Duration) {
        let until = Instant::now() + *backoff;
        while !self.shared.stopped() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        *backoff = (*backoff * 2).min(BACKOFF.1);
    }
}

/// journalctl is killed when the thread that started it ends, so a daemon
/// killed with SIGKILL leaves no journalctl behind.
fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests;

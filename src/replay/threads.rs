//! `replay --threads N`: the files' lines parsed by N worker threads, the
//! rules run on the calling thread, with the decisions one thread gives.
//!
//! Each file is read in chunks of whole lines ([`super::chunk`]); any worker
//! takes the next chunk of any file and runs the stateless part of its
//! parser on it: for sshd the syslog header, the year of BSD timestamps, the
//! message's classification and its address (see
//! [`crate::parse::sshd::staged`] for why the cut is there), for JSON and
//! regex formats the whole parse (they keep nothing between lines). The
//! calling thread takes each file's chunks back in file order, runs the
//! sshd correlation on them, and [`EventMerge`](super::EventMerge) merges
//! the files in event time exactly as with one thread. Each file's events,
//! its unparsed lines (and the order of the `--show-unparsed` calls) and its
//! line counts are therefore those one thread gives, and so are the
//! decisions. CSV exports (a header row, rows delivered once across files)
//! and the journal stay on the calling thread.
//!
//! Memory: a file has at most [`budget`] chunks read and not yet consumed;
//! a worker with no file under its bound waits. The bound is per file, not
//! global, because the merge may need the next chunk of any file: a global
//! one could be spent on a file whose events come later, and then wait
//! forever.

use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use std::io::Read;

use super::chunk::{ChunkReader, Item, Parsed, Spare, Work};
use super::{FileSource, Input as SourceInput, Stats, UnparsedHook};
use crate::event::{AuthEvent, Name};
use crate::parse::Parser;
use crate::parse::sshd::SshdParser;

/// A chunk's result, by its sequence number in the file: `Ok(None)` past
/// the end of the file.
type Done = (u64, io::Result<Option<Parsed>>);

/// One file for the workers.
struct Job {
    reader: Mutex<ChunkReader>,
    work: Work,
    tx: Sender<Done>,
}

/// What the workers share, under one lock.
struct Sched {
    /// Chunks of each file read and not yet consumed.
    in_flight: Vec<usize>,
    /// Files read to their end (or to an error).
    finished: Vec<bool>,
    /// The reading side is gone: stop.
    stop: bool,
}

struct Shared {
    jobs: Vec<Job>,
    sched: Mutex<Sched>,
    wake: Condvar,
    budget: usize,
    /// Spent chunks' buffers, for the next chunks (see [`Spare`]).
    spare: Mutex<Vec<Spare>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked held no invariant the others rely on.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Chunks of a file in flight at once: enough for every worker to parse one
/// while the calling thread reads another, split among the files (at least
/// two each, so the next chunk is ready when one ends).
pub(super) fn budget(workers: usize, files: usize) -> usize {
    (workers + 1).div_ceil(files.max(1)).max(2)
}

/// A file for the pool: its stream, how to parse it, its correlation.
pub(super) struct Input {
    pub path: Name,
    pub reader: ChunkReader,
    pub work: Work,
    pub sshd: Option<SshdParser>,
}

/// `source` for the worker threads of [`EventMerge::threaded`](super::EventMerge::threaded), when
/// its format can be parsed in chunks (sshd, JSON, regex) and no line was
/// read yet; else the source back.
// The source comes back whole when it stays on the calling thread (once per
// file: its size does not matter).
#[allow(clippy::result_large_err)]
pub(super) fn input(source: FileSource, chunk_bytes: usize) -> Result<Input, FileSource> {
    let stateless = matches!(
        source.parser,
        Parser::Sshd(_) | Parser::Json(_) | Parser::Regex(_)
    );
    if source.once_key.is_some() || !stateless {
        return Err(source);
    }
    let FileSource {
        path,
        input,
        parser,
        format_name,
        once_key,
        occurrences,
        format,
        opts,
    } = source;
    let reader = match input {
        SourceInput::Bytes(r) => r.into_inner().map_err(SourceInput::Bytes),
        lines => Err(lines),
    };
    let reader: Box<dyn Read + Send> = match reader {
        Ok(r) => Box::new(r),
        Err(input) => {
            return Err(FileSource {
                path,
                input,
                parser,
                format_name,
                once_key,
                occurrences,
                format,
                opts,
            });
        }
    };
    let (work, sshd) = match parser {
        Parser::Sshd(p) => (Work::Sshd(p.stager()), Some(p)),
        _ => (
            Work::Whole {
                format,
                opts,
                path: path.clone(),
            },
            None,
        ),
    };
    Ok(Input {
        path,
        reader: ChunkReader::new(reader, chunk_bytes),
        work,
        sshd,
    })
}

/// Starts `workers` threads over `inputs`; one [`Feed`] per input, in order.
pub(super) fn start(workers: usize, inputs: Vec<Input>) -> Vec<Feed> {
    let n = inputs.len();
    let mut jobs = Vec::with_capacity(n);
    let mut rxs = Vec::with_capacity(n);
    let mut rest = Vec::with_capacity(n);
    for i in inputs {
        let (tx, rx) = channel();
        jobs.push(Job {
            reader: Mutex::new(i.reader),
            work: i.work,
            tx,
        });
        rxs.push(rx);
        rest.push((i.path, i.sshd));
    }
    let shared = Arc::new(Shared {
        jobs,
        sched: Mutex::new(Sched {
            in_flight: vec![0; n],
            finished: vec![false; n],
            stop: false,
        }),
        wake: Condvar::new(),
        budget: budget(workers, n),
        spare: Mutex::new(Vec::new()),
    });
    for _ in 0..workers.max(1) {
        let shared = Arc::clone(&shared);
        // Detached: a worker blocked reading a pipe must not hold up the end
        // of the run; it stops at its next chunk (see `Stop`).
        std::thread::spawn(move || worker(&shared));
    }
    let stop = Arc::new(Stop(Arc::clone(&shared)));
    rxs.into_iter()
        .zip(rest)
        .enumerate()
        .map(|(index, (rx, (path, sshd)))| Feed {
            path,
            index,
            rx,
            pending: BTreeMap::new(),
            next: 0,
            current: None,
            offset: 0,
            sshd,
            shared: Arc::clone(&shared),
            _stop: Arc::clone(&stop),
        })
        .collect()
}

/// Tells the workers to stop when the last feed is dropped.
struct Stop(Arc<Shared>);

impl Drop for Stop {
    fn drop(&mut self) {
        lock(&self.0.sched).stop = true;
        self.0.wake.notify_all();
    }
}

/// Sends an error for the chunk under way if its worker panics, so the
/// reading thread reports it instead of waiting for the chunk forever.
struct Guard<'a> {
    tx: &'a Sender<Done>,
    seq: u64,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let e = io::Error::other("a parsing thread failed");
            let _ = self.tx.send((self.seq, Err(e)));
        }
    }
}

fn worker(shared: &Shared) {
    loop {
        // A file under its bound and not finished, the least read ahead first.
        let i = {
            let mut s = lock(&shared.sched);
            loop {
                if s.stop || s.finished.iter().all(|&f| f) {
                    return;
                }
                let pick = (0..s.in_flight.len())
                    .filter(|&i| !s.finished[i] && s.in_flight[i] < shared.budget)
                    .min_by_key(|&i| s.in_flight[i]);
                if let Some(i) = pick {
                    s.in_flight[i] += 1;
                    break i;
                }
                s = shared.wake.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let job = &shared.jobs[i];
        let mut work = job.work.clone();
        let spare = lock(&shared.spare).pop().unwrap_or_default();
        let (seq, read) = {
            let mut r = lock(&job.reader);
            let seq = r.seq;
            // Another worker found the end (or an error) first: only its
            // message goes to the reading thread.
            let read = if r.done {
                None
            } else {
                Some(r.next_chunk_in(spare))
            };
            match &read {
                Some(Ok(Some(_))) => r.seq += 1,
                Some(_) => r.done = true,
                None => {}
            }
            (seq, read)
        };
        match read {
            Some(Ok(Some(chunk))) => {
                let guard = Guard { tx: &job.tx, seq };
                let parsed = work.run(chunk);
                drop(guard);
                let _ = job.tx.send((seq, Ok(Some(parsed))));
            }
            end => {
                {
                    let mut s = lock(&shared.sched);
                    s.finished[i] = true;
                    s.in_flight[i] -= 1;
                }
                shared.wake.notify_all();
                if let Some(end) = end {
                    let _ = job.tx.send((seq, end.map(|_| None)));
                }
            }
        }
    }
}

/// One file's events on the calling thread, from its parsed chunks in order.
pub struct Feed {
    path: Name,
    index: usize,
    rx: Receiver<Done>,
    /// Chunks that arrived before the one the reading is at.
    pending: BTreeMap<u64, io::Result<Option<Parsed>>>,
    /// The sequence number of the next chunk to read.
    next: u64,
    current: Option<Current>,
    offset: u64,
    /// The correlation, for an sshd file.
    sshd: Option<SshdParser>,
    shared: Arc<Shared>,
    _stop: Arc<Stop>,
}

/// The chunk being read.
struct Current {
    text: String,
    items: Vec<(u32, Item)>,
    /// The chunk's other buffers, handed back with `text` and `items`.
    spare: Spare,
    /// The index of the next item to read.
    next: usize,
    trailing: u32,
    end: u64,
}

impl Feed {
    /// Bytes of the file consumed so far (whole chunks), for progress.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next chunk in file order, `None` past the end.
    fn next_chunk(&mut self) -> io::Result<Option<Parsed>> {
        let done = loop {
            if let Some(d) = self.pending.remove(&self.next) {
                break d;
            }
            let (seq, d) = self
                .rx
                .recv()
                .map_err(|_| io::Error::other("the parsing threads stopped"))?;
            self.pending.insert(seq, d);
        };
        if matches!(done, Ok(Some(_))) {
            self.next += 1;
        }
        done
    }

    /// The next event, counting lines and unparsed lines into `stats` and
    /// calling `hook`, as [`super::FileSource::next_event`] does.
    pub fn next_event(
        &mut self,
        stats: &mut Stats,
        hook: &mut UnparsedHook<'_>,
    ) -> io::Result<Option<AuthEvent>> {
        loop {
            if let Some(c) = &mut self.current {
                // Items are read in place, not moved out: a staged line is
                // ~200 bytes, and moving each out of the chunk was most of
                // this loop's cost on the calling thread (bench/PROFILE.md).
                while let Some((lines, item)) = c.items.get_mut(c.next) {
                    c.next += 1;
                    stats.lines += u64::from(*lines);
                    let ev = match item {
                        Item::Staged { offset, line } => match &mut self.sshd {
                            Some(p) => p.correlate_staged(&c.text, line, *offset),
                            None => None,
                        },
                        Item::Event(_) | Item::Taken => {
                            match std::mem::replace(item, Item::Taken) {
                                Item::Event(ev) => Some(ev),
                                _ => None,
                            }
                        }
                        Item::Unparsed { offset, raw, error } => {
                            *stats.unparsed.entry(error.reason).or_default() += 1;
                            hook(&self.path, *offset, raw, error);
                            None
                        }
                    };
                    if let Some(ev) = ev {
                        stats.events += 1;
                        return Ok(Some(ev));
                    }
                }
                stats.lines += u64::from(c.trailing);
                self.offset = c.end;
                if let Some(c) = self.current.take() {
                    // The items are dropped by the worker that reuses them,
                    // off this thread.
                    let mut spare = c.spare;
                    spare.items = c.items;
                    if spare.bytes.capacity() < c.text.capacity() {
                        spare.bytes = c.text.into_bytes();
                    }
                    lock(&self.shared.spare).push(spare);
                }
                let mut s = lock(&self.shared.sched);
                s.in_flight[self.index] -= 1;
                drop(s);
                self.shared.wake.notify_all();
            }
            match self.next_chunk()? {
                Some(p) => {
                    self.current = Some(Current {
                        text: p.text,
                        items: p.items,
                        spare: Spare {
                            bytes: p.bytes,
                            lines: p.lines,
                            items: Vec::new(),
                        },
                        next: 0,
                        trailing: p.trailing,
                        end: p.end,
                    })
                }
                None => return Ok(None),
            }
        }
    }
}

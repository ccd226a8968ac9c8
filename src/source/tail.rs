//! The tailer: sources to files to lines, poll by poll.
//!
//! Each [`Tailer::poll`] first rediscovers every source (which files its path or
//! glob names now, by device + inode), which is how rotation is noticed: a
//! followed file no longer found is *rotated* and drained through its open
//! handle before the new file at the path is read, so lines keep their order.
//! Then it reads complete lines under a budget, so the daemon can commit a
//! batch's checkpoints with the rule state it produced. Nothing here waits or
//! looks at the clock: the caller decides when to poll (notify events plus a
//! periodic backstop), which keeps the core deterministic and testable.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::discover::{self, Found, Pattern, SourceError};
use super::fingerprint;
use super::follow::{self, Followed};
use super::resume::{Taken, find_by_inode, take_checkpoint};
use super::settle::{TailClock, read_whole};
use super::truncation::{check_truncations, copy_while_stopped, remove_released};
use super::{
    Checkpoint, FileId, FileStatus, Fingerprint, PollResult, SourceSpec, SourceStatus, Start,
    TailEvent, TailLine,
};

/// Follows the files of several sources.
#[derive(Debug)]
pub struct Tailer {
    sources: Vec<SourceState>,
    /// Checkpoints of the last run not yet matched to a file.
    pending: Vec<Checkpoint>,
    from_end: bool,
    /// Whether a poll ran (the first one applies `from_end` and looks for files
    /// rotated while the daemon was down).
    started: bool,
    next_id: u64,
    /// Source the next poll reads first, so one source's backlog cannot starve
    /// the others across polls.
    first_source: usize,
    buf: Box<[u8]>,
    found: Vec<Found>,
    /// Time, for export sources' settle times (nothing else here reads it).
    clock: TailClock,
}

#[derive(Debug)]
struct SourceState {
    spec: SourceSpec,
    /// A source of exports: a file is read only once complete, after staying
    /// unwritten this long (see [`super::settle`]); `None` for logs.
    settle: Option<Duration>,
    pattern: Pattern,
    /// Ordered by id, i.e. by when they were first seen.
    files: Vec<Followed>,
    /// Problems of the last completed poll.
    errors: Vec<SourceError>,
    /// Problems of the poll in progress.
    next_errors: Vec<SourceError>,
}

impl Tailer {
    /// A tailer over `specs`. `checkpoints`: what was committed last run;
    /// `from_end`: files found at the first poll with no checkpoint start after
    /// their last complete line instead of at 0 (a first start on a huge log).
    pub fn new(specs: Vec<SourceSpec>, checkpoints: Vec<Checkpoint>, from_end: bool) -> Tailer {
        Tailer {
            sources: specs
                .into_iter()
                .map(|spec| SourceState {
                    pattern: Pattern::parse(&spec.pattern),
                    spec,
                    settle: None,
                    files: Vec::new(),
                    errors: Vec::new(),
                    next_errors: Vec::new(),
                })
                .collect(),
            pending: checkpoints,
            from_end,
            started: false,
            next_id: 0,
            first_source: 0,
            buf: vec![0; follow::BUF].into_boxed_slice(),
            found: Vec::new(),
            clock: TailClock(Arc::new(crate::clock::SystemClock)),
        }
    }

    /// Makes `source` a folder of exports: none of a file's lines is handed
    /// out before the file is complete (unwritten for `after`, or renamed
    /// into place), and then its last line too, newline or not.
    pub fn settle(mut self, source: &str, after: Duration) -> Tailer {
        for s in &mut self.sources {
            if s.spec.name == source {
                s.settle = Some(after);
            }
        }
        self
    }

    /// Reads settle times from `clock` instead of the system's.
    pub fn clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Tailer {
        self.clock = TailClock(clock);
        self
    }

    /// Discovers files (globs, symlinks, files that appear later), detects
    /// rotation and truncation, and calls `on_line` for each new complete line,
    /// at most `max_lines` times (with 0 it only discovers files and checks them
    /// for truncation, and `more` is false). A rotated file
    /// is read before the file that replaced it, and released once it has been
    /// read to its end and stayed unchanged for a whole poll.
    pub fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
        let mut res = PollResult::default();
        let first = !self.started;
        self.started = true;
        for si in 0..self.sources.len() {
            self.discover(si, first, &mut res.events);
        }
        if first {
            self.adopt_rotated(&mut res.events);
        }
        let mut budget = max_lines;
        let n = self.sources.len();
        let (now, mono) = (SystemTime::from(self.clock.0.now()), self.clock.0.instant());
        for k in 0..n {
            let si = (self.first_source + k) % n;
            let SourceState {
                spec,
                settle,
                files,
                next_errors,
                ..
            } = &mut self.sources[si];
            // Truncation is checked for every file before any is read, so the
            // copy of a truncated file joins the rotated files read first.
            let (mut release, unreadable) =
                check_truncations(spec, files, next_errors, &mut self.next_id, &mut res.events);
            // Rotated files first: their lines were written before the new file's.
            let order: Vec<usize> = (0..files.len())
                .filter(|&i| !files[i].attached)
                .chain((0..files.len()).filter(|&i| files[i].attached))
                .filter(|i| !release.contains(i) && !unreadable.contains(i))
                .collect();
            for i in order {
                let f = &mut files[i];
                // Once the budget is spent the rest are read on the next poll
                // (all were checked for truncation above, so checkpoints never
                // vouch for content that is gone).
                if res.more || max_lines == 0 {
                    continue;
                }
                if let Some(after) = *settle {
                    match f.look() {
                        Ok(look) if f.settle.complete(look, now, mono, after) => {}
                        Ok(_) => continue,
                        Err(e) => {
                            next_errors.push(SourceError::from_io(&f.path, &e));
                            continue;
                        }
                    }
                }
                let before = budget;
                let at_end = match f.read_lines(&mut self.buf, &spec.name, &mut budget, on_line) {
                    Ok(e) => e,
                    Err(e) => {
                        next_errors.push(SourceError::from_io(&f.path, &e));
                        false
                    }
                };
                res.lines += before - budget;
                if at_end && settle.is_some() {
                    match read_whole(f, &mut self.buf, &spec.name, &mut budget, on_line) {
                        Ok(Some(flushed)) => {
                            res.lines += usize::from(flushed);
                            // An empty file is no export read whole.
                            if f.size > 0 && f.settle.read_whole(f.size) {
                                res.events.push(TailEvent::Completed {
                                    source: spec.name.clone(),
                                    file: f.id,
                                    path: f.path.clone(),
                                });
                            }
                        }
                        Ok(None) => res.more = true,
                        Err(e) => next_errors.push(SourceError::from_io(&f.path, &e)),
                    }
                }
                if let Err(e) = f.update_head() {
                    next_errors.push(SourceError::from_io(&f.path, &e));
                }
                if at_end && !f.attached && f.quiet_at_end() {
                    if budget == 0 {
                        res.more = true;
                    } else {
                        match f.flush_partial(&mut self.buf, &spec.name, on_line) {
                            Ok(flushed) => {
                                if flushed {
                                    budget -= 1;
                                    res.lines += 1;
                                }
                                release.push(i);
                            }
                            Err(e) => next_errors.push(SourceError::from_io(&f.path, &e)),
                        }
                    }
                }
                if budget == 0 && !at_end {
                    res.more = true;
                }
            }
            remove_released(spec, files, release, &mut res.events);
        }
        if n > 0 {
            self.first_source = (self.first_source + 1) % n;
        }
        self.finish_errors(&mut res.events);
        res
    }

    /// One checkpoint per followed file, reflecting exactly the lines delivered
    /// so far (plus last run's checkpoints still waiting for an unreadable source).
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        let mut out: Vec<Checkpoint> = self
            .sources
            .iter()
            .flat_map(|s| {
                s.files.iter().map(|f| Checkpoint {
                    source: s.spec.name.clone(),
                    path: f.path.clone(),
                    fingerprint: f.fingerprint(),
                    offset: f.offset,
                })
            })
            .collect();
        out.extend(self.pending.iter().cloned());
        out
    }

    /// Per source: files followed, current problems (with fix hints), lag.
    pub fn status(&self) -> Vec<SourceStatus> {
        self.sources
            .iter()
            .map(|s| {
                let files: Vec<FileStatus> = s
                    .files
                    .iter()
                    .map(|f| FileStatus {
                        file: f.id,
                        path: f.path.clone(),
                        offset: f.offset,
                        size: f.size,
                        rotated: !f.attached,
                    })
                    .collect();
                SourceStatus {
                    name: s.spec.name.clone(),
                    pattern: s.spec.pattern.clone(),
                    lag_bytes: files.iter().map(|f| f.size.saturating_sub(f.offset)).sum(),
                    files,
                    errors: s.errors.clone(),
                    listening: false,
                    warnings: Vec::new(),
                }
            })
            .collect()
    }

    /// Directories to watch with `notify`: parents of paths, glob bases (or their
    /// nearest existing ancestor), and the directories of followed files and of
    /// their symlink targets. The set can change after a poll; re-sync then.
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = BTreeSet::new();
        for s in &self.sources {
            dirs.extend(s.pattern.watch_dir());
            for f in &s.files {
                dirs.insert(discover::parent(&f.path));
                if let Ok(target) = fs::canonicalize(&f.path) {
                    dirs.insert(discover::parent(&target));
                }
            }
        }
        dirs.into_iter().collect()
    }

    /// Matches the files a source names now against the followed ones.
    fn discover(&mut self, si: usize, first: bool, events: &mut Vec<TailEvent>) {
        let src = &mut self.sources[si];
        self.found.clear();
        src.pattern.discover(&mut self.found, &mut src.next_errors);
        let was_attached: Vec<bool> = src.files.iter().map(|f| f.attached).collect();
        for f in &mut src.files {
            f.attached = false;
        }
        for found in self.found.drain(..) {
            if attach(&mut src.files, found.dev, found.inode, &found.path) {
                continue;
            }
            let file = match File::open(&found.path) {
                Ok(f) => f,
                Err(e) => {
                    src.next_errors.push(SourceError::from_io(&found.path, &e));
                    continue;
                }
            };
            // The handle's identity is authoritative: the path may have been
            // replaced between the stat and the open.
            let fp = match fingerprint::of_file(&file, 0) {
                Ok(fp) => fp,
                Err(e) => {
                    src.next_errors.push(SourceError::from_io(&found.path, &e));
                    continue;
                }
            };
            if attach(&mut src.files, fp.dev, fp.inode, &found.path) {
                continue;
            }
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let (offset, start) = match take_checkpoint(
                &mut self.pending,
                &src.spec.name,
                &found.path,
                &fp,
                &file,
                size,
            ) {
                Taken::Resume(off) => (off, Start::Resumed),
                Taken::Stale(cp) => {
                    // Truncated (or rewritten) while the daemon was stopped: the
                    // unread end of the old content may be in a copy beside it.
                    let copy = copy_while_stopped(
                        &cp,
                        &found.path,
                        &src.files,
                        &mut self.next_id,
                        &src.spec,
                        events,
                    );
                    events.push(TailEvent::Truncated {
                        source: src.spec.name.clone(),
                        // The id the file is opened with just below.
                        file: FileId(self.next_id),
                        path: found.path.clone(),
                        offset_was: cp.offset,
                        copy: copy.as_ref().map(|c| c.path.clone()),
                        lost_bytes: copy.as_ref().map(|_| 0),
                    });
                    if let Some(c) = copy {
                        src.files.push(c);
                    }
                    (0, Start::New)
                }
                Taken::None if first && self.from_end => (
                    follow::end_offset(&file, size, &mut self.buf).unwrap_or(0),
                    Start::FromEnd,
                ),
                Taken::None => (0, Start::New),
            };
            let id = FileId(self.next_id);
            self.next_id += 1;
            events.push(TailEvent::Opened {
                source: src.spec.name.clone(),
                file: id,
                path: found.path.clone(),
                offset,
                start,
            });
            src.files
                .push(Followed::new(id, found.path, file, &fp, offset));
        }
        for (f, was) in src.files.iter_mut().zip(was_attached) {
            if was && !f.attached {
                f.detach();
                events.push(TailEvent::Rotated {
                    source: src.spec.name.clone(),
                    file: f.id,
                    path: f.path.clone(),
                });
            }
        }
    }

    /// First poll: a checkpoint whose file is no longer at a matched path was
    /// probably rotated while the daemon was down; look for its inode beside its
    /// old path (`auth.log.1`) and drain it before the new file.
    fn adopt_rotated(&mut self, events: &mut Vec<TailEvent>) {
        let pending = std::mem::take(&mut self.pending);
        for cp in pending {
            let Some(src) = self.sources.iter_mut().find(|s| s.spec.name == cp.source) else {
                self.pending.push(cp);
                continue;
            };
            let Some((path, file)) = find_by_inode(&cp) else {
                self.pending.push(cp);
                continue;
            };
            let fp = Fingerprint {
                head_hash: 0,
                head_len: 0,
                ..cp.fingerprint
            };
            let id = FileId(self.next_id);
            self.next_id += 1;
            events.push(TailEvent::Opened {
                source: src.spec.name.clone(),
                file: id,
                path: path.clone(),
                offset: cp.offset,
                start: Start::Resumed,
            });
            let mut f = Followed::new(id, path, file, &fp, cp.offset);
            f.detach();
            // Keep id order = age order: adopted files precede what discovery opened.
            let at = src
                .files
                .iter()
                .position(|g| g.attached)
                .unwrap_or(src.files.len());
            src.files.insert(at, f);
        }
    }

    /// Publishes this poll's problems: new ones become events (reported once);
    /// pending checkpoints of a source that is now fully readable are dropped.
    fn finish_errors(&mut self, events: &mut Vec<TailEvent>) {
        for s in &mut self.sources {
            s.next_errors.dedup();
            for e in &s.next_errors {
                if !s.errors.contains(e) {
                    events.push(TailEvent::Problem {
                        source: s.spec.name.clone(),
                        error: e.clone(),
                    });
                }
            }
            s.errors = std::mem::take(&mut s.next_errors);
        }
        let sources = &self.sources;
        let (keep, drop): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|cp| {
                sources
                    .iter()
                    .find(|s| s.spec.name == cp.source)
                    .is_some_and(|s| !s.errors.is_empty())
            });
        self.pending = keep;
        events.extend(
            drop.into_iter()
                .map(|checkpoint| TailEvent::CheckpointUnmatched { checkpoint }),
        );
    }
}

/// Marks the followed file with this identity as found at `path`.
fn attach(files: &mut [Followed], dev: u64, inode: u64, path: &std::path::Path) -> bool {
    match files.iter_mut().find(|f| f.dev == dev && f.inode == inode) {
        Some(f) => {
            if !f.attached {
                f.attached = true;
                if f.path != path {
                    f.path = path.to_path_buf();
                }
            }
            true
        }
        None => false,
    }
}

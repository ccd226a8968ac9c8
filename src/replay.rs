//! Replay: files through the parsers and the rule engine, in event time.
//!
//! Each input becomes a [`FileSource`] (line reader + parser for its detected or
//! given format). [`EventMerge`] interleaves several sources by event time, the
//! way the daemon would have seen them live, so a brute force spread over
//! `auth.log.1` and `auth.log` is counted as one. The rule engine runs on the
//! merged stream; nothing here depends on the wall clock.
//!
//! Exports overlap (an admin downloads "the last week" every few days): as in
//! the daemon, a row of an export format that an earlier file of the same
//! format in this replay already delivered is not delivered again (counted as
//! `duplicate_row`), so replaying every export of a folder gives the events,
//! and the decisions, that `run` gives reading them one after the other.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, BufRead, BufReader, Read};

use chrono::{DateTime, Utc};

use crate::event::{AuthEvent, Name};
use crate::parse::custom::Declared;
use crate::parse::reader::{Line, LineReader};
use crate::parse::{Format, LineCtx, ParseError, ParseOptions, Parser, UnparsedReason, detect};
use crate::source::rows::{Occurrences, Once, RowId};

mod chunk;
mod threads;

/// Counters of one run, per reason where it matters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Auth events produced.
    pub events: u64,
    /// Lines that could not be parsed, per reason.
    pub unparsed: BTreeMap<UnparsedReason, u64>,
    /// Decisions produced.
    pub decisions: u64,
}

impl Stats {
    /// All unparsed lines.
    pub fn unparsed_total(&self) -> u64 {
        self.unparsed.values().sum()
    }
}

/// Called for each line that fails to parse: (path, offset, raw line, error).
pub type UnparsedHook<'a> = dyn FnMut(&str, u64, &[u8], &ParseError) + 'a;

/// Lines that carry their own offsets, for an input that is not a byte
/// stream (a journal's entries, whose offset is the entry's sequence number,
/// as the daemon gives it): `(offset, line)`, `None` for a line too long.
pub type OffsetLines = Box<dyn Iterator<Item = io::Result<(u64, Option<Vec<u8>>)>>>;

fn format_name(format: &Format) -> &'static str {
    match format {
        Format::Auto | Format::Sshd => "sshd",
        Format::Json(_) => "json",
        Format::Regex(_) => "regex",
        Format::Csv(_) => "csv",
    }
}

/// Where a [`FileSource`]'s lines come from.
enum Input {
    Bytes(LineReader<BufReader<Box<dyn Read + Send>>>),
    Lines {
        lines: OffsetLines,
        current: Vec<u8>,
    },
}

/// One input file (or stdin) with its parser.
pub struct FileSource {
    path: Name,
    input: Input,
    parser: Parser,
    /// The format actually used (after `auto` detection), for messages.
    pub format_name: &'static str,
    /// An export format's name: its rows are delivered once across the
    /// files of that format ([`EventMerge`]); `None` for logs.
    once_key: Option<String>,
    occurrences: Occurrences,
    /// The concrete format and the options, for parsers on other threads.
    format: Format,
    opts: ParseOptions,
}

impl FileSource {
    /// Opens a source over `input`. With `Format::Auto`, the first lines are
    /// inspected (without consuming them) to choose the format.
    pub fn new(
        path: Name,
        input: Box<dyn Read + Send>,
        format: &Format,
        opts: &ParseOptions,
    ) -> io::Result<FileSource> {
        let mut buf = BufReader::with_capacity(64 * 1024, input);
        let format = match format {
            Format::Auto => detect::detect_head(buf.fill_buf()?),
            f => f.clone(),
        };
        let format_name = format_name(&format);
        let parser = Parser::new(&format, opts, LineCtx { path: path.clone() });
        Ok(FileSource {
            path,
            input: Input::Bytes(LineReader::new(buf, 0)),
            once_key: parser.retention().map(|_| format.name().to_owned()),
            parser,
            format_name,
            occurrences: Occurrences::default(),
            format,
            opts: opts.clone(),
        })
    }

    /// A source over lines with their own offsets, in a concrete `format`
    /// (`Auto` reads them as sshd: nothing is detected here).
    pub fn from_lines(
        path: Name,
        lines: OffsetLines,
        format: &Format,
        opts: &ParseOptions,
    ) -> FileSource {
        let format = match format {
            Format::Auto => Format::Sshd,
            f => f.clone(),
        };
        let parser = Parser::new(&format, opts, LineCtx { path: path.clone() });
        FileSource {
            once_key: parser.retention().map(|_| format.name().to_owned()),
            parser,
            path,
            input: Input::Lines {
                lines,
                current: Vec::new(),
            },
            format_name: format_name(&format),
            occurrences: Occurrences::default(),
            format,
            opts: opts.clone(),
        }
    }

    /// The path events are stamped with.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Bytes consumed so far (for progress; 0 for lines with their own offsets).
    pub fn offset(&self) -> u64 {
        match &self.input {
            Input::Bytes(r) => r.offset(),
            Input::Lines { .. } => 0,
        }
    }

    /// The next auth event, counting lines and errors into `stats`.
    pub fn next_event(
        &mut self,
        stats: &mut Stats,
        hook: &mut UnparsedHook<'_>,
    ) -> io::Result<Option<AuthEvent>> {
        self.next_event_once(stats, hook, None)
    }

    /// [`FileSource::next_event`], skipping rows of an export that `once`
    /// has seen (from another file of the same format).
    fn next_event_once(
        &mut self,
        stats: &mut Stats,
        hook: &mut UnparsedHook<'_>,
        mut once: Option<&mut Once>,
    ) -> io::Result<Option<AuthEvent>> {
        loop {
            let (offset, line) = match &mut self.input {
                Input::Bytes(r) => match r.next_line()? {
                    Some(l) => l,
                    None => return Ok(None),
                },
                Input::Lines { lines, current } => match lines.next().transpose()? {
                    Some((offset, Some(bytes))) => {
                        *current = bytes;
                        (offset, Line::Text(current.as_slice()))
                    }
                    Some((offset, None)) => (offset, Line::TooLong),
                    None => return Ok(None),
                },
            };
            stats.lines += 1;
            let result = match line {
                Line::Text(t) => self.parser.parse(t, offset).map_err(|e| (e, t)),
                Line::TooLong => Err((
                    ParseError::new(UnparsedReason::TooLong, "a line of at most 64 KiB"),
                    &b""[..],
                )),
            };
            match result {
                Ok(Some(_))
                    if self
                        .once_key
                        .as_deref()
                        .zip(once.as_deref_mut())
                        .is_some_and(|(key, once)| {
                            let row = self
                                .parser
                                .record()
                                .map(|r| RowId::of_record(r.iter()))
                                .unwrap_or_else(|| RowId::of_line(b""));
                            // One replay: nothing expires.
                            !once.first_time(
                                key,
                                self.occurrences.next(row),
                                DateTime::<Utc>::MAX_UTC,
                            )
                        }) =>
                {
                    *stats
                        .unparsed
                        .entry(UnparsedReason::DuplicateRow)
                        .or_default() += 1;
                }
                Ok(Some(ev)) => {
                    stats.events += 1;
                    return Ok(Some(ev));
                }
                Ok(None) => {}
                Err((e, raw)) => {
                    *stats.unparsed.entry(e.reason).or_default() += 1;
                    hook(&self.path, offset, raw, &e);
                }
            }
        }
    }
}

/// How `replay --threads` spreads the parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads {
    /// Threads in all, the calling one included: `count - 1` workers parse
    /// chunks while the calling thread correlates and runs the rules (1: no
    /// worker, everything on the calling thread). One thread per core, not a
    /// worker per core plus the caller: on 2 cores one worker and the caller
    /// have about equal work (bench/PROFILE.md, threads step), and a third
    /// busy thread only time-slices them.
    pub count: usize,
    /// Bytes of a chunk (cut after a newline).
    pub chunk_bytes: usize,
}

impl Threads {
    /// Chunks of 1 MiB: a few thousand lines, so the workers' hand-over
    /// costs little, and a file holds a few MiB in flight.
    pub const CHUNK_BYTES: usize = 1 << 20;
}

/// One input of the merge: read on the calling thread, or parsed by workers.
enum Feed {
    Direct(FileSource),
    Threaded(threads::Feed),
}

impl Feed {
    fn next_event_once(
        &mut self,
        stats: &mut Stats,
        hook: &mut UnparsedHook<'_>,
        once: Option<&mut Once>,
    ) -> io::Result<Option<AuthEvent>> {
        match self {
            Feed::Direct(s) => s.next_event_once(stats, hook, once),
            // Export formats, the only ones `once` applies to, stay direct.
            Feed::Threaded(f) => f.next_event(stats, hook),
        }
    }

    fn offset(&self) -> u64 {
        match self {
            Feed::Direct(s) => s.offset(),
            Feed::Threaded(f) => f.offset(),
        }
    }
}

/// Several sources merged by event time (a k-way merge on each source's next event).
///
/// Within one file, events keep file order even if a clock stepped back: a log is
/// what happened in that order. Ties between files go to the earlier-named file.
pub struct EventMerge {
    sources: Vec<Feed>,
    heads: Vec<Option<AuthEvent>>,
    heap: BinaryHeap<Reverse<(DateTime<Utc>, usize)>>,
    started: bool,
    /// Export rows delivered so far, across the files.
    once: Once,
}

impl EventMerge {
    /// A merge over `sources`, in the given order for ties.
    pub fn new(sources: Vec<FileSource>) -> EventMerge {
        let n = sources.len();
        EventMerge {
            sources: sources.into_iter().map(Feed::Direct).collect(),
            heads: (0..n).map(|_| None).collect(),
            heap: BinaryHeap::new(),
            started: false,
            once: Once::default(),
        }
    }

    /// A merge over `sources` whose lines `threads.count - 1` workers parse
    /// (see `threads`): the same events, unparsed lines and counts, in the
    /// same order, as [`EventMerge::new`] gives. One thread is `new` itself.
    pub fn threaded(sources: Vec<FileSource>, threads: Threads) -> EventMerge {
        if threads.count <= 1 {
            return EventMerge::new(sources);
        }
        let mut merge = EventMerge::new(Vec::new());
        let mut slots = Vec::with_capacity(sources.len());
        let mut inputs = Vec::new();
        for s in sources {
            match threads::input(s, threads.chunk_bytes) {
                Ok(input) => {
                    slots.push(None);
                    inputs.push(input);
                }
                Err(s) => slots.push(Some(Feed::Direct(s))),
            }
        }
        if inputs.is_empty() {
            merge.sources = slots.into_iter().flatten().collect();
            merge.heads = (0..merge.sources.len()).map(|_| None).collect();
            return merge;
        }
        let mut fed = threads::start(threads.count - 1, inputs).into_iter();
        merge.sources = slots
            .into_iter()
            .filter_map(|s| s.or_else(|| fed.next().map(Feed::Threaded)))
            .collect();
        merge.heads = (0..merge.sources.len()).map(|_| None).collect();
        merge
    }

    /// Bytes read so far across the inputs, for a progress bar.
    pub fn offset(&self) -> u64 {
        self.sources.iter().map(Feed::offset).sum()
    }

    fn refill(
        &mut self,
        i: usize,
        stats: &mut Stats,
        hook: &mut UnparsedHook<'_>,
    ) -> io::Result<()> {
        if let Some(ev) = self.sources[i].next_event_once(stats, hook, Some(&mut self.once))? {
            self.heap.push(Reverse((ev.timestamp, i)));
            self.heads[i] = Some(ev);
        }
        Ok(())
    }

    /// The next event in event-time order across all sources.
    pub fn next_event(
        &mut self,
        stats: &mut Stats,
        hook: &mut UnparsedHook<'_>,
    ) -> io::Result<Option<AuthEvent>> {
        // A single source needs no ordering: skip the heap on the hot path.
        if let [only] = self.sources.as_mut_slice() {
            return only.next_event_once(stats, hook, Some(&mut self.once));
        }
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                self.refill(i, stats, hook)?;
            }
        }
        let Some(Reverse((_, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let ev = self.heads[i].take();
        self.refill(i, stats, hook)?;
        Ok(ev)
    }
}

/// The declared formats a `--format` name may refer to, plus the built-ins.
pub fn resolve_format(name: &str, declared: &[Declared]) -> Option<Format> {
    Format::by_name(name, declared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn src(name: &str, text: &'static str) -> FileSource {
        let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap());
        FileSource::new(name.into(), Box::new(text.as_bytes()), &Format::Sshd, &opts).unwrap()
    }

    #[test]
    fn too_long_and_counts_without_panicking() {
        let mut big = String::from("x").repeat(70 * 1024);
        big.push('\n');
        let leaked: &'static str = Box::leak(big.into_boxed_str());
        let mut s = src("big", leaked);
        let mut stats = Stats::default();
        let mut seen = vec![];
        let mut hook = |_: &str, off: u64, _: &[u8], e: &ParseError| seen.push((off, e.reason));
        while s.next_event(&mut stats, &mut hook).unwrap().is_some() {}
        assert_eq!(stats.lines, 1);
        assert_eq!(seen, vec![(0, UnparsedReason::TooLong)]);
    }

    #[test]
    fn lines_with_their_own_offsets_keep_them() {
        let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap());
        let lines: Vec<io::Result<(u64, Option<Vec<u8>>)>> = vec![
            Ok((41, None)),
            Ok((
                42,
                Some(b"2026-11-21T08:00:00Z web1 sshd[7]: Failed password for bob from 192.0.2.1 port 2 ssh2".to_vec()),
            )),
        ];
        let mut s = FileSource::from_lines(
            "journal".into(),
            Box::new(lines.into_iter()),
            &Format::Auto,
            &opts,
        );
        let mut stats = Stats::default();
        let mut seen = vec![];
        let mut hook = |_: &str, off: u64, _: &[u8], e: &ParseError| seen.push((off, e.reason));
        let ev = s.next_event(&mut stats, &mut hook).unwrap().unwrap();
        assert_eq!(ev.log_offset, Some(42));
        assert!(s.next_event(&mut stats, &mut hook).unwrap().is_none());
        assert_eq!(seen, vec![(41, UnparsedReason::TooLong)]);
        assert_eq!((stats.lines, stats.events), (2, 1));
    }
}

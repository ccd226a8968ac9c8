//! The per-line stage of the ingest loop: a line from a source becomes an
//! event through that source's parser, and the event goes through the
//! pipeline core. Counts are kept per batch and added to the metrics in bulk,
//! so the hot path neither looks up label values nor allocates per line.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tracing::warn;

use crate::daemon::samples::Samples;
use crate::decision::Decision;
use crate::escape::Escaped;
use crate::event::{Name, Outcome};
use crate::intern::Interner;
use crate::parse::{Format, LineCtx, ParseOptions, Parser, UnparsedReason, Zone, detect};
use crate::pipeline::Pipeline;
use crate::source::TailLine;
use crate::source::rows::{Once, RowId};
use crate::source::{FileId, SourceStatus};

use super::exports::{FileState, Notices};
use crate::telemetry::Metrics;

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
    /// Rows delivered once, remembered this long (`SourceConfig::once`);
    /// `None`: as long as the format's retention, if it has one (an export).
    pub once: Option<chrono::Duration>,
    /// The file lines come from now (see [`super::exports`]).
    pub file: FileState,
    /// A pulled audit log: it retries an incomplete download itself and says
    /// so on `/readyz`, so the export folder's notice is not for it.
    pub pulled: bool,
}

/// Counters of one batch.
#[derive(Default)]
pub(crate) struct BatchCounts {
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

    /// Adds the batch's counts to the metrics.
    pub(crate) fn flush(self, metrics: &Metrics) {
        for (s, c) in self.per_source {
            let s = s.as_str();
            metrics.lines_read.with_label_values(&[s]).inc_by(c.lines);
            for (o, n) in OUTCOMES.iter().zip(c.events) {
                if n > 0 {
                    metrics.events.with_label_values(&[s, o.as_str()]).inc_by(n);
                }
            }
            for (r, n) in c.unparsed {
                metrics
                    .unparsed_lines
                    .with_label_values(&[s, r.as_str()])
                    .inc_by(n);
            }
        }
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

/// Parsers per source, and what lines leave behind for alerts.
pub struct Lines {
    sources: HashMap<String, SourceParse>,
    interner: Interner,
    /// Recent raw lines per target, quoted by alerts.
    pub(super) samples: Samples,
    year: Option<i32>,
    /// Rows of deduplicated sources already delivered (see `crate::source::rows`).
    pub(super) once: Once,
    /// Exports that stopped early, until a later one is read whole.
    notices: Notices,
}

impl Lines {
    /// The stage for `sources`; `year` for formats without one (else guessed).
    pub fn new(
        sources: HashMap<String, SourceParse>,
        samples: Samples,
        year: Option<i32>,
        once: Once,
    ) -> Lines {
        Lines {
            sources,
            interner: Interner::default(),
            samples,
            year,
            once,
            notices: Notices::default(),
        }
    }

    /// File `file` of export source `source` was read to its complete end.
    pub(super) fn export_completed(&mut self, source: &str, file: FileId, path: &std::path::Path) {
        self.notices.completed(source, file, path);
    }

    /// Adds the sources' export warnings (incomplete exports) to `status`.
    pub(super) fn warnings(&self, status: &mut [SourceStatus]) {
        for s in status {
            s.warnings.extend(self.notices.warning(&s.name));
        }
    }

    /// The parsers' snapshots, committed with the rule state.
    pub(crate) fn parser_snapshots(&self) -> Vec<(String, Vec<u8>)> {
        self.sources
            .iter()
            .filter_map(|(name, s)| s.parser.as_ref().map(|p| (name.clone(), p.snapshot())))
            .collect()
    }

    /// Handles one line: parse, stamp, run through `pipeline`; decisions made
    /// go to `made`. `now` (wall clock) is for a parser created on this line
    /// (its year guess) and for when a row delivered once may be forgotten.
    pub(super) fn handle(
        &mut self,
        line: TailLine<'_>,
        pipeline: &mut Pipeline,
        now: DateTime<Utc>,
        counts: &mut BatchCounts,
        made: &mut Vec<Decision>,
    ) {
        let Some(mut ev) = self.event(line, now, counts) else {
            return;
        };
        if let Some(path) = &ev.log_path {
            self.samples.record(&ev, path, line.offset, line.line);
        }
        let first = made.len();
        pipeline.observe(&mut ev, made);
        for d in &made[first..] {
            self.samples.capture(d);
        }
    }

    /// The parse stage alone: the line's event, if it gives one, stamped with
    /// the file it came from and the sender, and counted. The daemon runs it
    /// before the pipeline ([`Lines::handle`]); the fleet agent
    /// (`crate::daemon::agent`) publishes what it returns.
    pub(crate) fn event(
        &mut self,
        line: TailLine<'_>,
        now: DateTime<Utc>,
        counts: &mut BatchCounts,
    ) -> Option<crate::event::AuthEvent> {
        let c = counts.source(line.source);
        c.lines += 1;
        let src = self.sources.get_mut(line.source)?;
        if line.too_long {
            *c.unparsed.entry(UnparsedReason::TooLong).or_default() += 1;
            return None;
        }
        let year = self.year;
        // A new file from its first byte: the next export of a folder, or the
        // new file after a rotation. (Resuming mid-file after a restart is not.)
        let new_file = src.file.enter(line.file) && line.offset == 0;
        // `auto` is per file: an export folder may hold several formats.
        if new_file
            && src.parser.is_some()
            && matches!(src.format, Format::Auto)
            && src.file.format.as_deref() != Some(detect_format(&line).name())
        {
            src.parser = None;
        }
        let parser = src.parser.get_or_insert_with(|| {
            let format = match &src.format {
                Format::Auto => detect_format(&line),
                f => f.clone(),
            };
            src.file.format = Some(format.name().to_owned());
            let opts = ParseOptions { year, zone: src.zone, now };
            let mut p = Parser::new(&format, &opts, LineCtx { path: Name::from(line.source) });
            if let Some(snap) = src.pending_restore.take()
                && let Err(e) = p.restore(&snap)
            {
                warn!(source = %Escaped(line.source), error = %e, "Parser state from the last run unusable; starting fresh.");
            }
            p
        });
        if new_file {
            // Its own header and encoding (a state restored from the last
            // run belongs to the file it was in).
            parser.start_file();
        }
        match parser.parse(line.line, line.offset) {
            // An export (or a source told to): each row once. Its identity is
            // its parsed fields where the format has them, numbered per file.
            Ok(Some(_))
                if src.once.or_else(|| parser.retention()).is_some_and(|keep| {
                    let row = parser
                        .record()
                        .map(|r| RowId::of_record(r.iter()))
                        .unwrap_or_else(|| RowId::of_line(line.line));
                    !self
                        .once
                        .first_time(line.source, src.file.row(row), now + keep)
                }) =>
            {
                *c.unparsed.entry(UnparsedReason::DuplicateRow).or_default() += 1;
                None
            }
            Ok(Some(mut ev)) => {
                // One parser per source: stamp the file the line really came from.
                ev.log_path = Some(self.interner.intern(&line.path.to_string_lossy()));
                // A line received over the network: who sent it.
                ev.host_ip = line.peer;
                c.events[outcome_index(ev.outcome)] += 1;
                Some(ev)
            }
            Ok(None) => None,
            Err(e) => {
                if e.reason == UnparsedReason::IncompleteExport && !src.pulled {
                    self.notices.incomplete(line.source, line.file, line.path);
                }
                *c.unparsed.entry(e.reason).or_default() += 1;
                None
            }
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

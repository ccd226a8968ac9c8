//! The offline run: history files through the pipeline and the lockout storm
//! breaker in event time, one event at a time. `loginwatch replay` prints what
//! it decides; `loginwatch rules test` compares it with a test's expectation.
//! Both drive this one loop, so a rule test checks exactly what `replay` shows
//! (and, through [`Pipeline`], what the daemon decides).

use std::io;
use std::sync::Arc;

use crate::decision::{Decision, Mode};
use crate::enrich::Loaded;
use crate::event::AuthEvent;
use crate::pipeline::Pipeline;
use crate::replay::{EventMerge, FileSource, Stats, Threads, UnparsedHook};
use crate::rules::RuleSet;
use crate::safety::{Ctx, Safety, SafetyConfig, StormEvent};

/// One offline run; see the module header.
pub struct Offline {
    pipeline: Pipeline,
    merge: EventMerge,
    safety: Safety,
    stats: Stats,
}

impl Offline {
    /// A run of `rules` in `mode` over `sources`, merged in event time.
    pub fn new(
        rules: Arc<RuleSet>,
        mode: Mode,
        enrichment: Loaded,
        safety: SafetyConfig,
        sources: Vec<FileSource>,
    ) -> Offline {
        Offline::threaded(
            rules,
            mode,
            enrichment,
            safety,
            sources,
            Threads {
                count: 1,
                chunk_bytes: Threads::CHUNK_BYTES,
            },
        )
    }

    /// [`Offline::new`] with the sources' lines parsed by `threads.count - 1`
    /// workers ([`EventMerge::threaded`]): the same events in the same order,
    /// so the same decisions; the pipeline stays on this thread.
    pub fn threaded(
        rules: Arc<RuleSet>,
        mode: Mode,
        enrichment: Loaded,
        safety: SafetyConfig,
        sources: Vec<FileSource>,
        threads: Threads,
    ) -> Offline {
        Offline {
            pipeline: Pipeline::fresh(rules, mode, enrichment).sweeping_in_event_time(),
            merge: EventMerge::threaded(sources, threads),
            safety: Safety::new(safety, Vec::new()),
            stats: Stats::default(),
        }
    }

    /// The next event through every stage: returned as the rules saw it
    /// (enriched), its decisions (screened by the storm breaker) appended to
    /// `out`. `None` at the end of every input.
    pub fn step(
        &mut self,
        hook: &mut UnparsedHook<'_>,
        out: &mut Vec<Decision>,
    ) -> io::Result<Option<AuthEvent>> {
        let Some(mut ev) = self.merge.next_event(&mut self.stats, hook)? else {
            return Ok(None);
        };
        let start = out.len();
        self.pipeline.observe(&mut ev, out);
        if out.len() > start {
            let made: Vec<Decision> = out.drain(start..).collect();
            self.screen(made, out);
            self.stats.decisions += (out.len() - start) as u64;
        }
        Ok(Some(ev))
    }

    fn screen(&mut self, made: Vec<Decision>, out: &mut Vec<Decision>) {
        screen(&mut self.safety, &self.pipeline, made, out);
    }

    /// The counters so far (lines, events, unparsed, decisions).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Bytes read so far across the inputs, for a progress bar.
    pub fn offset(&self) -> u64 {
        self.merge.offset()
    }
}

/// Passes `made` through the storm breaker at each decision's own time, as
/// the daemon's safety filter does: a trip is inserted as the storm's
/// decision before the lock that tripped it, and its locks are `held`.
/// Public for `explain`, which steps the pipeline itself to trace it.
pub fn screen(
    safety: &mut Safety,
    pipeline: &Pipeline,
    made: Vec<Decision>,
    out: &mut Vec<Decision>,
) {
    let inventory = pipeline
        .enrichment()
        .inventory
        .as_ref()
        .map(|h| h.current());
    for mut d in made {
        let ctx = Ctx {
            now: d.at,
            inventory: inventory.as_deref(),
            locked_admins: 0,
        };
        for ev in safety.screen(&mut d, &ctx) {
            if let StormEvent::Tripped { .. } = ev {
                out.push(ev.decision());
            }
        }
        out.push(d);
    }
}

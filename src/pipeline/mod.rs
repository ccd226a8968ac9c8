//! The one pipeline core: an event in, decisions out, for `replay`, `why` and the
//! daemon's ingest alike.
//!
//! Between a parsed [`AuthEvent`] and a [`Decision`] every caller runs the same
//! stages in the same order: enrichment (GeoIP, IP lists, inventory); the
//! account stage, which links a mistyped login ID to its account
//! (`loginwatch.user.intended.name`); the account facts fold; the rule engine; the
//! assessment of each decision (user error or attack, from the accounts'
//! histories as they were before the event), with the rule's `user_error`
//! decision applied to a user's own mistakes; and last, the event taught to
//! the account's history. Keeping them in one place is what makes
//! a golden replay scenario a test of what the daemon does: before this module,
//! `replay` skipped the facts the daemon folds, and rule-set selection was
//! written twice. The callers keep only what is theirs: reading files or
//! tailing them, committing state, alerting.
//!
//! The core is synchronous and owns its state; time is the events' time, except
//! for the account sweep, whose clock the caller passes in.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::account::AccountFacts;
use crate::account::{Accounts, Basis};
use crate::decision::{Assessment, Decision, Mode, Unlock, Why};
use crate::enrich::Loaded;
use crate::enrich::{Enricher, GeoDbs, IpLists};
use crate::event::AuthEvent;
use crate::event::Reason;
use crate::rules::{Engine, Kind, RuleSet, Trace};
use crate::state::{FactUpdate, FactsAccumulator};

/// Enrichment with only GeoIP databases (or nothing): what `--geoip` alone gives.
pub fn geoip_only(geo: Option<GeoDbs>) -> Loaded {
    Loaded {
        enricher: Enricher::new(geo, IpLists::empty(), None),
        inventory: None,
    }
}

/// The pipeline core; see the module header.
pub struct Pipeline {
    engine: Engine,
    enrichment: Loaded,
    /// Nothing to enrich with: the stage is skipped on the hot path.
    enrich_noop: bool,
    /// The facts the daemon commits; `None` when sweeping in event time
    /// (the histories hold what the sweep reads, one lookup per event fewer).
    facts: Option<FactsAccumulator>,
    accounts: Accounts,
    /// The account sweep in event time (`replay`, `why`); `None` in the
    /// daemon, which sweeps by the wall clock against its stored facts.
    event_sweep: Option<EventSweep>,
}

/// What sweeping in event time needs: when next, every account's facts so
/// far, and what was decided (an account is not decided again while its
/// decision stands, as the daemon checks against its store).
#[derive(Debug, Default)]
struct EventSweep {
    next: Option<DateTime<Utc>>,
    decided: std::collections::HashSet<(crate::event::Name, crate::event::Name)>,
}

/// The daemon sweeps at start-up and then daily; so does an event-time sweep.
const SWEEP_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);

impl Pipeline {
    /// A pipeline over `engine` (fresh or restored) and `enrichment`.
    pub fn new(engine: Engine, enrichment: Loaded) -> Pipeline {
        let enrich_noop = enrichment.enricher.is_noop();
        Pipeline {
            engine,
            enrichment,
            enrich_noop,
            facts: Some(FactsAccumulator::new()),
            accounts: Accounts::default(),
            event_sweep: None,
        }
    }

    /// Runs the account sweep in event time: at the first event, then every
    /// day of event time, over the facts learned so far (what `replay` and
    /// `why` do where the daemon sweeps by its clock).
    pub fn sweeping_in_event_time(mut self) -> Pipeline {
        let sweeps = self.engine.rules().rules.iter().any(|r| r.kind.is_sweep());
        self.event_sweep = sweeps.then(EventSweep::default);
        self.facts = None;
        self
    }

    /// A fresh pipeline running `rules` in `mode`.
    pub fn fresh(rules: Arc<RuleSet>, mode: Mode, enrichment: Loaded) -> Pipeline {
        Pipeline::new(Engine::new(rules, mode), enrichment)
    }

    /// The rule engine (snapshots, stats, reloads).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The rule engine, to reload a rule set or restore state.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The enrichment data (alerts read GeoIP facts and the inventory from it).
    pub fn enrichment(&self) -> &Loaded {
        &self.enrichment
    }

    /// The enrichment data, to reload it or look up addresses.
    pub fn enrichment_mut(&mut self) -> &mut Loaded {
        &mut self.enrichment
    }

    /// The engine (its snapshot streamed into a commit) beside the enrichment
    /// that commit's alerts are rendered with.
    pub fn engine_and_enrichment_mut(&mut self) -> (&Engine, &mut Loaded) {
        (&self.engine, &mut self.enrichment)
    }

    /// Re-reads whatever enrichment file changed on disk.
    pub fn reload_enrichment(&mut self) {
        crate::enrich::loaded::reload(&mut self.enrichment);
        self.enrich_noop = self.enrichment.enricher.is_noop();
    }

    /// One event through every stage. The event is enriched in place (callers
    /// that quote it afterwards see what the rules saw); its decisions are
    /// appended to `out`.
    #[inline]
    pub fn observe(&mut self, ev: &mut AuthEvent, out: &mut Vec<Decision>) {
        self.observe_with(ev, out, |engine, ev| engine.observe(ev));
    }

    /// [`Pipeline::observe`], with what each rule did with the event written
    /// into `trace` (`loginwatch explain`): the same stages, the same state.
    pub fn observe_traced(
        &mut self,
        ev: &mut AuthEvent,
        out: &mut Vec<Decision>,
        trace: &mut Trace,
    ) {
        self.observe_with(ev, out, |engine, ev| engine.observe_traced(ev, trace));
    }

    /// Every stage, with `rules` running the engine (a closure, so the
    /// untraced call compiles to what it was before tracing existed).
    #[inline]
    fn observe_with(
        &mut self,
        ev: &mut AuthEvent,
        out: &mut Vec<Decision>,
        rules: impl FnOnce(&mut Engine, &AuthEvent) -> Vec<Decision>,
    ) {
        if let Some(s) = &self.event_sweep
            && s.next.is_none_or(|n| ev.timestamp >= n)
        {
            self.sweep_now(ev.timestamp, out);
        }
        if !self.enrich_noop {
            self.enrichment.enricher.enrich(ev);
        }
        let link = if ev.reason == Some(Reason::UnknownUser) {
            self.accounts.link(ev)
        } else {
            None
        };
        if let Some(l) = &link {
            ev.mistyped_of = Some(l.user.clone());
        }
        if let Some(f) = &mut self.facts {
            f.observe(ev);
        }
        // Known before this event: its own success does not protect itself,
        // the failures after it do (see `rules::engine`).
        ev.user_known = ev.account.is_some()
            || ev
                .user
                .as_deref()
                .is_some_and(|u| self.accounts.get(u).is_some_and(|h| h.has_successes()));
        let made = rules(&mut self.engine, ev);
        let mut teach = true;
        if !made.is_empty() {
            for mut d in made {
                self.assess(&mut d, ev);
                // A success the rules call an attack (a guessed password) must
                // not make the attacker's address one of the account's places.
                if d.assessment == Assessment::Attack && d.target.user == ev.user {
                    teach = false;
                }
                out.push(d);
            }
        }
        self.accounts.observe(ev, link.as_ref(), teach);
    }

    /// Sets the assessment of `d`, triggered by `ev`, and applies the rule's
    /// `user_error` decision to a user's own mistake.
    fn assess(&self, d: &mut Decision, ev: &AuthEvent) {
        let rule = self.engine.rules().rule(&d.rule);
        let basis = match rule.map(|r| r.kind) {
            Some(k) if k.is_sweep() => Basis::Policy,
            Some(Kind::Novelty | Kind::Travel | Kind::Dormant) => Basis::Success,
            _ => Basis::Failures,
        };
        let why = crate::account::assess(d, ev, basis, &self.accounts);
        d.assessment = why.assessment();
        d.why = why;
        if d.assessment == Assessment::UserError
            && let Some(milder) = rule.and_then(|r| r.decision.user_error)
        {
            d.action = milder.action;
            d.severity = milder.severity;
            d.until = None;
            d.unlock = Unlock::of(milder.action, Unlock::Auto);
        }
    }

    /// The account histories changed since the last call, in their stored
    /// form (the daemon commits them with its checkpoint).
    pub fn take_account_rows(&mut self) -> Vec<(crate::event::Name, Vec<u8>)> {
        self.accounts.take_dirty()
    }

    /// Loads stored account histories; returns how many rows were unreadable.
    pub fn restore_accounts(&mut self, rows: impl IntoIterator<Item = (String, Vec<u8>)>) -> usize {
        self.accounts.restore(rows)
    }

    /// The accounts' learned histories (`why` reads them).
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The event-time sweep at `now` (see [`Self::sweeping_in_event_time`]).
    fn sweep_now(&mut self, now: DateTime<Utc>, out: &mut Vec<Decision>) {
        let Some(mut s) = self.event_sweep.take() else {
            return;
        };
        let facts = self.accounts.facts();
        for d in self.sweep(&facts, now) {
            let key = (d.rule.clone(), d.target.user.clone().unwrap_or_default());
            if s.decided.insert(key) {
                out.push(d);
            }
        }
        s.next = Some(now + SWEEP_EVERY);
        self.event_sweep = Some(s);
    }

    /// The account facts folded since the last call (the daemon commits them
    /// with its checkpoint).
    pub fn take_facts(&mut self) -> Vec<FactUpdate> {
        self.facts
            .as_mut()
            .map(FactsAccumulator::take)
            .unwrap_or_default()
    }

    /// The account sweep (`password-age`, `inactive` rules) at `now`, over
    /// `facts` (the stored facts, merged with what is pending).
    pub fn sweep(&self, facts: &[AccountFacts], now: DateTime<Utc>) -> Vec<Decision> {
        let rules = self.engine.rules();
        if !rules.rules.iter().any(|r| r.kind.is_sweep()) {
            return Vec::new();
        }
        let inventory = self.enrichment.inventory.as_ref().map(|h| h.current());
        let mut found =
            crate::rules::sweep(rules, inventory.as_deref(), facts, now, self.engine.mode());
        for d in &mut found {
            d.assessment = Assessment::UserError;
            d.why = Why::Policy;
        }
        found
    }
}

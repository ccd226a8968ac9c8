//! One test folder through [`Offline`]: its enrichment, its inputs, and the
//! decisions, summary and events in the JSON `replay --json` and `parse`
//! print.

use std::fs::File;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::{Test, TestError};
use crate::config::Config;
use crate::decision::Mode;
use crate::enrich::{GeoDbs, Loaded};
use crate::offline::Offline;
use crate::parse::{Format, ParseOptions};
use crate::replay::FileSource;
use crate::rules::RuleSet;

/// What one run gave, in the expectation's form.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// One object per decision, as `replay --json` prints it.
    pub decisions: Vec<Value>,
    /// `{"type": "summary", "lines", "events", "unparsed", "decisions"}`.
    pub summary: Value,
    /// The events as the rules saw them (enriched), as `parse` prints them.
    pub events: Vec<Value>,
}

/// Runs `test` with `rules` (or the test's own `rules` directory).
pub fn run(test: &Test, rules: &Arc<RuleSet>) -> Result<Results, TestError> {
    let spec = &test.spec;
    let rules = match &spec.rules {
        Some(dir) => Arc::new(crate::rules::load_dir(dir)?),
        None => Arc::clone(rules),
    };
    let config = spec
        .config
        .as_deref()
        .map(|p| crate::config::load(Some(p)))
        .transpose()?;
    let enrichment = enrichment(test, config.as_ref(), &rules)?;
    let format = Format::by_name(&spec.format, &rules.formats)
        .ok_or_else(|| TestError::Format(spec.format.clone()))?;
    // Year-less timestamps take the test's year; `now` is fixed too, so
    // nothing of the run depends on the day it runs.
    let opts = ParseOptions {
        year: Some(spec.year),
        zone: spec.zone,
        now: Utc
            .with_ymd_and_hms(spec.year, 12, 31, 23, 59, 59)
            .single()
            .unwrap_or_default(),
    };
    let mut sources = Vec::with_capacity(spec.inputs.len());
    for input in &spec.inputs {
        let io = |source| TestError::Io {
            path: input.path.clone(),
            source,
        };
        let file = File::open(&input.path).map_err(io)?;
        sources.push(
            FileSource::new(input.name.as_str().into(), Box::new(file), &format, &opts)
                .map_err(io)?,
        );
    }
    let mode = config.as_ref().map_or(Mode::Recommend, |c| c.mode);
    let safety = config
        .as_ref()
        .map(|c| c.safety.clone())
        .unwrap_or_default();
    let mut offline = Offline::new(rules, mode, enrichment, safety, sources);
    let mut made = Vec::new();
    let mut events = Vec::new();
    let mut decisions = Vec::new();
    let mut ignore = |_: &str, _: u64, _: &[u8], _: &crate::parse::ParseError| {};
    let io = |source| TestError::Io {
        path: test.dir.clone(),
        source,
    };
    while let Some(ev) = offline.step(&mut ignore, &mut made).map_err(io)? {
        events.push(serde_json::to_value(&ev).unwrap_or(Value::Null));
        for d in made.drain(..) {
            decisions.push(serde_json::to_value(&d).unwrap_or(Value::Null));
        }
    }
    let stats = offline.stats();
    Ok(Results {
        decisions,
        summary: json!({
            "type": "summary",
            "lines": stats.lines,
            "events": stats.events,
            "unparsed": stats.unparsed_total(),
            "decisions": stats.decisions,
        }),
        events,
    })
}

/// The enrichment of `test`: its `config`'s (as `replay --config` loads it),
/// then its `inventory` and `geoip` (JSON descriptions built in memory).
fn enrichment(test: &Test, config: Option<&Config>, rules: &RuleSet) -> Result<Loaded, TestError> {
    let spec = &test.spec;
    let mut geo: Option<GeoDbs> = None;
    let mut add = |dbs: GeoDbs| match &mut geo {
        Some(g) => g.append(dbs),
        None => geo = Some(dbs),
    };
    let mut config = match config {
        Some(c) => c.clone(),
        None => Config::defaults_with_state(std::path::PathBuf::new()),
    };
    // The configuration's databases first, as the daemon orders them.
    for path in std::mem::take(&mut config.geoip).iter().chain(&spec.geoip) {
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(path).map_err(|source| TestError::Io {
                path: path.clone(),
                source,
            })?;
            let bytes =
                crate::enrich::mmdb::from_json(&text).map_err(|source| TestError::Geoip {
                    path: path.clone(),
                    source,
                })?;
            add(GeoDbs::from_bytes(path, bytes)?);
        } else {
            add(GeoDbs::open(std::slice::from_ref(path)).map_err(|mut es| es.remove(0))?);
        }
    }
    if let Some(path) = &spec.inventory {
        config.inventory = Some(crate::config::enrich::InventoryConfig {
            path: path.clone(),
            options: Default::default(),
        });
    }
    let missing: Vec<_> = rules
        .referenced_lists()
        .into_iter()
        .filter(|n| !config.ip_lists.iter().any(|l| l.name == **n))
        .collect();
    if !missing.is_empty() {
        return Err(crate::app::EnrichError::MissingLists(missing).into());
    }
    let mut loaded = crate::app::enrichment::load(&config, &[])?;
    if let Some(g) = geo {
        loaded.enricher.add_geo(g);
    }
    Ok(loaded)
}

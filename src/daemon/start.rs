//! Start-up steps of the daemon that build its parts from the configuration
//! and the state of the last run: the pipeline (rule windows and account
//! histories restored), the sources with their parsers, and the file watcher
//! that wakes the ingest thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use notify::Watcher;
use tracing::warn;

use super::DaemonError;
use super::ingest::SourceParse;
use super::wake;
use crate::clock::Clock;
use crate::config::Config;
use crate::enrich::Loaded;
use crate::parse::Format;
use crate::pipeline::Pipeline;
use crate::rules::{Engine, RuleSet};
use crate::source::{Checkpoint, Source, SourceSpec, Tailer};
use crate::state::Store;

/// The pipeline core with the last run's rule windows (when usable) and
/// account histories.
pub fn pipeline(
    rules: &Arc<RuleSet>,
    config: &Config,
    enrichment: Loaded,
    store: &Store,
    engine_snapshot: Option<&[u8]>,
) -> Result<Pipeline, DaemonError> {
    let engine = match engine_snapshot {
        Some(bytes) => Engine::restore(rules.clone(), config.mode, bytes).unwrap_or_else(|e| {
            warn!(error = %e, "Rule state from the last run unusable; starting with empty windows.");
            Engine::new(rules.clone(), config.mode)
        }),
        None => Engine::new(rules.clone(), config.mode),
    };
    let mut pipeline = Pipeline::new(engine, enrichment);
    let unreadable = pipeline.restore_accounts(store.account_histories()?);
    if unreadable > 0 {
        warn!(
            accounts = unreadable,
            "Account histories from the last run unreadable; those accounts are learned anew."
        );
    }
    Ok(pipeline)
}

/// The configured sources: a parser slot per source (with its snapshot from
/// the last run) and the file source following them from `checkpoints`.
pub fn sources(
    config: &Config,
    rules: &RuleSet,
    parser_snapshots: Vec<(String, Vec<u8>)>,
    checkpoints: Vec<Checkpoint>,
    from_end: bool,
) -> Result<(HashMap<String, SourceParse>, Tailer), DaemonError> {
    let mut sources = HashMap::new();
    let mut specs = Vec::new();
    let mut parser_snaps: HashMap<String, Vec<u8>> = parser_snapshots.into_iter().collect();
    for s in &config.sources {
        let format =
            Format::by_name(&s.format, &rules.formats).ok_or_else(|| DaemonError::Format {
                name: s.name.clone(),
                format: s.format.clone(),
            })?;
        sources.insert(
            s.name.clone(),
            SourceParse {
                format,
                zone: s.zone,
                parser: None,
                pending_restore: parser_snaps.remove(&s.name),
            },
        );
        specs.push(SourceSpec {
            name: s.name.clone(),
            pattern: s.path.clone(),
        });
    }
    Ok((sources, Tailer::new(specs, checkpoints, from_end)))
}

/// Watches the directories of `source` and sends a wake-up, stamped with when
/// the change was seen, for each change of a file that is not the daemon's own.
pub fn watch(
    config: &Config,
    source: &dyn Source,
    wake: Sender<Instant>,
    clock: Arc<dyn Clock>,
) -> Result<notify::RecommendedWatcher, DaemonError> {
    let dirs = source.watch_dirs();
    let own = wake::OwnFiles::of(config, &dirs);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok_and(|ev| own.wakes(&ev)) {
            let _ = wake.send(clock.instant());
        }
    })
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    for dir in dirs {
        if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            warn!(dir = %dir.display(), error = %e, "Cannot watch directory; relying on polling.");
        }
    }
    Ok(watcher)
}

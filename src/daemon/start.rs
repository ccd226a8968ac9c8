//! Start-up steps of the daemon that build its parts from the configuration
//! and the state of the last run: the pipeline (rule windows and account
//! histories restored), the sources with their parsers, and the file watcher
//! that wakes the ingest thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use notify::Watcher;
use tracing::{info, warn};

use super::DaemonError;
use super::ingest::SourceParse;
use super::wake;
use crate::clock::Clock;
use crate::config::Config;
use crate::enrich::Loaded;
use crate::escape::Escaped;
use crate::parse::Format;
use crate::pipeline::Pipeline;
use crate::rules::{Engine, RuleSet};
use crate::source::journal::JournalSource;
use crate::source::many::Sources;
use crate::source::net::{Limits, Listen, NetSource};
use crate::source::pull::PullSource;
use crate::source::{Checkpoint, Cursor, Source, SourceSpec, Tailer};
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

/// A parser slot per source, by the source's name.
pub type Parsers = HashMap<String, SourceParse>;

/// The configured sources: a parser slot per source (with its snapshot from
/// the last run), the file sources as one tailer resuming from
/// `checkpoints`, a journal reader per journal source resuming after its
/// cursor in `cursors`, a listener per network source, bound now (a taken
/// port is a start-up error), and a puller per pulled source resuming from
/// its cursor; all but the files wake the ingest thread through `wake`.
pub fn sources(
    config: &Config,
    rules: &RuleSet,
    parser_snapshots: Vec<(String, Vec<u8>)>,
    checkpoints: Vec<Checkpoint>,
    cursors: Vec<Cursor>,
    from_end: bool,
    wake: &Sender<Instant>,
) -> Result<(Parsers, Box<dyn Source>), DaemonError> {
    // Cursor-based kinds take theirs by their source's name.
    let mut cursors: HashMap<String, String> =
        cursors.into_iter().map(|c| (c.source, c.cursor)).collect();
    let mut sources = HashMap::new();
    let mut specs = Vec::new();
    let mut net_sources = Vec::new();
    let mut settle = Vec::new();
    let mut parser_snaps: HashMap<String, Vec<u8>> = parser_snapshots.into_iter().collect();
    for s in &config.sources {
        let format =
            Format::by_name(&s.format, &rules.formats).ok_or_else(|| DaemonError::Format {
                name: s.name.clone(),
                format: s.format.clone(),
            })?;
        let export = export_settle(s, &format);
        sources.insert(
            s.name.clone(),
            SourceParse {
                format,
                zone: s.zone,
                parser: None,
                pending_restore: parser_snaps.remove(&s.name),
                once: s.once,
                file: Default::default(),
                pulled: s.pull.is_some(),
            },
        );
        if let Some(pull) = &s.pull {
            let p = PullSource::start(
                &s.name,
                pull.clone(),
                cursors.remove(&s.name),
                Some(wake.clone()),
            )?;
            net_sources.push(Box::new(p) as Box<dyn Source>);
            continue;
        }
        if let Some(spec) = &s.journal {
            let cursor = cursors.remove(&s.name);
            info!(source = %Escaped(&s.name), journal = %Escaped(&spec.label()), resume = cursor.is_some(), chosen = %Escaped(s.chosen.as_deref().unwrap_or("configured")), "Following the journal.");
            let j =
                JournalSource::start(&s.name, spec.clone(), cursor, from_end, Some(wake.clone()))?;
            net_sources.push(Box::new(j) as Box<dyn Source>);
            continue;
        }
        let Some(listen) = s.listen else {
            specs.push(SourceSpec {
                name: s.name.clone(),
                pattern: s.path.clone(),
            });
            // A folder of exports: read a file once complete (see `source::settle`).
            if let Some(after) = export {
                settle.push((s.name.clone(), after));
            }
            continue;
        };
        let addr = match listen {
            Listen::Udp(a) | Listen::Tcp(a) => a,
        };
        let net = NetSource::bind(&s.name, listen, Limits::default(), Some(wake.clone()))
            .map_err(|error| DaemonError::Listen { addr, error })?;
        if !addr.ip().is_loopback() {
            warn!(source = %Escaped(&s.name), listen = %listen, "Receiving syslog from the network: anyone who can reach this address can send lines (limit it with a firewall).");
        } else {
            info!(source = %Escaped(&s.name), listen = %net.local_addr(), "Receiving syslog.");
        }
        net_sources.push(Box::new(net) as Box<dyn Source>);
    }
    let mut all: Vec<Box<dyn Source>> = Vec::new();
    if !specs.is_empty() || net_sources.is_empty() {
        let tailer = settle.iter().fold(
            Tailer::new(specs, checkpoints, from_end),
            |t, (name, after)| t.settle(name, *after),
        );
        all.push(Box::new(tailer));
    }
    all.extend(net_sources);
    let source: Box<dyn Source> = if all.len() == 1 {
        all.remove(0)
    } else {
        Box::new(Sources::new(all))
    };
    Ok((sources, source))
}

/// The settle time of a folder of exports: configured, or the default for a
/// format with a retention (an export) or a source told to deliver rows once.
fn export_settle(s: &crate::config::SourceConfig, format: &Format) -> Option<std::time::Duration> {
    s.settle.or_else(|| {
        (s.once.is_some() || format.retention().is_some())
            .then_some(crate::config::defaults::SETTLE)
    })
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

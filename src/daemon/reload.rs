//! Rule reload: on a change in the rules directory (debounced) and on SIGHUP.
//!
//! The new set is compiled whole before anything changes. With any error the old
//! set stays live, every error is logged with its file and line, and
//! `loginwatch_rules_reloads_total{result="error"}` counts it. A good set goes to
//! the ingest thread, which swaps it in keeping the windows of unchanged rules.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::Watcher;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::rules::RuleSet;
use crate::telemetry::{Metrics, ReloadResult};

/// Quiet time after the last change before reloading: editors write files in
/// several steps (temp file, rename), and a half-written set must not be tried.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The rules directory's watcher and its wake-ups. Made before the daemon
/// says it is up (`--addr-file`), not inside the task: a change made right
/// after start-up must not fall between the two.
pub struct Watch {
    _watcher: Option<notify::RecommendedWatcher>,
    rx: tokio::sync::mpsc::UnboundedReceiver<()>,
}

/// Starts watching `dir` (none: SIGHUP only).
pub fn watch(dir: Option<&std::path::Path>) -> Watch {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = dir.and_then(|d| {
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res
                && !matches!(ev.kind, notify::EventKind::Access(_))
            {
                let _ = tx.send(());
            }
        })
        .ok()?;
        match w.watch(d, notify::RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                warn!(dir = %d.display(), error = %e, "Cannot watch the rules directory; reload with SIGHUP.");
                None
            }
        }
    });
    Watch {
        _watcher: watcher,
        rx,
    }
}

/// Runs until `stop` is cancelled.
pub async fn run(
    watch: Watch,
    config: Config,
    to_ingest: Sender<Arc<RuleSet>>,
    metrics: Arc<Metrics>,
    stop: tokio_util::sync::CancellationToken,
) {
    let Watch { _watcher, mut rx } = watch;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hup_recv = async {
            match hup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hup_recv = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = hup_recv => info!("SIGHUP: reloading rules."),
            Some(()) = rx.recv() => {
                // Debounce: wait until the directory has been quiet for a moment.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
            }
        }
        reload_once(&config, &to_ingest, &metrics);
    }
}

/// Compiles the rules and hands a good set to the ingest thread.
pub fn reload_once(config: &Config, to_ingest: &Sender<Arc<RuleSet>>, metrics: &Metrics) {
    match super::load_rules(config) {
        Ok((set, _)) => {
            info!(rules = set.rules.len(), "New rule set compiled.");
            metrics.reload(ReloadResult::Ok);
            let _ = to_ingest.send(Arc::new(set));
        }
        Err(crate::config::SelectError::Invalid(errors)) => {
            for e in &errors.0 {
                error!(error = %e, "Rule file rejected; the previous rules stay live.");
            }
            metrics.reload(ReloadResult::Error);
        }
        Err(e) => {
            error!(error = %e, "Rules not reloaded; the previous rules stay live.");
            metrics.reload(ReloadResult::Error);
        }
    }
}

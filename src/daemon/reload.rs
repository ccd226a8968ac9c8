//! Rule reload: on a change in the rules directory (debounced) and on SIGHUP.
//!
//! The new set is compiled whole before anything changes. With any error the old
//! set stays live, every error is logged with its file and line, and
//! `loginwatch_rules_reloads_total{result="error"}` counts it. A good set goes to
//! the ingest thread, which swaps it in keeping the windows of unchanged rules.
//! The service manager is told `RELOADING=1` before and `READY=1` after, with
//! the rule count now live in `STATUS=` (the old set's when the new one failed).

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

/// The rules directories' watcher and its wake-ups, and the SIGHUP handler.
/// Made right after the rules are read, before the daemon says it is up
/// (`--addr-file`, `READY=1`), not inside the task: a change or a SIGHUP
/// that comes right after start-up must not fall between the two.
pub struct Watch {
    _watcher: Option<notify::RecommendedWatcher>,
    rx: tokio::sync::mpsc::UnboundedReceiver<()>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

/// Starts watching `dirs` (none: SIGHUP only); must run inside the runtime.
pub fn watch(dirs: &[std::path::PathBuf]) -> Watch {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = (!dirs.is_empty())
        .then(|| {
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(ev) = res
                    && !matches!(ev.kind, notify::EventKind::Access(_))
                {
                    let _ = tx.send(());
                }
            })
            .ok()
        })
        .flatten()
        .map(|mut w| {
            for d in dirs {
                if let Err(e) = w.watch(d, notify::RecursiveMode::NonRecursive) {
                    warn!(dir = %d.display(), error = %e, "Cannot watch the rules directory; reload with SIGHUP.");
                }
            }
            w
        });
    Watch {
        _watcher: watcher,
        rx,
        #[cfg(unix)]
        hup: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
    }
}

/// What the reload task tells the service manager: `status` gives the
/// `STATUS=` line for a number of live rules.
pub struct Notices {
    pub notifier: super::notify::Notifier,
    pub status: Box<dyn Fn(usize) -> String + Send>,
    /// The rules live now.
    pub live: usize,
}

/// Runs until `stop` is cancelled.
pub async fn run(
    watch: Watch,
    config: Config,
    to_ingest: Sender<Arc<RuleSet>>,
    metrics: Arc<Metrics>,
    mut notices: Notices,
    stop: tokio_util::sync::CancellationToken,
) {
    #[cfg(unix)]
    let Watch {
        _watcher,
        mut rx,
        mut hup,
    } = watch;
    #[cfg(not(unix))]
    let Watch { _watcher, mut rx } = watch;
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
        notices.notifier.reloading();
        let status = match reload_once(&config, &to_ingest, &metrics) {
            Some(n) => {
                notices.live = n;
                (notices.status)(n)
            }
            None => format!(
                "{}; the last reload failed (see the log), the previous rules stay live",
                (notices.status)(notices.live)
            ),
        };
        notices.notifier.ready(&status);
    }
}

/// Compiles the rules and hands a good set to the ingest thread; returns its
/// number of rules, `None` when the old set stays.
pub fn reload_once(
    config: &Config,
    to_ingest: &Sender<Arc<RuleSet>>,
    metrics: &Metrics,
) -> Option<usize> {
    match super::load_rules(config) {
        Ok((set, _)) => {
            let n = set.rules.len();
            info!(rules = n, "New rule set compiled.");
            metrics.reload(ReloadResult::Ok);
            let _ = to_ingest.send(Arc::new(set));
            Some(n)
        }
        Err(crate::config::SelectError::Invalid(errors)) => {
            for e in &errors.0 {
                error!(error = %e, "Rule file rejected; the previous rules stay live.");
            }
            metrics.reload(ReloadResult::Error);
            None
        }
        Err(e) => {
            error!(error = %e, "Rules not reloaded; the previous rules stay live.");
            metrics.reload(ReloadResult::Error);
            None
        }
    }
}

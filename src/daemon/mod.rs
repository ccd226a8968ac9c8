//! `loginwatch run`: the long-running service.
//!
//! Wiring only; each stage lives in its own module. Threads and tasks:
//! - the ingest thread ([`ingest`]): tailer, parsers, engine, state commits;
//! - a `notify` watcher that wakes the ingest thread when a log directory changes
//!   (the periodic poll is the backstop when notify misses something);
//! - [`reload`]: rule files watched (debounced) and SIGHUP; a new set is compiled
//!   whole and handed to the ingest thread, or rejected with the old set kept;
//! - [`expiry`]: auto-unlock at each lock's end time, also after a restart;
//! - the HTTP server (metrics, health, admin API);
//! - [`notify`]: `READY=1`, reload and stop notices and watchdog pings to the
//!   service manager (`Type=notify`), pings only while the ingest thread loops.
//!
//! Shutdown (SIGTERM, Ctrl-C) is one path: one cancellation token reaches every
//! thread and task; reading stops, the last batch is committed, exit 0.
//! The services the threads use (alerting, enforcement, the admin backend)
//! are `crate::app`'s, shared with the offline CLI.

pub mod agent;
pub mod detector;
pub mod expiry;
pub mod ingest;
pub mod notify;
pub mod reload;
pub mod samples;
mod start;
pub mod sweep;
pub mod wake;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::config::SelectError;
use crate::http::{self, AppState};
use crate::rules::RuleSet;
use crate::state::{StateError, Store};
use crate::telemetry::Metrics;

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The message names the state database already.
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Rules(SelectError),
    #[error("source {name}: unknown format {format:?}")]
    Format { name: String, format: String },
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("enrichment:\n{0}")]
    Enrich(#[from] crate::app::EnrichError),
    #[error("alert sinks: {0}")]
    Alerting(#[from] crate::app::AlertingError),
    #[error("admin token: {0}")]
    Token(#[from] crate::http::token::TokenError),
    #[error("{0}")]
    Page(#[from] crate::ui::RenderError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The state database was lost or damaged while running.
    #[error("{0}")]
    StateLost(String),
    /// `loginwatch agent` with a configuration without `[fleet]`.
    #[error("the configuration has no [fleet] table: the agent needs its url (see docs/config.md)")]
    NoFleet,
    /// A configuration for another role (an agent's given to `run`).
    #[error("{0}")]
    Role(String),
    #[error("{0}")]
    Fleet(#[from] crate::fleet::FleetError),
    #[error("{0}")]
    Positions(#[from] agent::position::PositionError),
}

/// Options given on the command line rather than in the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// On a first start, begin at the end of existing files.
    pub from_end: bool,
    /// Write the bound HTTP address to this file once listening (tests use port 0).
    pub addr_file: Option<PathBuf>,
    /// Log and audit the actions enforcement would run, without running them.
    pub dry_run: bool,
}

/// Loads the rule set the config names (profile, directory, default
/// directories, or built in), as every command chooses it; a set in which no
/// rule can fire is refused (at start and on reload alike). Also returns the
/// directories it came from (to watch).
pub fn load_rules(config: &Config) -> Result<(RuleSet, Vec<PathBuf>), SelectError> {
    let (mut set, origin) = crate::config::select_rules(None, Some(config))?;
    // A detector of a group runs only that group's rules (at every reload too).
    if let Some(f) = config.fleet.as_ref().filter(|_| config.sources.is_empty()) {
        detector::keep_rules(&mut set, f.shard.group);
    }
    crate::config::require_live_rules(&set, &origin, !config.geoip.is_empty())?;
    let dirs = origin.dirs().into_iter().map(PathBuf::from).collect();
    Ok((set, dirs))
}

/// glibc serves an allocation of 128 KiB or more with its own mapping, given
/// back to the system when freed, but it raises that threshold (up to 32 MiB)
/// each time such a block is freed, so the daemon's large transient buffers
/// (a commit's account facts, hash tables while they grow) soon come from the
/// heap and leave it fragmented. Fixing the threshold keeps them out of the
/// heap: under bench/flood.sh's 1 M distinct keys the daemon's peak RSS went
/// from 165 to 156 MiB. An operator's own `MALLOC_MMAP_THRESHOLD_` wins. No
/// crate wraps `mallopt`; it is one call, made before any thread starts.
fn fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it is called before
        // the daemon starts its threads, and its result (1 on success) needs no
        // action.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub fn run(config: Config, opts: RunOptions) -> Result<(), DaemonError> {
    fixed_mmap_threshold();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(config, opts))
}

async fn run_async(config: Config, opts: RunOptions) -> Result<(), DaemonError> {
    let mut shutdown = Shutdown::listen();
    let metrics = Arc::new(Metrics::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let notifier = notify::Notifier::from_env();
    notifier.status("Starting: loading rules and state");
    // With [fleet] (and no source) this daemon is the fleet's detector.
    let fleet = detector::role(&config)?.cloned();
    let (rules, rules_dirs) = load_rules(&config).map_err(DaemonError::Rules)?;
    let rules = Arc::new(rules);
    info!(rules = rules.rules.len(), dirs = ?rules_dirs, mode = ?config.mode, "Rules loaded.");
    let rules_watch = reload::watch(&rules_dirs);

    let enrichment = crate::app::enrichment::load(&config, &[])?;
    crate::app::enrichment::check_rules(&rules, &config, &enrichment.enricher)?;

    let (store, created) = Store::open_guarded(&config.state_path, &clock.now())?;
    if created {
        info!(path = %config.state_path.display(), "First start: new state database.");
    }
    for (path, mode) in Store::loose_files(&config.state_path) {
        warn!("State file {}.", crate::private::loose_message(&path, mode));
    }
    let admin_token = admin_token(&config)?;
    let resume = store.load_resume()?;
    let once = crate::source::rows::Once::new(store.seen_rows(&clock.now())?);
    let first_start = resume.checkpoints.is_empty() && resume.engine_snapshot.is_none();
    let inventory_handle = enrichment.inventory.clone();
    let pipeline = start::pipeline(
        &rules,
        &config,
        enrichment,
        &store,
        resume.engine_snapshot.as_deref(),
    )?;
    let services = crate::app::Services::new(&config, store, opts.dry_run, clock.clone())?;
    let (store, alerting, enforcer) = (
        services.store.clone(),
        services.alerting.clone(),
        services.enforcer.clone(),
    );

    // Wake-ups: notify on the directories of the sources, and the listeners.
    let (wake_tx, wake_rx) = mpsc::channel::<std::time::Instant>();
    let (sources, source) = start::sources(
        &config,
        &rules,
        resume.parser_snapshots,
        resume.checkpoints,
        resume.cursors.clone(),
        opts.from_end && first_start,
        &wake_tx,
    )?;
    let watcher = start::watch(&config, source.as_ref(), wake_tx.clone(), clock.clone())?;

    // One token stops everything: the ingest thread (woken through its wake
    // channel), the tasks and the HTTP server.
    let cancel = CancellationToken::new();
    let health = Arc::new(crate::app::StateHealth::default());
    let status = Arc::new(Mutex::new(Vec::new()));
    let (reload_tx, reload_rx) = mpsc::channel();
    let heartbeat = notify::Heartbeat::default();
    // The detector's consumer stops after the ingest thread's last commit,
    // so that commit's acks are sent.
    let feed_cancel = CancellationToken::new();
    let decided = Arc::new(tokio::sync::Notify::new());
    let (feed, feed_task, link, holding) = match &fleet {
        Some(f) => {
            let lost = health.clone();
            let setup = detector::Setup {
                rules: &rules,
                state_path: &config.state_path,
                lost: Box::new(move |why| lost.set_fatal(why)),
            };
            let (feed, task, link, holding) = detector::start(
                f,
                &resume.cursors,
                setup,
                wake_tx.clone(),
                clock.clone(),
                feed_cancel.clone(),
            )
            .await?;
            (
                Some(feed.on_decided(decided.clone())),
                Some(task),
                Some(link),
                Some(holding),
            )
        }
        None => (None, None, None, None),
    };
    let fence = feed.as_ref().map(|f| f.fence());
    // Sample lines are kept only when something will quote them.
    let samples = samples::Samples::new(
        if alerting.is_some() {
            config.alert.samples
        } else {
            0
        },
        samples::GENERATION,
    );
    let ingest = ingest::Ingest {
        source,
        feed,
        lines: ingest::Lines::new(sources, samples, config.year, once),
        pipeline,
        housekeeping: ingest::Housekeeping::new(reload_rx, store.clone(), clock.clone()),
        committer: ingest::Committer::new(ingest::CommitterParts {
            store: store.clone(),
            alerting: alerting.clone(),
            enforcer: enforcer.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
            clock: clock.clone(),
            interval: config.checkpoint_interval,
        }),
        metrics: metrics.clone(),
        clock: clock.clone(),
        wake: wake_rx,
        poll_interval: config.poll_interval,
        status: status.clone(),
        heartbeat: heartbeat.clone(),
        cancel: cancel.clone(),
    };
    let ingest_thread = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || ingest.run())?;

    // The detector keeps the fleet's decisions bucket equal to its state.
    let bucket_task = match (&fleet, holding) {
        (Some(f), Some(holding)) => Some(tokio::spawn(detector::bucket::run(
            f.clone(),
            holding,
            f.decisions_replicas,
            decided.clone(),
            store.clone(),
            clock.clone(),
            cancel.clone(),
        ))),
        _ => None,
    };
    let expiry_task = tokio::spawn(expiry::run(
        store.clone(),
        metrics.clone(),
        alerting.clone(),
        enforcer.clone(),
        clock.clone(),
        cancel.clone(),
    ));
    let delivery_task = alerting.clone().map(|a| {
        tokio::spawn(crate::app::alerting::run(
            a,
            metrics.clone(),
            clock.clone(),
            cancel.clone(),
        ))
    });

    let mut backend = services
        .backend(status, metrics.clone())
        .with_health(health.clone())
        .with_inventory(inventory_handle)
        .with_chosen(&config.sources);
    if let Some(link) = link {
        // The detector is ready only while it consumes the stream.
        backend = backend.with_check(Arc::new(move || detector::readiness(&link)));
    }
    let (backend, view_tasks) = detector::fleetview::backend(
        fleet.as_ref(),
        Arc::new(backend),
        fence,
        &config.state_path,
        &metrics,
        decided.clone(),
        cancel.clone(),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|error| DaemonError::Listen {
            addr: config.http.listen,
            error,
        })?;
    let addr = listener.local_addr()?;
    info!(%addr, "Listening.");
    if let Some(f) = &opts.addr_file {
        crate::private::write(f, addr.to_string().as_bytes())?;
    }
    let app = AppState::new(backend, metrics.clone(), admin_token, addr);
    // The helpdesk page shares the API's backend, token and guards. The
    // listener is plain HTTP, so its cookies are not `Secure` (a TLS
    // listener would pass true).
    let ui =
        crate::ui::UiState::new(app.clone(), config.ui.secure_cookies)?.with_zone(config.ui.tz);
    let server = tokio::spawn(http::serve(
        listener,
        http::router(app).merge(crate::ui::router(ui)),
        cancel.clone().cancelled_owned(),
    ));
    let reload_task = tokio::spawn(reload::run(
        rules_watch,
        config.clone(),
        reload_tx,
        metrics.clone(),
        reload::Notices {
            notifier: notifier.clone(),
            status: {
                let (sources, mode) = (config.sources.len(), config.mode);
                let stream = fleet.as_ref().map(|f| f.stream.clone());
                Box::new(move |rules| match &stream {
                    Some(s) => detector::serving_status(s, rules, mode, addr),
                    None => serving_status(sources, rules, mode, addr),
                })
            },
            live: rules.rules.len(),
        },
        cancel.clone(),
    ));
    // Serving: the state is open, the sources started, the listener bound (a
    // connection made now is answered once the server task runs).
    let serving = match &fleet {
        Some(f) => detector::serving_status(&f.stream, rules.rules.len(), config.mode, addr),
        None => serving_status(config.sources.len(), rules.rules.len(), config.mode, addr),
    };
    if fleet.is_some() {
        info!("{serving}.");
    }
    notifier.ready(&serving);
    let watchdog_task = notify::watchdog_period().map(|period| {
        info!(?period, "Watchdog pings to the service manager.");
        let n = notifier.clone();
        tokio::spawn(notify::watchdog(
            period,
            heartbeat,
            wake_tx.clone(),
            clock.clone(),
            move || n.ping(),
            cancel.clone(),
        ))
    });

    tokio::select! {
        _ = shutdown.wait() => info!("Shutting down."),
        _ = health.stop.notified() => {}
    }
    notifier.stopping();
    cancel.cancel();
    // The ingest thread waits on its wake channel, not on the token.
    let _ = wake_tx.send(clock.instant());
    drop(watcher);
    let joined = tokio::task::spawn_blocking(move || ingest_thread.join()).await;
    if !matches!(joined, Ok(Ok(()))) {
        warn!("Ingest thread ended abnormally.");
    }
    feed_cancel.cancel();
    if let Some(t) = feed_task {
        let _ = t.await;
    }
    let _ = reload_task.await;
    let _ = expiry_task.await;
    for t in bucket_task.into_iter().chain(view_tasks) {
        let _ = t.await;
    }
    if let Some(t) = delivery_task {
        let _ = t.await;
    }
    let _ = server.await;
    if let Some(t) = watchdog_task {
        let _ = t.await;
    }
    if let Some(why) = health.fatal() {
        return Err(DaemonError::StateLost(why));
    }
    info!("Stopped.");
    Ok(())
}

/// The `STATUS=` line of a serving daemon, for `systemctl status`.
pub fn serving_status(
    sources: usize,
    rules: usize,
    mode: crate::decision::Mode,
    addr: SocketAddr,
) -> String {
    format!(
        "Watching {sources} source{} with {rules} rules in mode {mode}; HTTP on {addr}",
        if sources == 1 { "" } else { "s" },
    )
}

/// The admin API's token: the configured one, else the one generated at the
/// first start beside the state database (the API is never open).
fn admin_token(config: &Config) -> Result<http::AdminToken, DaemonError> {
    if let Some(t) = &config.http.admin_token {
        return Ok(http::AdminToken::configured(t));
    }
    let path = http::token::path_for(&config.state_path);
    let token = http::token::load_or_create(&path)?;
    info!(
        file = %crate::escape::Escaped(&path.display().to_string()),
        "Admin API token (no admin_token_file configured)."
    );
    Ok(token)
}

/// SIGTERM and SIGINT, listened for from the moment this is made. Made at
/// the daemon's start, before anything (the address file, the API) tells a
/// caller it is up: a SIGTERM sent right after that used to arrive before the
/// handler existed and killed the daemon with its default action, exit by
/// signal, instead of a clean stop (a test under load caught it).
pub(crate) struct Shutdown {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Shutdown {
    /// Starts listening (needs the tokio runtime).
    pub(crate) fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Shutdown {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Shutdown {}
    }

    /// Waits for either signal (Ctrl-C alone when they could not be set up).
    pub(crate) async fn wait(&mut self) {
        #[cfg(unix)]
        {
            match (&mut self.term, &mut self.int) {
                (Some(term), Some(int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                (Some(term), None) => {
                    let _ = term.recv().await;
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

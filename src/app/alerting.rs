//! Alerting, for the daemon and the offline CLI alike: decisions (and their ends) become alerts, rendered
//! per sink, written to the durable outbox, and delivered by a task.
//!
//! Rendering happens before anything is stored, so what is stored is exactly
//! what each sink receives; the outbox owns retries, backoff, rate limits and
//! idempotency keys. A firing alert is rendered by the ingest loop
//! ([`Alerting::render`]) and committed in the SAME transaction as its decision,
//! only when that decision is new: a `kill -9` between the two cannot happen,
//! so the alert of a decision is never lost (the restart re-derives the
//! decision, finds it known, and rightly does not alert again).
//! Resolutions are committed the same way: the auto-unlock
//! (`Store::expire_due_alerting`) and the admin unlock through the API
//! (`Store::unlock_alerting`) write their "resolved" alert in the transaction
//! that ends the lock. [`Alerting::enqueue`] commits an alert on its own (the
//! storm breaker's, which has no decision row to go with).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::warn;

use crate::alert::outbox::Outbox;
use crate::alert::sink::{self, Sink};
use crate::alert::{Alert, Format, Language, Renderer};
use crate::config::Config;
use crate::config::alerts::{SinkConfig, SinkFormat};
use crate::parse::Zone;
use crate::state::{OutboxEntry, Store};
use crate::telemetry::Metrics;

/// Sinks, renderers and the outbox; `None` from [`Alerting::new`] when no sink is configured.
pub struct Alerting {
    configs: Vec<SinkConfig>,
    sinks: Vec<Sink>,
    renderers: HashMap<Language, Renderer>,
    outbox: Mutex<Outbox>,
}

/// Why the alerting could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// A sink cannot be built from its configuration.
    #[error(transparent)]
    Sink(#[from] crate::alert::sink::SinkError),
    /// The alert templates do not compile.
    #[error(transparent)]
    Render(#[from] crate::alert::render::RenderError),
    /// The outbox's connection to the state file cannot be opened.
    #[error(transparent)]
    Store(#[from] crate::state::StateError),
}

/// The rendering a sink's wire format uses.
fn format(f: SinkFormat) -> Format {
    match f {
        SinkFormat::Alertmanager => Format::Alertmanager,
        SinkFormat::Json => Format::Webhook,
        SinkFormat::Slack => Format::Slack,
        SinkFormat::Text => Format::Teams,
        SinkFormat::Email => Format::Email,
        SinkFormat::JsonLines | SinkFormat::Syslog => Format::Json,
    }
}

impl Alerting {
    /// Builds the sinks of `config` over a second connection to the state file.
    pub fn new(config: &Config) -> Result<Option<Alerting>, AlertingError> {
        if config.alert.sinks.is_empty() {
            return Ok(None);
        }
        let sinks = sink::build(&config.alert.sinks)?;
        let mut renderers = HashMap::new();
        for c in &config.alert.sinks {
            if let std::collections::hash_map::Entry::Vacant(v) = renderers.entry(c.language) {
                // Times in the configured zone (default the host's), named in the alert.
                let zone = config.alert.zone.unwrap_or(Zone::Local);
                let r = Renderer::new(c.language, zone, None)?;
                v.insert(r);
            }
        }
        let store = Store::open(&config.state_path)?;
        Ok(Some(Alerting {
            configs: config.alert.sinks.clone(),
            sinks,
            renderers,
            outbox: Mutex::new(Outbox::new(store)),
        }))
    }

    /// Renders `alert` for every sink whose filter accepts it, ready to be
    /// committed with its decision (`None` when no sink wants it).
    pub fn render(&self, alert: &Alert, now: DateTime<Utc>) -> Option<OutboxEntry> {
        let mut per_sink = Vec::new();
        for c in self
            .configs
            .iter()
            .filter(|c| c.filter.accepts(&alert.decision))
        {
            let Some(r) = self.renderers.get(&c.language) else {
                continue;
            };
            let json = r
                .render(alert, format(c.format), now)
                .map_err(|e| e.to_string())
                .and_then(|p| serde_json::to_string(&p).map_err(|e| e.to_string()));
            match json {
                Ok(j) => per_sink.push((c.name.clone(), j)),
                Err(e) => warn!(sink = %c.name, error = %e, "Alert could not be rendered."),
            }
        }
        (!per_sink.is_empty()).then(|| OutboxEntry {
            alert_key: alert.key.clone(),
            status: alert.status,
            per_sink,
        })
    }

    /// Renders `alert` for every sink whose filter accepts it and commits the
    /// payloads to the outbox in one transaction of their own.
    pub fn enqueue(&self, alert: &Alert, now: DateTime<Utc>) {
        let Some(entry) = self.render(alert, now) else {
            return;
        };
        let Ok(mut outbox) = self.outbox.lock() else {
            return;
        };
        if let Err(e) = outbox.enqueue_entry(&entry, now) {
            warn!(error = %e, "Alert could not be written to the outbox.");
        }
    }

    /// Delivers what is due (blocking: run it on a blocking task).
    pub fn deliver(&self, metrics: &Metrics, now: DateTime<Utc>) {
        let Ok(mut outbox) = self.outbox.lock() else {
            return;
        };
        if let Err(e) = outbox.deliver_due(&self.sinks, Some(metrics), now) {
            warn!(error = %e, "Alert delivery failed; retrying.");
        }
    }
}

/// Runs delivery every second until `stop` is cancelled.
pub async fn run(
    alerting: Arc<Alerting>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn crate::clock::Clock>,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        let (a, m, now) = (alerting.clone(), metrics.clone(), clock.now());
        let _ = tokio::task::spawn_blocking(move || a.deliver(&m, now)).await;
        tokio::select! {
            _ = stop.cancelled() => {
                // One last attempt, so alerts of the final batch are not left waiting a restart.
                let (a, m, now) = (alerting.clone(), metrics.clone(), clock.now());
                let _ = tokio::task::spawn_blocking(move || a.deliver(&m, now)).await;
                return;
            }
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// The alert for a firing decision, with no geo and no sample lines.
pub fn firing(d: &crate::decision::Decision, account: Option<Arc<crate::event::Account>>) -> Alert {
    firing_with(d, account, None, Vec::new())
}

/// The alert for a firing decision, with what the inventory and GeoIP know of
/// its target and the raw lines of its evidence (escaped by `alert_for`).
pub fn firing_with(
    d: &crate::decision::Decision,
    account: Option<Arc<crate::event::Account>>,
    geo: Option<Arc<crate::event::Geo>>,
    samples: Vec<String>,
) -> Alert {
    crate::alert::alert_for(d, account, geo, samples)
}

/// The alert saying a lock ended (`how`: `auto` or `admin`).
pub fn resolved(
    d: &crate::decision::Decision,
    how: &str,
    at: DateTime<Utc>,
    by: Option<String>,
    reason: Option<String>,
) -> Alert {
    let resolution = crate::alert::Resolution {
        how: how.to_owned(),
        at,
        by,
        reason,
    };
    crate::alert::resolve(firing(d, None), resolution)
}

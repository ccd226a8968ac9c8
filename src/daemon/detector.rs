//! `loginwatch run` as the fleet's detector: a configuration with `[fleet]`
//! and no `[[source]]`. The daemon is the same (pipeline, rules, decisions,
//! safety filter, alerts, state, API); its input is the fleet's stream
//! instead of local files: a consumer task (`crate::fleet::consume`) hands
//! the messages to the ingest thread's [`Feed`], whose position is committed
//! with the rule state and acknowledged after the commit. Its decisions go
//! out to the fleet's key-value bucket ([`bucket`]), which the agents
//! enforce. Several
//! detectors share the stream by groups and partitions, one process per
//! slot ([`shard`], and the module docs of `crate::fleet`).
//!
//! A configuration with `[fleet]` and sources is an agent's: `run` refuses
//! it rather than guess which role was meant (a host that both publishes
//! and watches its own lines would count them twice).

pub mod adopt;
pub mod bucket;
pub mod control;
pub mod fleetview;
pub mod holding;
pub mod shard;

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::DaemonError;
use super::ingest::Feed;
use crate::clock::Clock;
use crate::config::Config;
use crate::fleet::FleetConfig;
use crate::fleet::health::Link;
use crate::source::Cursor;

/// The fleet's settings when `config` is a detector's; `None` for a daemon
/// of its own host; refused for an agent's configuration.
pub fn role(config: &Config) -> Result<Option<&FleetConfig>, DaemonError> {
    match &config.fleet {
        None => Ok(None),
        Some(_) if !config.sources.is_empty() => Err(DaemonError::Role(
            "the configuration has [fleet] and [[source]] tables: it is an agent's, run it with \
             `loginwatch agent`; `loginwatch run` with [fleet] is the fleet's detector and reads \
             no local source (see docs/config.md)"
                .into(),
        )),
        Some(f) => Ok(Some(f)),
    }
}

pub use shard::{Setup, keep_rules};

/// What the detector's `/readyz` and status line say of its input.
pub const WORK: &str = "consuming the fleet's stream";

/// The detector's status line (systemd's `STATUS=`, the log): what it
/// consumes instead of "Watching 0 sources".
pub fn serving_status(
    stream: &str,
    rules: usize,
    mode: crate::decision::Mode,
    addr: std::net::SocketAddr,
) -> String {
    format!(
        "Consuming the fleet's stream {stream} with {rules} rules in mode {mode}; HTTP on {addr}"
    )
}

/// The `/readyz` problem of the detector's link, `None` when consuming.
pub fn readiness(link: &Link) -> Option<crate::http::Problem> {
    link.problem()
        .map(|message| crate::http::Problem::Fleet { message })
}

/// What [`start`] returns: the ingest thread's feed, the member's task, the
/// link `/readyz` reads, and the hold on the slot the bucket task writes
/// under.
pub type Started = (
    Feed,
    tokio::task::JoinHandle<()>,
    Arc<Link>,
    holding::Holding,
);

/// Connects to NATS and starts the member's consumption (see [`shard`]);
/// returns the ingest thread's feed, resuming after the positions committed
/// in `cursors`, and the link `/readyz` reads.
pub async fn start(
    fleet: &FleetConfig,
    cursors: &[Cursor],
    setup: Setup<'_>,
    wake: Sender<Instant>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> Result<Started, DaemonError> {
    shard::start(fleet, cursors, setup, wake, clock, cancel).await
}

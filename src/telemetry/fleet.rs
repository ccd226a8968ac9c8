//! Fleet mode's metrics: the agent's publishing and spool, and the NATS
//! connection of an agent or a detector. Named here with the rest of the
//! metrics (the module docs of [`super`]); registered on the process's
//! [`Metrics`] registry only by the commands that talk to NATS, so a single
//! host's daemon does not show them. No label: one agent has one stream.

use prometheus::{IntCounter, IntGauge, Opts};

use super::Metrics;

/// The fleet's series.
#[derive(Debug, Clone)]
pub struct FleetMetrics {
    /// `loginwatch_fleet_connected`: 1 while connected to a NATS server.
    pub connected: IntGauge,
    /// `loginwatch_fleet_published_total`: events the stream stored.
    pub published: IntCounter,
    /// `loginwatch_fleet_duplicates_total`: events the stream already had
    /// (sent again after a crash or a failed attempt), dropped by message id.
    pub duplicates: IntCounter,
    /// `loginwatch_fleet_publish_errors_total`: failed publish attempts.
    pub publish_errors: IntCounter,
    /// `loginwatch_fleet_spooled_total`: events written to the spool.
    pub spooled: IntCounter,
    /// `loginwatch_fleet_spool_bytes`: the spool's size on disk.
    pub spool_bytes: IntGauge,
    /// `loginwatch_fleet_spool_messages`: events spooled, not yet acknowledged.
    pub spool_messages: IntGauge,
    /// `loginwatch_fleet_spool_limit_bytes`: `[fleet] buffer_max_bytes`.
    pub spool_limit_bytes: IntGauge,
    /// `loginwatch_fleet_spool_full`: 1 while the spool is at its bound and
    /// reading waits.
    pub spool_full: IntGauge,
    /// `loginwatch_fleet_spool_full_total`: times the spool reached its bound.
    pub spool_full_total: IntCounter,
}

impl FleetMetrics {
    /// Creates the series on `metrics`' registry.
    pub fn register(metrics: &Metrics) -> FleetMetrics {
        let reg = |c: Box<dyn prometheus::core::Collector>| {
            // Static, distinct names: a failure is a programming error
            // (registering twice on one registry).
            metrics
                .registry()
                .register(c)
                .expect("fleet metrics registered once");
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::with_opts(Opts::new(name, help)).expect("static counter");
            reg(Box::new(c.clone()));
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::with_opts(Opts::new(name, help)).expect("static gauge");
            reg(Box::new(g.clone()));
            g
        };
        FleetMetrics {
            connected: gauge(
                "loginwatch_fleet_connected",
                "1 while connected to a NATS server of the fleet, else 0.",
            ),
            published: counter(
                "loginwatch_fleet_published_total",
                "Events the fleet's stream stored (acknowledged).",
            ),
            duplicates: counter(
                "loginwatch_fleet_duplicates_total",
                "Events sent again that the stream already held (dropped by message id).",
            ),
            publish_errors: counter(
                "loginwatch_fleet_publish_errors_total",
                "Failed publish attempts (no connection, no ack in time, stream refused); each is retried.",
            ),
            spooled: counter(
                "loginwatch_fleet_spooled_total",
                "Events written to the agent's spool on disk.",
            ),
            spool_bytes: gauge(
                "loginwatch_fleet_spool_bytes",
                "Size of the agent's spool on disk.",
            ),
            spool_messages: gauge(
                "loginwatch_fleet_spool_messages",
                "Events in the agent's spool not yet acknowledged by the stream.",
            ),
            spool_limit_bytes: gauge(
                "loginwatch_fleet_spool_limit_bytes",
                "The spool's bound ([fleet] buffer_max_bytes).",
            ),
            spool_full: gauge(
                "loginwatch_fleet_spool_full",
                "1 while the spool is at its bound and the agent reads nothing more, else 0.",
            ),
            spool_full_total: counter(
                "loginwatch_fleet_spool_full_total",
                "Times the spool reached its bound (reading paused until acks freed space).",
            ),
        }
    }
}

/// A detector's series of the fleet's view (`crate::daemon::detector`'s
/// view of the other detectors' decisions and the unlocks between them).
#[derive(Debug, Clone)]
pub struct ViewMetrics {
    /// `loginwatch_fleet_view_skipped_total`: values of the decisions
    /// bucket the view did not read (another layout version, not JSON).
    pub skipped: IntCounter,
    /// `loginwatch_fleet_unlock_requests_refused_total`: unlock requests
    /// from other detectors refused as malformed.
    pub refused: IntCounter,
}

impl ViewMetrics {
    /// Creates the series on `metrics`' registry.
    pub fn register(metrics: &Metrics) -> ViewMetrics {
        let counter = |name: &str, help: &str| {
            let c = IntCounter::with_opts(Opts::new(name, help)).expect("static counter");
            // Static, distinct names, registered once by the detector.
            metrics
                .registry()
                .register(Box::new(c.clone()))
                .expect("view metrics registered once");
            c
        };
        ViewMetrics {
            skipped: counter(
                "loginwatch_fleet_view_skipped_total",
                "Values of the fleet's decisions bucket the detector's view skipped (another layout version, unreadable).",
            ),
            refused: counter(
                "loginwatch_fleet_unlock_requests_refused_total",
                "Unlock requests from other detectors refused as malformed.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_series_render_on_the_shared_registry() {
        let m = Metrics::new();
        assert!(!m.render().contains("loginwatch_fleet_"));
        let f = FleetMetrics::register(&m);
        f.spool_messages.set(5000);
        f.published.inc_by(3);
        let text = m.render();
        assert!(
            text.contains("loginwatch_fleet_spool_messages 5000"),
            "{text}"
        );
        assert!(
            text.contains("loginwatch_fleet_published_total 3"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE loginwatch_fleet_connected gauge"),
            "{text}"
        );
    }
}

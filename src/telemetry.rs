//! Every metric the daemon exports, in one place, on one custom registry.
//!
//! The metric names and labels are a contract with the dashboards in
//! `dashboards/`, so they are all defined here and nowhere else. Labels only ever
//! carry bounded, admin-chosen values (source names, rule ids, enum spellings):
//! never a user name, an IP or a path, which an attacker could multiply into
//! millions of series. A custom registry (rather than the crate's global one)
//! keeps tests independent and lets two daemons live in one test process.
//!
//! The typed helpers take the pipeline's enums rather than strings so that a label
//! value can only be one the dashboards know.

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::decision::{Assessment, DecisionAction, Mode};
use crate::event::Outcome;
use crate::parse::UnparsedReason;

pub mod fleet;

/// How a lock ended (`loginwatch_unlocks_total{how}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockHow {
    /// At its end time, by itself.
    Auto,
    /// By an admin (API or CLI).
    Admin,
}

impl UnlockHow {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            UnlockHow::Auto => "auto",
            UnlockHow::Admin => "admin",
        }
    }
}

/// How a rules reload went (`loginwatch_rules_reloads_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    /// The new set was compiled and swapped in.
    Ok,
    /// The new set had errors; the old set stays live.
    Error,
}

impl ReloadResult {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Ok => "ok",
            ReloadResult::Error => "error",
        }
    }
}

/// Buckets of `loginwatch_alert_delivery_seconds`: an SMTP dialogue or a webhook
/// round trip, from 5 ms to the 10 s default timeout and past it.
const DELIVERY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets of `loginwatch_event_to_decision_seconds`: from 1 ms to 10 s, dense
/// around the 50 ms target for p99 append-to-decision.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The daemon's metrics. Fields are public so the pipeline can update them with
/// the `prometheus` API directly; the methods are typed shortcuts.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// `loginwatch_lines_read_total{source}`.
    pub lines_read: IntCounterVec,
    /// `loginwatch_events_total{source,outcome}`.
    pub events: IntCounterVec,
    /// `loginwatch_unparsed_lines_total{source,reason}`.
    pub unparsed_lines: IntCounterVec,
    /// `loginwatch_rule_matches_total{rule}`.
    pub rule_matches: IntCounterVec,
    /// `loginwatch_decisions_total{rule,action,mode,assessment}`.
    pub decisions: IntCounterVec,
    /// `loginwatch_active_locks{action}`.
    pub active_locks: IntGaugeVec,
    /// `loginwatch_unlocks_total{how}`.
    pub unlocks: IntCounterVec,
    /// `loginwatch_tracked_keys{rule}`.
    pub tracked_keys: IntGaugeVec,
    /// `loginwatch_evicted_keys_total{rule}`.
    pub evicted_keys: IntCounterVec,
    /// `loginwatch_rules_reloads_total{result}`.
    pub rules_reloads: IntCounterVec,
    /// `loginwatch_state_commit_failures_total{reason}`: commits of the state
    /// database that failed (reading pauses until one succeeds).
    pub state_commit_failures: IntCounterVec,
    /// `loginwatch_source_lag_bytes{source}`: bytes written but not yet read.
    pub source_lag_bytes: IntGaugeVec,
    /// `loginwatch_source_up{source}`: 1 when the source can be read, 0 when not.
    pub source_up: IntGaugeVec,
    /// `loginwatch_source_truncated_bytes_total{source}`: unread bytes destroyed
    /// by a truncation with no copy to read them from.
    pub source_truncated_bytes: IntCounterVec,
    /// `loginwatch_source_dropped_total{source,reason}`: input a source lost
    /// or refused before it became a line (network sources: `queue_full`,
    /// `connection_refused`, `receive_error`).
    pub source_dropped: IntCounterVec,
    /// `loginwatch_event_to_decision_seconds`: line appended to decision made.
    pub event_to_decision_seconds: Histogram,
    /// `loginwatch_build_info{version}`, always 1.
    pub build_info: IntGauge,
    /// `loginwatch_alerts_total{sink,result}`: delivery outcomes
    /// (`delivered`, `retry`, `failed`, `suppressed`).
    pub alerts: IntCounterVec,
    /// `loginwatch_alert_outbox_depth{sink}`: rows not yet delivered.
    pub alert_outbox_depth: IntGaugeVec,
    /// `loginwatch_alert_delivery_seconds{sink}`: one delivery attempt.
    pub alert_delivery_seconds: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric. Label values of closed sets (unlock
    /// kinds, reload results, lock actions) are created at zero so dashboards
    /// show a flat line rather than "no data" before the first event.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        // The definitions below are static and valid (a unit test renders them):
        // registration can only fail for a duplicate or malformed name, which is a
        // programming error, never something input can cause.
        let reg = |c: Box<dyn prometheus::core::Collector>| {
            registry
                .register(c)
                .expect("static metric definitions are valid and distinct");
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)
                .expect("static counter definition is valid");
            reg(Box::new(c.clone()));
            c
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)
                .expect("static gauge definition is valid");
            reg(Box::new(g.clone()));
            g
        };
        let lines_read = counter(
            "loginwatch_lines_read_total",
            "Lines read from each source.",
            &["source"],
        );
        let events = counter(
            "loginwatch_events_total",
            "Auth events parsed, by source and outcome.",
            &["source", "outcome"],
        );
        let unparsed_lines = counter(
            "loginwatch_unparsed_lines_total",
            "Lines that could not be parsed, by source and reason.",
            &["source", "reason"],
        );
        let rule_matches = counter(
            "loginwatch_rule_matches_total",
            "Events that matched each rule.",
            &["rule"],
        );
        let decisions = counter(
            "loginwatch_decisions_total",
            "Decisions made, by rule, action, mode and assessment (user_error, attack, unclear).",
            &["rule", "action", "mode", "assessment"],
        );
        let active_locks = gauge(
            "loginwatch_active_locks",
            "Locks and blocks currently in force, by action.",
            &["action"],
        );
        let unlocks = counter(
            "loginwatch_unlocks_total",
            "Locks ended, by how (auto at the end time, or admin).",
            &["how"],
        );
        let tracked_keys = gauge(
            "loginwatch_tracked_keys",
            "Keys (users, IPs, ...) with window state, per rule.",
            &["rule"],
        );
        let evicted_keys = counter(
            "loginwatch_evicted_keys_total",
            "Keys dropped because a rule reached its cap on tracked keys.",
            &["rule"],
        );
        let rules_reloads = counter(
            "loginwatch_rules_reloads_total",
            "Rule reloads, by result (an error keeps the old rules).",
            &["result"],
        );
        let state_commit_failures = counter(
            "loginwatch_state_commit_failures_total",
            "Failed commits of the state database, by reason (reading pauses until one succeeds).",
            &["reason"],
        );
        let source_lag_bytes = gauge(
            "loginwatch_source_lag_bytes",
            "Bytes written to a source's current file but not yet read.",
            &["source"],
        );
        let source_up = gauge(
            "loginwatch_source_up",
            "1 when the source can be read, 0 when it cannot (missing, permissions).",
            &["source"],
        );
        let source_dropped = counter(
            "loginwatch_source_dropped_total",
            "Input a source lost or refused before it became a line (UDP queue full, TCP connections over the limit, socket errors).",
            &["source", "reason"],
        );
        let source_truncated_bytes = counter(
            "loginwatch_source_truncated_bytes_total",
            "Unread bytes lost when a source's file was truncated and no copy of it was found.",
            &["source"],
        );
        let event_to_decision_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "loginwatch_event_to_decision_seconds",
                "Time from a line being appended to the decision it triggered.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("static histogram definition is valid");
        reg(Box::new(event_to_decision_seconds.clone()));
        let alerts = counter(
            "loginwatch_alerts_total",
            "Alert delivery attempts, by sink and result (delivered, retry, failed, suppressed).",
            &["sink", "result"],
        );
        let alert_outbox_depth = gauge(
            "loginwatch_alert_outbox_depth",
            "Alerts committed to the outbox and not yet delivered, by sink.",
            &["sink"],
        );
        let alert_delivery_seconds = HistogramVec::new(
            HistogramOpts::new(
                "loginwatch_alert_delivery_seconds",
                "Duration of one alert delivery attempt, by sink.",
            )
            .buckets(DELIVERY_BUCKETS.to_vec()),
            &["sink"],
        )
        .expect("static histogram definition is valid");
        reg(Box::new(alert_delivery_seconds.clone()));
        let build_info = gauge(
            "loginwatch_build_info",
            "Always 1; the version is in the label.",
            &["version"],
        )
        .with_label_values(&[env!("CARGO_PKG_VERSION")]);
        build_info.set(1);
        #[cfg(target_os = "linux")]
        reg(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        for how in [UnlockHow::Auto, UnlockHow::Admin] {
            unlocks.with_label_values(&[how.as_str()]);
        }
        for r in [ReloadResult::Ok, ReloadResult::Error] {
            rules_reloads.with_label_values(&[r.as_str()]);
        }
        for r in crate::state::StateError::REASONS {
            state_commit_failures.with_label_values(&[r]);
        }
        for a in [
            DecisionAction::LockAccount,
            DecisionAction::BlockIp,
            DecisionAction::DisableAccount,
        ] {
            active_locks.with_label_values(&[a.as_str()]);
        }
        Metrics {
            registry,
            lines_read,
            events,
            unparsed_lines,
            rule_matches,
            decisions,
            active_locks,
            unlocks,
            tracked_keys,
            evicted_keys,
            rules_reloads,
            state_commit_failures,
            source_lag_bytes,
            source_up,
            source_truncated_bytes,
            source_dropped,
            event_to_decision_seconds,
            build_info,
            alerts,
            alert_outbox_depth,
            alert_delivery_seconds,
        }
    }

    /// The registry, for code that registers collectors of its own.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            // Only inconsistent metric families fail to encode: a bug, reported
            // rather than turned into a failed scrape of everything else.
            tracing::error!("encoding metrics: {e}");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Counts one line read from `source`.
    pub fn line_read(&self, source: &str) {
        self.lines_read.with_label_values(&[source]).inc();
    }

    /// Counts one event of `source`.
    pub fn event(&self, source: &str, outcome: Outcome) {
        self.events
            .with_label_values(&[source, outcome.as_str()])
            .inc();
    }

    /// Counts one line of `source` that could not be parsed.
    pub fn unparsed(&self, source: &str, reason: UnparsedReason) {
        self.unparsed_lines
            .with_label_values(&[source, reason.as_str()])
            .inc();
    }

    /// Counts one decision. The assessment is a label (three values) so the
    /// dashboards can tell locks of users who mistyped from locks of attacks.
    pub fn decision(&self, rule: &str, action: DecisionAction, mode: Mode, assessment: Assessment) {
        self.decisions
            .with_label_values(&[rule, action.as_str(), mode.as_str(), assessment.as_str()])
            .inc();
    }

    /// Sets the number of locks in force for `action`.
    pub fn set_active_locks(&self, action: DecisionAction, n: i64) {
        self.active_locks
            .with_label_values(&[action.as_str()])
            .set(n);
    }

    /// Counts one unlock.
    pub fn unlock(&self, how: UnlockHow) {
        self.unlocks.with_label_values(&[how.as_str()]).inc();
    }

    /// Counts one rules reload.
    pub fn reload(&self, result: ReloadResult) {
        self.rules_reloads
            .with_label_values(&[result.as_str()])
            .inc();
    }

    /// Counts one alert delivery outcome of `sink` (`delivered`, `retry`,
    /// `failed`, `suppressed`). Sink names are admin-chosen, hence bounded.
    pub fn alert_result(&self, sink: &str, result: &str) {
        self.alerts.with_label_values(&[sink, result]).inc();
    }

    /// Sets the number of undelivered alerts of `sink`.
    pub fn set_alert_outbox_depth(&self, sink: &str, n: u64) {
        self.alert_outbox_depth
            .with_label_values(&[sink])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Observes the duration of one delivery attempt of `sink`.
    pub fn alert_delivery_seconds(&self, sink: &str, seconds: f64) {
        self.alert_delivery_seconds
            .with_label_values(&[sink])
            .observe(seconds);
    }

    /// Marks `source` readable or not (and shows its loss counter, at zero
    /// until something is lost, so an alert on its increase has a series).
    pub fn set_source_up(&self, source: &str, up: bool) {
        self.source_up
            .with_label_values(&[source])
            .set(i64::from(up));
        self.source_truncated_bytes.with_label_values(&[source]);
    }

    /// Counts `bytes` of `source` lost to a truncation.
    pub fn truncated_bytes(&self, source: &str, bytes: u64) {
        self.source_truncated_bytes
            .with_label_values(&[source])
            .inc_by(bytes);
    }
}

#[cfg(test)]
mod tests;

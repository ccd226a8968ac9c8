//! One delivery pass of the outbox: every due row of every sink, once, in
//! order, each result recorded before the next send.
//!
//! The order matters for "at least once": a row is marked delivered only
//! after its receiver accepted it, so a crash between the two re-sends it
//! (same idempotency key) rather than losing it.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{DeliveryReport, Outbox, OutboxError, OutboxRow, SUMMARY_KEY, plan};
use crate::alert::AlertStatus;
use crate::alert::sink::{Delivery, Sink, SinkError, Summary};
use crate::escape::Escaped;
use crate::state::codec;
use crate::telemetry::Metrics;

impl Outbox {
    /// Sends every due row of every configured sink once, in order, and
    /// records each result. Blocking (the transports are): run it on a
    /// blocking task. A sink's failure stops that sink's pass (and backs it
    /// off) but not the other sinks'. Rows of sinks no longer configured stay
    /// pending (they are delivered if the sink comes back).
    pub fn deliver_due(
        &mut self,
        sinks: &[Sink],
        metrics: Option<&Metrics>,
        now: DateTime<Utc>,
    ) -> Result<DeliveryReport, OutboxError> {
        let mut report = DeliveryReport::default();
        for sink in sinks {
            self.deliver_sink(sink, metrics, now, &mut report)?;
        }
        if let Some(m) = metrics {
            let depth = self.depth()?;
            for sink in sinks {
                let n = depth
                    .iter()
                    .find(|(s, _)| *s == sink.name)
                    .map_or(0, |d| d.1);
                m.set_alert_outbox_depth(&sink.name, n);
            }
        }
        Ok(report)
    }

    fn deliver_sink(
        &mut self,
        sink: &Sink,
        metrics: Option<&Metrics>,
        now: DateTime<Utc>,
        report: &mut DeliveryReport,
    ) -> Result<(), OutboxError> {
        let count = |result: &str| {
            if let Some(m) = metrics {
                m.alert_result(&sink.name, result);
            }
        };
        let mut state = self.load_state(&sink.name)?;
        let all = self.due_rows(now, Some(&sink.name))?;
        let (summaries, rows): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.summary);
        let p = plan::plan(&mut state, rows.len(), sink.rate_limit, now);
        // Persist the plan's window before sending: a crash mid-pass must not
        // forget what was suppressed.
        self.save_state(&sink.name, &state)?;
        let mut queue: Vec<OutboxRow> = summaries;
        if let Some(k) = p.summary {
            let s = Summary { suppressed: k, now };
            let payload = sink.transport.summary(&s);
            let key = format!("{SUMMARY_KEY}:{}", codec::time(&now));
            self.insert(
                &[(sink.name.as_str(), &payload)],
                &key,
                AlertStatus::Firing,
                now,
                true,
            )?;
            report.summaries += 1;
            queue = self
                .due_rows(now, Some(&sink.name))?
                .into_iter()
                .filter(|r| r.summary)
                .collect();
        }
        if state.retry_at.is_some_and(|t| now < t) {
            return Ok(());
        }
        let mut rows = rows.into_iter();
        queue.extend(rows.by_ref().take(p.send));
        for row in rows.by_ref().take(p.suppress) {
            self.finish(row.id, "suppressed", None, now)?;
            report.suppressed += 1;
            count("suppressed");
        }
        for row in queue {
            let key = row.idempotency_key();
            let d = Delivery {
                idempotency_key: &key,
                alert_key: &row.alert_key,
                status: row.status,
                payload: &row.payload,
                now,
            };
            let started = Instant::now();
            let result = sink.transport.send(&d);
            if let Some(m) = metrics {
                m.alert_delivery_seconds(&sink.name, started.elapsed().as_secs_f64());
            }
            match result {
                Ok(()) => {
                    plan::delivered(&mut state);
                    self.finish(row.id, "delivered", None, now)?;
                    report.delivered += 1;
                    count("delivered");
                }
                Err(SinkError::Permanent(e)) | Err(SinkError::Setup(e)) => {
                    tracing::error!(sink = %sink.name, alert = %Escaped(&row.alert_key), "alert not deliverable, giving up: {}", Escaped(&e));
                    self.finish(row.id, "failed", Some(&e), now)?;
                    report.failed += 1;
                    count("failed");
                }
                Err(SinkError::Transient(e)) => {
                    let jitter = (self.jitter)();
                    plan::failed(&mut state, &self.backoff, jitter, now);
                    tracing::warn!(sink = %sink.name, failures = state.failures, "alert delivery failed, will retry: {}", Escaped(&e));
                    self.finish(row.id, "pending", Some(&e), now)?;
                    report.retried += 1;
                    count("retry");
                    break;
                }
            }
        }
        self.save_state(&sink.name, &state)?;
        Ok(())
    }
}

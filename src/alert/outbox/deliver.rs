//! One delivery pass of the outbox: every due row of every sink, once, in
//! order, each result recorded before the next send. Rows are read a page at
//! a time (see `rows`), so a backlog of thousands costs one page of memory.
//!
//! The order matters for "at least once": a row is marked delivered only
//! after its receiver accepted it, so a crash between the two re-sends it
//! (same idempotency key) rather than losing it.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::rows::PAGE;
use super::{DeliveryReport, Outbox, OutboxError, OutboxRow, RowEnd, SUMMARY_KEY, SinkState, plan};
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
        let mut state = self.load_state(&sink.name)?;
        let due = self.count_due(&sink.name)?;
        let p = plan::plan(&mut state, due, sink.rate_limit, now);
        // Persist the plan's window before sending: a crash mid-pass must not
        // forget what was suppressed.
        self.save_state(&sink.name, &state)?;
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
        }
        if state.retry_at.is_some_and(|t| now < t) {
            return Ok(());
        }
        if p.suppress > 0 {
            let n = self.suppress(&sink.name, p.send, p.suppress, now)?;
            report.suppressed += n;
            if let Some(m) = metrics {
                for _ in 0..n {
                    m.alert_result(&sink.name, "suppressed");
                }
            }
        }
        // Summaries first (never suppressed), then the planned rows, oldest first.
        let mut pass = Pass {
            sink,
            metrics,
            now,
            report,
            state: &mut state,
        };
        if self.send_rows(&mut pass, true, usize::MAX)? {
            self.send_rows(&mut pass, false, p.send)?;
        }
        self.save_state(&sink.name, &state)?;
        Ok(())
    }

    /// Marks as suppressed the `n` pending rows of `sink` that follow its
    /// first `skip` (summaries aside). Returns how many.
    fn suppress(
        &mut self,
        sink: &str,
        skip: usize,
        n: usize,
        now: DateTime<Utc>,
    ) -> Result<u32, OutboxError> {
        Ok(self.store.outbox_suppress(sink, skip, n, now)?)
    }

    /// Sends up to `limit` pending rows of the pass's sink (its summaries or
    /// the others), a page at a time, recording each result before the next
    /// send. Returns false when a transient failure stopped the sink.
    fn send_rows(
        &mut self,
        pass: &mut Pass<'_>,
        summary: bool,
        limit: usize,
    ) -> Result<bool, OutboxError> {
        let mut after = 0;
        let mut left = limit;
        while left > 0 {
            let (rows, last) =
                self.page(&pass.sink.name, summary, after, PAGE.min(left), pass.now)?;
            let Some(last) = last else { break };
            after = last;
            for row in rows {
                left = left.saturating_sub(1);
                if !self.send_one(pass, &row)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Sends one row and records the result; false after a transient failure.
    fn send_one(&mut self, pass: &mut Pass<'_>, row: &OutboxRow) -> Result<bool, OutboxError> {
        let (sink, now) = (pass.sink, pass.now);
        let count = |result: &str| {
            if let Some(m) = pass.metrics {
                m.alert_result(&sink.name, result);
            }
        };
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
        if let Some(m) = pass.metrics {
            m.alert_delivery_seconds(&sink.name, started.elapsed().as_secs_f64());
        }
        match result {
            Ok(()) => {
                plan::delivered(pass.state);
                self.finish(row.id, RowEnd::Delivered, None, now)?;
                pass.report.delivered += 1;
                count("delivered");
            }
            Err(SinkError::Permanent(e)) | Err(SinkError::Setup(e)) => {
                tracing::error!(sink = %sink.name, alert = %Escaped(&row.alert_key), "alert not deliverable, giving up: {}", Escaped(&e));
                self.finish(row.id, RowEnd::Failed, Some(&e), now)?;
                pass.report.failed += 1;
                count("failed");
            }
            Err(SinkError::Transient(e)) => {
                let jitter = (self.jitter)();
                plan::failed(pass.state, &self.backoff, jitter, now);
                tracing::warn!(sink = %sink.name, failures = pass.state.failures, "alert delivery failed, will retry: {}", Escaped(&e));
                self.finish(row.id, RowEnd::Pending, Some(&e), now)?;
                pass.report.retried += 1;
                count("retry");
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What one sink's pass carries from row to row.
struct Pass<'a> {
    sink: &'a Sink,
    metrics: Option<&'a Metrics>,
    now: DateTime<Utc>,
    report: &'a mut DeliveryReport,
    state: &'a mut SinkState,
}

//! Prometheus Alertmanager, API v2: `POST <base>/api/v2/alerts` with a JSON
//! list of alerts (labels, annotations, `startsAt`, `endsAt`).
//!
//! The body comes rendered (the renderer sets `endsAt` at the unlock time, or
//! in the past for a resolved alert); this transport only fixes the path and
//! builds its own summary alert. Alertmanager deduplicates by label set, so a
//! retried or updated alert replaces the earlier one rather than adding to it.

use chrono::TimeDelta;

use super::webhook::HttpTransport;
use super::{Delivery, SinkError, Summary, Transport};
use crate::alert::Payload;
use crate::alert::config::HttpTarget;
use crate::event::rfc3339;

/// The API path appended to the configured base URL.
pub const PATH: &str = "/api/v2/alerts";

/// How long a summary alert stays active in Alertmanager.
const SUMMARY_TTL: TimeDelta = TimeDelta::hours(1);

/// Alertmanager's transport: [`HttpTransport`] plus its summary format.
#[derive(Debug)]
pub struct AlertmanagerTransport(HttpTransport);

/// The transport for an Alertmanager at `target.url` (its base URL).
pub fn transport(target: &HttpTarget) -> Result<AlertmanagerTransport, SinkError> {
    let url = format!("{}{PATH}", target.url.trim_end_matches('/'));
    Ok(AlertmanagerTransport(HttpTransport::to_url(
        target, url, None,
    )))
}

impl Transport for AlertmanagerTransport {
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError> {
        self.0.send(d)
    }

    fn summary(&self, s: &Summary) -> Payload {
        let body = serde_json::json!([{
            "labels": {
                "alertname": "LoginwatchAlertsSuppressed",
                "severity": "warning",
            },
            "annotations": {
                "summary": s.sentence(),
                "suppressed": s.suppressed.to_string(),
            },
            "startsAt": rfc3339(&s.now),
            "endsAt": rfc3339(&(s.now + SUMMARY_TTL)),
        }]);
        Payload::Http {
            content_type: "application/json".into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }
}

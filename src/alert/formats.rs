//! The wire formats of alerts: each turns a rendered alert into the
//! [`Payload`] one kind of sink sends.
//!
//! The words come from the templates ([`super::render`]); the structure is built
//! here with `serde_json`, so every JSON payload is valid whatever a template or
//! a user name holds.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::alert::render::{Context, RenderError, Renderer, one_line, slack_escape};
use crate::alert::{Alert, AlertStatus, Payload};
use crate::decision::Severity;
use crate::escape::json_safe;
use crate::event::rfc3339;

/// How an alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text for a terminal or a log.
    Text,
    /// Subject, text body and HTML body.
    Email,
    /// A Slack incoming-webhook message (`text` + `blocks`).
    Slack,
    /// A Microsoft Teams incoming-webhook plain-text message (`{"text": ...}`).
    Teams,
    /// A LINE WORKS bot plain-text message (`{"content": {"type": "text", ...}}`).
    Lineworks,
    /// Prometheus Alertmanager API v2 (`POST /api/v2/alerts`): a JSON array.
    Alertmanager,
    /// A generic webhook: the alert and its decision with ECS names.
    Webhook,
    /// The webhook body as one JSON line (JSON-lines files, stdout, SIEMs).
    Json,
}

impl Format {
    /// Every format, in documentation order.
    pub const ALL_FORMATS: &'static [Format] = &[
        Format::Text,
        Format::Email,
        Format::Slack,
        Format::Teams,
        Format::Lineworks,
        Format::Alertmanager,
        Format::Webhook,
        Format::Json,
    ];

    /// The spelling in the configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Email => "email",
            Format::Slack => "slack",
            Format::Teams => "teams",
            Format::Lineworks => "lineworks",
            Format::Alertmanager => "alertmanager",
            Format::Webhook => "webhook",
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL_FORMATS
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Format::ALL_FORMATS.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown alert format {s:?} (expected one of {})",
                    all.join(", ")
                )
            })
    }
}

/// Slack rejects a section text over 3000 characters.
const SLACK_SECTION_MAX: usize = 3000;
/// Slack rejects a header over 150 characters.
const SLACK_HEADER_MAX: usize = 150;

/// The payload of `alert` in `format`.
pub(crate) fn payload(
    r: &Renderer,
    alert: &Alert,
    ctx: &Context<'_>,
    format: Format,
    now: DateTime<Utc>,
) -> Result<Payload, RenderError> {
    Ok(match format {
        Format::Text => Payload::Line {
            text: r.template("text.txt", ctx)?,
        },
        Format::Email => Payload::Email {
            subject: one_line(&r.template("subject.txt", ctx)?),
            text: r.template("text.txt", ctx)?,
            html: Some(r.template("email.html", ctx)?),
        },
        Format::Slack => {
            let body = r.template("slack.md", ctx)?;
            http(&json!({
                "text": slack_escape(&ctx.summary),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text",
                        "text": truncate(&ctx.summary, SLACK_HEADER_MAX)}},
                    {"type": "section", "text": {"type": "mrkdwn",
                        "text": truncate(&body, SLACK_SECTION_MAX)}},
                    {"type": "context", "elements": [{"type": "mrkdwn",
                        "text": format!("loginwatch · {} · {}", slack_escape(&ctx.view.key), ctx.view.zone)}]},
                ],
            }))?
        }
        Format::Teams => http(&json!({ "text": r.template("text.txt", ctx)? }))?,
        Format::Lineworks => http(&json!({
            "content": {"type": "text", "text": r.template("text.txt", ctx)?}
        }))?,
        Format::Alertmanager => http(&alertmanager(r, alert, ctx, now)?)?,
        Format::Webhook => http(&webhook(alert, ctx))?,
        Format::Json => Payload::Line {
            text: json_safe(serde_json::to_string(&webhook(alert, ctx))?),
        },
    })
}

fn http(body: &Value) -> Result<Payload, RenderError> {
    Ok(Payload::Http {
        content_type: "application/json".to_string(),
        headers: Vec::new(),
        body: json_safe(serde_json::to_string(body)?).into_bytes(),
    })
}

/// At most `max` characters, an ellipsis marking a cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// One Alertmanager v2 alert. `endsAt` is the lock's end while firing (so
/// Alertmanager resolves it by itself at the auto-unlock), and the resolution
/// time (or `now`) once resolved.
fn alertmanager(
    r: &Renderer,
    alert: &Alert,
    ctx: &Context<'_>,
    now: DateTime<Utc>,
) -> Result<Value, RenderError> {
    let v = ctx.view;
    let mut labels = Map::new();
    labels.insert("alertname".into(), json!("loginwatch"));
    labels.insert("rule".into(), json!(v.rule));
    labels.insert("severity".into(), json!(v.severity));
    labels.insert("action".into(), json!(v.action));
    labels.insert("mode".into(), json!(v.mode));
    // Three values, so safe to route and group on; the reason is free text
    // and goes into the annotations.
    labels.insert("assessment".into(), json!(v.assessment));
    if let Some(u) = &v.user {
        labels.insert("user".into(), json!(u));
    }
    if let Some(ip) = &v.ip {
        labels.insert("ip".into(), json!(ip));
    }
    let mut am = Map::new();
    am.insert("labels".into(), Value::Object(labels));
    let mut annotations = json!({
        "summary": ctx.summary,
        "description": r.template("text.txt", ctx)?,
        "next_steps": ctx.advice,
        "unlock_cli": v.unlock_cli,
        "unlock_api": v.unlock_api,
        "decision_id": v.decision.id,
        "alert_key": v.key,
    });
    if !v.assessment_reason.is_empty() {
        annotations["assessment_reason"] = json!(v.assessment_reason);
    }
    am.insert("annotations".into(), annotations);
    am.insert("startsAt".into(), json!(rfc3339(&alert.decision.at)));
    let ends = match alert.status {
        AlertStatus::Resolved => Some(alert.resolution.as_ref().map_or(now, |res| res.at)),
        AlertStatus::Firing => alert.decision.until,
    };
    if let Some(t) = ends {
        am.insert("endsAt".into(), json!(rfc3339(&t)));
    }
    if let Some(u) = r.generator_url() {
        am.insert("generatorURL".into(), json!(u));
    }
    Ok(Value::Array(vec![Value::Object(am)]))
}

/// ECS `event.severity` numbers, as Elastic's detection rules score them.
fn ecs_severity(s: Severity) -> u8 {
    match s {
        Severity::Low => 21,
        Severity::Medium => 47,
        Severity::High => 73,
        Severity::Critical => 99,
    }
}

/// The webhook / JSON-lines body: flat ECS keys for what ECS names, the
/// decision as `replay --json` writes it under `loginwatch.decision`.
fn webhook(alert: &Alert, ctx: &Context<'_>) -> Value {
    let v = ctx.view;
    let d = &alert.decision;
    let mut m = Map::new();
    let mut put = |k: &str, val: Value| {
        if !val.is_null() {
            m.insert(k.to_string(), val);
        }
    };
    put("@timestamp", json!(rfc3339(&d.at)));
    put("message", json!(ctx.summary));
    put("event.kind", json!("alert"));
    put("event.action", json!(v.action));
    put("event.severity", json!(ecs_severity(d.severity)));
    put("event.start", json!(rfc3339(&d.evidence.first)));
    put("event.end", json!(rfc3339(&d.evidence.last)));
    put("rule.name", json!(v.rule));
    put("user.name", json!(v.user));
    put("user.email", json!(v.email));
    put("user.full_name", json!(v.display_name));
    // The address the alert names (the target's, or the evidence's that GeoIP
    // described), when it is one address and not a network.
    let source_ip =
        v.ip.as_deref()
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
    put("source.ip", json!(source_ip));
    put("source.geo.country_iso_code", json!(v.country));
    put("source.geo.city_name", json!(v.city));
    let geo = alert.geo.as_deref();
    put("source.as.number", json!(geo.and_then(|g| g.as_number)));
    put(
        "source.as.organization.name",
        json!(geo.and_then(|g| {
            g.as_organization
                .as_deref()
                .map(|o| crate::escape::Escaped(o).to_string())
        })),
    );
    put("loginwatch.alert.key", json!(v.key));
    put("loginwatch.alert.status", json!(v.status));
    put("loginwatch.alert.severity", json!(v.severity));
    put("loginwatch.alert.resolution", json!(alert.resolution));
    put("loginwatch.assessment", json!(v.assessment));
    // In the alert's language and escaped, unlike the decision's own
    // `assessment_reason` below (English, as `replay --json` writes it).
    put(
        "loginwatch.assessment_reason",
        json!(Some(&v.assessment_reason).filter(|r| !r.is_empty())),
    );
    put("loginwatch.next_steps", json!(ctx.advice));
    put("loginwatch.unlock.cli", json!(v.unlock_cli));
    put("loginwatch.unlock.api", json!(v.unlock_api));
    put("loginwatch.samples", json!(v.samples));
    put(
        "loginwatch.decision",
        serde_json::to_value(d).unwrap_or(Value::Null),
    );
    Value::Object(m)
}

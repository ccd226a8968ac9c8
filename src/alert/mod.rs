//! Alerts: what admins hear about decisions. (model and rendering; the outbox
//! and the sinks are being built)
//!
//! A decision becomes an [`Alert`] (with what the inventory and GeoIP know of its
//! target), is rendered per sink into a [`Payload`], committed to a durable
//! outbox, and delivered at least once with a stable idempotency key.

pub mod config;
pub mod content;
pub mod formats;
pub mod render;
mod sample;
pub mod zone;

pub use content::{alert_for, alert_key, resolve};
pub use formats::Format;
pub use render::{Language, RenderError, Renderer};
pub mod outbox;
pub mod sink;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::event::{Account, Geo};

/// Whether the alert reports something in force or its end; a column of the
/// outbox, so `state` defines it.
pub use crate::state::AlertStatus;

/// How a resolved lock ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    /// `auto` (its end time came) or `admin`.
    pub how: String,
    pub at: DateTime<Utc>,
    /// The admin, for `admin`.
    pub by: Option<String>,
    pub reason: Option<String>,
}

/// Everything an alert says, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Idempotency and grouping key: the same ongoing situation always has the
    /// same key (receivers deduplicate on it; an update replaces, not adds).
    pub key: String,
    pub status: AlertStatus,
    pub decision: Decision,
    /// The target account as the inventory describes it, when known.
    pub account: Option<Arc<Account>>,
    /// Where the target address is, when known.
    pub geo: Option<Arc<Geo>>,
    /// Up to N sample log lines of the evidence, already escaped.
    pub samples: Vec<String>,
    /// For `Resolved`.
    pub resolution: Option<Resolution>,
}

/// A rendered alert, ready for one sink's transport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Payload {
    /// An HTTP request body (Alertmanager, webhook, Slack, Teams/LINE WORKS bot)
    /// with its content type and extra headers.
    Http {
        content_type: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// An e-mail.
    Email {
        subject: String,
        text: String,
        html: Option<String>,
    },
    /// One line (JSON lines file/stdout, syslog message).
    Line { text: String },
}

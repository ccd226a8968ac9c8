//! The account sweep: rules that look at accounts rather than events
//! (`password-age`, `inactive`), run at start-up and then daily.
//!
//! It runs on the ingest thread, so its decisions are committed with the next
//! batch like any other (same deterministic ids: a sweep repeated the same day
//! recognises its own decisions). An account that already has an active
//! decision of the same rule is skipped, so a still-inactive account is not
//! recommended for disabling again every day.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::decision::Decision;
use crate::pipeline::Pipeline;
use crate::state::{DecisionFilter, Store};

/// Time between sweeps.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The sweep's new decisions at `now`.
pub fn run(pipeline: &Pipeline, store: &Mutex<Store>, now: DateTime<Utc>) -> Vec<Decision> {
    if !pipeline
        .engine()
        .rules()
        .rules
        .iter()
        .any(|r| r.kind.is_sweep())
    {
        return Vec::new();
    }
    let Ok(store) = store.lock() else {
        return Vec::new();
    };
    let facts = match store.all_facts() {
        Ok(f) => f,
        Err(e) => {
            warn!(error = %e, "Account sweep skipped: cannot read account facts.");
            return Vec::new();
        }
    };
    let found = pipeline.sweep(&facts, now);
    let total = found.len();
    let fresh: Vec<Decision> = found
        .into_iter()
        .filter(|d| {
            let filter = DecisionFilter {
                active_only: true,
                rule: Some(d.rule.to_string()),
                user: d.target.user.as_ref().map(|u| u.to_string()),
                limit: Some(1),
                ..DecisionFilter::default()
            };
            store
                .decisions(&filter)
                .map(|v| v.is_empty())
                .unwrap_or(true)
        })
        .collect();
    info!(accounts = total, new = fresh.len(), "Account sweep done.");
    fresh
}

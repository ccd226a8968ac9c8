//! The rule engine: events in (in event time), decisions out. (skeleton)

use std::sync::Arc;

use super::RuleSet;
use crate::decision::{Decision, Mode};
use crate::event::AuthEvent;

/// Runs a rule set over a stream of events.
#[derive(Debug)]
pub struct Engine {
    rules: Arc<RuleSet>,
    mode: Mode,
}

impl Engine {
    pub fn new(rules: Arc<RuleSet>, mode: Mode) -> Engine {
        Engine { rules, mode }
    }

    /// Feeds one event; returns the decisions it triggers.
    pub fn observe(&mut self, _ev: &AuthEvent) -> Vec<Decision> {
        let _ = (&self.rules, self.mode);
        Vec::new()
    }
}

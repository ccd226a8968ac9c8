//! loginwatch: watches authentication logs and protects accounts.
//!
//! The pipeline, one module per stage: [`parse`] turns log lines into typed
//! [`event::AuthEvent`]s, [`rules`] compiles rule files and runs them over events in
//! event time, producing [`decision::Decision`]s. [`replay`] drives files through
//! that core exactly as the daemon will drive live sources.

pub mod account;
pub mod action;
pub mod alert;
pub mod app;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod decision;
pub mod enrich;
pub mod escape;
pub mod event;
pub mod fleet;
pub mod helpdesk;
pub mod http;
pub mod intern;
pub mod offline;
pub mod parse;
pub mod pipeline;
pub mod private;
pub mod replay;
pub mod rules;
pub mod ruletest;
pub mod safety;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod ui;

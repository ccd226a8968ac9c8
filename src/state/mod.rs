//! Durable state in SQLite: decisions and their lock lifecycle, the audit trail,
//! account facts, and the resume point (checkpoints plus rule and parser
//! snapshots) of the daemon.
//!
//! Everything the daemon must not forget across a restart (or a `kill -9`) lives
//! here, written in one transaction per [`Batch`] so that the resume point and
//! the decisions it produced can never disagree. The store never reads the
//! clock: every time is passed in, which keeps expiry and audit testable.
//!
//! Layout: [`schema`] holds the migration steps and [`migrate`] applies them;
//! [`store`] opens the database and commits batches; [`decisions`] is the
//! lock lifecycle (queries, admin unlock, auto-unlock); [`facts`] folds events
//! into per-account facts; [`codec`] maps typed values to SQLite columns.

pub mod adopt;
pub mod batch;
pub mod codec;
pub mod decisions;
pub mod error;
pub mod facts;
pub mod guard;
pub mod import;
pub mod maintenance;
pub mod manual;
pub mod migrate;
pub mod model;
pub mod outbox;
pub mod schema;
pub mod store;

pub use crate::account::AccountFacts;
pub use adopt::{Adopt, AdoptReport};
pub use batch::{Batch, CommitResult, EngineSnapshot, Resume};
pub use decisions::DecisionFilter;
pub use error::{Lost, StateError};
pub use facts::{FactUpdate, FactsAccumulator};
pub use import::{ImportOutcome, ImportReport, RecordError};
pub use model::{AuditEntry, DecisionRecord, LockStatus};
pub use outbox::{AlertStatus, OutboxEntry, RowEnd, SinkState, StoredRow};
pub use store::Store;

#[cfg(test)]
mod tests;

//! Durable state in SQLite. (model types; the store is being built)

pub mod model;

//! Tests of the rules module as a whole, one file per topic under `tests/`:
//! loading and validation, the engine kind by kind, floods against the key
//! caps, the kinds that do more than count, the learning kinds, snapshots, the
//! built-in rules, the overlay of rule directories, the trace `explain`
//! shows, and the layering of the
//! submodules themselves.

mod builtin;
mod compile;
mod engine;
mod flood;
mod kinds;
mod layers;
mod learn;
mod overlay;
mod snapshot;
mod trace;

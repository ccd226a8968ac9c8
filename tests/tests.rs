//! All integration tests, compiled into one binary (one `mod` per topic).

mod architecture;
mod sshgen;
mod util;

mod alerts_crash;
mod alerts_delivery;
mod alerts_render;
mod api;
mod api_closed;
mod cardinality;
mod cli;
mod config_doc;
mod copytruncate;
mod corpus_json;
mod corpus_sshd;
mod daemon;
mod dashboards;
mod enforce;
mod enrich;
mod enriched_rules;
mod flood;
mod injection;
mod inventory;
mod learn;
mod pull;
mod saas;
mod scenarios;
mod smtp_tls;
mod snapshot;
mod state;
mod state_faults;
mod state_full;
mod storm_cli;
mod tail;
mod why;

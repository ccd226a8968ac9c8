//! The stream of events: created by the first agent that finds it missing;
//! and the key-value buckets fleet mode keeps (the decisions, the detectors'
//! leases), made the same way.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use super::{FleetConfig, FleetError, subject};

/// How long the stream remembers a message id to drop a copy of it: longer
/// than an agent takes to be restarted after a crash (the only time it
/// re-sends something already stored), short enough that the ids it keeps
/// stay a small part of the server's memory (about 100 bytes each).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The stream's settings when an agent creates it: every subject under the
/// prefix, on disk, with the duplicate window, in `[fleet] replicas` copies
/// (3 in a cluster of three: a node killed loses nothing). An operator may
/// create it beforehand with other limits (retention); an existing stream is
/// used as it is.
pub fn config(fleet: &FleetConfig) -> stream::Config {
    stream::Config {
        name: fleet.stream.clone(),
        subjects: vec![subject::all(&fleet.subject_prefix)],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        num_replicas: fleet.replicas,
        ..Default::default()
    }
}

/// Makes sure the stream exists (creating it as [`config`] says).
pub async fn ensure(js: &jetstream::Context, fleet: &FleetConfig) -> Result<(), FleetError> {
    js.get_or_create_stream(config(fleet))
        .await
        .map(|_| ())
        .map_err(|e| FleetError::Stream {
            stream: fleet.stream.clone(),
            error: e.to_string(),
        })
}

/// A key-value bucket's stream (`KV_<bucket>`, what the client's
/// `create_key_value` would make): on disk, `history` revisions a key,
/// `replicas` copies, no age limit. Made by hand because that call first asks
/// the server for the account's details, whose answer from nats-server 2.9
/// (Debian 12) this client version cannot read.
pub fn bucket_config(
    bucket: &str,
    description: &str,
    history: i64,
    replicas: usize,
) -> stream::Config {
    stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(description.to_owned()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: history,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        deny_purge: false,
        allow_direct: true,
        num_replicas: replicas.max(1),
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    }
}

/// The bucket `config` describes ([`bucket_config`]), created when missing;
/// an existing one is used as it is.
pub async fn bucket(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<kv::Store, FleetError> {
    let name = config.name.clone();
    let err = |e: String| FleetError::Stream {
        stream: name.clone(),
        error: e,
    };
    let bucket = name.trim_start_matches("KV_").to_owned();
    js.get_or_create_stream(config)
        .await
        .map_err(|e| err(e.to_string()))?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| err(e.to_string()))
}

//! The stream of events: created by the first agent that finds it missing.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

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

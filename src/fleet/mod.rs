//! Fleet mode: many hosts, one view, over NATS JetStream.
//!
//! A single host needs none of this: `loginwatch run` without `[fleet]`
//! never touches NATS. With `[fleet]`, `loginwatch agent` on each host reads
//! its sources, parses lines into events and publishes them to one JetStream
//! stream (the agent's loop is `crate::daemon::agent`, which reuses the
//! daemon's sources and parse stage). `loginwatch run` with `[fleet]` and
//! no source is the detector: it consumes the stream and runs the daemon's
//! pipeline on every host's events (`crate::daemon::detector`). This module
//! is the NATS side, below the daemon: the validated settings
//! ([`FleetConfig`]), the connection ([`connect`]), the stream ([`stream`]),
//! the subject layout and message ids ([`subject`]), the versioned wire form
//! of an event ([`wire`]), publishing with acknowledgements ([`publish`]),
//! the detector's consumers ([`consume`]), its place in the fleet
//! ([`shard`]), the lease of its slot ([`lease`]), the rebuild of a slot
//! taken over ([`rebuild`], [`member`]), the bucket of the fleet's
//! decisions with its wire form ([`decisions`]) and the unlock requests one
//! detector sends the holder of a decision ([`control`]).
//!
//! ## Subjects, and how detectors share the work
//!
//! An event is published on `<prefix>.<host>.<u>.<n>` (see
//! [`subject::subject`]): `<host>` the agent's host, `<u>` the partition
//! (0..[`subject::PARTITIONS`]) of its user name and `<n>` that of its
//! source network (IPv4 /24, IPv6 /64), `_` when the event has no user or
//! no address. The stream holds `<prefix>.>`. The partition is computed by
//! the agent, so no server-side subject mapping is needed; the partition
//! count is part of the wire contract (changing it is a new layout).
//!
//! Rules count per user (lockout over hosts), per address or network
//! (spraying over hosts), or per user and address. A detector must see every
//! event of a key, whichever host wrote it, and only one detector may count a
//! key. So detectors come in groups ([`shard`]): the user-keyed rules'
//! (`user`, `user+source.ip`, whole in a user partition) through one durable
//! consumer per user partition (filter `<prefix>.*.<u>.*`), the
//! address-keyed rules' (`source.ip`, `source.net`, whole in a network
//! partition) through one per network partition (`<prefix>.*.*.<n>`);
//! nats-server 2.9 (Debian 12) allows one filter subject per consumer,
//! hence one consumer per partition. Each group is split between `members`
//! static slots: member `i` owns the partitions `p % members == i`. A
//! detector of group `all` (the default, one detector) runs every rule over
//! the whole stream through one consumer without a filter. Every consumer
//! ([`consume`]) has its own position, committed as its own cursor row with
//! the rule state before the ack; all of a member's consumers feed its one
//! ingest thread (a key's events stay in their partition's order).
//!
//! ## One process per slot, and failover
//!
//! A slot is held by one process through a lease ([`lease`]: the key
//! `<stream>.<group>.<member>` of the bucket `loginwatch_detectors`, renewed every
//! second by compare-and-set; a standby takes it by compare-and-set once its
//! revision stood still for 5 s; the holder commits, takes messages and
//! sets consumers up only within 3 s of its last renewal, stops when
//! another took it, and gives the slot up at a clean stop). Setting a
//! consumer up deletes the one of that name, so a holder that lost its
//! slot and set its consumers up again would take them from the new holder:
//! the fence forbids it. The rule state of a slot
//! lives in its holder's SQLite, which a replacement on another machine does
//! not have. What it does have is the server: a consumer's ack floor is the
//! slot's committed position (acks follow commits, and a consumer set up
//! again starts after the last ack). So a new holder whose local positions
//! are behind the ack floors rebuilds ([`rebuild`]): it reads each partition
//! again from the stream, from the committed position's stream time minus
//! its rules' longest window, up to the ack floor, through the pipeline
//! with the decisions dropped (made already), then consumes live from the
//! floor ([`member`] drives these steps). The position a detector resumes
//! from when its state is current is still its own committed one (the
//! consumer is made anew from it at start, see [`consume`]).
//!
//! What the design leaves open: an ack sent after a commit reaches the
//! server a moment later; a holder that loses NATS between its commit and
//! that ack, and is replaced within the fence's margin (2 s), leaves the
//! floor behind its last commit, and the new holder makes the decisions of
//! that last batch again (in its own database; decision ids are
//! deterministic, so a store keyed by id holds each once). The old holder's decisions table,
//! alerts and account histories stay with its database.
//!
//! ## Exactly once from a host
//!
//! Every message carries a `Nats-Msg-Id` derived from the agent's host, the
//! source, the line's position and its bytes ([`subject::msg_id`]). The
//! agent stores its source positions only after the stream acknowledged
//! every event before them, so after a crash it re-reads and re-publishes at
//! most the unacknowledged tail, and the stream's duplicate window
//! ([`stream::DUPLICATE_WINDOW`]) drops what had been stored already.

pub mod connect;
pub mod consume;
pub mod control;
pub mod decisions;
pub mod health;
pub mod lease;
pub mod member;
pub mod publish;
pub mod purge;
pub mod rebuild;
pub mod shard;
pub mod spool;
pub mod stream;
pub mod subject;
pub mod wire;

use std::fmt;
use std::path::PathBuf;

pub use connect::connect;
pub use publish::{Outgoing, Publisher};

/// Default `[fleet] stream`.
pub const DEFAULT_STREAM: &str = "LOGINWATCH_EVENTS";
/// Default `[fleet] subject_prefix`.
pub const DEFAULT_SUBJECT_PREFIX: &str = "loginwatch.events";
/// Default `[fleet] decisions_bucket`.
pub const DEFAULT_DECISIONS_BUCKET: &str = "loginwatch_decisions";
/// How long a lifted decision keeps its key by default (`lifted_keep`).
pub const DEFAULT_LIFTED_KEEP: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Default `[fleet] buffer_max_bytes`: 256 MiB of spooled events, about
/// half a million events (see [`spool`]).
pub const DEFAULT_BUFFER_BYTES: u64 = 256 * 1024 * 1024;
/// The least `[fleet] buffer_max_bytes` accepted: 1 MiB (a few thousand events).
pub const MIN_BUFFER_BYTES: u64 = 1024 * 1024;

/// A value that must not be printed: its `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the agent proves who it is to NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials (a server on loopback, or one that wants none).
    None,
    /// `user` with its password (read from `password_file` or `password_env`).
    UserPassword { user: String, password: Secret },
    /// The seed of an nkey (`nkey_file`, read at start).
    Nkey(Secret),
    /// A `.creds` file (a JWT and its nkey seed), read at connect.
    Creds(PathBuf),
}

/// The validated `[fleet]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// The servers, `nats://host:port` or `tls://host:port`; several for a
    /// cluster (the client picks one and fails over).
    pub servers: Vec<String>,
    /// This host's name in subjects and message ids: one subject token
    /// (letters, digits, `-`, `_`); default the host name with its dots
    /// turned into `_`.
    pub host: String,
    pub auth: Auth,
    /// A CA certificate (PEM) to trust for the servers' TLS certificates;
    /// also makes TLS required.
    pub tls_ca: Option<PathBuf>,
    /// The JetStream stream of events.
    pub stream: String,
    /// The subjects' first tokens (`loginwatch.events`).
    pub subject_prefix: String,
    /// The key-value bucket of the fleet's decisions ([`decisions`]).
    pub decisions_bucket: String,
    /// Copies of the bucket the detector asks for when it creates it (1 to 5).
    pub decisions_replicas: usize,
    /// The detector's place: its group and member slot (`group`, `members`,
    /// `member`); the agent ignores it.
    pub shard: shard::Shard,
    /// The most bytes the agent's spool may hold while NATS does not take
    /// its events (see [`spool`]).
    pub buffer_max_bytes: u64,
    /// The stream's replicas when fleet mode creates it (1 to 5).
    pub replicas: usize,
    /// How long a lifted decision keeps its key in the decisions bucket
    /// before the detector purges it (`lifted_keep`, see [`purge`]).
    pub lifted_keep: std::time::Duration,
}

/// Why fleet mode could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
    #[error("cannot read the NATS credentials file {path}: {error}")]
    Creds {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("JetStream stream {stream}: {error}")]
    Stream { stream: String, error: String },
    #[error("publish: {0}")]
    Publish(String),
    #[error("event JSON: {0}")]
    Wire(String),
    #[error("spool {path}: {error}")]
    Spool {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// A host name as one subject token: every character other than a letter,
/// digit, `-` or `_` (the dots of a domain, above all) becomes `_`.
pub fn host_token(name: &str) -> String {
    let t: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if t.is_empty() { "_".to_owned() } else { t }
}

/// True when `s` is one subject token or a stream/bucket name as fleet mode
/// accepts them: 1 to 64 letters, digits, `-` and `_` (no `.`, `*`, `>` or
/// white space, which NATS gives a meaning or refuses).
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_become_one_token() {
        assert_eq!(host_token("web1.example.com"), "web1_example_com");
        assert_eq!(host_token("db-2"), "db-2");
        assert_eq!(host_token(""), "_");
        assert!(is_name(&host_token("a b*c>d")));
    }

    #[test]
    fn secrets_do_not_print() {
        let a = Auth::UserPassword {
            user: "agent".into(),
            password: Secret("hunter2".into()),
        };
        let shown = format!("{a:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("agent"));
    }
}

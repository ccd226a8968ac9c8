//! The detector as a member of a group (`[fleet] group`, `members`,
//! `member`): the rules it runs, its consumers (one per owned partition, or
//! one over the whole stream for group `all`), the id it holds its slot's
//! lease under, and the task that takes the lease, rebuilds and consumes
//! (`crate::fleet::member`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::super::DaemonError;
use super::super::ingest::Feed;
use super::super::ingest::feed::{FeedPart, cursor_name};
use super::holding::Holding;
use crate::clock::Clock;
use crate::fleet::consume::Target;
use crate::fleet::health::Link;
use crate::fleet::lease::Fence;
use crate::fleet::member::{self, Consumer, Member};
use crate::fleet::shard::Group;
use crate::fleet::{self, FleetConfig};
use crate::rules::RuleSet;
use crate::source::Cursor;

/// Deliveries waiting for the ingest thread, at most (the consumer tasks
/// wait beyond): about a batch of the ingest loop.
const QUEUE: usize = 16 * 1024;

/// The longest span a rebuild reads back, whatever the rules say: a
/// `dormant` or `novelty` rule's window is days, and its history is the
/// account's (in the state database), not the stream's.
const REBUILD_MAX: Duration = Duration::from_secs(24 * 3600);

/// Keeps only the rules of `group`: a key with a user for `user`, without
/// one for `address`, all for `all`.
pub fn keep_rules(set: &mut RuleSet, group: Group) {
    set.rules.retain(|r| group.runs(r.group_by.has_user()));
}

/// The longest window of `rules`, at most [`REBUILD_MAX`].
pub fn longest_window(rules: &RuleSet) -> Duration {
    rules
        .rules
        .iter()
        .map(|r| r.window.delta().to_std().unwrap_or_default())
        .max()
        .unwrap_or_default()
        .min(REBUILD_MAX)
}

/// The file beside the state database holding this detector's id in the
/// slot lease.
pub fn holder_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".fleet-id");
    PathBuf::from(name)
}

/// This detector's id in the lease: read from [`holder_path`], made (random)
/// on a first start. The same state directory restarted takes its slot
/// back at once; a replacement with a new directory waits for the lease to
/// go stale.
pub fn holder_id(state_path: &Path) -> Result<String, DaemonError> {
    let path = holder_path(state_path);
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return Ok(id.trim().to_owned());
    }
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| DaemonError::Io(std::io::Error::other(e.to_string())))?;
    let host = fleet::host_token(
        &hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let id = format!("{host}-{}", hex::encode(bytes));
    crate::private::write(&path, id.as_bytes())?;
    Ok(id)
}

/// What the member needs besides the fleet's settings.
pub struct Setup<'a> {
    pub rules: &'a RuleSet,
    pub state_path: &'a Path,
    /// Called once if another detector takes the slot (the daemon stops).
    pub lost: Box<dyn FnOnce(String) + Send>,
}

/// Connects to NATS and starts the member's task; returns the ingest
/// thread's feed, resuming each consumer after its position in `cursors`.
pub async fn start(
    fleet: &FleetConfig,
    cursors: &[Cursor],
    setup: Setup<'_>,
    wake: Sender<Instant>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> Result<super::Started, DaemonError> {
    let shard = fleet.shard;
    let mut feed_parts = Vec::new();
    let mut consumers = Vec::new();
    for (i, part) in shard.parts(&fleet.subject_prefix).into_iter().enumerate() {
        let cursor = cursor_name(&fleet.stream, &part.consumer);
        let resume = Feed::resume_from(cursors, &cursor);
        let (acks, committed) = mpsc::unbounded_channel();
        feed_parts.push(FeedPart {
            acks,
            cursor,
            resume,
        });
        consumers.push(Consumer {
            target: Target {
                part: i,
                name: part.consumer,
                filter: part.filter,
            },
            local: resume,
            committed,
        });
    }
    let holder = holder_id(setup.state_path)?;
    let window = longest_window(setup.rules);
    let client = fleet::connect(fleet, &format!("loginwatch-detector {}", fleet.host)).await?;
    let (out, deliveries) = mpsc::channel(QUEUE);
    info!(
        servers = %fleet.servers.join(","),
        stream = %fleet.stream,
        place = %shard,
        consumers = consumers.len(),
        rules = setup.rules.rules.len(),
        holder = %holder,
        "Detector: consuming the fleet's events."
    );
    let fence = Fence::default();
    let holding = Holding::new(holder.clone(), shard, &fleet.stream, fence.clone());
    let link = Arc::new(Link::consumers(
        client.clone(),
        super::WORK,
        consumers.len(),
    ));
    let m = Member {
        fleet: fleet.clone(),
        slot: shard.lease_key(&fleet.stream),
        holder,
        window,
        consumers,
        acquired: holding.acquired.clone(),
    };
    let task = tokio::spawn(member::run(
        client,
        m,
        out,
        Arc::new(move || {
            let _ = wake.send(clock.instant());
        }),
        fence.clone(),
        link.clone(),
        setup.lost,
        cancel,
    ));
    Ok((
        Feed::parts(deliveries, feed_parts, fence),
        task,
        link,
        holding,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_the_rules_of_their_key() {
        let set = crate::rules::builtin().unwrap();
        let with_user = set.rules.iter().filter(|r| r.group_by.has_user()).count();
        assert!(
            with_user > 0 && with_user < set.rules.len(),
            "both kinds built in"
        );
        let load = || crate::rules::builtin().unwrap();
        let (mut u, mut a, mut all) = (load(), load(), load());
        keep_rules(&mut u, Group::User);
        keep_rules(&mut a, Group::Address);
        keep_rules(&mut all, Group::All);
        assert_eq!(u.rules.len(), with_user);
        assert_eq!(u.rules.len() + a.rules.len(), set.rules.len());
        assert_eq!(all.rules.len(), set.rules.len());
        assert!(a.rules.iter().all(|r| !r.group_by.has_user()));
    }

    #[test]
    fn the_holder_id_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let id = holder_id(&state).unwrap();
        assert_eq!(holder_id(&state).unwrap(), id);
        let other = holder_id(&dir.path().join("other.db")).unwrap();
        assert_ne!(other, id);
    }
}

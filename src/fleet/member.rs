//! A detector's consumption as a member of the fleet: take the slot's
//! lease ([`super::lease`]), rebuild what another holder committed
//! ([`super::rebuild`]), then consume each owned partition through its
//! durable consumer ([`super::consume`]); stop consuming at once when the
//! lease is lost.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::consume::{self, Delivery, Target};
use super::health::Link;
use super::lease::{self, Fence};
use super::{FleetConfig, rebuild};

/// The pause before a failed step is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// One consumer of the member: its target, the position committed in the
/// local state database, and the committed positions from the ingest thread.
pub struct Consumer {
    pub target: Target,
    pub local: u64,
    pub committed: mpsc::UnboundedReceiver<u64>,
}

/// What a member needs to know about itself.
pub struct Member {
    pub fleet: FleetConfig,
    /// The lease key of its slot.
    pub slot: String,
    /// Its id in the lease (the same across restarts on the same state).
    pub holder: String,
    /// The longest window of its rules (how far back a rebuild reads).
    pub window: Duration,
    pub consumers: Vec<Consumer>,
    /// Set once the lease is taken, to the holder id it replaced (see
    /// [`lease::acquire`]): what `daemon::detector::adopt` waits for.
    pub acquired: Arc<std::sync::OnceLock<Option<String>>>,
}

/// Runs the member until `cancel`: see the module docs. `lost` is called
/// once if another process takes the slot.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: async_nats::Client,
    member: Member,
    out: mpsc::Sender<Delivery>,
    wake: Arc<dyn Fn() + Send + Sync>,
    fence: Fence,
    link: Arc<Link>,
    lost: Box<dyn FnOnce(String) + Send>,
    cancel: CancellationToken,
) {
    let js = jetstream::new(client.clone());
    let store = loop {
        match lease::bucket(&js).await {
            Ok(s) => break s,
            Err(e) => {
                warn!(error = %e, "Cannot open the detectors' lease bucket; retrying.");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = cancel.cancelled() => return,
                }
            }
        }
    };
    let Some((rev, replaced)) =
        lease::acquire(&store, &member.slot, &member.holder, &fence, &cancel).await
    else {
        return;
    };
    let _ = member.acquired.set(replaced);
    // Consumers stop when the lease is lost, not only at shutdown.
    let consuming = cancel.child_token();
    let stop = consuming.clone();
    let keeper = tokio::spawn(lease::keep(
        store.clone(),
        member.slot.clone(),
        member.holder.clone(),
        rev,
        fence.clone(),
        Box::new(move |why| {
            stop.cancel();
            lost(why);
        }),
        cancel.clone(),
    ));
    let mut tasks = Vec::new();
    for c in member.consumers {
        tasks.push(tokio::spawn(one(
            client.clone(),
            js.clone(),
            member.fleet.clone(),
            member.window,
            c,
            out.clone(),
            wake.clone(),
            fence.clone(),
            link.clone(),
            consuming.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    // The consumers have sent the last commit's acks: a clean stop gives the
    // slot up at once.
    if let Ok(Some(rev)) = keeper.await {
        lease::release(&store, &member.slot, rev).await;
    }
}

/// One consumer: rebuild when the server is ahead of the local state, then
/// live.
#[allow(clippy::too_many_arguments)]
async fn one(
    client: async_nats::Client,
    js: jetstream::Context,
    fleet: FleetConfig,
    window: Duration,
    c: Consumer,
    out: mpsc::Sender<Delivery>,
    wake: Arc<dyn Fn() + Send + Sync>,
    fence: Fence,
    link: Arc<Link>,
    cancel: CancellationToken,
) {
    let resume = loop {
        let step = async {
            let floor = rebuild::ack_floor(&js, &fleet, &c.target).await?;
            if floor > c.local {
                rebuild::run(&js, &fleet, &c.target, c.local, floor, window, &out).await?;
                wake();
            }
            Ok::<u64, super::FleetError>(floor.max(c.local))
        };
        let result = tokio::select! {
            r = step => r,
            _ = cancel.cancelled() => return,
        };
        match result {
            Ok(r) => break r,
            Err(e) => {
                warn!(error = %e, consumer = %c.target.name, "Cannot read the slot's committed position; retrying.");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = cancel.cancelled() => return,
                }
            }
        }
    };
    consume::run(
        client,
        fleet,
        c.target,
        resume + 1,
        out,
        c.committed,
        wake,
        fence,
        link,
        cancel,
    )
    .await;
}

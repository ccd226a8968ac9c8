//! Whether this process's link to NATS works, for `/readyz` and the
//! `loginwatch_fleet_connected` gauge: the client's connection state, and
//! what the work on it last came to (the detector's consumer set up and
//! receiving, or the agent's last publish acknowledged or not).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_nats::connection::State;

/// One client's link and its work.
#[derive(Debug)]
pub struct Link {
    client: async_nats::Client,
    /// The work is going (consumer open; last publish acknowledged).
    working: AtomicBool,
    /// What the work is, for the reason given when it is not going.
    work: &'static str,
    /// A detector's consumers (one per owned partition, at most 64): bit
    /// `i` is set while consumer `i` is open. The work goes on when all
    /// `consumers` are; 0 consumers: `working` alone says it.
    open: AtomicU64,
    consumers: u32,
}

impl Link {
    /// The link of `client`; `work` names what must go on over it
    /// ("consuming the fleet's stream"), not going until [`Link::set_working`].
    pub fn new(client: async_nats::Client, work: &'static str, working: bool) -> Link {
        Link {
            client,
            working: AtomicBool::new(working),
            work,
            open: AtomicU64::new(0),
            consumers: 0,
        }
    }

    /// The link of a detector reading through `consumers` consumers (1 to
    /// 64), working once each of them is open ([`Link::set_open`]).
    pub fn consumers(client: async_nats::Client, work: &'static str, consumers: usize) -> Link {
        Link {
            consumers: consumers.min(64) as u32,
            ..Link::new(client, work, false)
        }
    }

    /// Says whether consumer `i` is open.
    pub fn set_open(&self, i: usize, open: bool) {
        let bit = 1u64 << (i % 64);
        if open {
            self.open.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.open.fetch_and(!bit, Ordering::Relaxed);
        }
    }

    /// Says whether the work goes on.
    pub fn set_working(&self, working: bool) {
        self.working.store(working, Ordering::Relaxed);
    }

    /// Connected to a server now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Why the link is not ready (a short sentence), `None` when it is.
    pub fn problem(&self) -> Option<String> {
        if !self.connected() {
            return Some("not connected to NATS (reconnecting)".to_owned());
        }
        if self.consumers > 0 {
            let open = self.open.load(Ordering::Relaxed).count_ones();
            return (open < self.consumers).then(|| {
                format!(
                    "NATS connected, not {}: {open} of {} consumers open (a standby waits for its slot)",
                    self.work, self.consumers
                )
            });
        }
        (!self.working.load(Ordering::Relaxed))
            .then(|| format!("NATS connected, not {}", self.work))
    }
}

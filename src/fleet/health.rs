//! Whether this process's link to NATS works, for `/readyz` and the
//! `loginwatch_fleet_connected` gauge: the client's connection state, and
//! what the work on it last came to (the detector's consumer set up and
//! receiving, or the agent's last publish acknowledged or not).

use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::connection::State;

/// One client's link and its work.
#[derive(Debug)]
pub struct Link {
    client: async_nats::Client,
    /// The work is going (consumer open; last publish acknowledged).
    working: AtomicBool,
    /// What the work is, for the reason given when it is not going.
    work: &'static str,
}

impl Link {
    /// The link of `client`; `work` names what must go on over it
    /// ("consuming the fleet's stream"), not going until [`Link::set_working`].
    pub fn new(client: async_nats::Client, work: &'static str, working: bool) -> Link {
        Link {
            client,
            working: AtomicBool::new(working),
            work,
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
        (!self.working.load(Ordering::Relaxed))
            .then(|| format!("NATS connected, not {}", self.work))
    }
}

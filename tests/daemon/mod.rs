//! End-to-end tests of `loginwatch run`: the real binary in a temp dir on port 0
//! (the harness is `crate::util::daemon`). Lines appended to a log become
//! decisions visible in the API and metrics; admin unlock, auto-unlock, restart,
//! rule reload and `kill -9` recovery ([`lifecycle`]), enrichment and the account
//! sweep ([`inventory`]), alert sinks ([`alerts`]), enforce mode and the lockout
//! storm breaker ([`enforce`]), folders of SaaS exports ([`exports`]), the
//! systemd journal as a source ([`journal`]), the service manager's
//! notifications ([`notify`]).

mod alerts;
mod enforce;
mod exports;
mod inventory;
mod journal;
mod lifecycle;
mod network;
mod notify;

use serde_json::Value;

use crate::util::daemon::Daemon;

/// `user`'s active decision, if any.
pub(crate) fn active_for(d: &Daemon, user: &str) -> Option<Value> {
    d.decisions(true)
        .into_iter()
        .find(|x| x["target"]["user"] == user)
}

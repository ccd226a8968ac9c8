//! Which agents' events made a decision: the fleet's detector remembers,
//! for each user and each source address of the events it applies, the
//! agents that sent them and when, and names them in the decisions made
//! from those events (`evidence.hosts`, the bucket value's `hosts`). The
//! rule engine's windows do not keep where an event came from, so this is
//! kept beside them, bounded: [`PER_KEY`] agents a key, [`MAX_KEYS`] keys,
//! and entries older than the longest window dropped.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

use crate::decision::Decision;
use crate::event::Name;

/// The most agents remembered for one key (the latest win).
pub const PER_KEY: usize = 16;
/// The most keys remembered; beyond, the oldest are dropped.
pub const MAX_KEYS: usize = 200_000;
/// The most hosts a decision names.
pub const MAX_HOSTS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(Name),
    Ip(IpAddr),
}

/// The agents seen per key, each with its latest event time.
#[derive(Debug)]
pub struct Hosts {
    keys: HashMap<Key, Vec<(Name, DateTime<Utc>)>>,
    /// How long an entry is kept after its event (the longest window).
    horizon: TimeDelta,
    /// The latest event time seen.
    latest: Option<DateTime<Utc>>,
}

impl Hosts {
    /// Remembering agents for `horizon` of event time.
    pub fn new(horizon: TimeDelta) -> Hosts {
        Hosts {
            keys: HashMap::new(),
            horizon,
            latest: None,
        }
    }

    /// `agent` sent an event of `user` from `ip` at `at`.
    pub fn saw(
        &mut self,
        agent: &Name,
        user: Option<&Name>,
        ip: Option<IpAddr>,
        at: DateTime<Utc>,
    ) {
        if self.latest.is_none_or(|l| at > l) {
            self.latest = Some(at);
        }
        for key in [user.map(|u| Key::User(u.clone())), ip.map(Key::Ip)]
            .into_iter()
            .flatten()
        {
            let seen = self.keys.entry(key).or_default();
            match seen.iter_mut().find(|(a, _)| a == agent) {
                Some((_, t)) => *t = (*t).max(at),
                None => {
                    if seen.len() >= PER_KEY
                        && let Some(oldest) = (0..seen.len()).min_by_key(|&i| seen[i].1)
                    {
                        seen.swap_remove(oldest);
                    }
                    seen.push((agent.clone(), at));
                }
            }
        }
        if self.keys.len() > MAX_KEYS {
            self.prune();
        }
    }

    /// Drops what is older than the horizon; when that is not enough, the
    /// older half.
    fn prune(&mut self) {
        let Some(latest) = self.latest else { return };
        let cut = latest - self.horizon;
        self.keys.retain(|_, v| {
            v.retain(|(_, t)| *t >= cut);
            !v.is_empty()
        });
        if self.keys.len() > MAX_KEYS / 2 {
            let mut times: Vec<DateTime<Utc>> = self
                .keys
                .values()
                .filter_map(|v| v.iter().map(|(_, t)| *t).max())
                .collect();
            let mid = times.len() / 2;
            let (_, median, _) = times.select_nth_unstable(mid);
            let median = *median;
            self.keys.retain(|_, v| v.iter().any(|(_, t)| *t > median));
        }
    }

    /// The agents whose events of `d`'s target fall in its evidence's span
    /// (from `first` on): those of both its user and its address when it
    /// has both, else of the one it has (a network: its addresses in the
    /// evidence). Sorted, at most [`MAX_HOSTS`].
    pub fn of(&self, d: &Decision) -> Vec<Name> {
        let since = d.evidence.first;
        let of_key = |k: Key| -> Vec<Name> {
            self.keys
                .get(&k)
                .map(|v| {
                    v.iter()
                        .filter(|(_, t)| *t >= since)
                        .map(|(a, _)| a.clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        let t = &d.target;
        let mut out: Vec<Name> = match (&t.user, t.ip) {
            (Some(u), Some(ip)) => {
                let by_ip = of_key(Key::Ip(ip));
                of_key(Key::User(u.clone()))
                    .into_iter()
                    .filter(|a| by_ip.contains(a))
                    .collect()
            }
            (Some(u), None) => of_key(Key::User(u.clone())),
            (None, Some(ip)) => of_key(Key::Ip(ip)),
            (None, None) => d
                .evidence
                .source_ips
                .iter()
                .flat_map(|ip| of_key(Key::Ip(*ip)))
                .collect(),
        };
        out.sort_unstable();
        out.dedup();
        out.truncate(MAX_HOSTS);
        out
    }
}

#[cfg(test)]
mod tests;

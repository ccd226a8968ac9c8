//! Saving and restoring the sshd parser's correlation table.
//!
//! OpenSSH logs one attempt over several lines, and the parser remembers per
//! connection what it has counted or is holding back (see [`super`]). A daemon
//! that restarts between two lines of one attempt must remember the same, or it
//! would count an `Invalid user` and its `Failed ... invalid user` echo twice, or
//! lose a held `pam_unix` failure. So the table's live slots are committed with
//! the file offset, through [`SshdParser::snapshot`].
//!
//! Held failures are stored as their own small mirror (user, address, reason),
//! not as `AuthEvent`s: that is all the parser holds, and `AuthEvent`'s JSON form
//! is an output contract that should not double as a storage format. Only the
//! interner and the timestamp cache are not saved: they are caches that change
//! how fast a line is read, never what it yields.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::SshdParser;
use super::state::{Conn, Pending};
use crate::event::Reason;
use crate::snapshot::{SnapshotError, SnapshotKind, decode, encode, opt_time};

/// Version of the sshd parser snapshot layout: bump it with any change to the
/// wire types below.
pub const SSHD_FORMAT: u8 = 1;

#[derive(Serialize, Deserialize)]
struct WPending<'a> {
    #[serde(borrow)]
    user: Option<&'a str>,
    ip: Option<IpAddr>,
    /// Index into [`Reason::ALL`] (stable: variants are only ever appended).
    reason: u8,
}

#[derive(Serialize, Deserialize)]
struct WConn<'a> {
    key: u64,
    last: i64,
    ip: Option<IpAddr>,
    port: Option<u16>,
    counted: u16,
    success: bool,
    awaiting_failed: bool,
    #[serde(borrow)]
    pending: Option<WPending<'a>>,
}

#[derive(Serialize, Deserialize)]
struct WTable<'a> {
    newest: Option<i64>,
    #[serde(borrow)]
    conns: Vec<WConn<'a>>,
}

fn reason_index(r: Reason) -> u8 {
    let i = Reason::ALL.iter().position(|s| *s == r.as_str());
    i.and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

fn reason_of(i: u8) -> Option<Reason> {
    Reason::ALL
        .get(usize::from(i))
        .and_then(|s| Reason::parse(s))
}

impl SshdParser {
    /// The correlation state as compact versioned bytes: only slots that hold
    /// state and have not expired (at most a few hundred on a busy server).
    pub fn snapshot(&self) -> Vec<u8> {
        let conns = self
            .conns
            .live()
            .map(|c| WConn {
                key: c.key,
                last: c.last,
                ip: c.ip,
                port: c.port,
                counted: c.counted,
                success: c.success,
                awaiting_failed: c.awaiting_failed,
                pending: c.pending.as_ref().map(|p| WPending {
                    user: p.user.as_deref(),
                    ip: p.ip,
                    reason: reason_index(p.reason),
                }),
            })
            .collect();
        let body = WTable {
            newest: opt_time(self.conns.newest()),
            conns,
        };
        encode(SnapshotKind::SshdParser, SSHD_FORMAT, &body)
    }

    /// Replaces the correlation state with a saved one. On error the parser is
    /// unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let snap: WTable = decode(SnapshotKind::SshdParser, SSHD_FORMAT, bytes)?;
        let mut conns = Vec::with_capacity(snap.conns.len());
        for w in snap.conns {
            let pending = match w.pending {
                None => None,
                Some(p) => Some(Pending {
                    user: p.user.map(|u| self.names.intern(u)),
                    ip: p.ip,
                    reason: reason_of(p.reason)
                        .ok_or(SnapshotError::Invalid("unknown failure reason"))?,
                }),
            };
            conns.push(Conn {
                key: w.key,
                last: w.last,
                ip: w.ip,
                port: w.port,
                counted: w.counted,
                success: w.success,
                awaiting_failed: w.awaiting_failed,
                pending,
            });
        }
        self.conns.restore(snap.newest.unwrap_or(i64::MIN), conns);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_stable_index() {
        for s in Reason::ALL {
            let r = Reason::parse(s).unwrap();
            assert_eq!(reason_of(reason_index(r)), Some(r));
        }
        assert_eq!(reason_of(u8::MAX), None);
    }
}

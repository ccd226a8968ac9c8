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
    use crate::parse::{LineCtx, ParseOptions};
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    fn parser() -> SshdParser {
        SshdParser::new(
            ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()),
            LineCtx {
                path: Arc::from("auth.log"),
            },
        )
    }

    fn feed(p: &mut SshdParser, lines: &[&str]) -> usize {
        lines
            .iter()
            .filter(|l| p.parse(l.as_bytes(), 0).unwrap().is_some())
            .count()
    }

    const INVALID: &str =
        "Jan 3 06:25:00 h sshd[6]: Invalid user oracle from 198.51.100.2 port 5000";
    const ECHO: &str = "Jan 3 06:25:02 h sshd[6]: Failed password for invalid user oracle from 198.51.100.2 port 5000 ssh2";
    const PAM: &str = "Jan 3 06:25:00 h sshd[5]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root";
    const LOCKED: &str =
        "Jan 3 06:25:01 h sshd[9]: User root not allowed because account is locked";

    #[test]
    fn an_echo_after_a_restart_is_still_an_echo() {
        let mut p = parser();
        assert_eq!(feed(&mut p, &[INVALID]), 1);
        let bytes = p.snapshot();
        let mut q = parser();
        q.restore(&bytes).unwrap();
        assert_eq!(
            feed(&mut q, &[ECHO]),
            0,
            "restored: the echo is not counted again"
        );
        // Without the state, the echo would be a second failure.
        assert_eq!(feed(&mut parser(), &[ECHO]), 1);
    }

    #[test]
    fn held_failures_round_trip_exactly() {
        let mut p = parser();
        assert_eq!(feed(&mut p, &[PAM, LOCKED, INVALID]), 1);
        let bytes = p.snapshot();
        let mut q = parser();
        q.restore(&bytes).unwrap();
        assert_eq!(q.snapshot(), bytes);
        assert_eq!(q.conns.live().count(), 3);
        let held: Vec<_> = q.conns.live().filter_map(|c| c.pending.clone()).collect();
        assert_eq!(held.len(), 2, "{held:?}");
        assert!(
            held.iter()
                .any(|h| h.ip.is_some() && h.user.as_deref() == Some("root"))
        );
    }

    #[test]
    fn expired_and_empty_slots_are_not_saved() {
        let mut p = parser();
        feed(&mut p, &[INVALID]);
        // 11 minutes later (past the 10 minute expiry): a new connection.
        feed(
            &mut p,
            &["Jan 3 06:36:00 h sshd[7]: Connection from 192.0.2.3 port 1 on 10.0.0.1 port 22"],
        );
        let mut q = parser();
        q.restore(&p.snapshot()).unwrap();
        let keys: Vec<i64> = q.conns.live().map(|c| c.last).collect();
        assert_eq!(keys.len(), 1, "only the fresh connection");
        assert_eq!(parser().conns.live().count(), 0);
    }

    #[test]
    fn bad_bytes_leave_the_parser_unchanged() {
        let mut p = parser();
        feed(&mut p, &[INVALID]);
        let good = p.snapshot();
        let mut bad_reason = parser();
        feed(&mut bad_reason, &[LOCKED]);
        let mut bytes = bad_reason.snapshot();
        // The held failure's reason index is the last byte of the body.
        if let Some(last) = bytes.last_mut() {
            *last = 200;
        }
        assert!(matches!(p.restore(&bytes), Err(SnapshotError::Invalid(_))));
        assert!(p.restore(&good[..good.len() - 1]).is_err());
        assert!(p.restore(b"E\x01").is_err());
        assert_eq!(p.snapshot(), good);
    }

    #[test]
    fn every_reason_has_a_stable_index() {
        for s in Reason::ALL {
            let r = Reason::parse(s).unwrap();
            assert_eq!(reason_of(reason_index(r)), Some(r));
        }
        assert_eq!(reason_of(u8::MAX), None);
    }
}

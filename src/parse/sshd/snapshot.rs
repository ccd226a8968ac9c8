//! Saving and restoring the sshd parser's correlation table.
//!
//! OpenSSH logs one attempt over several lines, and the parser remembers per
//! connection what it has counted or is holding back (see [`super`]). A daemon
//! that restarts between two lines of one attempt must remember the same, or it
//! would count an `Invalid user` and its `Failed ... invalid user` echo twice, or
//! lose a held `pam_unix` failure. So the table's live slots are committed with
//! the file offset, through [`SshdParser::snapshot`].
//!
//! Held failures are stored as their own small mirror (user, address, reason,
//! directive), not as `AuthEvent`s: that is all the parser holds, and
//! `AuthEvent`'s JSON form is an output contract that should not double as a
//! storage format. Only the interner and the timestamp cache are not saved:
//! they are caches that change how fast a line is read, never what it yields.
//!
//! A snapshot of an older layout is still read (its missing fields empty), so
//! an upgrade in the middle of an attempt neither loses a held failure nor
//! counts an echo twice.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::SshdParser;
use super::state::{Conn, Pending, Refusal};
use crate::event::{Reason, RefusedBy};
use crate::snapshot::{SnapshotError, SnapshotKind, decode, encode, opt_time, version};

/// Version of the sshd parser snapshot layout: bump it with any change to the
/// wire types below, and keep the previous ones readable (see [`v1`]).
/// 2: held failures keep the refusing directive; connections keep their refusal.
pub const SSHD_FORMAT: u8 = 2;

#[derive(Serialize, Deserialize)]
struct WPending<'a> {
    #[serde(borrow)]
    user: Option<&'a str>,
    ip: Option<IpAddr>,
    /// Index into [`Reason::ALL`] (stable: variants are only ever appended).
    reason: u8,
    /// Index into [`RefusedBy::ALL`], likewise.
    by: Option<u8>,
}

#[derive(Serialize, Deserialize)]
struct WRefusal {
    reason: u8,
    by: Option<u8>,
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
    refusal: Option<WRefusal>,
}

#[derive(Serialize, Deserialize)]
struct WTable<'a> {
    newest: Option<i64>,
    #[serde(borrow)]
    conns: Vec<WConn<'a>>,
}

/// Format 1: no directive on held failures, no refusal per connection.
mod v1 {
    use std::net::IpAddr;

    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct WPending<'a> {
        #[serde(borrow)]
        pub user: Option<&'a str>,
        pub ip: Option<IpAddr>,
        pub reason: u8,
    }

    #[derive(Deserialize)]
    pub(super) struct WConn<'a> {
        pub key: u64,
        pub last: i64,
        pub ip: Option<IpAddr>,
        pub port: Option<u16>,
        pub counted: u16,
        pub success: bool,
        pub awaiting_failed: bool,
        #[serde(borrow)]
        pub pending: Option<WPending<'a>>,
    }

    #[derive(Deserialize)]
    pub(super) struct WTable<'a> {
        pub newest: Option<i64>,
        #[serde(borrow)]
        pub conns: Vec<WConn<'a>>,
    }

    impl<'a> From<WTable<'a>> for super::WTable<'a> {
        fn from(t: WTable<'a>) -> Self {
            let conns = t
                .conns
                .into_iter()
                .map(|c| super::WConn {
                    key: c.key,
                    last: c.last,
                    ip: c.ip,
                    port: c.port,
                    counted: c.counted,
                    success: c.success,
                    awaiting_failed: c.awaiting_failed,
                    pending: c.pending.map(|p| super::WPending {
                        user: p.user,
                        ip: p.ip,
                        reason: p.reason,
                        by: None,
                    }),
                    refusal: None,
                })
                .collect();
            super::WTable {
                newest: t.newest,
                conns,
            }
        }
    }
}

/// Index of a value in its enum's `ALL` list (`u8::MAX` if absent, which
/// restores as an error rather than as another value).
fn index_in(all: &[&str], s: &str) -> u8 {
    let i = all.iter().position(|a| *a == s);
    i.and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

fn reason_index(r: Reason) -> u8 {
    index_in(Reason::ALL, r.as_str())
}

fn reason_of(i: u8) -> Option<Reason> {
    Reason::ALL
        .get(usize::from(i))
        .and_then(|s| Reason::parse(s))
}

fn by_index(b: RefusedBy) -> u8 {
    index_in(RefusedBy::ALL, b.as_str())
}

/// `None`: no directive; `Err`: an index no snapshot writes.
fn by_of(i: Option<u8>) -> Result<Option<RefusedBy>, SnapshotError> {
    match i {
        None => Ok(None),
        Some(i) => RefusedBy::ALL
            .get(usize::from(i))
            .and_then(|s| RefusedBy::parse(s))
            .map(Some)
            .ok_or(SnapshotError::Invalid("unknown refusing directive")),
    }
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
                    by: p.by.map(by_index),
                }),
                refusal: c.refusal.map(|r| WRefusal {
                    reason: reason_index(r.reason),
                    by: r.by.map(by_index),
                }),
            })
            .collect();
        let body = WTable {
            newest: opt_time(self.conns.newest()),
            conns,
        };
        encode(SnapshotKind::SshdParser, SSHD_FORMAT, &body)
    }

    /// Replaces the correlation state with a saved one (of this format or an
    /// older one). On error the parser is unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let kind = SnapshotKind::SshdParser;
        let snap: WTable = match version(kind, bytes)? {
            1 => decode::<v1::WTable>(kind, 1, bytes)?.into(),
            // Any other version is refused by `decode` with the right error.
            _ => decode(kind, SSHD_FORMAT, bytes)?,
        };
        let unknown_reason = || SnapshotError::Invalid("unknown failure reason");
        let mut conns = Vec::with_capacity(snap.conns.len());
        for w in snap.conns {
            let pending = match w.pending {
                None => None,
                Some(p) => Some(Pending {
                    user: p.user.map(|u| self.names.intern(u)),
                    ip: p.ip,
                    reason: reason_of(p.reason).ok_or_else(unknown_reason)?,
                    by: by_of(p.by)?,
                }),
            };
            let refusal = match w.refusal {
                None => None,
                Some(r) => Some(Refusal {
                    reason: reason_of(r.reason).ok_or_else(unknown_reason)?,
                    by: by_of(r.by)?,
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
                refusal,
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
        // The last byte of the body is the directive index of the connection's
        // refusal (`account_locked`).
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
        for s in RefusedBy::ALL {
            let b = RefusedBy::parse(s).unwrap();
            assert_eq!(by_of(Some(by_index(b))).ok(), Some(Some(b)));
        }
        assert!(by_of(Some(u8::MAX)).is_err());
    }

    /// `[PAM, LOCKED, INVALID]` saved by the format 1 parser (before the
    /// directive and the connection's refusal were kept).
    const V1: &str = "530101fad8c5950d03c2bdbdbdbf80c3ccca01f8d8c5950d0100cb00710900000000010104726f6f740100cb00710900c1bdbdbdbf80c3ccca01f8d8c5950d0100c633640201882701000100cebdbdbdbf80c3ccca01fad8c5950d0000000001010104726f6f740002";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_format_1_snapshot_still_restores() {
        let mut q = parser();
        q.restore(&unhex(V1)).unwrap();
        let held: Vec<_> = q.conns.live().filter_map(|c| c.pending.clone()).collect();
        assert_eq!(held.len(), 2, "{held:?}");
        assert!(held.iter().all(|h| h.by.is_none()));
        assert!(q.conns.live().all(|c| c.refusal.is_none()));
        // The held pam_unix failure is completed by its Failed line, the
        // invalid user's echo is still an echo, the held lock gets its address.
        let lines = [
            "Jan 3 06:25:02 h sshd[5]: Failed password for root from 203.0.113.9 port 4000 ssh2",
            ECHO,
            "Jan 3 06:25:03 h sshd[9]: Received disconnect from 198.51.100.34 port 5:11: Bye Bye [preauth]",
        ];
        let got: Vec<_> = lines
            .iter()
            .map(|l| q.parse(l.as_bytes(), 0).unwrap().map(|e| e.reason))
            .collect();
        assert_eq!(
            got,
            [
                Some(Some(Reason::BadPassword)),
                None,
                Some(Some(Reason::Locked))
            ]
        );
        // Saved again, it is format 2.
        assert_eq!(q.snapshot()[1], SSHD_FORMAT);
    }

    #[test]
    fn refusals_and_directives_round_trip() {
        let mut p = parser();
        let lines = [
            "Nov 14 06:25:00 web1 sshd[4096]: Connection from 203.0.113.5 port 50022 on 192.0.2.1 port 22",
            "Nov 14 06:25:01 web1 sshd[4096]: User bob not allowed because shell /bin/tcsh does not exist",
            "Nov 14 06:25:01 web1 sshd[4097]: User eve not allowed because account is locked",
        ];
        assert_eq!(feed(&mut p, &lines), 1);
        let bytes = p.snapshot();
        let mut q = parser();
        q.restore(&bytes).unwrap();
        assert_eq!(q.snapshot(), bytes);
        let again = "Nov 14 06:25:06 web1 sshd[4096]: Failed password for invalid user bob from 203.0.113.5 port 50022 ssh2";
        let echo = again.replace("06:25:06", "06:25:03");
        assert!(q.parse(echo.as_bytes(), 0).unwrap().is_none());
        let e = q.parse(again.as_bytes(), 0).unwrap().unwrap();
        assert_eq!(
            (e.reason, e.refused_by),
            (Some(Reason::NoPermission), Some(RefusedBy::Shell))
        );
        let e = q
            .parse(
                b"Nov 14 06:25:03 web1 sshd[4097]: Failed password for invalid user eve from 198.51.100.2 port 1 ssh2",
                0,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.reason, e.refused_by),
            (Some(Reason::Disabled), Some(RefusedBy::AccountLocked))
        );
    }
}

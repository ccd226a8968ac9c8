//! Unit tests of the sshd parser, by topic: every message form, both
//! timestamp families and invalid input ([`messages`]), the
//! one-event-per-attempt correlation ([`correlation`]), and the verdicts other
//! lines give on an attempt ([`verdict`]). The helpers here feed them lines.

mod correlation;
mod messages;
mod verdict;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::SshdParser;
use crate::event::{AuthEvent, Outcome, Reason};
use crate::parse::{LineCtx, ParseOptions};

fn parser() -> SshdParser {
    SshdParser::new(
        ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()),
        LineCtx {
            path: Arc::from("auth.log"),
        },
    )
}

fn one(line: &str) -> Option<AuthEvent> {
    parser().parse(line.as_bytes(), 7).unwrap()
}

/// Events of a sequence of lines fed to one parser, as (line index, event).
fn seq(lines: &[&str]) -> Vec<(usize, AuthEvent)> {
    let mut p = parser();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| p.parse(l.as_bytes(), i as u64).unwrap().map(|e| (i, e)))
        .collect()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn failure(e: &AuthEvent, reason: Reason, user: Option<&str>, addr: Option<&str>) {
    assert_eq!(e.outcome, Outcome::Failure, "{e:?}");
    assert_eq!(e.reason, Some(reason), "{e:?}");
    assert_eq!(e.user.as_deref(), user, "{e:?}");
    assert_eq!(e.source_ip, addr.and_then(ip), "{e:?}");
}

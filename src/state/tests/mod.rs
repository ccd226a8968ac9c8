//! Unit tests of the store over an in-memory database (the file-based and
//! multi-process behaviour is in the integration tests), by topic; the
//! fixtures they share are here.

mod commit;
mod decisions;
mod outbox;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::decision::{
    Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock, decision_id,
};
use crate::source::{Checkpoint, Fingerprint};

pub(super) fn t(min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, min, 0).unwrap()
}

pub(super) fn decision(
    rule: &str,
    action: DecisionAction,
    user: &str,
    at: u32,
    until: Option<u32>,
) -> Decision {
    let target = Target::user(Arc::from(user));
    Decision {
        kind: "decision",
        id: decision_id(rule, &target, &t(at), Some(u64::from(at))),
        rule: Arc::from(rule),
        action,
        target,
        at: t(at),
        until: until.map(t),
        unlock: Unlock::Auto,
        severity: Severity::High,
        mode: Mode::Enforce,
        exempt: false,
        assessment: crate::decision::Assessment::Unclear,
        why: Default::default(),
        evidence: Evidence {
            count: 5,
            first: t(0),
            last: t(at),
            source_ips: vec!["192.0.2.1".parse().unwrap()],
            users: vec![Arc::from(user)],
        },
    }
}

pub(super) fn checkpoint(offset: u64) -> Checkpoint {
    Checkpoint {
        source: "auth".into(),
        path: "/var/log/auth.log".into(),
        fingerprint: Fingerprint {
            dev: 1,
            inode: u64::MAX - 1,
            head_hash: 1 << 63,
            head_len: 256,
        },
        offset,
    }
}

//! Unit tests of the store over an in-memory database (the file-based and
//! multi-process behaviour is in the integration tests), by topic; the
//! fixtures they share are here.

mod commit;
mod decisions;
mod outbox;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::decision::{Decision, DecisionAction, Mode, Severity, Target, Unlock, decision_id};
use crate::source::{Checkpoint, Cursor, Fingerprint};
use crate::test_support::{self, DecisionSetters};

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
    let mut d = test_support::decision()
        .with_id(&decision_id(rule, &target, &t(at), Some(u64::from(at))))
        .with_rule(rule)
        .with_target(target)
        .with_at(t(at))
        .with_until(until.map(t))
        .with_unlock(Unlock::Auto)
        .with_severity(Severity::High)
        .with_evidence(&["192.0.2.1"], &[user]);
    d.action = action;
    d.mode = Mode::Enforce;
    d.evidence.first = t(0);
    d
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

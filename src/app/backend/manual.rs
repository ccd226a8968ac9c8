//! Decisions an admin makes by hand (`decisions add`, `POST
//! /api/v1/decisions`) and imports of exported decisions, over the store.
//!
//! A manual decision is built like a rule's ([`decision`], pure: the request
//! and the time in, a [`Decision`] out) under the rule id [`MANUAL_RULE`],
//! then takes the path a rule's takes: the safety filter (refusing instead of
//! downgrading: the admin is there to read why), one transaction holding the
//! row, its `decided` audit line (the admin's name, reason and credential)
//! and its firing alert, then the metrics and, in enforce mode, its actions.
//! From there it lives like any decision: listed, explained by `why`, ended
//! at `until` by the expiry task or earlier by an admin's unlock.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use super::StoreBackend;
use crate::decision::{
    Decision, DecisionAction, Evidence, MANUAL_RULE, Mode, Severity, Target, Unlock, Why,
    decision_id,
};
use crate::http::{AddError, AddRequest, BackendError, ImportError, ImportRequest};
use crate::rules::Dur;
use crate::state::import::parse_records;
use crate::state::{DecisionRecord, ImportOutcome, ImportReport};

/// How long a manual lock or block lasts when the request names no duration:
/// long enough to stop an attack while it is looked into, short enough that
/// a forgotten one ends by itself the same working day (CrowdSec's default
/// for `cscli decisions add` is the same 4 hours).
pub const DEFAULT_DURATION: &str = "4h";
/// Longest accepted `by`.
const MAX_BY: usize = 128;
/// Longest accepted `reason`.
const MAX_REASON: usize = 2000;
/// Longest accepted user name.
const MAX_USER: usize = 256;

/// `text` trimmed, 1 to `max` characters, no control characters (it reaches
/// terminals, logs and alerts); else the message naming `field`.
fn checked(field: &str, text: &str, max: usize) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(format!(
            "`{field}` must be 1 to {max} characters without control characters"
        ));
    }
    Ok(t.to_owned())
}

/// The decision `req` asks for at `now` (`mode` when it names none).
pub fn decision(req: &AddRequest, mode: Mode, now: DateTime<Utc>) -> Result<Decision, AddError> {
    let bad = AddError::Invalid;
    let by = checked("by", &req.by, MAX_BY).map_err(bad)?;
    let reason = checked("reason", &req.reason, MAX_REASON).map_err(bad)?;
    let target = match (&req.user, &req.ip) {
        (Some(u), None) => Target::user(checked("user", u, MAX_USER).map_err(bad)?.into()),
        (None, Some(ip)) => match (ip.trim().parse::<IpAddr>(), ip.trim().parse::<IpNet>()) {
            (Ok(ip), _) => Target::ip(ip),
            (_, Ok(net)) => Target::net(net.trunc()),
            _ => return Err(bad(format!("`ip`: {ip:?} is not an address or a network"))),
        },
        _ => return Err(bad("give exactly one of `user` and `ip`".into())),
    };
    let action = match req.action.as_deref() {
        None if target.user.is_some() => DecisionAction::LockAccount,
        None => DecisionAction::BlockIp,
        Some(a) => DecisionAction::parse(a).ok_or_else(|| {
            bad(format!(
                "`action`: unknown {a:?}, expected one of {}",
                DecisionAction::ALL.join(", ")
            ))
        })?,
    };
    if action.needs_user() && target.user.is_none() {
        return Err(bad(format!("`action` {action} needs a `user`")));
    }
    if action == DecisionAction::BlockIp && target.user.is_some() {
        return Err(bad("`action` block_ip needs an `ip`".into()));
    }
    let (until, unlock) = match (action.lasts(), req.duration.as_deref().map(str::trim)) {
        (false, Some(_)) => {
            return Err(bad(format!(
                "`duration`: {action} does not last, give no duration"
            )));
        }
        (false, None) => (None, Unlock::None),
        (true, Some("admin")) => (None, Unlock::Admin),
        (true, d) => {
            let d = Dur::parse(d.unwrap_or(DEFAULT_DURATION))
                .map_err(|e| bad(format!("`duration`: {e} (or `admin`: until unlocked)")))?;
            (Some(now + d.delta()), Unlock::Auto)
        }
    };
    let mode = match req.mode.as_deref() {
        None => mode,
        Some(m) => Mode::parse_configured(m).ok_or_else(|| {
            bad(format!(
                "`mode`: unknown {m:?}, expected one of {}",
                Mode::CONFIGURED.join(", ")
            ))
        })?,
    };
    let why = Why::Manual { by, reason };
    Ok(Decision {
        kind: "decision",
        // The instant is in the id (to the nanosecond): two manual decisions
        // about one target are two decisions, while the same request
        // replayed at the same instant is the same one.
        id: decision_id(MANUAL_RULE, &target, &now, None),
        rule: MANUAL_RULE.into(),
        action,
        target,
        at: now,
        until,
        unlock,
        severity: Severity::High,
        mode,
        exempt: false,
        assessment: why.assessment(),
        why,
        evidence: Evidence {
            count: 0,
            first: now,
            last: now,
            source_ips: Vec::new(),
            users: Vec::new(),
            hosts: Vec::new(),
        },
    })
}

/// [`crate::http::AdminBackend::add`] over the store.
pub(super) fn add(
    b: &StoreBackend,
    req: &AddRequest,
    credential: &str,
) -> Result<DecisionRecord, AddError> {
    let now = b.clock.now();
    let mut d = decision(req, b.mode, now)?;
    let Why::Manual { by, reason } = d.why.clone() else {
        return Err(AddError::Invalid("not a manual decision".into()));
    };
    let enforcer = b.enforcer.as_ref().ok_or_else(|| {
        BackendError::Unavailable("no safety filter here: manual decisions need one".into())
    })?;
    let inventory = b.inventory.as_ref().map(|h| h.current());
    enforcer
        .admit(&mut d, inventory.as_deref(), now)
        .map_err(AddError::Refused)?;
    let account = d
        .target
        .user
        .as_deref()
        .and_then(|u| inventory.as_ref().and_then(|i| i.account(u)));
    let mut render = |d: &Decision| {
        b.alerting
            .as_ref()
            .and_then(|a| a.render(&crate::app::alerting::firing(d, account.clone()), now))
    };
    let (rec, new) = b.with(|s| s.add_manual(&d, &by, &reason, credential, now, &mut render))?;
    if new {
        b.metrics.decision(&d.rule, d.action, d.mode, d.assessment);
        active_gauges(b);
        tracing::info!(
            id = %d.id,
            credential = %credential,
            "Manual decision {} {} by {}: {}",
            d.action,
            crate::escape::Escaped(&d.target.to_string()),
            crate::escape::Escaped(&by),
            crate::escape::Escaped(&reason)
        );
        enforcer.decided(&d, inventory.as_deref(), now);
    }
    Ok(rec)
}

/// The active-locks gauges from the store.
fn active_gauges(b: &StoreBackend) {
    if let Ok(counts) = b.with(|s| s.active_counts()) {
        for (action, n) in counts {
            b.metrics.set_active_locks(action, n as i64);
        }
    }
}

/// [`crate::http::AdminBackend::import`] over the store.
pub(super) fn import(
    b: &StoreBackend,
    req: &ImportRequest,
    credential: &str,
) -> Result<ImportReport, ImportError> {
    let by = checked("by", &req.by, MAX_BY).map_err(ImportError::Invalid)?;
    let file = match req.file.as_deref() {
        None => "the request".to_owned(),
        Some(f) => checked("file", f, 4096).map_err(ImportError::Invalid)?,
    };
    let numbered = req
        .decisions
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, v)| (i + 1, v))
        .collect();
    let records = parse_records(numbered).map_err(ImportError::Records)?;
    let now = b.clock.now();
    match b.with(|s| s.import(&records, &by, credential, &file, now))? {
        ImportOutcome::Done(r) => {
            active_gauges(b);
            tracing::info!(
                credential = %credential,
                "Decisions imported by {} from {}: {} new, {} already present",
                crate::escape::Escaped(&by),
                crate::escape::Escaped(&file),
                r.imported,
                r.present
            );
            Ok(r)
        }
        ImportOutcome::Conflicts(c) => Err(ImportError::Conflicts(c)),
    }
}

#[cfg(test)]
mod tests;

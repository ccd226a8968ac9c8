//! `decisions export` / `decisions import`: decisions as the JSON lines of
//! `decisions list --json`, read back into a state database.
//!
//! An import is validated whole before anything is written ([`parse_records`]
//! reports every bad record, by number and field), then written in ONE
//! transaction ([`Store::import`]): a record whose id is already stored is
//! skipped when it is identical (a second import of the same file changes
//! nothing) and is a conflict otherwise, which aborts the whole import. Every
//! import is audited twice: an `imported` line in each new decision's trail,
//! and one line in the database's own trail saying who imported how many from
//! which file. An import runs no action and sends no alert: it restores
//! records (a backup, a move to a new host), it does not decide anything.

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec;
use super::decisions::{audit_by, decided_detail, get, insert_row};
use super::error::StateError;
use super::model::{DecisionRecord, LockStatus};
use super::store::Store;
use crate::decision::{
    Assessment, Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock, Why,
};

/// Most records one import takes (a state file of a busy host stays far below).
pub const MAX_RECORDS: usize = 1_000_000;

/// One problem with one record of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    /// 1-based: the line of a JSON-lines file, the element of an array.
    pub record: usize,
    /// The field at fault (`until`, `target.ip`); empty when the record as a
    /// whole is (not JSON, a missing or unknown field).
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "record {}: {}", self.record, self.message)
        } else {
            write!(
                f,
                "record {}: {}: {}",
                self.record, self.field, self.message
            )
        }
    }
}

/// What [`Store::import`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Records written now.
    pub imported: usize,
    /// Records already stored, identical: skipped.
    pub present: usize,
}

/// [`Store::import`]'s outcome: done, or refused whole for these conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Done(ImportReport),
    /// Records whose id is stored with other contents; nothing was written.
    Conflicts(Vec<RecordError>),
}

/// A record as `decisions list --json` writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    id: String,
    rule: String,
    action: String,
    target: RawTarget,
    at: String,
    until: Option<String>,
    unlock: String,
    severity: String,
    mode: String,
    #[serde(default)]
    exempt: bool,
    #[serde(default)]
    assessment: Option<String>,
    #[serde(default)]
    assessment_reason: Option<String>,
    evidence: Value,
    status: String,
    #[serde(default)]
    ended_at: Option<String>,
    #[serde(default)]
    unlocked_by: Option<String>,
    #[serde(default)]
    unlock_reason: Option<String>,
    /// The fleet detector that held it (a fleet detector's listing): not
    /// imported, the importing daemon holds what it imports.
    #[serde(default, rename = "detector")]
    _detector: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    net: Option<String>,
}

/// Splits a file into records: a JSON array, or one JSON value per line
/// (what `decisions list --json` prints; blank lines are skipped). Each
/// record comes with its number (the line, or the array position).
pub fn split(text: &str) -> Result<Vec<(usize, Value)>, Vec<RecordError>> {
    let bad = |record, e: serde_json::Error| RecordError {
        record,
        field: String::new(),
        message: format!("not JSON: {e}"),
    };
    if text.trim_start().starts_with('[') {
        let all: Vec<Value> = serde_json::from_str(text).map_err(|e| vec![bad(e.line(), e)])?;
        return Ok(all
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, v))
            .collect());
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => out.push((i + 1, v)),
            Err(e) => errors.push(bad(i + 1, e)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Validates every record; all of them, or every problem found.
pub fn parse_records(
    records: Vec<(usize, Value)>,
) -> Result<Vec<(usize, DecisionRecord)>, Vec<RecordError>> {
    let mut errors = Vec::new();
    if records.len() > MAX_RECORDS {
        return Err(vec![RecordError {
            record: MAX_RECORDS + 1,
            field: String::new(),
            message: format!("more than {MAX_RECORDS} records: split the file"),
        }]);
    }
    let mut good = Vec::with_capacity(records.len());
    let mut seen = std::collections::HashMap::new();
    for (n, v) in records {
        match record(n, v) {
            Ok(r) => {
                if let Some(first) = seen.insert(r.decision.id.clone(), n) {
                    errors.push(RecordError {
                        record: n,
                        field: "id".into(),
                        message: format!("the same id as record {first}"),
                    });
                }
                good.push((n, r));
            }
            Err(mut es) => errors.append(&mut es),
        }
    }
    if errors.is_empty() {
        Ok(good)
    } else {
        Err(errors)
    }
}

/// One record checked field by field; every problem of it.
fn record(n: usize, v: Value) -> Result<DecisionRecord, Vec<RecordError>> {
    let raw: RawRecord = serde_json::from_value(v).map_err(|e| {
        vec![RecordError {
            record: n,
            field: String::new(),
            message: e.to_string(),
        }]
    })?;
    let mut errors = Vec::new();
    let mut err = |field: &str, message: String| {
        errors.push(RecordError {
            record: n,
            field: field.into(),
            message,
        });
    };
    let one_of = |all: &[&str]| format!("expected one of {}", all.join(", "));
    if raw.kind.as_deref().is_some_and(|k| k != "decision") {
        err("type", "expected \"decision\"".into());
    }
    let id_ok = (1..=64).contains(&raw.id.len())
        && raw
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !id_ok {
        err("id", "expected 1 to 64 letters, digits or '-'".into());
    }
    if raw.rule.is_empty() || raw.rule.chars().any(char::is_control) {
        err(
            "rule",
            "expected a rule id without control characters".into(),
        );
    }
    let action = DecisionAction::parse(&raw.action);
    if action.is_none() {
        err("action", one_of(DecisionAction::ALL));
    }
    let ip = raw.target.ip.as_deref().map(str::parse);
    if let Some(Err(_)) = ip {
        err("target.ip", "expected an IP address".into());
    }
    let net = raw.target.net.as_deref().map(str::parse);
    if let Some(Err(_)) = net {
        err("target.net", "expected a network (192.0.2.0/24)".into());
    }
    let user = raw.target.user.filter(|u| !u.is_empty());
    let target = Target {
        user: user.as_deref().map(std::sync::Arc::from),
        ip: ip.and_then(Result::ok),
        net: net.and_then(Result::ok),
    };
    match action {
        Some(a) if a.needs_user() && target.user.is_none() => {
            err("target.user", format!("{a} needs a user"));
        }
        Some(DecisionAction::BlockIp) if target.ip.is_none() && target.net.is_none() => {
            err("target.ip", "block_ip needs an ip or a net".into());
        }
        _ if target.user.is_none() && target.ip.is_none() && target.net.is_none() => {
            err("target", "expected a user, an ip or a net".into());
        }
        _ => {}
    }
    let mut time = |field: &str, s: &str| match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            err(field, format!("expected an RFC 3339 time: {e}"));
            None
        }
    };
    let at = time("at", &raw.at);
    let until = raw.until.as_deref().and_then(|u| time("until", u));
    let ended_at = raw.ended_at.as_deref().and_then(|u| time("ended_at", u));
    if let (Some(a), Some(u)) = (at, until)
        && u <= a
    {
        err("until", "must be after `at`".into());
    }
    let unlock = Unlock::parse(&raw.unlock);
    if unlock.is_none() {
        err("unlock", one_of(Unlock::ALL));
    }
    let severity = Severity::parse(&raw.severity);
    if severity.is_none() {
        err("severity", one_of(Severity::ALL));
    }
    let mode = Mode::parse(&raw.mode);
    if mode.is_none() {
        err("mode", one_of(Mode::ALL));
    }
    let assessment = match raw.assessment.as_deref() {
        None => Some(Assessment::Unclear),
        Some(s) => Assessment::parse(s),
    };
    if assessment.is_none() {
        err("assessment", one_of(Assessment::ALL));
    }
    let evidence = match serde_json::from_value::<Evidence>(raw.evidence) {
        Ok(e) => Some(e),
        Err(e) => {
            err("evidence", e.to_string());
            None
        }
    };
    let status = LockStatus::parse(&raw.status);
    match status {
        None => err("status", one_of(&["active", "expired", "unlocked"])),
        Some(LockStatus::Active) if raw.ended_at.is_some() => {
            err("ended_at", "an active decision has not ended".into());
        }
        Some(LockStatus::Expired | LockStatus::Unlocked) if raw.ended_at.is_none() => {
            err("ended_at", format!("a decision {} has an end", raw.status));
        }
        Some(LockStatus::Unlocked) if raw.unlocked_by.is_none() => {
            err(
                "unlocked_by",
                "an unlocked decision names who unlocked it".into(),
            );
        }
        _ => {}
    }
    let (
        Some(action),
        Some(at),
        Some(unlock),
        Some(severity),
        Some(mode),
        Some(assessment),
        Some(evidence),
        Some(status),
        true,
    ) = (
        action,
        at,
        unlock,
        severity,
        mode,
        assessment,
        evidence,
        status,
        errors.is_empty(),
    )
    else {
        return Err(errors);
    };
    Ok(DecisionRecord {
        decision: Decision {
            kind: "decision",
            id: raw.id,
            rule: std::sync::Arc::from(raw.rule),
            action,
            target,
            at,
            until,
            unlock,
            severity,
            mode,
            exempt: raw.exempt,
            assessment,
            why: Why::Text {
                text: raw.assessment_reason.unwrap_or_default(),
            },
            evidence,
        },
        status,
        ended_at,
        unlocked_by: raw.unlocked_by,
        unlock_reason: raw.unlock_reason,
        detector: None,
    })
}

/// Whether two records say the same (compared as the JSON they export to,
/// since a reason read back from JSON is text where the stored one is typed).
fn same(a: &DecisionRecord, b: &DecisionRecord) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl Store {
    /// Writes validated `records` (from [`parse_records`]) in one
    /// transaction: new ids are recorded as they were (status, end, who
    /// unlocked), identical known ones skipped, and any conflicting one
    /// aborts the whole import. `by` (the name given), `credential` and
    /// `file` go into the audit (see the module header).
    pub fn import(
        &mut self,
        records: &[(usize, DecisionRecord)],
        by: &str,
        credential: &str,
        file: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = ImportReport {
            imported: 0,
            present: 0,
        };
        let mut conflicts = Vec::new();
        let detail = format!("imported from {file}");
        for (n, r) in records {
            let d = &r.decision;
            if let Some(stored) = get(&tx, &d.id)? {
                if same(&stored, r) {
                    report.present += 1;
                } else {
                    conflicts.push(RecordError {
                        record: *n,
                        field: "id".into(),
                        message: format!("decision {} is already stored with other contents", d.id),
                    });
                }
                continue;
            }
            insert_row(&tx, d, &now)?;
            tx.execute(
                "UPDATE decisions SET status = ?2, ended_at = ?3, unlocked_by = ?4,
                     unlock_reason = ?5 WHERE id = ?1",
                params![
                    d.id,
                    r.status.as_str(),
                    r.ended_at.as_ref().map(codec::time),
                    r.unlocked_by,
                    r.unlock_reason
                ],
            )?;
            let line = format!("{detail}: {} ({})", decided_detail(d), r.status);
            audit_by(&tx, &now, &d.id, "imported", by, &line, Some(credential))?;
            report.imported += 1;
        }
        if !conflicts.is_empty() {
            // Dropping the transaction rolls it back: nothing was written.
            return Ok(ImportOutcome::Conflicts(conflicts));
        }
        super::maintenance::log(
            &tx,
            &now,
            "decisions imported",
            by,
            &format!(
                "{} imported, {} already present, from {file} (credential {credential})",
                report.imported, report.present
            ),
        )?;
        tx.commit()?;
        Ok(ImportOutcome::Done(report))
    }
}

#[cfg(test)]
mod tests;

//! The lock lifecycle: recording decisions, reading them back, admin unlock and
//! auto-unlock, each change leaving a line in the audit trail.
//!
//! A lock's end is absolute (`until`, set when it was decided) and expiry
//! records that end, not the moment expiry ran: a daemon that was down across
//! the end neither extends the lock nor misdates its end. Re-recording a
//! decision (same deterministic id, re-derived after a crash) is a no-op, so a
//! restart never turns an old offence into a new one.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::codec::{self, corrupt, from_row, in_row};
use super::error::StateError;
use super::model::{AuditEntry, DecisionRecord, LockStatus};
use super::outbox::{self, OutboxEntry};
use super::store::Store;
use crate::decision::Why;
use crate::decision::{
    Assessment, Decision, DecisionAction, Evidence, Mode, Severity, Target, Unlock,
};
use crate::event::rfc3339;

/// Who the audit trail names for what loginwatch did by itself.
pub const SYSTEM: &str = "loginwatch";

/// Which decisions [`Store::decisions`] returns; `Default` is "all, newest first".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionFilter {
    /// Only decisions still active.
    pub active_only: bool,
    /// Only locks (lock, block, disable), not alerts or reset requests.
    pub locks_only: bool,
    /// Only this rule's.
    pub rule: Option<String>,
    /// Only those targeting this user.
    pub user: Option<String>,
    /// Only those targeting this address.
    pub ip: Option<IpAddr>,
    /// Only this action's.
    pub action: Option<DecisionAction>,
    /// At most this many (the newest).
    pub limit: Option<u32>,
}

const COLUMNS: &str = "id, rule, action, target_user, target_ip, target_net, at, until, unlock,
    severity, mode, exempt, evidence, status, ended_at, unlocked_by, unlock_reason, assessment,
    assessment_reason";

/// Reads one row selected with [`COLUMNS`].
fn decode(r: &Row<'_>) -> Result<DecisionRecord, StateError> {
    let text = |i: usize| -> Result<String, StateError> { Ok(r.get::<_, String>(i)?) };
    let action = text(2)?;
    let net: Option<String> = r.get(5)?;
    let evidence = text(12)?;
    let status = text(13)?;
    let decision = Decision {
        kind: "decision",
        id: text(0)?,
        rule: Arc::from(text(1)?),
        action: DecisionAction::parse(&action).ok_or_else(|| corrupt("action", &action))?,
        target: Target {
            user: r.get::<_, Option<String>>(3)?.map(Arc::from),
            ip: codec::parse_ip(r.get(4)?)?,
            net: net
                .map(|n| n.parse().map_err(|_| corrupt("network", &n)))
                .transpose()?,
        },
        at: codec::parse_time(&text(6)?)?,
        until: codec::parse_opt_time(r.get(7)?)?,
        unlock: {
            let s = text(8)?;
            Unlock::parse(&s).ok_or_else(|| corrupt("unlock", &s))?
        },
        severity: {
            let s = text(9)?;
            Severity::parse(&s).ok_or_else(|| corrupt("severity", &s))?
        },
        mode: {
            let s = text(10)?;
            Mode::parse(&s).ok_or_else(|| corrupt("mode", &s))?
        },
        exempt: r.get::<_, bool>(11)?,
        assessment: {
            let s = text(17)?;
            Assessment::parse(&s).ok_or_else(|| corrupt("assessment", &s))?
        },
        // Stored as the typed reason's JSON; anything else is kept as text.
        why: {
            let s = text(18)?;
            serde_json::from_str::<Why>(&s).unwrap_or(Why::Text { text: s })
        },
        evidence: serde_json::from_str::<Evidence>(&evidence)
            .map_err(|_| corrupt("evidence", &evidence))?,
    };
    Ok(DecisionRecord {
        decision,
        status: LockStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        ended_at: codec::parse_opt_time(r.get(14)?)?,
        unlocked_by: r.get(15)?,
        unlock_reason: r.get(16)?,
        detector: None,
    })
}

/// Runs a decision query.
fn query(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<DecisionRecord>, StateError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| decode(r).map_err(in_row))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(from_row)
}

/// One decision by id.
pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<DecisionRecord>, StateError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM decisions WHERE id = ?1"))?
        .query_row([id], |r| decode(r).map_err(in_row))
        .optional()
        .map_err(from_row)
}

/// Appends one audit line of loginwatch's own (no credential).
fn audit(
    tx: &Transaction<'_>,
    at: &DateTime<Utc>,
    id: &str,
    what: &str,
    who: &str,
    detail: &str,
) -> Result<(), StateError> {
    audit_by(tx, at, id, what, who, detail, None)
}

/// Appends one audit line; `credential` names what authenticated a person's
/// change (`who` is then only the name they gave).
pub(super) fn audit_by(
    tx: &Transaction<'_>,
    at: &DateTime<Utc>,
    id: &str,
    what: &str,
    who: &str,
    detail: &str,
    credential: Option<&str>,
) -> Result<(), StateError> {
    tx.prepare_cached(
        "INSERT INTO audit (at, decision_id, what, who, detail, credential)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![codec::time(at), id, what, who, detail, credential])?;
    Ok(())
}

/// The one readable line an admin sees for a new decision.
pub(super) fn decided_detail(d: &Decision) -> String {
    let until = d.until.map_or_else(
        || "no end".to_string(),
        |u| format!("until {}", rfc3339(&u)),
    );
    format!(
        "{} {} by rule {} ({}, {}): {} events {}..{}",
        d.action,
        d.target,
        d.rule,
        d.mode,
        until,
        d.evidence.count,
        rfc3339(&d.evidence.first),
        rfc3339(&d.evidence.last),
    )
}

/// Records `d` unless its id is known; true when it was new (then audited).
pub(super) fn insert(
    tx: &Transaction<'_>,
    d: &Decision,
    recorded_at: &DateTime<Utc>,
) -> Result<bool, StateError> {
    let new = insert_row(tx, d, recorded_at)?;
    if new {
        audit(
            tx,
            recorded_at,
            &d.id,
            "decided",
            SYSTEM,
            &decided_detail(d),
        )?;
    }
    Ok(new)
}

/// The row of `d` (status `active`) unless its id is known; true when it
/// was new. The caller writes the audit line that says who decided.
pub(super) fn insert_row(
    tx: &Transaction<'_>,
    d: &Decision,
    recorded_at: &DateTime<Utc>,
) -> Result<bool, StateError> {
    let evidence = serde_json::to_string(&d.evidence).map_err(|e| StateError::Corrupt {
        what: "evidence",
        value: e.to_string(),
    })?;
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO decisions (id, rule, action, is_lock, target_user, target_ip,
                 target_net, at, until, unlock, severity, mode, exempt, evidence, status,
                 recorded_at, assessment, assessment_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'active', ?15,
                 ?16, ?17)",
        )?
        .execute(params![
            d.id,
            &*d.rule,
            d.action.as_str(),
            d.action.lasts(),
            d.target.user.as_deref(),
            d.target.ip.map(|ip| ip.to_string()),
            d.target.net.map(|n| n.to_string()),
            codec::time(&d.at),
            d.until.as_ref().map(codec::time),
            d.unlock.as_str(),
            d.severity.as_str(),
            d.mode.as_str(),
            d.exempt,
            evidence,
            codec::time(recorded_at),
            d.assessment.as_str(),
            serde_json::to_string(&d.why).unwrap_or_default(),
        ])?;
    Ok(n == 1)
}

impl Store {
    /// Decisions matching `filter`, newest (by decision time) first.
    pub fn decisions(&self, filter: &DecisionFilter) -> Result<Vec<DecisionRecord>, StateError> {
        let mut sql = format!("SELECT {COLUMNS} FROM decisions WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        let mut arg = |sql: &mut String, col: &str, v: Value| {
            args.push(v);
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        };
        if filter.active_only {
            arg(&mut sql, "status", Value::Text("active".into()));
        }
        if filter.locks_only {
            arg(&mut sql, "is_lock", Value::Integer(1));
        }
        if let Some(r) = &filter.rule {
            arg(&mut sql, "rule", Value::Text(r.clone()));
        }
        if let Some(u) = &filter.user {
            arg(&mut sql, "target_user", Value::Text(u.clone()));
        }
        if let Some(ip) = filter.ip {
            arg(&mut sql, "target_ip", Value::Text(ip.to_string()));
        }
        if let Some(a) = filter.action {
            arg(&mut sql, "action", Value::Text(a.as_str().into()));
        }
        sql.push_str(" ORDER BY at DESC, id");
        if let Some(l) = filter.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        query(&self.conn, &sql, rusqlite::params_from_iter(args))
    }

    /// One decision by id.
    pub fn decision(&self, id: &str) -> Result<Option<DecisionRecord>, StateError> {
        get(&self.conn, id)
    }

    /// Appends a line to a decision's audit trail (an enforcement action and its
    /// result, a safety refusal). `who` is `loginwatch` for the daemon's own acts.
    pub fn record_audit(
        &mut self,
        id: &str,
        what: &str,
        who: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        audit(&tx, &at, id, what, who, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Admin unlock: the decision becomes `unlocked` at `now`, with who (the
    /// name given), why and the credential that authenticated it, and the audit
    /// trail says so. Errors on an unknown id or a decision that already ended.
    /// Safe from a second process while the daemon runs (the write lock is
    /// taken first and waited for up to the busy timeout).
    pub fn unlock(
        &mut self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
        now: DateTime<Utc>,
    ) -> Result<DecisionRecord, StateError> {
        self.unlock_alerting(id, by, reason, credential, now, &|_| None)
    }

    /// [`Store::unlock`], writing the alert `alert` renders for the unlocked
    /// record (its "resolved" alert) to the outbox in the same transaction: the
    /// unlock and its alert are committed together or not at all.
    pub fn unlock_alerting(
        &mut self,
        id: &str,
        by: &str,
        reason: &str,
        credential: &str,
        now: DateTime<Utc>,
        alert: &dyn Fn(&DecisionRecord) -> Option<OutboxEntry>,
    ) -> Result<DecisionRecord, StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut rec = get(&tx, id)?.ok_or_else(|| StateError::UnknownDecision(id.into()))?;
        if rec.status != LockStatus::Active {
            return Err(StateError::NotActive {
                id: id.into(),
                status: rec.status,
            });
        }
        tx.execute(
            "UPDATE decisions SET status = 'unlocked', ended_at = ?2, unlocked_by = ?3,
                 unlock_reason = ?4 WHERE id = ?1",
            params![id, codec::time(&now), by, reason],
        )?;
        audit_by(&tx, &now, id, "unlocked", by, reason, Some(credential))?;
        rec.status = LockStatus::Unlocked;
        rec.ended_at = Some(now);
        rec.unlocked_by = Some(by.into());
        rec.unlock_reason = Some(reason.into());
        if let Some(entry) = alert(&rec) {
            outbox::insert(&tx, &entry, false, &now)?;
        }
        tx.commit()?;
        Ok(rec)
    }

    /// Auto-unlock: every active decision whose `until` is at or before `now`
    /// becomes `expired` with `ended_at = until` (the true end, also when the
    /// daemon was down across it). Returns them, earliest end first.
    pub fn expire_due(&mut self, now: DateTime<Utc>) -> Result<Vec<DecisionRecord>, StateError> {
        self.expire_due_alerting(now, &|_| None)
    }

    /// [`Store::expire_due`], writing the alert `alert` renders for each
    /// expired record to the outbox in the same transaction.
    pub fn expire_due_alerting(
        &mut self,
        now: DateTime<Utc>,
        alert: &dyn Fn(&DecisionRecord) -> Option<OutboxEntry>,
    ) -> Result<Vec<DecisionRecord>, StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut due = query(
            &tx,
            &format!(
                "SELECT {COLUMNS} FROM decisions WHERE status = 'active'
                     AND until IS NOT NULL AND until <= ?1 ORDER BY until, id"
            ),
            [codec::time(&now)],
        )?;
        let detail = format!("ended at its end time (processed {})", rfc3339(&now));
        for rec in &mut due {
            // `until` is present: the query selected on it.
            let Some(end) = rec.decision.until else {
                continue;
            };
            tx.execute(
                "UPDATE decisions SET status = 'expired', ended_at = until WHERE id = ?1",
                [&rec.decision.id],
            )?;
            audit(&tx, &end, &rec.decision.id, "expired", SYSTEM, &detail)?;
            rec.status = LockStatus::Expired;
            rec.ended_at = Some(end);
            if let Some(entry) = alert(rec) {
                outbox::insert(&tx, &entry, false, &now)?;
            }
        }
        tx.commit()?;
        Ok(due)
    }

    /// The earliest `until` among active decisions: the daemon sleeps until then.
    pub fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        let t: Option<String> = self.conn.query_row(
            "SELECT min(until) FROM decisions WHERE status = 'active' AND until IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        codec::parse_opt_time(t)
    }

    /// Active locks per lasting action, zeros included (so a gauge drops to 0
    /// when the last lock of a kind ends). Alerts and reset requests are not locks.
    pub fn active_counts(&self) -> Result<Vec<(DecisionAction, u64)>, StateError> {
        let mut st = self.conn.prepare_cached(
            "SELECT action, count(*) FROM decisions WHERE status = 'active' AND is_lock = 1
                 GROUP BY action",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut counts: Vec<(DecisionAction, u64)> = DecisionAction::ALL
            .iter()
            .filter_map(|s| DecisionAction::parse(s))
            .filter(|a| a.lasts())
            .map(|a| (a, 0))
            .collect();
        for row in rows {
            let (action, n) = row?;
            let a = DecisionAction::parse(&action).ok_or_else(|| corrupt("action", &action))?;
            if let Some(slot) = counts.iter_mut().find(|(x, _)| *x == a) {
                slot.1 = codec::u64_from_sql(n);
            }
        }
        Ok(counts)
    }

    /// The audit trail of one decision, oldest first.
    pub fn audit(&self, decision_id: &str) -> Result<Vec<AuditEntry>, StateError> {
        let mut st = self.conn.prepare_cached(
            "SELECT at, decision_id, what, who, detail, credential FROM audit
                 WHERE decision_id = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([decision_id], |r| {
            let at: String = r.get(0)?;
            Ok(AuditEntry {
                at: codec::parse_time(&at).map_err(in_row)?,
                decision_id: r.get(1)?,
                what: r.get(2)?,
                who: r.get(3)?,
                detail: r.get(4)?,
                credential: r.get(5)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>().map_err(from_row)
    }
}

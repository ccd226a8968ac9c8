//! Account facts: what the stream teaches about each account, folded in memory
//! between commits and merged into one small row per user at commit.
//!
//! The fold is pure ([`FactsAccumulator::observe`], [`merge`]) so its rules are
//! tested without a database; the store only reads and writes the rows. The
//! facts are committed in the same transaction as the checkpoints, so after a
//! crash the events since the last commit are re-read and folded exactly once.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
// Seeded per map (foldhash): the pending updates are keyed by user names from
// the log, which an attacker chooses; an unseeded hasher such as Fx would let
// crafted names collide (hash flooding). Commits sort by user (`take`).
use foldhash::HashMap;

use super::codec::{self, from_row, in_row};
use super::error::StateError;
use crate::account::AccountFacts;
use crate::event::{Action, AuthEvent, Name, Outcome, Reason};

/// What one user's events taught since the last commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactUpdate {
    pub user: Name,
    /// Earliest success in this batch.
    pub first_success: Option<DateTime<Utc>>,
    /// Latest success in this batch, with its source address.
    pub last_success: Option<(DateTime<Utc>, Option<IpAddr>)>,
    /// Latest failure in this batch.
    pub last_failure: Option<DateTime<Utc>>,
    /// True when a success was seen: the stored failure streak then restarts.
    pub saw_success: bool,
    /// Failures after the last success seen (all failures if none was seen).
    pub failures: u64,
}

impl FactUpdate {
    fn new(user: Name) -> FactUpdate {
        FactUpdate {
            user,
            first_success: None,
            last_success: None,
            last_failure: None,
            saw_success: false,
            failures: 0,
        }
    }
}

/// Folds events into per-user [`FactUpdate`]s until the next commit.
#[derive(Debug, Default)]
pub struct FactsAccumulator {
    users: HashMap<Name, FactUpdate>,
}

impl FactsAccumulator {
    /// An empty accumulator.
    pub fn new() -> FactsAccumulator {
        FactsAccumulator::default()
    }

    /// Folds one event.
    ///
    /// Only logins and MFA attempts with a user name count. Failures the log
    /// marks `unknown_user` are skipped: the account does not exist, and an
    /// attacker trying millions of names must not grow the facts table.
    pub fn observe(&mut self, e: &AuthEvent) {
        let Some(user) = &e.user else { return };
        if !matches!(e.action, Action::Login | Action::Mfa) {
            return;
        }
        match e.outcome {
            Outcome::Success if e.action == Action::Login => {
                let u = self.entry(user);
                u.first_success = Some(u.first_success.map_or(e.timestamp, |t| t.min(e.timestamp)));
                if u.last_success.is_none_or(|(t, _)| e.timestamp >= t) {
                    u.last_success = Some((e.timestamp, e.source_ip));
                }
                u.saw_success = true;
                u.failures = 0;
            }
            Outcome::Failure if e.reason != Some(Reason::UnknownUser) => {
                let u = self.entry(user);
                u.last_failure = Some(u.last_failure.map_or(e.timestamp, |t| t.max(e.timestamp)));
                u.failures = u.failures.saturating_add(1);
            }
            _ => {}
        }
    }

    fn entry(&mut self, user: &Name) -> &mut FactUpdate {
        self.users
            .entry(user.clone())
            .or_insert_with(|| FactUpdate::new(user.clone()))
    }

    /// Users with pending updates.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Hands the pending updates to a [`super::Batch`] (sorted by user, so a
    /// commit writes rows in a stable order) and starts over.
    pub fn take(&mut self) -> Vec<FactUpdate> {
        let mut v: Vec<FactUpdate> = std::mem::take(&mut self.users).into_values().collect();
        v.sort_by(|a, b| a.user.cmp(&b.user));
        v
    }
}

/// The stored facts after `update`: pure, the rule of the fold across commits.
pub fn merge(stored: Option<AccountFacts>, update: &FactUpdate) -> AccountFacts {
    let mut f = stored.unwrap_or_else(|| AccountFacts {
        user: update.user.to_string(),
        ..AccountFacts::default()
    });
    if let Some(t) = update.first_success {
        f.first_success = Some(f.first_success.map_or(t, |s| s.min(t)));
    }
    if let Some((t, ip)) = update.last_success
        && f.last_success.is_none_or(|s| t >= s)
    {
        f.last_success = Some(t);
        if ip.is_some() {
            f.last_source_ip = ip;
        }
    }
    if let Some(t) = update.last_failure {
        f.last_failure = Some(f.last_failure.map_or(t, |s| s.max(t)));
    }
    f.consecutive_failures = if update.saw_success {
        update.failures
    } else {
        f.consecutive_failures.saturating_add(update.failures)
    };
    f
}

const SELECT: &str = "SELECT user, first_success, last_success, last_failure, last_source_ip,
        consecutive_failures FROM facts";

/// Decodes one row of [`SELECT`].
fn decode(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountFacts> {
    let decode = || -> Result<AccountFacts, StateError> {
        Ok(AccountFacts {
            user: r.get(0)?,
            first_success: codec::parse_opt_time(r.get(1)?)?,
            last_success: codec::parse_opt_time(r.get(2)?)?,
            last_failure: codec::parse_opt_time(r.get(3)?)?,
            last_source_ip: codec::parse_ip(r.get(4)?)?,
            consecutive_failures: codec::u64_from_sql(r.get(5)?),
        })
    };
    decode().map_err(in_row)
}

/// Reads one account's row.
pub fn load(conn: &rusqlite::Connection, user: &str) -> Result<Option<AccountFacts>, StateError> {
    conn.query_row(&format!("{SELECT} WHERE user = ?1"), [user], decode)
        .optional()
        .map_err(from_row)
}

/// Reads every account's row, by user name (the inactive-account sweep; one
/// small row per account that ever logged in or failed).
pub fn all(conn: &rusqlite::Connection) -> Result<Vec<AccountFacts>, StateError> {
    let mut st = conn.prepare(&format!("{SELECT} ORDER BY user"))?;
    let rows = st.query_map([], decode).map_err(from_row)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(from_row)
}

/// Merges `updates` into their rows inside the commit's transaction.
pub fn apply(tx: &Transaction<'_>, updates: &[FactUpdate]) -> Result<(), StateError> {
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO facts (user, first_success, last_success, last_failure,
             last_source_ip, consecutive_failures) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for u in updates {
        let f = merge(load(tx, &u.user)?, u);
        put.execute(params![
            f.user,
            f.first_success.as_ref().map(codec::time),
            f.last_success.as_ref().map(codec::time),
            f.last_failure.as_ref().map(codec::time),
            f.last_source_ip.map(|ip| ip.to_string()),
            codec::u64_to_sql(f.consecutive_failures),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::Arc;

    fn ev(min: u32, outcome: Outcome, user: &str, ip: &str) -> AuthEvent {
        let mut e = AuthEvent::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 12, min, 0).unwrap(),
            Action::Login,
            outcome,
        );
        e.user = Some(Arc::from(user));
        e.source_ip = Some(ip.parse().unwrap());
        if outcome == Outcome::Failure {
            e.reason = Some(Reason::BadPassword);
        }
        e
    }

    fn t(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, min, 0).unwrap()
    }

    #[test]
    fn folds_successes_failures_and_the_streak() {
        let mut acc = FactsAccumulator::new();
        acc.observe(&ev(1, Outcome::Failure, "alice", "192.0.2.9"));
        acc.observe(&ev(2, Outcome::Success, "alice", "192.0.2.1"));
        acc.observe(&ev(3, Outcome::Failure, "alice", "192.0.2.9"));
        acc.observe(&ev(4, Outcome::Failure, "alice", "192.0.2.9"));
        let ups = acc.take();
        assert!(acc.is_empty());
        assert_eq!(ups.len(), 1);
        let f = merge(None, &ups[0]);
        assert_eq!(f.user, "alice");
        assert_eq!(f.first_success, Some(t(2)));
        assert_eq!(f.last_success, Some(t(2)));
        assert_eq!(f.last_failure, Some(t(4)));
        assert_eq!(f.last_source_ip, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(f.consecutive_failures, 2);
    }

    #[test]
    fn merging_across_commits_continues_or_restarts_the_streak() {
        let mut acc = FactsAccumulator::new();
        acc.observe(&ev(1, Outcome::Success, "bob", "192.0.2.1"));
        acc.observe(&ev(2, Outcome::Failure, "bob", "192.0.2.9"));
        let f = merge(None, &acc.take()[0]);
        assert_eq!(f.consecutive_failures, 1);
        // Only failures next: the streak continues, successes stay.
        acc.observe(&ev(3, Outcome::Failure, "bob", "198.51.100.7"));
        let f = merge(Some(f), &acc.take()[0]);
        assert_eq!(f.consecutive_failures, 2);
        assert_eq!(f.first_success, Some(t(1)));
        assert_eq!(f.last_source_ip, Some("192.0.2.1".parse().unwrap()));
        // A success restarts it; first_success keeps the earliest.
        acc.observe(&ev(5, Outcome::Success, "bob", "192.0.2.2"));
        let f = merge(Some(f), &acc.take()[0]);
        assert_eq!(f.consecutive_failures, 0);
        assert_eq!(f.first_success, Some(t(1)));
        assert_eq!(f.last_success, Some(t(5)));
        assert_eq!(f.last_source_ip, Some("192.0.2.2".parse().unwrap()));
        assert_eq!(f.last_failure, Some(t(3)));
    }

    #[test]
    fn unknown_users_and_other_actions_are_not_tracked() {
        let mut acc = FactsAccumulator::new();
        let mut e = ev(1, Outcome::Failure, "nosuch", "192.0.2.9");
        e.reason = Some(Reason::UnknownUser);
        acc.observe(&e);
        let mut e = ev(1, Outcome::Success, "carol", "192.0.2.9");
        e.action = Action::PasswordChange;
        acc.observe(&e);
        let mut e = ev(1, Outcome::Failure, "x", "192.0.2.9");
        e.user = None;
        acc.observe(&e);
        assert!(acc.is_empty());
    }

    #[test]
    fn an_older_success_does_not_move_the_last_one() {
        let mut acc = FactsAccumulator::new();
        acc.observe(&ev(9, Outcome::Success, "dan", "192.0.2.9"));
        acc.observe(&ev(1, Outcome::Success, "dan", "192.0.2.1"));
        let f = merge(None, &acc.take()[0]);
        assert_eq!(f.first_success, Some(t(1)));
        assert_eq!(f.last_success, Some(t(9)));
        assert_eq!(f.last_source_ip, Some("192.0.2.9".parse().unwrap()));
    }
}

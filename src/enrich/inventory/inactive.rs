//! Inactive accounts: active accounts with no successful login for N days, the
//! classic finding of an account review (a leaver nobody disabled, a test
//! account left behind), each a `disable_account` recommendation.
//!
//! Two witnesses of the last login are combined, the later one winning: the
//! daemon's learned facts (only as old as its state file) and the inventory's
//! `last_login_at` (the console's own record, possibly older than the daemon).
//! Pure: `now` is passed in, so the daemon's sweep, the CLI and the tests agree.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
// Seeded per map (foldhash): `unlisted` is keyed by user names from the log,
// which an attacker chooses (an unseeded hasher such as Fx could be flooded).
use foldhash::HashMap;
use serde::Serialize;

use super::Inventory;
use crate::account::AccountFacts;
use crate::event::{AccountStatus, Name};

/// Which witness gave the last login shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InactiveSource {
    /// The inventory's `last_login_at` (or the inventory alone: never logged in).
    Inventory,
    /// A success the daemon saw.
    Learned,
}

/// One account found inactive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InactiveAccount {
    /// The inventory's name when the account is listed there, else the name
    /// as logged.
    pub user: Name,
    /// The latest successful login known; `None`: never (inventory accounts
    /// only: an account the daemon merely saw fail is not known to exist).
    pub last_login: Option<DateTime<Utc>>,
    pub source: InactiveSource,
    pub email: Option<Name>,
    pub display_name: Option<Name>,
}

/// Active, non-exempt accounts whose last successful login is `days` days or
/// more before `now` (or who never logged in, when the inventory lists them).
///
/// Learned facts are matched to inventory accounts with
/// [`Inventory::account`] (so `alice@example.jp` in the logs is the
/// inventory's `alice`); accounts the inventory marks suspended, deleted or
/// exempt are left out whichever witness speaks. Facts of users the inventory
/// does not list count on their own (no inventory: all facts do). Sorted by
/// last login, oldest (never) first, then by user.
pub fn inactive_accounts(
    inventory: Option<&Inventory>,
    facts: &[AccountFacts],
    days: u32,
    now: DateTime<Utc>,
) -> Vec<InactiveAccount> {
    let cutoff = now - Duration::days(i64::from(days));
    // Latest learned success per inventory account (by index) or per unlisted user.
    let mut listed: HashMap<usize, DateTime<Utc>> = HashMap::default();
    let mut unlisted: HashMap<&str, Option<DateTime<Utc>>> = HashMap::default();
    for f in facts {
        match inventory.and_then(|inv| inv.index_of(&f.user)) {
            Some(i) => {
                if let Some(t) = f.last_success {
                    let e = listed.entry(i).or_insert(t);
                    *e = (*e).max(t);
                }
            }
            None => {
                let e = unlisted.entry(f.user.as_str()).or_insert(None);
                *e = (*e).max(f.last_success);
            }
        }
    }
    let mut out = Vec::new();
    for (i, a) in inventory.into_iter().flat_map(Inventory::iter).enumerate() {
        if a.status != AccountStatus::Active || a.exempt {
            continue;
        }
        let learned = listed.get(&i).copied();
        let (last, source) = match (a.last_login_at, learned) {
            (Some(i), Some(l)) if l > i => (Some(l), InactiveSource::Learned),
            (None, Some(l)) => (Some(l), InactiveSource::Learned),
            (i, _) => (i, InactiveSource::Inventory),
        };
        if last.is_none_or(|t| t <= cutoff) {
            out.push(InactiveAccount {
                user: a.user.clone(),
                last_login: last,
                source,
                email: a.email.clone(),
                display_name: a.display_name.clone(),
            });
        }
    }
    for (user, last) in unlisted {
        // Only failures seen: not known to be a real account.
        if let Some(t) = last.filter(|t| *t <= cutoff) {
            out.push(InactiveAccount {
                user: Arc::from(user),
                last_login: Some(t),
                source: InactiveSource::Learned,
                email: None,
                display_name: None,
            });
        }
    }
    out.sort_by(|a, b| {
        a.last_login
            .cmp(&b.last_login)
            .then_with(|| a.user.cmp(&b.user))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::inventory::InventoryOptions;
    use chrono::TimeZone;
    use std::path::Path;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap()
    }

    fn days_ago(d: i64) -> DateTime<Utc> {
        now() - Duration::days(d)
    }

    fn facts(user: &str, last: Option<DateTime<Utc>>) -> AccountFacts {
        AccountFacts {
            user: user.to_owned(),
            last_success: last,
            ..AccountFacts::default()
        }
    }

    fn inventory() -> Inventory {
        let csv = "user,email,status,exempt,last_login_at\n\
                   old,old@example.jp,active,,2025-01-01T00:00:00Z\n\
                   fresh,,active,,2025-06-30T00:00:00Z\n\
                   never,,active,,\n\
                   gone,,deleted,,2024-01-01T00:00:00Z\n\
                   away,,停止中,,2024-01-01T00:00:00Z\n\
                   glass,,active,yes,2024-01-01T00:00:00Z\n\
                   revived,revived@example.jp,active,,2025-01-01T00:00:00Z\n";
        Inventory::from_bytes(
            Path::new("a.csv"),
            csv.as_bytes(),
            &InventoryOptions::default(),
        )
        .unwrap()
    }

    fn users(v: &[InactiveAccount]) -> Vec<&str> {
        v.iter().map(|a| &*a.user).collect()
    }

    #[test]
    fn later_witness_wins_and_closed_accounts_are_left_out() {
        let inv = inventory();
        let f = [
            // Learned under the e-mail form: the inventory's `revived`.
            facts("revived@example.jp", Some(days_ago(3))),
            facts("old", Some(days_ago(200))),
            facts("gone", Some(days_ago(400))),
            facts("stranger", Some(days_ago(95))),
            facts("tried", None),
            facts("recent", Some(days_ago(10))),
        ];
        let v = inactive_accounts(Some(&inv), &f, 90, now());
        assert_eq!(users(&v), ["never", "old", "stranger"]);
        assert_eq!(v[0].last_login, None);
        assert_eq!(v[1].source, InactiveSource::Inventory);
        assert_eq!(v[1].email.as_deref(), Some("old@example.jp"));
        assert_eq!(v[2].source, InactiveSource::Learned);
        assert_eq!(v[2].last_login, Some(days_ago(95)));
    }

    #[test]
    fn the_boundary_is_exactly_n_days() {
        let f = [
            facts("a", Some(days_ago(90))),
            facts("b", Some(days_ago(89))),
        ];
        assert_eq!(users(&inactive_accounts(None, &f, 90, now())), ["a"]);
        assert!(inactive_accounts(None, &f, 365, now()).is_empty());
    }

    #[test]
    fn learned_success_newer_than_the_export_keeps_an_account_active() {
        let inv = inventory();
        let f = [facts("OLD", Some(days_ago(1)))];
        let v = inactive_accounts(Some(&inv), &f, 90, now());
        assert_eq!(users(&v), ["never", "revived"]);
    }
}

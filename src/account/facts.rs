//! Account facts: what the stream taught about each account (first and last
//! success, last failure, the failure streak). A value of the account domain:
//! the rules' inactivity sweep, the inventory and the account registry read
//! it; `state` stores it, one row per user.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What the stream taught about one account; kept small on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AccountFacts {
    pub user: String,
    /// Earliest successful login seen.
    pub first_success: Option<DateTime<Utc>>,
    /// Latest successful login seen.
    pub last_success: Option<DateTime<Utc>>,
    /// Latest failed login or MFA attempt seen.
    pub last_failure: Option<DateTime<Utc>>,
    /// Source address of the last *successful* login: failures (often an
    /// attacker's) must not move what "where the owner logs in from" means.
    pub last_source_ip: Option<std::net::IpAddr>,
    /// Failures since the last success.
    pub consecutive_failures: u64,
}

//! Safety: the filter every decision passes before anything is enforced, so that
//! loginwatch cannot be turned into a weapon against the organisation it guards.
//!
//! Pure, with injected time and inventory: [`Safety::check`] takes a decision and
//! a [`Ctx`] and says whether to enforce it, downgrade it to a recommendation, or
//! only alert. In order:
//!
//! 1. exemptions (configured users, groups and CIDRs, and the inventory's exempt
//!    flag): never locked or blocked, the attempt still alerted;
//! 2. own and private addresses ([`guard`]): blocking them needs `allow_own` /
//!    `allow_private`;
//! 3. the last `min_admins` active admins (from the inventory) are never locked;
//! 4. a decision the lockout storm breaker held ([`Mode::Held`]) is not enforced.
//!
//! The storm breaker itself screens decisions earlier, before they are stored
//! ([`Safety::screen`]): account locks in `recommend` mode count as would-be
//! locks too, so an attacker who locks a thousand accounts in recommend mode
//! raises one storm alert, not a thousand mails, and every decision the
//! breaker held says so (`mode: held`) in the API, the metrics and alerts.

pub mod guard;
pub mod storm;

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use crate::decision::{Decision, DecisionAction, Mode};
use crate::enrich::inventory::Inventory;
use crate::escape::Escaped;
use crate::event::AccountStatus;

pub use guard::Guarded;
pub use storm::{StormBreaker, StormConfig, StormEvent, StormState};

/// The validated `[safety]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyConfig {
    /// User names never locked.
    pub exempt_users: Vec<String>,
    /// Inventory groups whose members are never locked.
    pub exempt_groups: Vec<String>,
    /// Networks never blocked (and whose users are never locked from them).
    pub exempt_cidrs: Vec<IpNet>,
    /// Never lock an active admin when at most this many active admins are
    /// left unlocked (default 1; 0 disables the check).
    pub min_admins: usize,
    pub storm: StormConfig,
    /// Allow blocking private, loopback and link-local addresses.
    pub allow_private: bool,
    /// Allow blocking the host's own addresses.
    pub allow_own: bool,
    /// Own addresses named in the configuration (added to detected ones).
    pub own_addresses: Vec<IpAddr>,
    /// Read the host's interface addresses at start-up (default true).
    pub detect_own: bool,
}

impl Default for SafetyConfig {
    fn default() -> SafetyConfig {
        SafetyConfig {
            exempt_users: Vec::new(),
            exempt_groups: Vec::new(),
            exempt_cidrs: Vec::new(),
            min_admins: 1,
            storm: StormConfig::default(),
            allow_private: false,
            allow_own: false,
            own_addresses: Vec::new(),
            detect_own: true,
        }
    }
}

/// What the daemon knows at the time of a check.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub now: DateTime<Utc>,
    pub inventory: Option<&'a Inventory>,
    /// Active admins currently locked or disabled by loginwatch.
    pub locked_admins: usize,
}

/// Why a decision is not enforced as decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    ExemptUser(String),
    ExemptAccount(String),
    ExemptGroup {
        user: String,
        group: String,
    },
    ExemptCidr(IpNet),
    Address(Guarded),
    LastAdmins {
        user: String,
        unlocked: usize,
        min: usize,
    },
    Storm,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::ExemptUser(u) => write!(f, "user \"{}\" is exempt (safety.exempt_users)", Escaped(u)),
            Why::ExemptAccount(u) => write!(f, "account \"{}\" is exempt in the inventory", Escaped(u)),
            Why::ExemptGroup { user, group } => write!(
                f,
                "user \"{}\" is in exempt group \"{}\"",
                Escaped(user),
                Escaped(group)
            ),
            Why::ExemptCidr(n) => write!(f, "the address is in exempt network {n}"),
            Why::Address(Guarded::Own) => {
                f.write_str("the address is this host's own (set safety.allow_own to block it)")
            }
            Why::Address(Guarded::Private) => f.write_str(
                "the address is private, loopback or link-local (set safety.allow_private to block it)",
            ),
            Why::LastAdmins { user, unlocked, min } => write!(
                f,
                "\"{}\" is one of the last {unlocked} active admins (never fewer than {min} unlocked)",
                Escaped(user)
            ),
            Why::Storm => f.write_str(
                "lockout storm: too many accounts locked at once, account locks are held for review",
            ),
        }
    }
}

/// The outcome for one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing stands in the way: apply the decision in its own mode.
    Enforce,
    /// Not enforced: the storm breaker held the decision ([`Mode::Held`]).
    DowngradeToRecommend { why: Why },
    /// Do nothing to the target; alert on the attempt.
    AlertOnly { why: Why },
}

/// The safety filter, holding the storm breaker's state.
#[derive(Debug, Clone)]
pub struct Safety {
    config: SafetyConfig,
    own: Vec<IpAddr>,
    storm: StormBreaker,
}

impl Safety {
    /// `detected` are the host's addresses ([`guard::detect_own`] when
    /// `detect_own`); injected so tests and pure callers choose them.
    pub fn new(config: SafetyConfig, detected: Vec<IpAddr>) -> Safety {
        let mut own = config.own_addresses.clone();
        own.extend(detected);
        own.sort();
        own.dedup();
        Safety {
            storm: StormBreaker::new(config.storm),
            config,
            own,
        }
    }

    /// Checks `d` (see the module header for the order).
    pub fn check(&self, d: &Decision, ctx: &Ctx<'_>) -> Verdict {
        if d.action == DecisionAction::Alert || d.exempt {
            return Verdict::Enforce;
        }
        if let Some(why) = self.exemption(d, ctx) {
            return Verdict::AlertOnly { why };
        }
        if d.action == DecisionAction::BlockIp
            && let Some(g) = guard::guarded(d.target.ip, d.target.net, &self.own)
            && !(match g {
                Guarded::Own => self.config.allow_own,
                Guarded::Private => self.config.allow_private,
            })
        {
            return Verdict::AlertOnly {
                why: Why::Address(g),
            };
        }
        let locks = matches!(
            d.action,
            DecisionAction::LockAccount | DecisionAction::DisableAccount
        );
        let Some(user) = d.target.user.as_deref().filter(|_| locks) else {
            return Verdict::Enforce;
        };
        if let Some(inv) = ctx.inventory
            && self.config.min_admins > 0
            && inv
                .account(user)
                .is_some_and(|a| a.admin && a.status == AccountStatus::Active)
        {
            let unlocked = inv.admins_active().saturating_sub(ctx.locked_admins);
            if unlocked <= self.config.min_admins {
                return Verdict::AlertOnly {
                    why: Why::LastAdmins {
                        user: user.to_owned(),
                        unlocked,
                        min: self.config.min_admins,
                    },
                };
            }
        }
        if d.mode == Mode::Held {
            return Verdict::DowngradeToRecommend { why: Why::Storm };
        }
        Verdict::Enforce
    }

    /// Feeds the storm breaker with `d` before it is stored: an account lock
    /// or disable (in `recommend` or `enforce` mode, not exempt) is a would-be
    /// lock; while the breaker is open it is held (`d.mode` becomes
    /// [`Mode::Held`]). Returns what changed in the breaker, to alert on.
    pub fn screen(&mut self, d: &mut Decision, ctx: &Ctx<'_>) -> Vec<StormEvent> {
        let locks = matches!(
            d.action,
            DecisionAction::LockAccount | DecisionAction::DisableAccount
        );
        if !locks || d.exempt || d.mode == Mode::Held || self.exemption(d, ctx).is_some() {
            return Vec::new();
        }
        let Some(user) = d.target.user.as_deref() else {
            return Vec::new();
        };
        let (go, storm) = self.storm.lock(user, ctx.now);
        if !go {
            d.mode = Mode::Held;
        }
        storm
    }

    fn exemption(&self, d: &Decision, ctx: &Ctx<'_>) -> Option<Why> {
        if let Some(user) = d.target.user.as_deref() {
            if self.config.exempt_users.iter().any(|u| u == user) {
                return Some(Why::ExemptUser(user.to_owned()));
            }
            if let Some(a) = ctx.inventory.and_then(|i| i.account(user)) {
                if a.exempt {
                    return Some(Why::ExemptAccount(a.user.to_string()));
                }
                if self.config.exempt_users.iter().any(|u| **u == *a.user) {
                    return Some(Why::ExemptUser(a.user.to_string()));
                }
                if let Some(g) = a
                    .groups
                    .iter()
                    .find(|g| self.config.exempt_groups.iter().any(|e| **e == ***g))
                {
                    return Some(Why::ExemptGroup {
                        user: a.user.to_string(),
                        group: g.to_string(),
                    });
                }
            }
        }
        let cidrs = &self.config.exempt_cidrs;
        if let Some(ip) = d.target.ip
            && let Some(n) = cidrs.iter().find(|n| n.contains(&ip))
        {
            return Some(Why::ExemptCidr(*n));
        }
        if let Some(net) = d.target.net
            && let Some(n) = cidrs
                .iter()
                .find(|n| n.contains(&net) || net.contains(&n.network()))
        {
            return Some(Why::ExemptCidr(*n));
        }
        None
    }

    /// Resumes enforcement after a cool-down; call periodically.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<StormEvent> {
        self.storm.tick(now)
    }

    /// An admin's command: close the storm breaker now.
    pub fn reset_storm(&mut self, now: DateTime<Utc>) -> Option<StormEvent> {
        self.storm.reset(now)
    }

    /// Whether the storm breaker is open.
    pub fn storm_tripped(&self) -> bool {
        self.storm.is_tripped()
    }

    /// The storm breaker's state, for the state snapshot.
    pub fn snapshot(&self) -> StormState {
        self.storm.snapshot()
    }

    /// Restores [`Self::snapshot`].
    pub fn restore(&mut self, state: StormState) {
        self.storm.restore(state);
    }

    /// The addresses treated as the host's own.
    pub fn own_addresses(&self) -> &[IpAddr] {
        &self.own
    }
}

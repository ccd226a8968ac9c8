//! What the stream teaches about one account: where it logs in from, the
//! spellings of its ID that were linked to it, and its last attempts.
//!
//! Only successes teach where an account is used (addresses, their /24 or
//! /64, devices, countries and networks): an attacker's failures must never
//! make their address look familiar. Every attempt, success or failure, goes
//! into a short ring of recent attempts, which is what `why` reads. Every
//! list is bounded and keeps the most recently used entries, so one account's
//! history is at most a few kilobytes whatever the log holds. Attempts are
//! also counted per hour over the last week ([`hours`]), for the helpdesk
//! page's chart.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Action, AuthEvent, Name, Outcome, Reason, RefusedBy};

pub mod hours;
mod legacy;

pub use hours::{HourCount, Hours};

/// Addresses (and networks) remembered per account.
pub const MAX_PLACES: usize = 16;
/// Devices, countries and autonomous systems remembered per account.
pub const MAX_DEVICES: usize = 8;
/// Linked spellings remembered per account.
pub const MAX_SPELLINGS: usize = 8;
/// Recent attempts remembered per account: enough for "the last hour" of a
/// user struggling, small enough to store per account.
pub const MAX_RECENT: usize = 16;

/// The /24 (IPv4) or /64 (IPv6) an address belongs to: the unit one home,
/// office or mobile carrier pool usually shares. Written out here rather than
/// shared with the rules' network key so this stage imports nothing downstream.
pub fn net_of(ip: IpAddr) -> (bool, u64) {
    match ip {
        IpAddr::V4(a) => (false, u64::from(u32::from(a) & 0xffff_ff00)),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (false, u64::from(u32::from(v4) & 0xffff_ff00)),
            None => (true, (u128::from(a) >> 64) as u64),
        },
    }
}

/// A remembered value with when it was last used and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen<T> {
    pub value: T,
    /// Unix seconds of the last use.
    pub last: i64,
    pub count: u32,
}

/// Remembers `value` at `t` in a most-recently-used list of at most `cap`.
fn remember<T: PartialEq>(list: &mut Vec<Seen<T>>, value: T, t: i64, cap: usize) {
    if let Some(s) = list.iter_mut().find(|s| s.value == value) {
        s.last = s.last.max(t);
        s.count = s.count.saturating_add(1);
        return;
    }
    if list.len() >= cap
        && let Some(oldest) = list
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.last)
            .map(|(i, _)| i)
    {
        list.swap_remove(oldest);
    }
    list.push(Seen {
        value,
        last: t,
        count: 1,
    });
}

/// The autonomous system an address belongs to, when GeoIP has an ASN database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asn {
    /// `source.as.number` (AS 0 is reserved, never an address's: its niche
    /// keeps `Option<Asn>` at 24 bytes, a third less per attempt).
    pub number: NonZeroU32,
    /// `source.as.organization.name`, shared with the event (no copy).
    pub organization: Option<Name>,
}

/// One attempt as `why` and the helpdesk page show it. Names are shared with
/// the event (no copy per attempt); 120 bytes each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Unix seconds.
    pub at: i64,
    pub action: Action,
    pub outcome: Outcome,
    /// `event.reason`, when the log gave one.
    pub reason: Option<Reason>,
    /// `loginwatch.event.reason_detail`: which sshd directive or account state refused.
    pub detail: Option<RefusedBy>,
    pub ip: Option<IpAddr>,
    /// `device.id`, else `user_agent.original`.
    pub device: Option<Name>,
    /// The service or program (`sshd`, `ConsoleLogin`).
    pub service: Option<Name>,
    /// The country of the address, when GeoIP knows it.
    pub country: Option<Name>,
    /// The network of the address, when GeoIP knows it. (The stored form is
    /// versioned, not self-describing: older rows are read by `legacy`.)
    pub asn: Option<Asn>,
    /// The login ID exactly as typed, when it was a mistyping linked here.
    pub typed: Option<Name>,
    /// True when this attempt's address (or device) had been used successfully before.
    pub known_source: bool,
}

/// A spelling of the login ID that was linked to this account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spelling {
    /// Exactly as typed (escape before printing).
    pub typed: Name,
    pub count: u32,
    pub first: i64,
    pub last: i64,
}

/// Everything learned about one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Addresses of successful logins.
    pub ips: Vec<Seen<IpAddr>>,
    /// Their /24 or /64 (see [`net_of`]).
    pub nets: Vec<Seen<(bool, u64)>>,
    /// Devices (`device.id`, else the user agent) of successful logins.
    pub devices: Vec<Seen<Name>>,
    /// Countries of successful logins.
    pub countries: Vec<Seen<Name>>,
    /// Autonomous systems of successful logins.
    pub asns: Vec<Seen<u32>>,
    pub first_success: Option<i64>,
    pub last_success: Option<i64>,
    /// A login went through but the password must be changed now (sshd's
    /// `Accepted` after pam_unix's `expired password`), since this time;
    /// cleared by a password change or a later ordinary success.
    pub must_change_password: Option<i64>,
    /// The system locked the account (pam_faillock, pam_tally2, Windows 4740,
    /// an IdP's lock event) at this time; cleared by an unlock or a success.
    pub os_locked: Option<i64>,
    /// Spellings of the ID linked to this account.
    pub spellings: Vec<Spelling>,
    /// The last attempts, oldest first.
    pub recent: VecDeque<Attempt>,
    /// Login and MFA failures and successes per hour, over the last week.
    pub hours: Hours,
    /// Unix seconds of the last event of this account (eviction order).
    pub last_seen: i64,
    /// Changed since the last commit (not stored).
    #[serde(skip)]
    pub dirty: bool,
}

/// How familiar a source is to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Familiarity {
    /// This very address logged in successfully before.
    Address,
    /// Another address of its /24 or /64 did.
    Network,
    /// The device did (the address is new).
    Device,
    /// Never seen with a success.
    Unknown,
}

impl Familiarity {
    /// True for anything but `Unknown`.
    pub fn known(self) -> bool {
        self != Familiarity::Unknown
    }
}

/// The device of an event: its id, else its user agent.
pub fn device_of(ev: &AuthEvent) -> Option<&Name> {
    ev.device_id.as_ref().or(ev.user_agent.as_ref())
}

impl History {
    /// True once a success has been seen: only then do its sources mean anything.
    pub fn has_successes(&self) -> bool {
        self.last_success.is_some()
    }

    /// How familiar `ip` (and, when given, `device`) is to this account.
    pub fn familiarity(&self, ip: Option<IpAddr>, device: Option<&str>) -> Familiarity {
        if let Some(ip) = ip {
            if self.ips.iter().any(|s| s.value == ip) {
                return Familiarity::Address;
            }
            let net = net_of(ip);
            if self.nets.iter().any(|s| s.value == net) {
                return Familiarity::Network;
            }
        }
        if let Some(d) = device
            && self.devices.iter().any(|s| &*s.value == d)
        {
            return Familiarity::Device;
        }
        Familiarity::Unknown
    }

    /// Folds one event of this account (`typed`: the spelling, when the event
    /// was a mistyped ID linked here). A success teaches its places only when
    /// `teach` (the pipeline withholds it for a success assessed an attack).
    pub fn observe(&mut self, ev: &AuthEvent, typed: Option<&Name>, teach: bool) {
        let t = ev.timestamp.timestamp();
        self.last_seen = self.last_seen.max(t);
        let device = device_of(ev);
        let known_source = self.familiarity(ev.source_ip, device.map(|d| &**d)).known();
        if self.recent.len() >= MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Attempt {
            at: t,
            action: ev.action,
            outcome: ev.outcome,
            reason: ev.reason,
            detail: ev.refused_by,
            ip: ev.source_ip,
            device: device.cloned(),
            service: ev.service.clone(),
            country: ev.geo.as_ref().and_then(|g| g.country_iso_code.clone()),
            asn: ev.geo.as_ref().and_then(|g| {
                g.as_number.and_then(NonZeroU32::new).map(|number| Asn {
                    number,
                    organization: g.as_organization.clone(),
                })
            }),
            typed: typed.cloned(),
            known_source,
        });
        if matches!(ev.action, Action::Login | Action::Mfa) && ev.outcome != Outcome::Unknown {
            self.hours.add(t, ev.outcome == Outcome::Success);
        }
        if let Some(typed) = typed {
            self.spelled(typed, t);
        }
        match (ev.action, ev.outcome) {
            (Action::Login, Outcome::Success) if teach => self.learn(ev, device, t),
            (Action::Login, Outcome::Success) => {
                self.last_success = Some(self.last_success.map_or(t, |l| l.max(t)));
            }
            (Action::Lockout, _) => self.os_locked = Some(t),
            (Action::Unlock, _) => self.os_locked = None,
            (Action::PasswordChange | Action::PasswordReset, Outcome::Success) => {
                self.must_change_password = None
            }
            _ => {}
        }
    }

    fn learn(&mut self, ev: &AuthEvent, device: Option<&Name>, t: i64) {
        self.first_success = Some(self.first_success.map_or(t, |f| f.min(t)));
        self.last_success = Some(self.last_success.map_or(t, |l| l.max(t)));
        self.os_locked = None;
        self.must_change_password = match ev.reason {
            Some(Reason::ExpiredPassword) => Some(self.must_change_password.unwrap_or(t)),
            _ => None,
        };
        if let Some(ip) = ev.source_ip {
            remember(&mut self.ips, ip, t, MAX_PLACES);
            remember(&mut self.nets, net_of(ip), t, MAX_PLACES);
        }
        if let Some(d) = device {
            remember(&mut self.devices, d.clone(), t, MAX_DEVICES);
        }
        if let Some(geo) = &ev.geo {
            if let Some(c) = &geo.country_iso_code {
                remember(&mut self.countries, c.clone(), t, MAX_DEVICES);
            }
            if let Some(a) = geo.as_number {
                remember(&mut self.asns, a, t, MAX_DEVICES);
            }
        }
    }

    fn spelled(&mut self, typed: &Name, t: i64) {
        if let Some(s) = self.spellings.iter_mut().find(|s| s.typed == *typed) {
            s.count = s.count.saturating_add(1);
            s.last = s.last.max(t);
            return;
        }
        if self.spellings.len() >= MAX_SPELLINGS
            && let Some(i) = self
                .spellings
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.last)
                .map(|(i, _)| i)
        {
            self.spellings.swap_remove(i);
        }
        self.spellings.push(Spelling {
            typed: typed.clone(),
            count: 1,
            first: t,
            last: t,
        });
    }

    /// The attempts at or before `at`, oldest first.
    pub fn attempts_until(&self, at: DateTime<Utc>) -> impl Iterator<Item = &Attempt> {
        let t = at.timestamp();
        self.recent.iter().filter(move |a| a.at <= t)
    }
}

/// The stored form's version: bumped when [`History`] changes shape. Rows of
/// the previous shapes are read by [`legacy`] (postcard is not
/// self-describing: a field added at the end of a struct is not simply
/// absent in an old row, it shifts everything after it); an unknown version
/// is read as empty (relearned) rather than misread.
///
/// 2: attempts carry their [`Asn`], the history its [`Hours`].
const VERSION: u8 = 2;

/// The stored form of a history (a version byte, then postcard).
pub fn encode(h: &History) -> Vec<u8> {
    let mut out = vec![VERSION];
    // Serialising plain data into a Vec cannot fail; an empty body would only
    // make the account relearned.
    if let Ok(body) = postcard::to_allocvec(h) {
        out.extend(body);
    }
    out
}

/// Reads what [`encode`] wrote; `None` for another version or damaged bytes.
pub fn decode(bytes: &[u8]) -> Option<History> {
    let (&v, body) = bytes.split_first()?;
    match v {
        VERSION => postcard::from_bytes(body).ok(),
        1 => legacy::v1(body),
        _ => None,
    }
}

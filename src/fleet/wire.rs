//! The wire form of an event between an agent and the detectors: a
//! versioned JSON object, lossless for everything a parser sets.
//!
//! Not the ECS JSON of `parse --output ecs` (`crate::event`'s `Serialize`):
//! that is a reading for people and search engines, flat, with derived
//! categories and no way back. Here the typed [`AuthEvent`] must come out on
//! the detector exactly as the agent's parser made it, because the detector
//! runs the same rules on it. What enrichment and the account stage add
//! (GeoIP, inventory, lists, `mistyped_of`, `user_known`) is not sent: the
//! detector adds it with its own databases.
//!
//! Compatibility: `v` is the version of this layout. A new optional field
//! keeps `v` (an older reader ignores an unknown field, a newer one reads a
//! missing one as absent); a change of meaning is a new `v`, which an older
//! detector refuses rather than misreads.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::FleetError;
use crate::event::{Action, AuthEvent, Method, Name, Outcome, Process, Reason, RefusedBy};

/// The layout version written, and the only one read.
pub const VERSION: u32 = 1;

/// One published message: who sent it, from which source, and the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`VERSION`].
    pub v: u32,
    /// The agent's host (`[fleet] host`).
    pub agent: String,
    /// The configured source's name on that host.
    pub source: String,
    pub event: WireEvent,
}

/// [`AuthEvent`]'s parsed fields, typed as serde can read them back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// RFC 3339 with the full precision (chrono's serde form).
    pub timestamp: DateTime<Utc>,
    pub action: Action,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_by: Option<RefusedBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<WireProcess>,
    /// [`Method::as_str`]; any other text is `Method::Other` as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_path: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_offset: Option<u64>,
}

/// [`Process`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireProcess {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl WireEvent {
    /// The parsed fields of `ev` (enrichment is left behind).
    pub fn of(ev: &AuthEvent) -> WireEvent {
        WireEvent {
            timestamp: ev.timestamp,
            action: ev.action,
            outcome: ev.outcome,
            reason: ev.reason,
            refused_by: ev.refused_by,
            user: ev.user.clone(),
            source_ip: ev.source_ip,
            source_port: ev.source_port,
            host: ev.host.clone(),
            host_ip: ev.host_ip,
            service: ev.service.clone(),
            process: ev.process.as_ref().map(|p| WireProcess {
                name: p.name.clone(),
                pid: p.pid,
            }),
            method: ev.method.as_ref().map(|m| Name::from(m.as_str())),
            user_agent: ev.user_agent.clone(),
            device_id: ev.device_id.clone(),
            log_path: ev.log_path.clone(),
            log_offset: ev.log_offset,
        }
    }

    /// The event back, as the agent's parser made it.
    pub fn into_event(self) -> AuthEvent {
        let mut e = AuthEvent::new(self.timestamp, self.action, self.outcome);
        e.reason = self.reason;
        e.refused_by = self.refused_by;
        e.user = self.user;
        e.source_ip = self.source_ip;
        e.source_port = self.source_port;
        e.host = self.host;
        e.host_ip = self.host_ip;
        e.service = self.service;
        e.process = self.process.map(|p| Process {
            name: p.name,
            pid: p.pid,
        });
        e.method = self.method.map(|m| method(&m));
        e.user_agent = self.user_agent;
        e.device_id = self.device_id;
        e.log_path = self.log_path;
        e.log_offset = self.log_offset;
        e
    }
}

/// A method's spelling back to the method: the exact spellings of the known
/// ones, anything else kept as written (not [`Method::from_log`], which
/// lower-cases and maps log spellings).
fn method(s: &str) -> Method {
    const KNOWN: [Method; 8] = [
        Method::Password,
        Method::Publickey,
        Method::KeyboardInteractive,
        Method::Hostbased,
        Method::Gssapi,
        Method::None,
        Method::Mfa,
        Method::Sso,
    ];
    KNOWN
        .into_iter()
        .find(|m| m.as_str() == s)
        .unwrap_or_else(|| Method::Other(Name::from(s)))
}

/// The message body of `ev` read from `source` on host `agent`.
pub fn encode(agent: &str, source: &str, ev: &AuthEvent) -> Vec<u8> {
    let env = Envelope {
        v: VERSION,
        agent: agent.to_owned(),
        source: source.to_owned(),
        event: WireEvent::of(ev),
    };
    // Serializing plain data into a Vec cannot fail.
    serde_json::to_vec(&env).unwrap_or_default()
}

/// A message body back into its envelope; refused when it is not JSON of
/// this layout or of another version.
pub fn decode(body: &[u8]) -> Result<Envelope, FleetError> {
    /// The version first: another version's fields need not parse as ours.
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let bad = |e: serde_json::Error| FleetError::Wire(e.to_string());
    let Version { v } = serde_json::from_slice(body).map_err(bad)?;
    if v != VERSION {
        return Err(FleetError::Wire(format!(
            "layout version {v} (this loginwatch reads {VERSION})"
        )));
    }
    serde_json::from_slice(body).map_err(bad)
}

#[cfg(test)]
mod tests;

//! The event as OCSF: logins and MFA steps as Authentication (class 3002),
//! lockouts, unlocks and password changes as Account Change (class 3001), both
//! in the Identity & Access Management category.
//!
//! The mapping is typed structs serialized as they are, so a field OCSF does
//! not know cannot slip in by a typo; `tests/event_formats` checks the output
//! against the schema's required attributes, types and enums. Where OCSF
//! requires what the log did not say (a failure from an address that named no
//! user; the service of a line naming neither host nor service), the string is
//! empty rather than invented. Our own vocabulary the classes have no place for
//! (the reason as we spell it, IP lists, the account status, the line's
//! offset) is in `unmapped`, under the names the ECS JSON gives them.

use std::net::IpAddr;

use serde::Serialize;

use super::json::account_status;
use super::{Action, AuthEvent, Method, Name, Reason};
use vocab::{
    Class, activity, auth_protocol, is_email, logon_type, severity, status, status_detail,
};

/// The OCSF release the mapping follows (`metadata.version`).
pub const OCSF_VERSION: &str = "1.8.0";

/// The OCSF form of one event; serialize it to get the JSON object.
#[derive(Debug, Serialize)]
pub struct OcsfEvent<'a> {
    activity_id: u8,
    activity_name: &'static str,
    category_uid: u8,
    category_name: &'static str,
    class_uid: u16,
    class_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<&'static str>,
    /// Milliseconds since the epoch.
    time: i64,
    message: String,
    metadata: Metadata<'a>,
    user: User<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<SrcEndpoint<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_endpoint: Option<DstEndpoint<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<Service<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_mfa: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_remote: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logon_type_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logon_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logon_process: Option<LogonProcess<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request: Option<HttpRequest<'a>>,
    unmapped: Unmapped<'a>,
}

#[derive(Debug, Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product,
    /// The file the line came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    log_source: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct User<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    type_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r#type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_addr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<Group<'a>>,
}

#[derive(Debug, Serialize)]
struct Group<'a> {
    name: &'a str,
}

#[derive(Debug, Serialize)]
struct SrcEndpoint<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    /// The client device's id (`device.id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autonomous_system: Option<AutonomousSystem<'a>>,
}

#[derive(Debug, Serialize)]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    long: Option<f64>,
}

#[derive(Debug, Serialize)]
struct AutonomousSystem<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct DstEndpoint<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    /// The address a line received over the network came from (`host.ip`).
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<IpAddr>,
}

#[derive(Debug, Serialize)]
struct Service<'a> {
    name: &'a str,
}

#[derive(Debug, Serialize)]
struct LogonProcess<'a> {
    name: &'a str,
    pid: u32,
}

#[derive(Debug, Serialize)]
struct HttpRequest<'a> {
    user_agent: &'a str,
}

/// What the class has no attribute for, under our ECS JSON names.
#[derive(Debug, Serialize)]
struct Unmapped<'a> {
    #[serde(rename = "event.action")]
    action: &'static str,
    #[serde(rename = "event.reason", skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(
        rename = "loginwatch.event.reason_detail",
        skip_serializing_if = "Option::is_none"
    )]
    reason_detail: Option<&'static str>,
    #[serde(
        rename = "loginwatch.user.intended.name",
        skip_serializing_if = "Option::is_none"
    )]
    intended: Option<&'a str>,
    #[serde(
        rename = "loginwatch.user.status",
        skip_serializing_if = "Option::is_none"
    )]
    user_status: Option<&'static str>,
    #[serde(
        rename = "loginwatch.source.lists",
        skip_serializing_if = "<[_]>::is_empty"
    )]
    lists: &'a [Name],
    #[serde(rename = "host.name", skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(
        rename = "loginwatch.log.offset",
        skip_serializing_if = "Option::is_none"
    )]
    offset: Option<u64>,
}

impl AuthEvent {
    /// This event as an OCSF event object.
    pub fn to_ocsf(&self) -> OcsfEvent<'_> {
        let (class, activity_id, activity_name, type_name) = activity(self.action);
        let auth = class == Class::Authentication;
        let (status_id, status) = status(self.outcome);
        let (severity_id, severity) = severity(self);
        let service = self.service.as_deref();
        let logon = service.and_then(logon_type).filter(|_| auth);
        let account = self.account.as_deref();
        let geo = self.geo.as_deref();
        let src_endpoint =
            (self.source_ip.is_some() || self.device_id.is_some()).then(|| SrcEndpoint {
                ip: self.source_ip,
                port: self.source_port,
                uid: self.device_id.as_deref(),
                location: geo
                    .filter(|g| g.country_iso_code.is_some() || g.city_name.is_some())
                    .map(|g| Location {
                        country: g.country_iso_code.as_deref(),
                        city: g.city_name.as_deref(),
                        lat: g.location.map(|l| l.0),
                        long: g.location.map(|l| l.1),
                    }),
                autonomous_system: geo
                    .filter(|g| g.as_number.is_some() || g.as_organization.is_some())
                    .map(|g| AutonomousSystem {
                        number: g.as_number,
                        name: g.as_organization.as_deref(),
                    }),
            });
        let dst_endpoint =
            (auth && (self.host.is_some() || self.host_ip.is_some())).then_some(DstEndpoint {
                hostname: self.host.as_deref(),
                ip: self.host_ip,
            });
        // Authentication needs a service or a destination: a Windows logon type is
        // no service, and a line that names neither gets an empty service name.
        let service = match (auth, logon, service) {
            (true, None, Some(name)) => Some(Service { name }),
            (true, _, _) if dst_endpoint.is_none() => Some(Service { name: "" }),
            _ => None,
        };
        let method = self.method.as_ref();
        let (auth_protocol_id, auth_protocol) = match method.filter(|_| auth) {
            Some(m) => {
                let (id, s) = auth_protocol(m);
                (Some(id), Some(s))
            }
            None => (None, None),
        };
        let mfa = self.action == Action::Mfa || method == Some(&Method::Mfa);
        let local = matches!(self.service.as_deref(), Some("su" | "sudo"));
        let is_remote = if local {
            Some(false)
        } else {
            self.source_ip.map(|_| true)
        };
        OcsfEvent {
            activity_id,
            activity_name,
            category_uid: 3,
            category_name: "Identity & Access Management",
            class_uid: class.uid(),
            class_name: class.name(),
            type_uid: u32::from(class.uid()) * 100 + u32::from(activity_id),
            type_name,
            severity_id,
            severity,
            status_id,
            status,
            status_detail: self.reason.map(status_detail),
            time: self.timestamp.timestamp_millis(),
            message: message(self),
            metadata: Metadata {
                version: OCSF_VERSION,
                product: Product {
                    name: "loginwatch",
                    vendor_name: "loginwatch",
                    version: env!("CARGO_PKG_VERSION"),
                },
                log_source: self.log_path.as_deref(),
            },
            user: User {
                name: self.user.as_deref().unwrap_or(""),
                type_id: account.map(|a| if a.admin { 2 } else { 1 }),
                r#type: account.map(|a| if a.admin { "Admin" } else { "User" }),
                email_addr: account
                    .and_then(|a| a.email.as_deref())
                    .filter(|e| is_email(e)),
                full_name: account.and_then(|a| a.display_name.as_deref()),
                groups: account
                    .map(|a| a.groups.iter().map(|g| Group { name: g }).collect())
                    .unwrap_or_default(),
            },
            src_endpoint,
            dst_endpoint,
            service,
            auth_protocol_id,
            auth_protocol,
            is_mfa: (auth && mfa).then_some(true),
            is_remote: is_remote.filter(|_| auth),
            logon_type_id: logon.map(|l| l.0),
            logon_type: logon.map(|l| l.1),
            logon_process: self
                .process
                .as_ref()
                .filter(|_| auth)
                .and_then(|p| p.pid.map(|pid| LogonProcess { name: &p.name, pid })),
            http_request: self
                .user_agent
                .as_deref()
                .map(|user_agent| HttpRequest { user_agent }),
            unmapped: Unmapped {
                action: self.action.as_str(),
                reason: self.reason.map(Reason::as_str),
                reason_detail: self.refused_by.map(|r| r.as_str()),
                intended: self.mistyped_of.as_deref(),
                user_status: account.map(|a| account_status(a.status)),
                lists: self.lists.as_deref().unwrap_or(&[]),
                host: self.host.as_deref().filter(|_| !auth),
                offset: self.log_offset,
            },
        }
    }
}

/// A one-line description: `login failure (bad_password)`.
fn message(e: &AuthEvent) -> String {
    match e.reason {
        Some(r) => format!("{} {} ({})", e.action, e.outcome, r),
        None => format!("{} {}", e.action, e.outcome),
    }
}

mod vocab;

#[cfg(test)]
mod tests;

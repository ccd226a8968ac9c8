//! The event's ECS JSON form: flat dotted keys in a fixed order, each only when
//! known, with ECS's categorization (`event.kind`, `event.category`,
//! `event.type`); what ECS does not define is under `loginwatch.`. Also the one
//! timestamp format every JSON output uses.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{Account, AccountStatus, Action, AuthEvent, Geo, Outcome};

/// Formats a timestamp the way every JSON output of loginwatch does: RFC 3339, UTC,
/// `Z` suffix, fractional seconds only when present.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The ECS release the event JSON follows (`ecs.version`).
pub const ECS_VERSION: &str = "8.17.0";

/// `event.category` and `event.type` of an action, with the values ECS lists
/// as expected together: a login attempt is `authentication`/`start` (as
/// Elastic's own Windows and system integrations write logon attempts,
/// whatever their outcome), and a successful one also starts a `session`; an
/// MFA step is `authentication`/`info`, a step within a logon; lockouts,
/// unlocks and password changes change the account, which ECS files under
/// `iam`/`user`+`change`, not `authentication`.
fn categorize(
    action: Action,
    outcome: Outcome,
) -> (&'static [&'static str], &'static [&'static str]) {
    match action {
        Action::Login if outcome == Outcome::Success => {
            (&["authentication", "session"], &["start"])
        }
        Action::Login => (&["authentication"], &["start"]),
        Action::Mfa => (&["authentication"], &["info"]),
        Action::PasswordChange | Action::PasswordReset | Action::Lockout | Action::Unlock => {
            (&["iam"], &["user", "change"])
        }
    }
}

impl Serialize for AuthEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Flat dotted ECS keys (as Elastic's own JSON logs write them), in a fixed
        // order; what ECS does not define comes last, under `loginwatch.`.
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &rfc3339(&self.timestamp))?;
        m.serialize_entry("ecs.version", ECS_VERSION)?;
        m.serialize_entry("event.kind", "event")?;
        let (category, kind) = categorize(self.action, self.outcome);
        m.serialize_entry("event.category", category)?;
        m.serialize_entry("event.type", kind)?;
        m.serialize_entry("event.action", self.action.as_str())?;
        m.serialize_entry("event.outcome", self.outcome.as_str())?;
        if let Some(r) = self.reason {
            m.serialize_entry("event.reason", r.as_str())?;
        }
        if let Some(u) = &self.user {
            m.serialize_entry("user.name", &**u)?;
        }
        if let Some(a) = &self.account {
            serialize_account(&mut m, a)?;
        }
        if let Some(ip) = &self.source_ip {
            m.serialize_entry("source.ip", ip)?;
        }
        if let Some(p) = self.source_port {
            m.serialize_entry("source.port", &p)?;
        }
        if let Some(g) = &self.geo {
            serialize_geo(&mut m, g)?;
        }
        if let Some(h) = &self.host {
            m.serialize_entry("host.name", &**h)?;
        }
        if let Some(ip) = &self.host_ip {
            // ECS expects an array: a host has addresses.
            m.serialize_entry("host.ip", &[ip])?;
        }
        if let Some(v) = &self.service {
            m.serialize_entry("service.name", &**v)?;
        }
        if let Some(p) = &self.process {
            m.serialize_entry("process.name", &*p.name)?;
            if let Some(pid) = p.pid {
                m.serialize_entry("process.pid", &pid)?;
            }
        }
        if let Some(v) = &self.user_agent {
            m.serialize_entry("user_agent.original", &**v)?;
        }
        if let Some(v) = &self.device_id {
            m.serialize_entry("device.id", &**v)?;
        }
        if let Some(v) = &self.log_path {
            m.serialize_entry("log.file.path", &**v)?;
        }
        serialize_ours(&mut m, self)?;
        m.end()
    }
}

/// The fields ECS does not define, under `loginwatch.` so they can never clash
/// with a future ECS field of the same name.
fn serialize_ours<M: SerializeMap>(m: &mut M, e: &AuthEvent) -> Result<(), M::Error> {
    if let Some(r) = e.refused_by {
        m.serialize_entry("loginwatch.event.reason_detail", r.as_str())?;
    }
    if let Some(u) = &e.mistyped_of {
        m.serialize_entry("loginwatch.user.intended.name", &**u)?;
    }
    if let Some(a) = &e.account {
        m.serialize_entry("loginwatch.user.status", account_status(a.status))?;
    }
    if let Some(g) = &e.geo {
        let a = &g.anonymous;
        for (set, key) in [
            (a.any, "loginwatch.source.anonymous.any"),
            (a.vpn, "loginwatch.source.anonymous.vpn"),
            (a.tor, "loginwatch.source.anonymous.tor"),
            (a.hosting, "loginwatch.source.anonymous.hosting"),
            (a.public_proxy, "loginwatch.source.anonymous.public_proxy"),
        ] {
            // Only when set: absent means "not flagged", or no Anonymous-IP database.
            if set {
                m.serialize_entry(key, &true)?;
            }
        }
    }
    if let Some(l) = &e.lists
        && !l.is_empty()
    {
        m.serialize_entry("loginwatch.source.lists", &**l)?;
    }
    if let Some(v) = &e.method {
        m.serialize_entry("loginwatch.auth.method", v.as_str())?;
    }
    if let Some(v) = e.log_offset {
        m.serialize_entry("loginwatch.log.offset", &v)?;
    }
    Ok(())
}

/// `loginwatch.user.status`'s spelling of an account status.
pub(crate) fn account_status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
        AccountStatus::Deleted => "deleted",
    }
}

/// `source.geo.location` as ECS writes a geo point.
#[derive(Serialize)]
struct GeoPoint {
    lat: f64,
    lon: f64,
}

/// The GeoIP fields of `source`, each only when known (the anonymity flags are
/// not ECS: see [`serialize_ours`]).
fn serialize_geo<M: SerializeMap>(m: &mut M, g: &Geo) -> Result<(), M::Error> {
    if let Some(v) = &g.country_iso_code {
        m.serialize_entry("source.geo.country_iso_code", &**v)?;
    }
    if let Some(v) = &g.city_name {
        m.serialize_entry("source.geo.city_name", &**v)?;
    }
    if let Some((lat, lon)) = g.location {
        m.serialize_entry("source.geo.location", &GeoPoint { lat, lon })?;
    }
    if let Some(v) = g.as_number {
        m.serialize_entry("source.as.number", &v)?;
    }
    if let Some(v) = &g.as_organization {
        m.serialize_entry("source.as.organization.name", &**v)?;
    }
    Ok(())
}

/// The inventory's view of the user (`user.*`).
fn serialize_account<M: SerializeMap>(m: &mut M, a: &Account) -> Result<(), M::Error> {
    if let Some(v) = &a.email {
        m.serialize_entry("user.email", &**v)?;
    }
    if let Some(v) = &a.display_name {
        m.serialize_entry("user.full_name", &**v)?;
    }
    if a.admin {
        m.serialize_entry("user.roles", &["admin"])?;
    }
    if !a.groups.is_empty() {
        m.serialize_entry("user.group.name", &a.groups)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::event::{Anonymous, Process, Reason, RefusedBy};

    #[test]
    fn json_has_ecs_names_and_omits_missing_fields() {
        let mut e = AuthEvent::new(
            Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap(),
            Action::Login,
            Outcome::Failure,
        );
        e.reason = Some(Reason::BadPassword);
        e.user = Some(Arc::from("ａｌｉｃｅ"));
        e.source_ip = Some("2001:db8::1".parse().unwrap());
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["@timestamp"], "2026-11-14T06:25:00Z");
        assert_eq!(v["event.reason"], "bad_password");
        assert_eq!(v["user.name"], "ａｌｉｃｅ");
        assert_eq!(v["source.ip"], "2001:db8::1");
        assert!(v.get("source.port").is_none());
        assert!(v.get("host.name").is_none());
        assert!(v.get("loginwatch.event.reason_detail").is_none());
        assert!(v.get("process.name").is_none());
        assert_eq!(v["ecs.version"], ECS_VERSION);
        assert_eq!(v["event.kind"], "event");
        e.reason = Some(Reason::NoPermission);
        e.refused_by = Some(RefusedBy::AllowGroups);
        e.process = Some(Process {
            name: Arc::from("sshd"),
            pid: Some(4096),
        });
        e.method = Some(crate::event::Method::Password);
        e.log_offset = Some(7);
        e.host_ip = Some("192.0.2.9".parse().unwrap());
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event.reason"], "no_permission");
        assert_eq!(v["loginwatch.event.reason_detail"], "AllowGroups");
        assert_eq!(v["process.name"], "sshd");
        assert_eq!(v["process.pid"], 4096);
        assert_eq!(v["loginwatch.auth.method"], "password");
        assert_eq!(v["loginwatch.log.offset"], 7);
        assert_eq!(v["host.ip"], serde_json::json!(["192.0.2.9"]));
        for old in ["event.reason_detail", "auth.method", "log.offset"] {
            assert!(v.get(old).is_none(), "{old}");
        }
    }

    #[test]
    fn enrichment_fields_appear_only_when_known() {
        let mut e = AuthEvent::new(
            Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap(),
            Action::Login,
            Outcome::Success,
        );
        e.user = Some(Arc::from("alice"));
        e.source_ip = Some("81.2.69.142".parse().unwrap());
        e.geo = Some(Arc::new(Geo {
            country_iso_code: Some(Arc::from("GB")),
            city_name: Some(Arc::from("London")),
            location: Some((51.5142, -0.0931)),
            as_number: Some(4134),
            as_organization: None,
            anonymous: Anonymous {
                vpn: true,
                any: true,
                ..Anonymous::default()
            },
        }));
        e.lists = Some(Arc::from(vec![Arc::<str>::from("tor-exits")]));
        e.account = Some(Arc::new(Account {
            user: Arc::from("alice"),
            email: Some(Arc::from("alice@example.jp")),
            display_name: Some(Arc::from("山田 花子")),
            status: AccountStatus::Suspended,
            admin: true,
            groups: vec![Arc::from("sales")],
            ..Account::default()
        }));
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["source.geo.country_iso_code"], "GB");
        assert_eq!(v["source.geo.city_name"], "London");
        assert_eq!(v["source.geo.location"]["lat"], 51.5142);
        assert_eq!(v["source.geo.location"]["lon"], -0.0931);
        assert_eq!(v["source.as.number"], 4134);
        assert!(v.get("source.as.organization.name").is_none());
        assert_eq!(v["loginwatch.source.anonymous.vpn"], true);
        assert!(v.get("loginwatch.source.anonymous.tor").is_none());
        assert_eq!(
            v["loginwatch.source.lists"],
            serde_json::json!(["tor-exits"])
        );
        assert_eq!(v["user.email"], "alice@example.jp");
        assert_eq!(v["user.full_name"], "山田 花子");
        assert_eq!(v["user.roles"], serde_json::json!(["admin"]));
        assert_eq!(v["user.group.name"], serde_json::json!(["sales"]));
        assert_eq!(v["loginwatch.user.status"], "suspended");

        e.lists = Some(Arc::from(Vec::new()));
        e.geo = None;
        e.account = None;
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| !k.starts_with("source.geo")
                && !k.starts_with("loginwatch.source")
                && *k != "loginwatch.user.status"),
            "{keys:?}"
        );
    }

    #[test]
    fn categorization_follows_the_action_and_outcome() {
        let cat = |a, o| {
            let e = AuthEvent::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), a, o);
            let v = serde_json::to_value(&e).unwrap();
            (v["event.category"].clone(), v["event.type"].clone())
        };
        use serde_json::json;
        assert_eq!(
            cat(Action::Login, Outcome::Success),
            (json!(["authentication", "session"]), json!(["start"]))
        );
        for o in [Outcome::Failure, Outcome::Unknown] {
            assert_eq!(
                cat(Action::Login, o),
                (json!(["authentication"]), json!(["start"]))
            );
        }
        assert_eq!(
            cat(Action::Mfa, Outcome::Failure),
            (json!(["authentication"]), json!(["info"]))
        );
        for a in [
            Action::Lockout,
            Action::Unlock,
            Action::PasswordChange,
            Action::PasswordReset,
        ] {
            assert_eq!(
                cat(a, Outcome::Success),
                (json!(["iam"]), json!(["user", "change"]))
            );
        }
    }
}

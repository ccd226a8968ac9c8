//! The event's ECS-style JSON form: flat dotted keys in a fixed order, each
//! only when known, and the one timestamp format every JSON output uses.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{Account, AccountStatus, AuthEvent, Geo};

/// Formats a timestamp the way every JSON output of loginwatch does: RFC 3339, UTC,
/// `Z` suffix, fractional seconds only when present.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Serialize for AuthEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Flat dotted ECS keys (as Elastic's own JSON logs write them), in a fixed order.
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &rfc3339(&self.timestamp))?;
        m.serialize_entry("event.action", self.action.as_str())?;
        m.serialize_entry("event.outcome", self.outcome.as_str())?;
        if let Some(r) = self.reason {
            m.serialize_entry("event.reason", r.as_str())?;
        }
        if let Some(r) = self.refused_by {
            m.serialize_entry("event.reason_detail", r.as_str())?;
        }
        if let Some(u) = &self.user {
            m.serialize_entry("user.name", &**u)?;
        }
        if let Some(u) = &self.mistyped_of {
            m.serialize_entry("user.intended.name", &**u)?;
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
        if let Some(l) = &self.lists
            && !l.is_empty()
        {
            m.serialize_entry("source.lists", &**l)?;
        }
        if let Some(h) = &self.host {
            m.serialize_entry("host.name", &**h)?;
        }
        if let Some(ip) = &self.host_ip {
            m.serialize_entry("host.ip", &ip.to_string())?;
        }
        if let Some(v) = &self.service {
            m.serialize_entry("service.name", &**v)?;
        }
        if let Some(v) = &self.method {
            m.serialize_entry("auth.method", v.as_str())?;
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
        if let Some(v) = self.log_offset {
            m.serialize_entry("log.offset", &v)?;
        }
        m.end()
    }
}

/// `source.geo.location` as ECS writes a geo point.
#[derive(Serialize)]
struct GeoPoint {
    lat: f64,
    lon: f64,
}

/// The GeoIP fields of `source`, each only when known; anonymity flags only when
/// set (absent means "not flagged", or no Anonymous-IP database).
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
    let a = &g.anonymous;
    for (set, key) in [
        (a.any, "source.anonymous.any"),
        (a.vpn, "source.anonymous.vpn"),
        (a.tor, "source.anonymous.tor"),
        (a.hosting, "source.anonymous.hosting"),
        (a.public_proxy, "source.anonymous.public_proxy"),
    ] {
        if set {
            m.serialize_entry(key, &true)?;
        }
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
    let status = match a.status {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
        AccountStatus::Deleted => "deleted",
    };
    m.serialize_entry("user.status", status)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::event::{Action, Anonymous, Outcome, Reason, RefusedBy};

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
        assert!(v.get("event.reason_detail").is_none());
        e.reason = Some(Reason::NoPermission);
        e.refused_by = Some(RefusedBy::AllowGroups);
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event.reason"], "no_permission");
        assert_eq!(v["event.reason_detail"], "AllowGroups");
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
        assert_eq!(v["source.anonymous.vpn"], true);
        assert!(v.get("source.anonymous.tor").is_none());
        assert_eq!(v["source.lists"], serde_json::json!(["tor-exits"]));
        assert_eq!(v["user.email"], "alice@example.jp");
        assert_eq!(v["user.full_name"], "山田 花子");
        assert_eq!(v["user.roles"], serde_json::json!(["admin"]));
        assert_eq!(v["user.group.name"], serde_json::json!(["sales"]));
        assert_eq!(v["user.status"], "suspended");

        e.lists = Some(Arc::from(Vec::new()));
        e.geo = None;
        e.account = None;
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| !k.starts_with("source.geo")
                && !k.starts_with("source.lists")
                && *k != "user.status"),
            "{keys:?}"
        );
    }
}

//! The daemon's world for the dashboards test: the shipped rules (one cap
//! lowered), GeoIP City and ASN databases, an account inventory and the
//! configuration with its three sources and two alert sinks. Every rule the
//! daemon loads needs something here to be able to fire: the novelty rules need
//! places and networks, the lifecycle rules need the inventory.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::{repo, scenario};
use crate::util::geoip::{Builder, V, city, map};

/// A City database: 192.0.2.0/24 in Tokyo, 2001:db8::/32 in Linköping.
fn city_db() -> Vec<u8> {
    city(&[
        ("192.0.2.0/24", "JP", 35.6895, 139.6917),
        ("2001:db8::/32", "SE", 58.4167, 15.6167),
    ])
}

/// An ASN database: the Tokyo network in AS64500, the Swedish one in AS64511
/// (so a login moving from one to the other is a new network as well as a new
/// country).
fn asn_db() -> Vec<u8> {
    let asn = |n: u32, org: &'static str| {
        map(&[
            ("autonomous_system_number", V::U32(n)),
            ("autonomous_system_organization", V::Str(org)),
        ])
    };
    let mut b = Builder::new("GeoLite2-ASN");
    b.insert("192.0.2.0/24", asn(64500, "Example Tokyo"))
        .insert("2001:db8::/32", asn(64511, "Example Nordic"));
    b.build()
}

fn day(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The account inventory (a CSV export), dated around `now`:
/// - `trent`: active, password changed 200 days ago (`password-age`);
/// - `dora`: active, last login 200 days ago; she logs in during the burst
///   (`dormant-reactivated`) and, until then, is inactive (`inactive-account`);
/// - `ivy`: active, last login 120 days ago and silent (`inactive-account`);
/// - `sam`: suspended by the directory while his log lines say only "bad
///   password" (`disabled-account-attempts` through the inventory).
///
/// Everyone active logged in recently or is meant to be inactive: the sweep
/// counts an inventory account that never logged in as inactive.
pub fn inventory(now: DateTime<Utc>) -> String {
    let ago = |d: i64| day(now - Duration::days(d));
    format!(
        "User Name,E-mail,Display Name,Status,Admin,Groups,Password Changed At,Last Login At,Exempt\n\
         trent,trent@example.jp,Trent,active,no,staff,{},{},no\n\
         dora,dora@example.jp,Dora,active,no,staff,,{},no\n\
         ivy,ivy@example.jp,Ivy,active,no,staff,,{},no\n\
         sam,sam@example.jp,Sam,suspended,no,staff,,{},no\n",
        ago(200),
        ago(1),
        ago(200),
        ago(120),
        ago(30),
    )
}

/// The shipped rules with account-lockout capped at 10 keys (so the 25-account
/// storm evicts), plus the daemon's configuration: two live sources, one that
/// stops, a webhook sink on a closed port and a file sink that works.
///
/// The failing webhook takes account-lockout and ip-bruteforce alerts only (the
/// trickle's lockouts come during the burst's lockout storm, which holds them
/// without an alert: its address blocks keep the outbox growing): the sweep decides at
/// start-up, and its alerts would start the sink's backoff (5 s doubling per
/// failure, per sink, not scaled like the rules' durations) before Prometheus
/// watches, leaving gaps between retries longer than the scaled 10-second
/// window of LoginwatchAlertDeliveryFailing by the time the burst comes.
pub fn setup(dir: &Path, hook_port: u16) {
    let rules = dir.join("rules");
    fs::create_dir(&rules).unwrap();
    for e in fs::read_dir(repo().join("rules")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) == Some("toml") {
            let mut text = fs::read_to_string(&p).unwrap();
            if p.file_name().unwrap() == "accounts.toml" {
                let id = "id = \"account-lockout\"\n";
                assert!(text.contains(id));
                text = text.replacen(id, &format!("{id}max_keys = 10\n"), 1);
            }
            fs::write(rules.join(p.file_name().unwrap()), text).unwrap();
        }
    }
    fs::write(dir.join("city.mmdb"), city_db()).unwrap();
    fs::write(dir.join("asn.mmdb"), asn_db()).unwrap();
    let now = Utc::now();
    fs::write(dir.join("users.csv"), inventory(now)).unwrap();
    fs::write(dir.join("auth.log"), "").unwrap();
    fs::write(
        dir.join("idp.jsonl"),
        scenario::idp_history(now).join("\n") + "\n",
    )
    .unwrap();
    let stopped: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "{} web2 sshd[{}]: Accepted publickey for deploy from 192.0.2.99 port 600{i} ssh2",
                day(now),
                900 + i
            )
        })
        .collect();
    fs::write(dir.join("stopped.log"), stopped.join("\n") + "\n").unwrap();
    fs::write(
        dir.join("loginwatch.toml"),
        format!(
            "state_path = \"state.db\"\nrules_dir = \"rules\"\ngeoip = [\"city.mmdb\", \"asn.mmdb\"]\n\
             poll_interval = \"1s\"\ncheckpoint_interval = \"1s\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\
             [inventory]\npath = \"users.csv\"\n\
             [[source]]\nname = \"auth\"\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [[source]]\nname = \"idp\"\npath = \"idp.jsonl\"\nformat = \"ecs\"\n\
             [[source]]\nname = \"stopped\"\npath = \"stopped.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [[alert.sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{hook_port}/hook\"\ntimeout = \"2s\"\nrules = [\"account-lockout\", \"ip-bruteforce\"]\n\
             [[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n"
        ),
    )
    .unwrap();
}

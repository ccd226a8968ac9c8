//! `loginwatch geoip IP`: what the GeoIP databases say about one address, so an
//! operator can check a database (and a geo rule's premise) before relying on it.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Map, Value, json};

use loginwatch::escape::Escaped;
use loginwatch::event::Geo;

use super::CliError;
use super::input::open_geoip;
use super::parse::broken_pipe_ok;

/// Arguments of `loginwatch geoip`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address to look up (IPv4 or IPv6).
    #[arg(value_name = "IP")]
    ip: String,
    /// A GeoIP database (.mmdb: City, Country, ASN or Anonymous-IP); repeatable.
    #[arg(long, value_name = "FILE")]
    geoip: Vec<PathBuf>,
    /// The daemon's configuration: its `geoip` databases are used (with any --geoip).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// One JSON object with the event field names (`source.geo.*`, `source.as.*`).
    #[arg(long)]
    json: bool,
}

/// Runs `geoip`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let ip: IpAddr = a.ip.trim().parse().map_err(|_| {
        CliError::Usage(format!(
            "\"{}\" is not an IPv4 or IPv6 address",
            Escaped(&a.ip)
        ))
    })?;
    let mut paths = match &a.config {
        Some(p) => {
            loginwatch::config::load(Some(p))
                .map_err(|errs| {
                    CliError::Usage(format!(
                        "{}:\n{errs}",
                        loginwatch::config::invalid("configuration", errs.0.len())
                    ))
                })?
                .geoip
        }
        None => Vec::new(),
    };
    paths.extend(a.geoip.iter().cloned());
    let Some(dbs) = open_geoip(&paths)? else {
        return Err(CliError::Usage(
            "no GeoIP database: pass --geoip FILE (a City, Country, ASN or Anonymous-IP .mmdb; \
             repeatable), or --config FILE whose `geoip` names them"
                .into(),
        ));
    };
    let lookup = dbs.lookup(ip);
    if let Some(e) = &lookup.error {
        eprintln!("loginwatch geoip: {}", Escaped(&e.to_string()));
    }
    let geo = lookup.geo.unwrap_or_default();
    let mut out = io::stdout().lock();
    let written = if a.json {
        let dbs: Vec<Value> = dbs
            .info()
            .iter()
            .map(|d| {
                json!({
                    "path": d.path.display().to_string(),
                    "kind": d.kind.as_str(),
                    "database_type": d.database_type,
                    "build_epoch": d.build_epoch,
                })
            })
            .collect();
        let mut m = Map::new();
        m.insert("source.ip".into(), json!(ip.to_canonical().to_string()));
        geo_json(&geo, &mut m);
        m.insert("databases".into(), Value::Array(dbs));
        serde_json::to_writer(&mut out, &Value::Object(m))
            .map_err(io::Error::from)
            .and_then(|_| out.write_all(b"\n"))
    } else {
        write_human(&mut out, ip, &geo, &dbs.info())
    };
    if let Err(e) = written.and_then(|_| out.flush()) {
        return broken_pipe_ok(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// The event's JSON names for what is known (same names as `parse` writes).
fn geo_json(g: &Geo, m: &mut Map<String, Value>) {
    if let Some(v) = &g.country_iso_code {
        m.insert("source.geo.country_iso_code".into(), json!(&**v));
    }
    if let Some(v) = &g.city_name {
        m.insert("source.geo.city_name".into(), json!(&**v));
    }
    if let Some((lat, lon)) = g.location {
        m.insert(
            "source.geo.location".into(),
            json!({"lat": lat, "lon": lon}),
        );
    }
    if let Some(v) = g.as_number {
        m.insert("source.as.number".into(), json!(v));
    }
    if let Some(v) = &g.as_organization {
        m.insert("source.as.organization.name".into(), json!(&**v));
    }
    for (k, set) in anonymity(g) {
        if set {
            m.insert(format!("loginwatch.source.anonymous.{k}"), json!(true));
        }
    }
}

fn anonymity(g: &Geo) -> [(&'static str, bool); 5] {
    let a = &g.anonymous;
    [
        ("any", a.any),
        ("vpn", a.vpn),
        ("tor", a.tor),
        ("hosting", a.hosting),
        ("public_proxy", a.public_proxy),
    ]
}

fn write_human(
    out: &mut impl Write,
    ip: IpAddr,
    g: &Geo,
    dbs: &[loginwatch::enrich::DbInfo],
) -> io::Result<()> {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let text = |v: &Option<std::sync::Arc<str>>| v.as_deref().map(|s| Escaped(s).to_string());
    writeln!(out, "ip            {}", ip.to_canonical())?;
    writeln!(out, "country       {}", or_dash(text(&g.country_iso_code)))?;
    writeln!(out, "city          {}", or_dash(text(&g.city_name)))?;
    writeln!(
        out,
        "location      {}",
        or_dash(g.location.map(|(lat, lon)| format!("{lat}, {lon}")))
    )?;
    writeln!(
        out,
        "asn           {}",
        or_dash(g.as_number.map(|n| format!("AS{n}")))
    )?;
    writeln!(out, "organization  {}", or_dash(text(&g.as_organization)))?;
    let flags: Vec<&str> = anonymity(g)
        .iter()
        .filter(|(k, set)| *set && *k != "any")
        .map(|(k, _)| *k)
        .collect();
    let anon = if !flags.is_empty() {
        flags.join(", ")
    } else if g.anonymous.any {
        "yes".into()
    } else {
        "no".into()
    };
    writeln!(out, "anonymous     {anon}")?;
    for d in dbs {
        writeln!(
            out,
            "database      {} ({}, {}, built {})",
            Escaped(&d.path.display().to_string()),
            d.kind,
            Escaped(&d.database_type),
            chrono::DateTime::from_timestamp(d.build_epoch as i64, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| d.build_epoch.to_string())
        )?;
    }
    Ok(())
}

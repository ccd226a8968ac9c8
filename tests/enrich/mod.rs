//! Enrichment: GeoIP through `GeoDbs` (databases the tests build themselves, and
//! MaxMind's test databases when `../shared/data` is present), IP lists against a
//! brute-force oracle, the `Enricher` cache, and the `--geoip` CLI surface.

pub(crate) mod cli;
mod iplists;
mod maxmind;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::util::geoip::{Builder, V, map};
use crate::util::lw;
use loginwatch::enrich::{DbKind, Enricher, GeoDbs, GeoError, IpLists, ListSpec};
use loginwatch::event::Geo;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn city_db() -> Builder {
    let mut b = Builder::new("GeoLite2-City");
    b.insert(
        "192.0.2.0/24",
        map(&[
            (
                "city",
                map(&[(
                    "names",
                    map(&[("en", V::Str("Tokyo")), ("ja", V::Str("東京"))]),
                )]),
            ),
            ("country", map(&[("iso_code", V::Str("JP"))])),
            (
                "location",
                map(&[
                    ("latitude", V::Double(35.6895)),
                    ("longitude", V::Double(139.6917)),
                    ("accuracy_radius", V::U16(50)),
                ]),
            ),
        ]),
    )
    .insert(
        "2001:db8::/32",
        map(&[
            ("country", map(&[("iso_code", V::Str("SE"))])),
            (
                "location",
                map(&[
                    ("latitude", V::Double(58.4167)),
                    ("longitude", V::Double(15.6167)),
                ]),
            ),
        ]),
    );
    b
}

fn asn_db() -> Builder {
    let mut b = Builder::new("GeoLite2-ASN");
    b.insert(
        "192.0.2.0/25",
        map(&[
            ("autonomous_system_number", V::U32(64500)),
            ("autonomous_system_organization", V::Str("Example Net")),
        ]),
    )
    .insert(
        "198.51.100.0/24",
        map(&[("autonomous_system_number", V::U32(64501))]),
    );
    b
}

fn anon_db() -> Builder {
    let mut b = Builder::new("GeoIP2-Anonymous-IP");
    b.insert(
        "192.0.2.128/25",
        map(&[
            ("is_anonymous", V::Bool(true)),
            ("is_anonymous_vpn", V::Bool(true)),
        ]),
    )
    .insert(
        "203.0.113.9/32",
        map(&[
            ("is_anonymous", V::Bool(true)),
            ("is_tor_exit_node", V::Bool(true)),
        ]),
    );
    b
}

/// Writes the three built databases into `dir`: (city, asn, anonymous).
fn write_dbs(dir: &Path) -> [PathBuf; 3] {
    let paths = [
        dir.join("city.mmdb"),
        dir.join("asn.mmdb"),
        dir.join("anon.mmdb"),
    ];
    for (p, b) in paths
        .iter()
        .zip([city_db(), asn_db().record_size(32), anon_db()])
    {
        std::fs::write(p, b.build()).unwrap();
    }
    paths
}

#[test]
fn built_databases_answer_through_geodbs() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let dbs = GeoDbs::open(&paths).unwrap();
    let kinds: Vec<DbKind> = dbs.info().iter().map(|d| d.kind).collect();
    assert_eq!(kinds, [DbKind::City, DbKind::Asn, DbKind::AnonymousIp]);

    let l = dbs.lookup(ip("192.0.2.10"));
    assert!(l.error.is_none());
    let g = l.geo.unwrap();
    assert_eq!(g.country_iso_code.as_deref(), Some("JP"));
    assert_eq!(g.city_name.as_deref(), Some("Tokyo"));
    assert_eq!(g.location, Some((35.6895, 139.6917)));
    assert_eq!(g.as_number, Some(64500));
    assert_eq!(g.as_organization.as_deref(), Some("Example Net"));
    assert!(!g.anonymous.any && !g.anonymous.vpn);

    let g = dbs.lookup(ip("192.0.2.200")).geo.unwrap();
    assert_eq!(g.country_iso_code.as_deref(), Some("JP"));
    assert_eq!(g.as_number, None);
    assert!(g.anonymous.vpn && g.anonymous.any && !g.anonymous.tor);

    let g = dbs.lookup(ip("203.0.113.9")).geo.unwrap();
    assert!(g.anonymous.tor && g.anonymous.any);
    assert_eq!(g.country_iso_code, None);

    let g = dbs.lookup(ip("198.51.100.77")).geo.unwrap();
    assert_eq!(
        (g.as_number, g.as_organization.clone()),
        (Some(64501), None)
    );

    let g = dbs.lookup(ip("2001:db8:1::1")).geo.unwrap();
    assert_eq!(g.country_iso_code.as_deref(), Some("SE"));
    assert_eq!(g.city_name, None);
    // A dual-stack socket's IPv4-mapped form is the IPv4 address.
    let g = dbs.lookup(ip("::ffff:192.0.2.10")).geo.unwrap();
    assert_eq!(g.city_name.as_deref(), Some("Tokyo"));

    assert!(dbs.lookup(ip("10.0.0.1")).geo.is_none());
    assert!(dbs.lookup(ip("2001:db9::1")).geo.is_none());
}

#[test]
fn an_unknown_database_type_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.mmdb");
    let mut b = Builder::new("Acme-Widgets");
    b.insert("192.0.2.0/24", map(&[("widget", V::Str("x"))]));
    std::fs::write(&p, b.build()).unwrap();
    let errs = GeoDbs::open(&[&p]).unwrap_err();
    assert_eq!(errs.len(), 1);
    let msg = errs[0].to_string();
    assert!(matches!(errs[0], GeoError::UnknownType { .. }));
    assert!(
        msg.contains("odd.mmdb") && msg.contains("\"Acme-Widgets\""),
        "{msg}"
    );
}

#[test]
fn truncated_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = city_db().build();
    for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 3] {
        let p = dir.path().join(format!("cut{cut}.mmdb"));
        let mut b = bytes[..cut].to_vec();
        if cut > 0 {
            // Keep a metadata marker so the reader gets past the first check.
            b.extend(b"\xab\xcd\xefMaxMind.com\xe0");
        }
        std::fs::write(&p, b).unwrap();
        assert!(GeoDbs::open(&[&p]).is_err(), "cut at {cut}");
    }
}

#[test]
fn reload_picks_up_a_replaced_database_and_keeps_the_old_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("GeoLite2-City.mmdb");
    std::fs::write(&p, city_db().build()).unwrap();
    let mut dbs = GeoDbs::open(&[&p]).unwrap();
    let r = dbs.reload_if_changed();
    assert!(!r.changed && r.errors.is_empty());

    // geoipupdate writes a new file and renames it over the old one.
    let mut b = Builder::new("GeoLite2-Country");
    b.insert(
        "192.0.2.0/24",
        map(&[("country", map(&[("iso_code", V::Str("KR"))]))]),
    );
    let tmp = dir.path().join("new.mmdb");
    std::fs::write(&tmp, b.build()).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
    let r = dbs.reload_if_changed();
    assert!(r.changed && r.errors.is_empty());
    assert_eq!(dbs.info()[0].kind, DbKind::Country);
    let g = dbs.lookup(ip("192.0.2.1")).geo.unwrap();
    assert_eq!(g.country_iso_code.as_deref(), Some("KR"));

    std::fs::write(&tmp, b"not a database").unwrap();
    std::fs::rename(&tmp, &p).unwrap();
    let r = dbs.reload_if_changed();
    assert!(!r.changed);
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].to_string().contains("GeoLite2-City.mmdb"));
    let g = dbs.lookup(ip("192.0.2.1")).geo.unwrap();
    assert_eq!(
        g.country_iso_code.as_deref(),
        Some("KR"),
        "old version kept"
    );
    assert!(dbs.reload_if_changed().errors.is_empty(), "reported once");
}

#[test]
fn enricher_caches_per_address_and_drops_the_cache_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let list = dir.path().join("vpn.txt");
    std::fs::write(&list, "192.0.2.128/25\n").unwrap();
    let lists = IpLists::load(&[ListSpec {
        name: Arc::from("corp-vpn"),
        path: list.clone(),
    }])
    .unwrap();
    let mut en = Enricher::new(Some(GeoDbs::open(&paths).unwrap()), lists, None);
    assert!(en.geo_active());
    let a = en.facts(ip("192.0.2.200"));
    let b = en.facts(ip("192.0.2.200"));
    assert!(Arc::ptr_eq(
        a.geo.as_ref().unwrap(),
        b.geo.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        a.lists.as_ref().unwrap(),
        b.lists.as_ref().unwrap()
    ));
    assert_eq!(
        &**a.lists.as_ref().unwrap(),
        &[Arc::<str>::from("corp-vpn")]
    );
    assert_eq!((en.stats().cache_hits, en.stats().cache_misses), (1, 1));
    let none = en.facts(ip("10.1.1.1"));
    assert!(none.geo.is_none() && none.lists.as_ref().unwrap().is_empty());

    std::fs::write(&list, "10.0.0.0/8\n").unwrap();
    let r = en.reload_if_changed();
    assert!(r.changed && r.errors.is_empty());
    let c = en.facts(ip("192.0.2.200"));
    assert!(c.lists.unwrap().is_empty(), "a reload drops cached answers");
    assert_eq!(
        &*en.facts(ip("10.1.1.1")).lists.unwrap(),
        &[Arc::<str>::from("corp-vpn")]
    );
}

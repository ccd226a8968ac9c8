//! MaxMind's own test databases (from the shared corpus, when present): the
//! documented addresses, and the corrupt ones refused.

use super::*;

/// MaxMind's own test databases, when the shared corpus is present.
fn maxmind(test: &str) -> Option<PathBuf> {
    crate::util::shared_data(test).map(|d| d.join("maxmind-test"))
}

#[test]
fn maxmind_test_databases_map_the_documented_addresses() {
    let Some(mm) = maxmind("maxmind_test_databases_map_the_documented_addresses") else {
        return;
    };
    let t = mm.join("test-data");
    let dbs = GeoDbs::open(&[
        t.join("GeoIP2-City-Test.mmdb"),
        t.join("GeoLite2-ASN-Test.mmdb"),
        t.join("GeoIP2-Anonymous-IP-Test.mmdb"),
    ])
    .unwrap();
    let geo = |s: &str| -> Geo { dbs.lookup(ip(s)).geo.unwrap_or_default() };
    let g = geo("81.2.69.142");
    assert_eq!(g.country_iso_code.as_deref(), Some("GB"));
    assert_eq!(g.city_name.as_deref(), Some("London"));
    assert_eq!(g.location, Some((51.5142, -0.0931)));
    assert!(g.anonymous.vpn && g.anonymous.tor && g.anonymous.hosting && g.anonymous.public_proxy);
    let g = geo("89.160.20.112");
    assert_eq!(g.country_iso_code.as_deref(), Some("SE"));
    assert_eq!(g.city_name.as_deref(), Some("Linköping"));
    assert_eq!(g.as_number, Some(29518));
    assert_eq!(g.as_organization.as_deref(), Some("Bredband2 AB"));
    let g = geo("1.2.3.4");
    assert!(g.anonymous.vpn && g.anonymous.any && !g.anonymous.tor);
    assert_eq!(g.country_iso_code, None);
    let g = geo("183.62.140.253");
    assert_eq!(
        (g.as_number, g.as_organization.as_deref()),
        (Some(4134), Some("Chinanet"))
    );
    let g = geo("216.160.83.56");
    assert_eq!(g.city_name.as_deref(), Some("Milton"));
    assert_eq!((g.as_number, g.as_organization), (Some(209), None));
    assert_eq!(geo("2001:218::1").country_iso_code.as_deref(), Some("JP"));
    assert!(dbs.lookup(ip("10.0.0.1")).geo.is_none());

    // Country and GeoLite2 variants are recognised from their metadata.
    let dbs = GeoDbs::open(&[
        t.join("GeoLite2-Country-Test.mmdb"),
        t.join("GeoLite2-City-Test.mmdb"),
    ])
    .unwrap();
    let kinds: Vec<DbKind> = dbs.info().iter().map(|d| d.kind).collect();
    assert_eq!(kinds, [DbKind::Country, DbKind::City]);
    let g = dbs.lookup(ip("175.16.199.1")).geo.unwrap();
    assert_eq!(g.country_iso_code.as_deref(), Some("CN"));
    assert_eq!(g.city_name.as_deref(), Some("Changchun"));
}

#[test]
fn maxmind_corrupt_databases_are_errors() {
    let Some(mm) = maxmind("maxmind_corrupt_databases_are_errors") else {
        return;
    };
    let mut files = Vec::new();
    for sub in ["libmaxminddb", "maxminddb-golang", "maxminddb-python"] {
        for e in std::fs::read_dir(mm.join("bad-data").join(sub)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    for name in [
        "GeoIP2-City-Test-Broken-Double-Format.mmdb",
        "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
        "MaxMind-DB-test-broken-pointers-24.mmdb",
        "MaxMind-DB-test-broken-search-tree-24.mmdb",
    ] {
        files.push(mm.join("test-data").join(name));
    }
    assert!(files.len() >= 20);
    for f in &files {
        let errs = GeoDbs::open(&[f]).unwrap_err();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(errs[0].to_string().contains(&name), "{}", errs[0]);
    }
}

//! Enrichment: GeoIP through `GeoDbs` (databases the tests build themselves, and
//! MaxMind's test databases when `../shared/data` is present), IP lists against a
//! brute-force oracle, the `Enricher` cache, and the `--geoip` CLI surface.

pub(crate) mod mmdb;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;

use loginwatch::enrich::{DbKind, Enricher, GeoDbs, GeoError, IpLists, ListSpec};
use loginwatch::event::Geo;
use mmdb::{Builder, V, map};

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

/// A small deterministic generator (xorshift64*), so the oracle test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn a_hundred_thousand_prefixes_agree_with_a_brute_force_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let names = ["drop", "tor", "vpn"];
    // (list, is_v4, network bits, prefix length)
    let mut entries: Vec<(usize, bool, u128, u32)> = Vec::new();
    let mut specs = Vec::new();
    for (li, name) in names.iter().enumerate() {
        let mut text = String::from("# generated netset\n");
        for _ in 0..34_000 {
            let r = rng.next();
            if r.is_multiple_of(10) {
                // IPv6 under 2001:db8::/32, /40 to /128.
                let len = 40 + (r >> 8) as u32 % 89;
                let bits = (0x2001_0db8u128 << 96) | (u128::from(rng.next()) << 32);
                let mask = if len == 128 {
                    u128::MAX
                } else {
                    !(u128::MAX >> len)
                };
                let net = bits & mask;
                text.push_str(&format!("{}/{len}\n", std::net::Ipv6Addr::from(net)));
                entries.push((li, false, net, len));
            } else {
                // IPv4 in 10.0.0.0/8 so prefixes overlap across lists, /12 to /32.
                let len = 12 + (r >> 8) as u32 % 21;
                let bits = 0x0a00_0000u32 | (rng.next() as u32 & 0x00ff_ffff);
                let net = bits & !(u32::MAX.checked_shr(len).unwrap_or(0));
                text.push_str(&format!("{}/{len}\n", std::net::Ipv4Addr::from(net)));
                entries.push((li, true, u128::from(net), len));
            }
        }
        let path = dir.path().join(format!("{name}.netset"));
        std::fs::write(&path, text).unwrap();
        specs.push(ListSpec {
            name: Arc::from(*name),
            path,
        });
    }
    assert!(entries.len() >= 100_000);
    let lists = IpLists::load(&specs).unwrap();
    let oracle = |addr: IpAddr| -> Vec<String> {
        let (v4, x) = match addr {
            IpAddr::V4(a) => (true, u128::from(u32::from(a))),
            IpAddr::V6(a) => (false, u128::from(a)),
        };
        let width = if v4 { 32 } else { 128 };
        let mut hit = [false; 3];
        for (li, e4, net, len) in &entries {
            if *e4 == v4 && (*len == 0 || (x ^ net) >> (width - len) == 0) {
                hit[*li] = true;
            }
        }
        (0..3)
            .filter(|i| hit[*i])
            .map(|i| names[i].to_string())
            .collect()
    };
    let mut nonempty = 0;
    for k in 0..3_000 {
        let addr = if k % 3 == 0 {
            // A network's own first or last address, where off-by-ones hide.
            let (_, v4, net, len) = entries[rng.next() as usize % entries.len()];
            if v4 {
                let last = net | (u128::from(u32::MAX) >> len);
                IpAddr::V4(std::net::Ipv4Addr::from(
                    if k % 2 == 0 { net } else { last + 1 } as u32,
                ))
            } else {
                IpAddr::V6(std::net::Ipv6Addr::from(net))
            }
        } else if k % 3 == 1 {
            IpAddr::V4(std::net::Ipv4Addr::from(
                0x0a00_0000u32 | (rng.next() as u32 & 0x00ff_ffff),
            ))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(
                (0x2001_0db8u128 << 96) | u128::from(rng.next()) << 32,
            ))
        };
        let got: Vec<String> = lists
            .lists_for(addr)
            .iter()
            .map(|n| n.to_string())
            .collect();
        let want = oracle(addr);
        nonempty += usize::from(!want.is_empty());
        assert_eq!(got, want, "{addr}");
    }
    assert!(
        nonempty > 500,
        "the queries must exercise hits too ({nonempty})"
    );
}

fn lw() -> Command {
    Command::cargo_bin("loginwatch").unwrap()
}

const LOG: &str = "\
Nov 14 06:25:00 web1 sshd[1234]: Failed password for alice from 192.0.2.200 port 52344 ssh2
Nov 14 06:25:05 web1 sshd[1235]: Accepted password for bob from 2001:db8::5 port 52345 ssh2
Nov 14 06:25:09 web1 sshd[1236]: Failed password for carol from 10.9.9.9 port 52346 ssh2
";

#[test]
fn parse_with_geoip_adds_the_source_fields() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let log = dir.path().join("auth.log");
    std::fs::write(&log, LOG).unwrap();
    let mut cmd = lw();
    cmd.args(["parse", "--tz", "UTC", "--year", "2026"]);
    for p in &paths {
        cmd.arg("--geoip").arg(p);
    }
    let out = cmd.arg(&log).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0]["source.geo.country_iso_code"], "JP");
    assert_eq!(evs[0]["source.geo.city_name"], "Tokyo");
    assert_eq!(evs[0]["source.geo.location"]["lat"], 35.6895);
    assert_eq!(evs[0]["source.anonymous.vpn"], true);
    assert_eq!(evs[1]["source.geo.country_iso_code"], "SE");
    assert!(evs[2].get("source.geo.country_iso_code").is_none());
    assert!(
        evs[2]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("source.geo"))
    );

    // Without --geoip, no enrichment fields.
    let out = lw()
        .args(["parse", "--tz", "UTC", "--year", "2026"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("source.geo"));
}

#[test]
fn replay_accepts_geoip_and_rejects_a_bad_database() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let log = dir.path().join("auth.log");
    std::fs::write(&log, LOG).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let run = |geo: &[&Path]| {
        let mut cmd = lw();
        cmd.args([
            "replay", "--json", "--tz", "UTC", "--year", "2026", "--rules",
        ])
        .arg(&rules);
        for p in geo {
            cmd.arg("--geoip").arg(p);
        }
        cmd.arg(&log).output().unwrap()
    };
    let plain = run(&[]);
    let enriched = run(&[&paths[0], &paths[1], &paths[2]]);
    assert!(
        enriched.status.success(),
        "{}",
        String::from_utf8_lossy(&enriched.stderr)
    );
    assert_eq!(plain.stdout, enriched.stdout);
    let bad = dir.path().join("bad.mmdb");
    std::fs::write(&bad, b"garbage").unwrap();
    let out = run(&[&bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.mmdb"));
}

#[test]
fn geoip_command_prints_what_the_databases_say() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dbs(dir.path());
    let out = lw().args(["geoip", "192.0.2.10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--geoip"));
    let out = lw()
        .args(["geoip", "not-an-ip", "--geoip"])
        .arg(&paths[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let mut cmd = lw();
    cmd.args(["geoip", "192.0.2.10", "--json"]);
    for p in &paths {
        cmd.arg("--geoip").arg(p);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source.ip"], "192.0.2.10");
    assert_eq!(v["source.geo.city_name"], "Tokyo");
    assert_eq!(v["source.as.number"], 64500);
    assert_eq!(v["source.as.organization.name"], "Example Net");
    assert_eq!(v["databases"].as_array().unwrap().len(), 3);

    let out = lw()
        .args(["geoip", "203.0.113.9", "--geoip"])
        .arg(&paths[2])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("anonymous     tor"), "{text}");
}

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

/// A directory holding a config with GeoIP databases, an IP list, an inventory
/// and the shipped rules plus one rule on the list.
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_dbs(d);
    std::fs::create_dir(d.join("lists")).unwrap();
    std::fs::write(d.join("lists/tor.netset"), "# tor exits\n203.0.113.0/24\n").unwrap();
    std::fs::write(
        d.join("accounts.csv"),
        "user,email,display_name,status,admin\nalice,alice@example.jp,Alice Abe,active,no\nbob,bob@example.jp,Bob Ban,suspended,no\n",
    )
    .unwrap();
    let rules = d.join("rules");
    std::fs::create_dir(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        rules.join("tor.toml"),
        "[[rule]]\nid = \"tor-login\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1h\"\n\
         match = { outcome = \"success\", in_list = \"tor-exits\" }\ndecision = { action = \"alert\", severity = \"high\" }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("loginwatch.toml"),
        "rules_dir = \"rules\"\ngeoip = [\"city.mmdb\", \"asn.mmdb\", \"anon.mmdb\"]\n\
         [[ip_list]]\nname = \"tor-exits\"\npath = \"lists/tor.netset\"\n\
         [inventory]\npath = \"accounts.csv\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("auth.log"),
        "2026-11-14T06:00:00Z web1 sshd[1]: Accepted password for alice from 192.0.2.10 port 4000 ssh2\n\
         2026-11-14T06:10:00Z web1 sshd[2]: Accepted password for alice from 2001:db8::1 port 4000 ssh2\n\
         2026-11-14T06:20:00Z web1 sshd[3]: Accepted password for carol from 203.0.113.9 port 4000 ssh2\n\
         2026-11-14T06:30:00Z web1 sshd[4]: Failed password for bob from 198.51.100.7 port 4000 ssh2\n\
         2026-11-14T06:31:00Z web1 sshd[5]: Failed password for bob from 198.51.100.7 port 4001 ssh2\n\
         2026-11-14T06:32:00Z web1 sshd[6]: Failed password for bob from 198.51.100.7 port 4002 ssh2\n",
    )
    .unwrap();
    dir
}

#[test]
fn replay_with_config_runs_geo_list_and_inventory_rules() {
    let dir = config_dir();
    let d = dir.path();
    let out = lw()
        .current_dir(d)
        .args([
            "replay",
            "--json",
            "--tz",
            "UTC",
            "--config",
            "loginwatch.toml",
            "auth.log",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "decision")
        .map(|v| format!("{} {}", v["rule"].as_str().unwrap(), v["target"]))
        .collect();
    let has = |r: &str| rules.iter().any(|x| x.starts_with(r));
    assert!(
        has("impossible-travel"),
        "Tokyo to Linköping in 10 minutes: {rules:?}"
    );
    assert!(
        has("tor-login"),
        "a success from a listed address: {rules:?}"
    );
    assert!(
        has("disabled-account-attempts"),
        "3 attempts on a suspended account: {rules:?}"
    );
    // parse --config shows what the rules saw.
    let out = lw()
        .current_dir(d)
        .args([
            "parse",
            "--tz",
            "UTC",
            "--config",
            "loginwatch.toml",
            "auth.log",
        ])
        .output()
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["source.geo.country_iso_code"], "JP");
    assert_eq!(first["user.email"], "alice@example.jp");
}

#[test]
fn a_rule_naming_an_unconfigured_list_is_a_usage_error() {
    let dir = config_dir();
    let d = dir.path();
    let cfg = std::fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    let cfg = cfg.replace(
        "[[ip_list]]\nname = \"tor-exits\"\npath = \"lists/tor.netset\"\n",
        "",
    );
    std::fs::write(d.join("loginwatch.toml"), cfg).unwrap();
    let out = lw()
        .current_dir(d)
        .args([
            "replay",
            "--json",
            "--tz",
            "UTC",
            "--config",
            "loginwatch.toml",
            "auth.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tor-exits"));
}

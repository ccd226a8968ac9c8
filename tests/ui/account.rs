//! Issue 15, second step: an account's page against the real daemon with
//! GeoIP databases (written by the library's MaxMind DB writer). The
//! timeline with a linked mistyping, country and ASN, newest first; the
//! chart and its numbers; times in the configured zone and in one chosen on
//! the page; the system's lock with its command; a block on an address the
//! user came from, lifted from the page and audited; the language link
//! keeping the page's other parameters.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use super::{Browser, csrf_of, header, sign_in, unslash};
use crate::util::daemon::{Daemon, TOKEN, append, setup};
use crate::util::geoip::{Builder, V, city, map};
use crate::util::wait_for;

/// An sshd line at `t`.
fn at(t: DateTime<Utc>, pid: u32, msg: &str) -> String {
    format!("{} web1 sshd[{pid}]: {msg}", t.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// `html` with the escapes of attribute values read back.
fn plain(html: &str) -> String {
    unslash(html).replace("&amp;", "&")
}

/// The text of the page's section `id` (up to its end).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}: {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap()]
}

#[test]
fn the_account_page_shows_the_timeline_chart_zone_os_lock_and_address_blocks() {
    let dir = setup("30m");
    let d = dir.path();
    std::fs::write(
        d.join("city.mmdb"),
        city(&[
            ("192.0.2.0/24", "JP", 35.68, 139.69),
            ("198.51.100.0/24", "US", 40.71, -74.0),
        ]),
    )
    .unwrap();
    let mut asn = Builder::new("GeoLite2-ASN");
    asn.insert(
        "192.0.2.0/24",
        map(&[
            ("autonomous_system_number", V::U32(64500)),
            ("autonomous_system_organization", V::Str("Example Net")),
        ]),
    )
    .insert(
        "198.51.100.0/24",
        map(&[("autonomous_system_number", V::U32(64501))]),
    );
    std::fs::write(d.join("asn.mmdb"), asn.build()).unwrap();
    let cfg = std::fs::read_to_string(d.join("loginwatch.toml")).unwrap();
    std::fs::write(
        d.join("loginwatch.toml"),
        format!("geoip = [\"city.mmdb\", \"asn.mmdb\"]\n{cfg}[ui]\ntz = \"Asia/Tokyo\"\n"),
    )
    .unwrap();
    let daemon = Daemon::start(d);

    // ken logs in from his desk, mistypes his ID there, fails twice, once
    // from an address that is spraying passwords at everyone (and gets
    // blocked for it), and the system (pam_faillock) locks him.
    let t0 = Utc::now().trunc_subsecs(0);
    let ago = |s: i64| t0 - chrono::Duration::seconds(s);
    let mut lines = vec![
        at(
            ago(900),
            10,
            "Accepted password for ken from 192.0.2.30 port 50000 ssh2",
        ),
        at(ago(600), 11, "Invalid user Ken from 192.0.2.30 port 50001"),
        at(
            ago(600),
            11,
            "Failed password for invalid user Ken from 192.0.2.30 port 50001 ssh2",
        ),
        at(
            ago(500),
            12,
            "Failed password for ken from 192.0.2.30 port 50002 ssh2",
        ),
        at(
            ago(480),
            13,
            "Failed password for ken from 192.0.2.30 port 50003 ssh2",
        ),
        at(
            ago(400),
            14,
            "Failed password for ken from 198.51.100.7 port 50004 ssh2",
        ),
    ];
    for i in 0..10u32 {
        lines.push(at(
            ago(390),
            20 + i,
            &format!(
                "Failed password for user{i} from 198.51.100.7 port {} ssh2",
                51000 + i
            ),
        ));
    }
    lines.push(at(
        ago(300),
        40,
        "pam_faillock(sshd:auth): Consecutive login failures for user ken account temporarily locked",
    ));
    append(&d.join("auth.log"), &lines);
    let block = wait_for(
        "the spraying address blocked",
        Duration::from_secs(30),
        || {
            daemon
                .decisions(true)
                .into_iter()
                .find(|x| x["target"]["ip"] == "198.51.100.7")
        },
    );
    let block_id = block["id"].as_str().unwrap().to_owned();

    let r = sign_in(&daemon, TOKEN, "dana");
    assert_eq!(r.status, 303, "{}", r.body);
    let b = Browser {
        d: &daemon,
        cookie: header(&r, "set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    };
    // The history is committed on the daemon's next pass.
    let page = wait_for(
        "ken's history with the lock",
        Duration::from_secs(30),
        || {
            let p = b.get("/ui/accounts/ken?lang=en").send();
            (p.status == 200 && p.body.contains("faillock --user ken --reset")).then_some(p)
        },
    );
    let html = plain(&page.body);
    // `why`'s sentences in the page's zone too.
    let until = block["until"]
        .as_str()
        .unwrap()
        .parse::<DateTime<Utc>>()
        .unwrap();
    let until = until
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("unlocks by itself at %Y-%m-%d %H:%M JST")
        .to_string();
    assert!(section(&html, "causes").contains(&until), "{until}");
    assert!(
        !page.body.contains("style="),
        "no inline style: the CSP refuses it"
    );

    // The timeline: newest first, the lock, the blocked address, the
    // mistyping with its spelling, country and network, in Tokyo time.
    let timeline = section(&html, "timeline");
    let rows: Vec<&str> = timeline.split("<tr class=\"o-").skip(1).collect();
    assert_eq!(rows.len(), 6, "{timeline}");
    assert!(
        rows[0].starts_with("event") && rows[0].contains("locked by the system"),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains("198.51.100.7") && rows[1].contains("US"));
    assert!(rows[1].contains("AS64501") && rows[1].contains("new place"));
    let typed = rows
        .iter()
        .position(|r| r.contains("<span class=\"typed\">Ken</span>"))
        .expect("the mistyping, as typed");
    assert_eq!(typed, 4, "{timeline}");
    assert!(rows[typed].contains("unknown user name"));
    let first = rows[5];
    assert!(first.starts_with("success"), "{first}");
    assert!(
        first.contains("192.0.2.30")
            && first.contains(">JP<")
            && first.contains("AS64500 Example Net"),
        "{first}"
    );
    let tokyo = ago(900)
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m-%d %H:%M:%S JST")
        .to_string();
    assert!(first.contains(&tokyo), "{tokyo} in {first}");

    // The chart: 4 failures and 1 success (the lock is no attempt), as
    // bars, in the SVG's accessible description and as a table.
    let chart = section(&html, "chart");
    assert!(chart.contains("<svg class=\"chart\""), "{chart}");
    assert!(chart.contains("aria-labelledby=\"chart-title chart-desc\""));
    assert!(chart.contains("Failures 4, Successes 1"), "{chart}");
    assert!(chart.contains("<rect class=\"fail\"") && chart.contains("<rect class=\"ok\""));
    // The table's rows (one per hour with activity) add up to the same.
    let mut sums = (0, 0);
    for row in chart.split("<tr><td>").skip(1) {
        let cells: Vec<u32> = row
            .split("<td>")
            .skip(1)
            .map(|c| c[..c.find('<').unwrap()].parse().unwrap())
            .collect();
        sums = (sums.0 + cells[0], sums.1 + cells[1]);
    }
    assert_eq!(sums, (4, 1), "{chart}");

    // The state: the system's lock with its command and no button; the
    // address block with its own unlock form.
    let state = section(&html, "state");
    let os = &state[state.find("os-lock").expect("the system's lock")..];
    let os = &os[..os.find("</div>").unwrap()];
    assert!(
        os.contains("Locked by the system") && os.contains("pam_faillock"),
        "{os}"
    );
    assert!(
        os.contains("faillock --user ken --reset") && !os.contains("<form"),
        "{os}"
    );
    let blk = &state[state
        .find(&format!("id=\"block-{block_id}\""))
        .expect("the address block")..];
    assert!(
        blk.contains("198.51.100.7") && blk.contains("password-spray"),
        "{blk}"
    );
    let action = format!("/ui/decisions/{block_id}/unlock");
    assert!(blk.contains(&format!("action=\"{action}\"")), "{blk}");

    // Another zone, chosen on the page, remembered in a cookie.
    let utc = b.get("/ui/accounts/ken?tz=UTC").send();
    assert!(
        header(&utc, "set-cookie").starts_with("lw_tz=UTC"),
        "{:?}",
        utc.headers
    );
    let utc_time = ago(900).format("%Y-%m-%d %H:%M:%S UTC").to_string();
    assert!(utc.body.contains(&utc_time), "{utc_time}");
    assert!(!utc.body.contains("JST"), "the causes' sentences too");
    assert!(plain(&utc.body).contains("<option value=\"UTC\" selected>"));

    // The block lifted from the page: CSRF and a reason required, audited.
    let csrf = csrf_of(&page.body);
    let fields = |c: &str, reason: &str| -> Vec<(String, String)> {
        vec![
            ("csrf".into(), c.into()),
            ("reason".into(), reason.into()),
            ("user".into(), "ken".into()),
        ]
    };
    let post = |f: Vec<(String, String)>| {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        b.post(&action, &f)
    };
    assert_eq!(post(fields("nope", "x")).status, 403);
    assert_eq!(post(fields(&csrf, " ")).status, 400);
    assert!(
        daemon
            .decisions(true)
            .iter()
            .any(|x| x["id"] == block_id.as_str())
    );
    let r = post(fields(&csrf, "ken's office shares that NAT"));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        header(&r, "location"),
        format!("/ui/accounts/ken?unlocked={block_id}")
    );
    assert!(
        !daemon
            .decisions(true)
            .iter()
            .any(|x| x["id"] == block_id.as_str())
    );
    let detail = daemon.get(&format!("/api/v1/decisions/{block_id}"));
    let entry = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["what"] == "unlocked")
        .cloned()
        .expect("audited");
    assert_eq!(entry["who"], "dana");
    assert_eq!(entry["credential"], "ui:token:config");
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("shares that NAT")
    );
    let after = b
        .get(&format!("/ui/accounts/ken?unlocked={block_id}&lang=en"))
        .send();
    let after_html = plain(&after.body);
    assert!(after_html.contains("Audit trail") && after_html.contains("shares that NAT"));
    assert!(
        !after_html.contains(&format!("id=\"block-{block_id}\"")),
        "gone"
    );
    // The language link keeps the page's other parameters.
    assert!(
        after_html.contains(&format!("href=\"?unlocked={block_id}&lang=ja\"")),
        "{after_html}"
    );
    let index = plain(&b.get("/ui/?q=ken&assessment=attack").send().body);
    assert!(
        index.contains("href=\"?q=ken&assessment=attack&lang=ja\""),
        "{index}"
    );
    assert!(index.contains("<input type=\"hidden\" name=\"q\" value=\"ken\">"));

    // Japanese.
    let ja = b.get("/ui/accounts/ken?lang=ja").send().body;
    for w in [
        "最近のログイン試行",
        "システム（OS）によるロック",
        "1時間ごとのログイン試行",
        "入力されたID",
    ] {
        assert!(ja.contains(w), "{w}");
    }
}

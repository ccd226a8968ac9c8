//! The sshd parser against peers' expectations on real logs: fail2ban's filter
//! regression logs, CrowdSec's hub parser tests and Loghub's labelled OpenSSH log.
//!
//! Each test prints an agreement table and requires 100% agreement outside a
//! documented list of deliberate disagreements, and that list must be exactly
//! what disagrees, so drift in either direction fails. The corpus lives beside
//! the checkout (`../shared/data`); without it the tests print SKIP and pass.

mod crowdsec;
mod loghub;

use std::collections::BTreeSet;
use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone, Utc};
use loginwatch::event::AuthEvent;
use loginwatch::parse::reader::{Line, LineReader};
use loginwatch::parse::{Format, LineCtx, ParseOptions, Parser, Zone};
use regex::Regex;

use crate::util::shared_data;

/// Every line of `path` with its 1-based number, and what the parser made of it.
fn run(path: &Path, opts: &ParseOptions) -> Vec<(usize, Vec<u8>, Option<AuthEvent>)> {
    let ctx = LineCtx {
        path: Arc::from(path.to_string_lossy().as_ref()),
    };
    let mut parser = Parser::new(&Format::Sshd, opts, ctx);
    let mut reader = LineReader::new(File::open(path).unwrap(), 0);
    let mut out = vec![];
    let mut n = 0;
    while let Some((off, line)) = reader.next_line().unwrap() {
        n += 1;
        let Line::Text(t) = line else { continue };
        let ev = parser.parse(t, off).ok().flatten();
        if let Some(e) = &ev {
            assert_eq!(e.log_offset, Some(off));
        }
        out.push((n, t.to_vec(), ev));
    }
    out
}

/// The address an annotation names, as the parser canonicalises it; `None`
/// for host names and malformed addresses, which the parser does not resolve.
fn ip_of(host: &str) -> Option<IpAddr> {
    host.parse::<IpAddr>().ok().map(|i| i.to_canonical())
}

fn table(corpus: &str, checked: usize, agree: usize, deliberate: usize, other: usize) {
    println!(
        "| {corpus:<28} | checked {checked:>4} | agree {agree:>4} | deliberate {deliberate:>3} | other {other:>2} |"
    );
}

/// Lines where loginwatch deliberately differs from fail2ban (default and
/// aggressive modes). `echo`: the attempt was already counted on an earlier
/// line of the same pid; fail2ban's fixtures reuse pids for unrelated lines,
/// where a real sshd process serves one connection.
const F2B_DELIBERATE: &[(&str, usize, &str)] = &[
    (
        "sshd",
        177,
        "echo: this pid's `Too many authentication failures` was counted",
    ),
    (
        "sshd",
        198,
        "echo: a second `Received disconnect ... Auth fail` on one pid and address",
    ),
    (
        "sshd",
        250,
        "pam_unix failure held; the connection's `Accepted` then drops it (PAM stack succeeded)",
    ),
    (
        "sshd",
        252,
        "a login success is a success, not a count of forgotten pam_unix failures",
    ),
    ("sshd", 262, "a login success is a success (as above)"),
    (
        "sshd",
        269,
        "echo: the pid's `Invalid user admin` line counted this attempt",
    ),
    (
        "sshd",
        271,
        "a different address on the same pid is a new connection whose pre-auth end counts",
    ),
    (
        "sshd",
        283,
        "echo: a second bad identification on one connection",
    ),
    (
        "sshd",
        295,
        "echo: only a `Version` audit record opens a new connection on the pid",
    ),
    ("sshd", 301, "echo: as above"),
    ("sshd", 315, "echo: a second pre-auth end of one connection"),
    ("sshd", 324, "echo: a second kex failure of one connection"),
    ("sshd", 341, "echo: a second pre-auth end of one connection"),
    (
        "sshd",
        349,
        "echo: the pid's `Invalid user` line counted this attempt",
    ),
    (
        "sshd",
        372,
        "echo: a second `Received disconnect` of one connection",
    ),
    ("sshd", 390, "echo: a second kex failure of one connection"),
    (
        "pam-generic",
        4,
        "sshd pam_unix failure held for its `Failed ...` line, which the fixture lacks",
    ),
    ("pam-generic", 6, "as above"),
];

/// fail2ban: `# failJSON:` annotations for `sshd` and `pam-generic`.
#[test]
fn fail2ban_sshd_agreement() {
    let Some(data) = shared_data("fail2ban_sshd_agreement") else {
        return;
    };
    let dir = data.join("fail2ban-testlogs/logs");
    let directive = Regex::new(r"^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$").unwrap();
    // fail2ban's test clock and zone (see the corpus README).
    let opts = ParseOptions {
        year: None,
        zone: "Europe/Zurich".parse::<Zone>().unwrap(),
        now: Utc.timestamp_opt(1_124_013_600, 0).unwrap(),
    };
    let mut disagree = BTreeSet::new();
    let expected: BTreeSet<(String, usize)> = F2B_DELIBERATE
        .iter()
        .map(|(f, l, _)| (f.to_string(), *l))
        .collect();
    // `sshd-journal` is not checked: its lines have no timestamp at all
    // (`srv sshd[1]: ...`), so they are not syslog.
    for file in ["sshd", "pam-generic"] {
        let lines = run(&dir.join(file), &opts);
        let (mut checked, mut agree, mut delib) = (0, 0, 0);
        let mut note: Option<serde_json::Value> = None;
        for (n, raw, ev) in &lines {
            let text = String::from_utf8_lossy(raw);
            if let Some(c) = directive.captures(&text) {
                if &c[1] == "failJSON" {
                    note = Some(serde_json::from_str(c[2].trim()).unwrap());
                }
                continue;
            }
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            let ann = note.take();
            // Constraints are read for fail2ban's `sshd` filter in its default
            // and aggressive modes (aggressive includes ddos and extra).
            let applies = match ann.as_ref().and_then(|a| a.get("constraint")) {
                None => true,
                Some(c) => match c.as_str().unwrap() {
                    "name == 'sshd'" => true,
                    "opts.get('mode') == 'aggressive'" | "opts.get('mode') != 'aggressive'" => true,
                    other => panic!("unknown constraint {other}"),
                },
            };
            if !applies {
                continue;
            }
            let want = ann
                .as_ref()
                .is_some_and(|a| a["match"].as_bool() == Some(true));
            checked += 1;
            let ok = if want {
                let a = ann.as_ref().unwrap();
                ev.as_ref().is_some_and(|e| {
                    let host_ok = a
                        .get("host")
                        .and_then(|h| h.as_str())
                        .is_none_or(|h| e.source_ip == ip_of(h));
                    let user_ok = a
                        .get("user")
                        .and_then(|u| u.as_str())
                        .is_none_or(|u| e.user.as_deref() == Some(u));
                    let time_ok = a.get("time").and_then(|t| t.as_str()).is_none_or(|t| {
                        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").unwrap();
                        e.timestamp.timestamp() == opts.zone.to_utc(naive).timestamp()
                    });
                    e.is_failure() && host_ok && user_ok && time_ok
                })
            } else {
                !ev.as_ref().is_some_and(|e| e.is_failure())
            };
            if ok {
                agree += 1;
            } else if expected.contains(&(file.to_string(), *n)) {
                delib += 1;
                disagree.insert((file.to_string(), *n));
            } else {
                println!("DISAGREE {file}:{n}: want match={want} got {ev:?}\n  {text}");
                disagree.insert((file.to_string(), *n));
            }
        }
        table(
            &format!("fail2ban {file}"),
            checked,
            agree,
            delib,
            checked - agree - delib,
        );
    }
    assert_eq!(
        disagree, expected,
        "disagreements differ from the deliberate list"
    );
}

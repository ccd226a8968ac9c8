//! JSON formats against the real corpus (`../shared/data`, skipped when absent):
//! the OTRF Windows password spray and CloudTrail console sign-ins compared with
//! the dataset READMEs and CrowdSec's assert files, printed as agreement tables.
//! Self-contained fixtures for every preset and for declared formats are in
//! [`fixtures`].

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use loginwatch::event::{Action, AuthEvent};
use loginwatch::parse::detect::detect;
use loginwatch::parse::{Format, LineCtx, ParseError, ParseOptions, Parser};

use crate::util::shared_data;

mod declared;
mod fixtures;

/// What one file gave: events, lines understood but not about auth, errors.
#[derive(Default)]
struct Run {
    events: Vec<AuthEvent>,
    ignored: usize,
    errors: Vec<(u64, ParseError)>,
}

fn opts() -> ParseOptions {
    ParseOptions::at(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap())
}

fn fmt(name: &str) -> Format {
    Format::by_name(name, &[]).unwrap()
}

fn format_name(f: &Format) -> String {
    match f {
        Format::Json(s) => s.name.clone(),
        Format::Sshd => "sshd".into(),
        Format::Auto => "auto".into(),
        Format::Regex(s) => s.name.clone(),
        Format::Csv(s) => s.name.clone(),
    }
}

/// Parses `text` line by line as a file named `path`, offsets included.
fn run_text(format: &Format, path: &str, text: &[u8]) -> Run {
    let mut p = Parser::new(
        format,
        &opts(),
        LineCtx {
            path: Arc::from(path),
        },
    );
    let mut out = Run::default();
    let mut offset = 0u64;
    for raw in text.split_inclusive(|b| *b == b'\n') {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            match p.parse(line, offset) {
                Ok(Some(e)) => out.events.push(e),
                Ok(None) => out.ignored += 1,
                Err(e) => out.errors.push((offset, e)),
            }
        }
        offset += raw.len() as u64;
    }
    out
}

fn first_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split(|b| *b == b'\n').take(5).collect()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The agreement table: each row is one expectation taken from the corpus README
/// or CrowdSec's assert files, and what we produced.
#[derive(Default)]
struct Table(Vec<(String, String, String, String)>);

impl Table {
    fn row(&mut self, file: &str, check: &str, expected: impl ToString, ours: impl ToString) {
        self.0.push((
            file.to_string(),
            check.to_string(),
            expected.to_string(),
            ours.to_string(),
        ));
    }

    fn print_and_assert(&self, title: &str) {
        println!(
            "\n{title}\n{:<44} {:<28} {:<6} detail",
            "file", "check", "agree"
        );
        let mut agree = 0;
        for (file, check, exp, ours) in &self.0 {
            let ok = exp == ours;
            agree += usize::from(ok);
            let detail = if ok {
                exp.clone()
            } else {
                format!("expected {exp} got {ours}")
            };
            println!(
                "{file:<44} {check:<28} {:<6} {detail}",
                if ok { "yes" } else { "NO" }
            );
        }
        println!(
            "agreement: {agree}/{} ({:.1}%)",
            self.0.len(),
            100.0 * agree as f64 / self.0.len().max(1) as f64
        );
        assert_eq!(agree, self.0.len(), "{title}: every expectation must agree");
    }
}

fn joined<I: IntoIterator<Item = String>>(i: I) -> String {
    i.into_iter().collect::<Vec<_>>().join(",")
}

#[test]
fn otrf_windows_password_spray() {
    let Some(data) = shared_data("otrf_windows_password_spray") else {
        return;
    };
    let file = "otrf-windows-security/purplesharp_ad_playbook_I_security_auth.jsonl";
    let text = std::fs::read(data.join(file)).unwrap();
    let mut table = Table::default();
    let detected = detect(&first_lines(&text));
    table.row(file, "detect", "windows-security", format_name(&detected));
    let r = run_text(&detected, &format!("../shared/data/{file}"), &text);
    table.row(
        file,
        "lines (README)",
        203,
        r.events.len() + r.ignored + r.errors.len(),
    );
    table.row(file, "unparsed lines", 0, r.errors.len());
    let failures: Vec<&AuthEvent> = r.events.iter().filter(|e| e.is_failure()).collect();
    // README: 7 x 4625 failed logons (4776 deliberately not read: it repeats them).
    table.row(file, "failed logons (4625)", 7, failures.len());
    let users: BTreeSet<String> = failures
        .iter()
        .filter_map(|e| e.user.as_deref().map(String::from))
        .collect();
    let want: BTreeSet<String> = [
        "lrodriguez",
        "pgustavo",
        "sysmonsvc",
        "sbeavers",
        "mscott",
        "pbeesly",
        "nxlogsvc",
    ]
    .map(String::from)
    .into();
    table.row(file, "sprayed users", joined(want), joined(users));
    let uniq = |f: &dyn Fn(&AuthEvent) -> String| -> String {
        joined(failures.iter().map(|e| f(e)).collect::<BTreeSet<_>>())
    };
    table.row(
        file,
        "failure reason (0xc000006a)",
        "bad_password",
        uniq(&|e| format!("{:?}", e.reason.map(|r| r.as_str()).unwrap_or("none"))).replace('"', ""),
    );
    table.row(
        file,
        "source workstation",
        "WORKSTATION5",
        uniq(&|e| e.device_id.as_deref().unwrap_or("none").to_string()),
    );
    table.row(
        file,
        "logging host",
        "WORKSTATION5.theshire.local",
        uniq(&|e| e.host.as_deref().unwrap_or("none").to_string()),
    );
    table.row(
        file,
        "source ip (IpAddress -)",
        "none",
        uniq(&|e| e.source_ip.map_or("none".into(), |i| i.to_string())),
    );
    table.row(
        file,
        "logon type 2",
        "interactive",
        uniq(&|e| e.service.as_deref().unwrap_or("none").to_string()),
    );
    table.row(
        file,
        "auth package",
        "ntlm",
        uniq(&|e| {
            e.method
                .as_ref()
                .map_or("none".into(), |m| m.as_str().to_string())
        }),
    );
    // `@timestamp` (UTC) is preferred; the spray lies within one second of 08:29:55Z.
    let in_window = failures.iter().all(|e| {
        e.timestamp >= t("2020-10-22T08:29:55Z") && e.timestamp < t("2020-10-22T08:29:56Z")
    });
    table.row(file, "failure times 08:29:55Z", true, in_window);
    let successes = r
        .events
        .iter()
        .filter(|e| e.is_success() && e.action == Action::Login)
        .count();
    table.row(file, "successful logons (4624)", 49, successes);
    let ips: BTreeSet<String> = r
        .events
        .iter()
        .filter_map(|e| e.source_ip.map(|i| i.to_string()))
        .collect();
    table.row(
        file,
        "4624 source ips",
        "172.18.38.6,172.18.39.5,172.18.39.6,172.18.39.7,::1",
        joined(ips),
    );
    table.row(file, "other events -> not auth", 203 - 56, r.ignored);
    let offsets_ok = r.events.iter().all(|e| {
        let o = e.log_offset.unwrap() as usize;
        (o == 0 || text.get(o - 1) == Some(&b'\n')) && text.get(o) == Some(&b'{')
    });
    table.row(file, "log.offset at line starts", true, offsets_ok);
    table.print_and_assert("OTRF Windows Security (password spray, README expectations)");
}

/// `Meta[...]` / `GetMeta(...)` expectations of a CrowdSec assert file, per event index.
fn crowdsec_meta(assert_text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let re = regex::Regex::new(
        r#"(?:\["s02-enrich"\]\["crowdsecurity/dateparse-enrich"\]\[(\d+)\]\.Evt\.Meta\["(\w+)"\]|Events\[(\d+)\]\.GetMeta\("(\w+)"\)) == "((?:[^"\\]|\\.)*)""#,
    )
    .unwrap();
    let mut out: Vec<std::collections::BTreeMap<String, String>> = Vec::new();
    for c in re.captures_iter(assert_text) {
        let i: usize = c.get(1).or(c.get(3)).unwrap().as_str().parse().unwrap();
        let k = c.get(2).or(c.get(4)).unwrap().as_str().to_string();
        if out.len() <= i {
            out.resize_with(i + 1, Default::default);
        }
        out[i].insert(k, c[5].to_string());
    }
    out
}

#[test]
fn cloudtrail_console_logins_agree_with_crowdsec() {
    let Some(data) = shared_data("cloudtrail_console_logins_agree_with_crowdsec") else {
        return;
    };
    let mut table = Table::default();
    for test in ["aws-bf", "aws-cloudtrail", "aws-nwo-login"] {
        let dir = data.join("crowdsec-hubtests").join(test);
        let log = format!("{test}.log");
        let file = format!("crowdsec-hubtests/{test}/{log}");
        let text = std::fs::read(dir.join(&log)).unwrap();
        let detected = detect(&first_lines(&text));
        table.row(&file, "detect", "cloudtrail", format_name(&detected));
        let r = run_text(&detected, &file, &text);
        table.row(&file, "unparsed lines", 0, r.errors.len());
        let mut expected =
            crowdsec_meta(&std::fs::read_to_string(dir.join("parser.assert")).unwrap());
        expected.extend(crowdsec_meta(
            &std::fs::read_to_string(dir.join("scenario.assert")).unwrap(),
        ));
        // CrowdSec parses every CloudTrail record; we read console sign-ins only
        // (GetCallerIdentity is an API call, not a login): compare those.
        let logins: Vec<_> = expected
            .iter()
            .filter(|m| m.get("event_name").map(String::as_str) == Some("ConsoleLogin"))
            .collect();
        table.row(&file, "console logins", logins.len(), r.events.len());
        table.row(
            &file,
            "other records -> not auth",
            expected.len() - logins.len(),
            r.ignored,
        );
        for (i, (m, e)) in logins.iter().zip(&r.events).enumerate() {
            let ck = |k: &str| format!("[{i}] {k}");
            table.row(
                &file,
                &ck("source_ip"),
                &m["source_ip"],
                e.source_ip.map_or("none".into(), |i| i.to_string()),
            );
            table.row(
                &file,
                &ck("timestamp"),
                &m["timestamp"],
                loginwatch::event::rfc3339(&e.timestamp),
            );
            table.row(
                &file,
                &ck("user_agent"),
                &m["user_agent"],
                e.user_agent.as_deref().unwrap_or("none"),
            );
            table.row(
                &file,
                &ck("event_name"),
                &m["event_name"],
                e.service.as_deref().unwrap_or("none"),
            );
            // CrowdSec's `user_arn` is the userName, or the whole ARN when it has
            // one; we keep the name (the ARN's tail) so rules key on one user
            // spelling: deliberate, compared through the tail.
            let arn_name = m["user_arn"]
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            table.row(
                &file,
                &ck("user (user_arn tail)"),
                arn_name,
                e.user.as_deref().unwrap_or("none"),
            );
        }
        let (want_outcome, want_reason) = if test == "aws-nwo-login" {
            ("success", "none")
        } else {
            ("failure", "bad_password")
        };
        for (i, e) in r.events.iter().enumerate() {
            table.row(
                &file,
                &format!("[{i}] outcome (README)"),
                want_outcome,
                e.outcome.as_str(),
            );
            table.row(
                &file,
                &format!("[{i}] reason (errorMessage)"),
                want_reason,
                e.reason.map_or("none", |r| r.as_str()),
            );
            table.row(
                &file,
                &format!("[{i}] method (MFAUsed Yes)"),
                "mfa",
                e.method.as_ref().map_or("none", |m| m.as_str()),
            );
        }
        // The same bytes are in aws-cloudtrail/crowdsec/: they must give the same events.
        let twin = data.join("aws-cloudtrail/crowdsec").join(&log);
        if let Ok(twin_text) = std::fs::read(&twin) {
            let r2 = run_text(&detected, &file, &twin_text);
            table.row(
                &format!("aws-cloudtrail/crowdsec/{log}"),
                "same events as hubtest copy",
                true,
                r2.events == r.events,
            );
        }
    }
    // README: 6 failures in 1 s from 1.2.3.4 (the brute force) and the 03:02 UTC success.
    table.print_and_assert("CloudTrail ConsoleLogin vs CrowdSec parser/scenario asserts");
}

#[test]
fn cloudtrail_api_activity_is_not_auth() {
    let Some(data) = shared_data("cloudtrail_api_activity_is_not_auth") else {
        return;
    };
    let file = "aws-cloudtrail/otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json";
    let text = std::fs::read(data.join(file)).unwrap();
    let mut table = Table::default();
    let detected = detect(&first_lines(&text));
    table.row(file, "detect", "cloudtrail", format_name(&detected));
    let r = run_text(&detected, file, &text);
    table.row(
        file,
        "records (README)",
        103,
        r.ignored + r.events.len() + r.errors.len(),
    );
    table.row(file, "console logins", 0, r.events.len());
    table.row(file, "unparsed lines", 0, r.errors.len());
    table.print_and_assert("CloudTrail API records (no console sign-ins)");
}

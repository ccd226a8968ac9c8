//! Agreement with CrowdSec's sshd parser on its test corpus, with the
//! deliberate differences listed and explained.

use super::*;

/// CrowdSec log types our failure events stand for: credential failures and
/// the connection-level ones we count once with reason `other`.
const CROWDSEC_FAILURE_TYPES: &[&str] = &[
    "ssh_failed-auth",
    "pam_failed_auth",
    "ssh_bad_keyexchange",
    "ssh_auth_timeout",
    "ssh_dispatch_fatal",
    "ssh_refused_conn",
];

/// A CrowdSec line expectation: `Success`, and the asserted `Meta` fields.
type CsWant = (Option<bool>, Vec<(String, String)>);

/// Lines where loginwatch deliberately differs from CrowdSec (test, line).
const CROWDSEC_DELIBERATE: &[(&str, usize, &str)] = &[
    (
        "sshd-logs",
        4,
        "sshd pam_unix failure held for its `Failed ...` line, which the fixture lacks",
    ),
    ("sshd-logs", 5, "as above"),
    (
        "sshd-logs",
        8,
        "echo: the same pid's `Disconnected from invalid user ftp` line counted it",
    ),
    (
        "sshd-logs",
        11,
        "echo: the identical line before it on the same pid counted the connection",
    ),
];

/// CrowdSec hub parser tests: each `parser.assert` line index is the input
/// line; a failure log type must give our failure with that address and user,
/// `auth_success` our success, `Success == false` no failure.
#[test]
fn crowdsec_sshd_agreement() {
    let Some(data) = shared_data("crowdsec_sshd_agreement") else {
        return;
    };
    let dir = data.join("crowdsec-hubtests");
    let success =
        Regex::new(r#"^results\["s01-parse"\]\["[^"]+"\]\[(\d+)\]\.Success == (true|false)$"#)
            .unwrap();
    let meta = Regex::new(
        r#"^results\["s01-parse"\]\["[^"]+"\]\[(\d+)\]\.Evt\.Meta\["(\w+)"\] == "(.*)"$"#,
    )
    .unwrap();
    let opts = ParseOptions::at(Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap());
    let mut disagree = BTreeSet::new();
    for test in [
        "sshd-logs",
        "sshd-logs-fp",
        "sshd-success-logs",
        "pam-logs",
        "sshd-invalid-bf",
        "opnsense-sshd",
        "ssh-bf",
    ] {
        let t = dir.join(test);
        let log = std::fs::read_dir(&t)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "log"))
            .unwrap();
        let lines = run(&log, &opts);
        // Expectation per line index: (parsed ok, meta key -> value).
        let mut want: Vec<CsWant> = vec![(None, vec![]); lines.len()];
        let asserts = std::fs::read_to_string(t.join("parser.assert")).unwrap_or_default();
        for l in asserts.lines() {
            if let Some(c) = success.captures(l) {
                want[c[1].parse::<usize>().unwrap()].0 = Some(&c[2] == "true");
            } else if let Some(c) = meta.captures(l) {
                want[c[1].parse::<usize>().unwrap()]
                    .1
                    .push((c[2].to_string(), c[3].to_string()));
            }
        }
        if asserts.is_empty() {
            // ssh-bf has only a scenario assert: all lines are failures of one source.
            let src = std::fs::read_to_string(t.join("scenario.assert")).unwrap();
            assert!(src.contains("35.188.49.176"));
            for (i, (_, raw, _)) in lines.iter().enumerate() {
                if !raw.is_empty() {
                    want[i] = (
                        Some(true),
                        vec![
                            ("log_type".into(), "ssh_failed-auth".into()),
                            ("source_ip".into(), "35.188.49.176".into()),
                        ],
                    );
                }
            }
        }
        let (mut checked, mut agree, mut delib) = (0, 0, 0);
        for (i, (n, raw, ev)) in lines.iter().enumerate() {
            let Some(parsed) = want[i].0 else { continue };
            checked += 1;
            let get = |k: &str| {
                want[i]
                    .1
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
            };
            let log_type = get("log_type").unwrap_or("");
            let ok = match ev {
                Some(e)
                    if parsed
                        && (CROWDSEC_FAILURE_TYPES.contains(&log_type)
                            || log_type == "auth_success") =>
                {
                    let kind_ok = if log_type == "auth_success" {
                        e.is_success()
                    } else {
                        e.is_failure()
                    };
                    let ip_ok = get("source_ip").is_none_or(|ip| e.source_ip == ip_of(ip));
                    let user = get("target_user").or(get("user"));
                    kind_ok && ip_ok && user.is_none_or(|u| e.user.as_deref() == Some(u))
                }
                None if parsed => {
                    !(CROWDSEC_FAILURE_TYPES.contains(&log_type) || log_type == "auth_success")
                }
                ev => !ev.as_ref().is_some_and(|e| e.is_failure()),
            };
            if ok {
                agree += 1;
                continue;
            }
            if CROWDSEC_DELIBERATE
                .iter()
                .any(|(t, l, _)| *t == test && l == n)
            {
                delib += 1;
            } else {
                println!(
                    "DISAGREE {test}:{n}: want {:?} got {ev:?}\n  {}",
                    want[i],
                    String::from_utf8_lossy(raw)
                );
            }
            disagree.insert((test.to_string(), *n));
        }
        table(
            &format!("crowdsec {test}"),
            checked,
            agree,
            delib,
            checked - agree - delib,
        );
    }
    let expected: BTreeSet<(String, usize)> = CROWDSEC_DELIBERATE
        .iter()
        .map(|(t, l, _)| (t.to_string(), *l))
        .collect();
    assert_eq!(
        disagree, expected,
        "disagreements differ from the deliberate list"
    );
}
